"""Where the sound probably comes from, and the small grey square a sync model sees of it.

A talking head's mouth and jaw, a drummer's sticks, a hammer: what makes the sound moves, and
the frame-to-frame difference energy finds it without a detector, for any content
(``motion_region``, numpy). Where a face is visible its mouth is the better bet
(``mouth_region``: OpenCV's bundled Haar cascade). ``find_region`` picks the region in training
and at inference alike, so the network always sees the same kind of crop; ``grey_square`` and
``center_crop`` turn it into the model's input. Frames in, a crop box (or crop) out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

# A box whose mean motion energy is not at least this many times the frame's mean is no better
# than the whole frame (static shot, global camera motion, noise): fall back to the whole frame.
MIN_CONCENTRATION = 1.3


@dataclass(frozen=True)
class Box:
    """Crop box in pixels of the frames it was found on: rows [top, top+size), cols likewise."""

    top: int
    left: int
    height: int
    width: int
    face: bool = False  # the mouth of a detected face (not the motion square or whole frame)

    def crop(self, frames: np.ndarray) -> np.ndarray:
        """(..., H, W, C) -> (..., height, width, C)."""
        return frames[..., self.top:self.top + self.height, self.left:self.left + self.width, :]


def motion_energy_map(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) or (T, H, W) uint8 -> (H, W) mean absolute frame difference (grey levels)."""
    gray = frames.astype(np.float32)
    if gray.ndim == 4:
        gray = gray.mean(axis=3)
    if gray.shape[0] < 2:
        return np.zeros(gray.shape[1:], dtype=np.float32)
    return np.abs(np.diff(gray, axis=0)).mean(axis=0)


def _box_sums(energy: np.ndarray, size: int) -> np.ndarray:
    """Sum of ``energy`` over every size x size square: (H - size + 1, W - size + 1)."""
    integral = np.pad(energy, ((1, 0), (1, 0))).cumsum(axis=0).cumsum(axis=1)
    return (integral[size:, size:] - integral[:-size, size:]
            - integral[size:, :-size] + integral[:-size, :-size])


def motion_region(frames: np.ndarray, box_fraction: float = 0.5) -> Box:
    """The square (side ``box_fraction`` x the shorter frame side) of largest motion energy.

    Returns the whole frame when there is no motion or the motion is not concentrated.
    """
    if not 0.0 < box_fraction <= 1.0:
        raise ValueError(f"box_fraction must lie in (0, 1], got {box_fraction}")
    height, width = frames.shape[1], frames.shape[2]
    full = Box(0, 0, height, width)
    size = max(1, round(box_fraction * min(height, width)))
    energy = motion_energy_map(frames)
    mean_energy = float(energy.mean())
    if size >= min(height, width) or mean_energy <= 1e-3:
        return full
    sums = _box_sums(energy.astype(np.float64), size)
    top, left = np.unravel_index(int(np.argmax(sums)), sums.shape)
    if sums[top, left] / (size * size) < MIN_CONCENTRATION * mean_energy:
        return full
    return Box(int(top), int(left), size, size)


# --- the mouth of the largest frontal face ------------------------------------------------

# A face must be found on at least this share of the sampled frames to be trusted: a false
# detection on a few frames of a drum solo should not move the crop off the sticks.
MIN_FACE_SHARE = 1.0 / 3.0
FACE_EVERY = 10  # look for a face on every 10th frame (0.4 s at 25 fps): faces move slowly
# The mouth square relative to the face box of OpenCV's frontal-face cascade (x, y, w, h):
# centred horizontally, its centre at 78 % of the box height, side 75 % of the box width:
# mouth, lips and jaw, little of the eyes (checked by eye on talking heads of ../shared).
MOUTH_CENTRE_Y = 0.78
MOUTH_SIDE = 0.75


_DETECTORS = threading.local()  # one cascade per thread: OpenCV's is not shared safely


def _face_detector():
    detector = getattr(_DETECTORS, "cascade", None)
    if detector is None:
        import cv2  # imported here: only the face region needs OpenCV

        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        detector = cv2.CascadeClassifier(path)
        if detector.empty():
            raise RuntimeError(f"OpenCV's face cascade did not load from {path}")
        _DETECTORS.cascade = detector
    return detector


def _largest_face(detector, frame: np.ndarray) -> np.ndarray | None:
    import cv2

    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    found = detector.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    if not len(found):
        return None
    return max(found, key=lambda b: b[2] * b[3]).astype(np.float64)


def mouth_region(frames: np.ndarray, every: int = FACE_EVERY) -> Box | None:
    """The square around the mouth of the largest frontal face, from the median face box over
    every ``every``-th frame; ``None`` when a face is on fewer than a third of those frames."""
    detector = _face_detector()
    sampled = frames[::every]
    boxes = [b for b in (_largest_face(detector, f) for f in sampled) if b is not None]
    if not boxes or len(boxes) < MIN_FACE_SHARE * len(sampled):
        return None
    x, y, w, h = np.median(np.stack(boxes), axis=0)
    height, width = frames.shape[1], frames.shape[2]
    side = int(min(round(MOUTH_SIDE * w), height, width))
    top = int(np.clip(round(y + MOUTH_CENTRE_Y * h - side / 2), 0, height - side))
    left = int(np.clip(round(x + w / 2 - side / 2), 0, width - side))
    return Box(top, left, side, side, face=True)


def find_region(frames: np.ndarray, region: str, box_fraction: float = 0.5) -> Box:
    """The crop a sync model sees, the same call in training and in the offset search:
    ``"face"`` the mouth of the largest face, else (no face) the motion region; ``"motion"``
    the motion region; ``"full"`` the whole frame."""
    if region == "full":
        return Box(0, 0, frames.shape[1], frames.shape[2])
    if region == "face":
        mouth = mouth_region(frames)
        if mouth is not None:
            return mouth
    elif region != "motion":
        raise ValueError(f"unknown region {region!r} (known: face, motion, full)")
    return motion_region(frames, box_fraction)


# --- the model's input: a grey square of the region ------------------------------------------


def frame_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(height, width) with the shorter side ``short_side``, aspect kept, even numbers: the
    size frames are decoded at to find the region (training and sync alike)."""
    scale = short_side / max(1, min(height, width))
    return (max(2, round(height * scale / 2) * 2), max(2, round(width * scale / 2) * 2))


def grey_square(frames: np.ndarray, side: int) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, side, side) uint8: mean of the channels, area-resized."""
    grey = torch.from_numpy(frames).float().mean(dim=3)  # (T, H, W)
    small = F.interpolate(grey[None], size=(side, side), mode="area")[0]
    return small.round().clamp(0, 255).to(torch.uint8).numpy()


def center_crop(grey: np.ndarray, size: int) -> np.ndarray:
    """(..., S, S) -> (..., size, size), the centre: what validation and the offset search take
    from the ``size + jitter`` squares that training crops at random."""
    lo = (grey.shape[-1] - size) // 2
    return grey[..., lo:lo + size, lo:lo + size]
