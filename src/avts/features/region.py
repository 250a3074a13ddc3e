"""Where the sound probably comes from: the square of largest motion energy in a clip.

A talking head's mouth and jaw, a drummer's sticks, a hammer: what makes the sound moves, and
the frame-to-frame difference energy finds it without a detector, for any content. The same
function picks the region in training and at inference, so the network always sees the same
kind of crop. Pure numpy: full-resolution frames in, a crop box out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
