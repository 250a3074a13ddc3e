"""Samples for multi-way matching: one video segment and the audio around it, same recording.

Everything is on the video frame grid (``fps``): an item is a clip index and a first frame
``f0``; the video segment is frames ``[f0 - margin, f0 + n_frames + margin)`` and the audio
segment covers frames ``[f0 - max_shift - margin, f0 + n_frames + max_shift + margin)``, so a
network that keeps the time axis at the frame rate sees every candidate shift in
``-max_shift..+max_shift`` frames in one pass (slice its audio features), with ``margin``
frames of context on both ends that are never scored (no padding edges in the candidates).

With ``whole_clips``, items may start anywhere the video segment fits, so the first and last
``max_shift`` frames of a clip are scored too and clips shorter than an item train as well:
audio beyond the clip's ends is silence, and the candidates that would score it are left out
of the softmax (``candidate_mask``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class MultiwaySpec:
    n_frames: int = 25  # scored video frames per item
    max_shift: int = 15  # candidate shifts -max_shift..+max_shift frames (31 at 15)
    margin: int = 4  # context frames on both ends, never scored
    samples_per_frame: int = 640  # audio samples per video frame (16 kHz / 25 fps)
    whole_clips: bool = False  # items wherever the video fits; out-of-clip candidates masked

    @property
    def n_candidates(self) -> int:
        return 2 * self.max_shift + 1

    @property
    def video_frames(self) -> int:
        return self.n_frames + 2 * self.margin

    @property
    def audio_frames(self) -> int:
        return self.n_frames + 2 * (self.max_shift + self.margin)


def min_clip_frames(spec: MultiwaySpec) -> int:
    """Frames a clip needs to give at least one item (with ``whole_clips``: one whose
    windows keep at least half of their candidate shifts)."""
    if spec.whole_clips:
        return spec.video_frames + spec.max_shift
    return spec.audio_frames


def draw_items(rng: np.random.Generator, clip_frames: list[int], n: int,
               spec: MultiwaySpec) -> list[tuple[int, int]]:
    """``n`` (clip index, f0) pairs; clips drawn in proportion to their usable length."""
    need = min_clip_frames(spec)
    span = spec.video_frames if spec.whole_clips else spec.audio_frames
    lead = spec.margin if spec.whole_clips else spec.max_shift + spec.margin
    room = np.array([c - span + 1 if c >= need else 0 for c in clip_frames], dtype=np.float64)
    if room.sum() <= 0:
        raise ValueError(f"no clip is long enough ({need} frames needed)")
    clips = rng.choice(len(clip_frames), size=n, p=room / room.sum())
    return [(int(c), lead + int(rng.integers(0, room[c]))) for c in clips]


def cut_item(frames: np.ndarray, audio: np.ndarray, f0: int,
             spec: MultiwaySpec) -> tuple[np.ndarray, np.ndarray]:
    """Video (video_frames, ...) and audio (audio_frames * samples_per_frame,) of one item.

    Audio before the start or past the end of the track is zero-padded.
    """
    video = frames[f0 - spec.margin:f0 + spec.n_frames + spec.margin]
    first = (f0 - spec.max_shift - spec.margin) * spec.samples_per_frame
    n = spec.audio_frames * spec.samples_per_frame
    piece = audio[max(0, first):first + n]
    before = max(0, -first)
    if before or len(piece) < n:
        piece = np.pad(piece, (before, n - before - len(piece)))
    return video, piece


def cut_item_at_speed(frames: np.ndarray, audio: np.ndarray, f0: int, spec: MultiwaySpec,
                      speed: float) -> tuple[np.ndarray, np.ndarray]:
    """``cut_item`` of the recording played ``speed`` times as fast: both streams are
    resampled on one time axis (video frames blended linearly, audio interpolated), so the
    item stays exactly in sync while speech and motion get a new tempo.

    The stretched segment keeps the item's centre where the clip has room and moves inward
    where it has not (both streams together); a clip too short for the stretch lowers it.
    ``frames``: (N, ...) uint8; returns uint8 video and float32 audio shaped as ``cut_item``.
    """
    spf = spec.samples_per_frame
    have = min(len(frames), len(audio) // spf)  # frames that have both streams
    speed = min(speed, have / spec.audio_frames)
    half = speed * spec.audio_frames / 2  # the stretched audio segment, the widest, in frames
    centre = min(max(f0 + spec.n_frames / 2, half), have - half)
    # frame centres of the output on the clip's time axis, then back to fractional indices
    t_video = np.arange(spec.video_frames) - spec.margin + f0 + 0.5
    src = np.clip(centre + speed * (t_video - (f0 + spec.n_frames / 2)) - 0.5, 0, len(frames) - 1)
    video = np.rint(_lerp(frames, src)).astype(np.uint8)
    first = (f0 - spec.max_shift - spec.margin) * spf
    t_audio = (first + np.arange(spec.audio_frames * spf) + 0.5) / spf
    src_audio = (centre + speed * (t_audio - (f0 + spec.n_frames / 2))) * spf - 0.5
    return video, _lerp(audio, src_audio).astype(np.float32)


def _lerp(x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``x`` linearly interpolated along its first axis at fractional indices ``at``, zero
    outside (``np.interp`` without building an index array as long as the whole track)."""
    lo = np.floor(at).astype(np.int64)
    along = (-1,) + (1,) * (x.ndim - 1)  # per-index values broadcast over the other axes
    w, last = (at - lo).reshape(along), len(x) - 1
    a = np.where((lo >= 0).reshape(along), x[np.clip(lo, 0, last)], 0.0)
    b = np.where((lo + 1 <= last).reshape(along), x[np.clip(lo + 1, 0, last)], 0.0)
    return (1.0 - w) * a + w * b


def audio_bounds(f0: int, audio_samples: int, spec: MultiwaySpec) -> tuple[int, int]:
    """The item's audio segment frames ``[lo, hi)`` that hold the clip's own audio (the rest
    is padding), for ``candidate_mask``."""
    first = f0 - spec.max_shift - spec.margin
    return max(0, -first), min(spec.audio_frames, audio_samples // spec.samples_per_frame - first)


def candidate_mask(bounds: torch.Tensor, item: MultiwaySpec, window: MultiwaySpec,
                   stride: int) -> torch.Tensor:
    """Which candidates of every scoring window score only the clip's own audio: bounds
    ``(B, 2)`` from ``audio_bounds`` -> ``(n_windows * B, K)`` bool, window-major as
    ``avts.train.multiway.window_logits`` orders its logits. The true shift always stays in
    (its audio is where the video is, but for a track a frame short at the end)."""
    k = torch.arange(window.n_candidates, device=bounds.device)
    lo, hi = bounds[:, :1], bounds[:, 1:]
    masks = []
    for w in range(0, item.n_frames - window.n_frames + 1, stride):
        start = w + window.margin + k  # first scored audio frame of each candidate
        masks.append((start >= lo) & (start + window.n_frames <= hi) | (k == window.max_shift))
    return torch.cat(masks)


def candidate_windows(audio_feats, spec: MultiwaySpec):
    """Audio features at the frame rate ``(B, audio_frames, D)`` -> ``(B, K, n_frames, D)``:
    candidate k is shift ``k - max_shift`` frames; the true one (shift 0) is ``max_shift``."""
    inner = audio_feats[:, spec.margin:audio_feats.shape[1] - spec.margin]  # (B, T + 2S, D)
    windows = inner.unfold(1, spec.n_frames, 1)  # (B, K, D, n_frames)
    return windows.transpose(2, 3)
