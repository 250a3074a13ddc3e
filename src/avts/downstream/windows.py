"""Arrays to model inputs: resampling, frame picking by time, and fixed-length windows.

A window starting at ``t`` covers ``[t, t + window_s)``, as training clips do
(docs/ARCHITECTURE.md, time convention). Inputs shorter than one window give one window,
zero-padded (audio) or holding the last frame (video), so that short sounds still count.
"""

from __future__ import annotations

import math

import av
import numpy as np

from avts.media import resample_mono, sample_window


def window_starts_s(duration_s: float, window_s: float, hop_s: float) -> np.ndarray:
    """Start times ``0, hop, 2 hop, ...`` of the windows that fit in ``duration_s`` (>= 1)."""
    if hop_s <= 0:
        raise ValueError(f"hop_s must be positive, got {hop_s}")
    # the epsilon keeps float noise (2.9999999 / 0.5) from dropping the last whole window
    n = 1 + max(0, math.floor((duration_s - window_s) / hop_s + 1e-6))
    return np.arange(n, dtype=np.float64) * hop_s


def audio_windows(samples: np.ndarray, sr_hz: int, window_s: float, hop_s: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(n,) mono -> ``(n_windows, round(window_s * sr_hz))`` float32 and the starts in s."""
    starts_s = window_starts_s(len(samples) / sr_hz, window_s, hop_s)
    n_win = round(window_s * sr_hz)
    out = np.stack([sample_window(samples, round(t * sr_hz), n_win)[0] for t in starts_s])
    return out, starts_s


def video_windows(frames: np.ndarray, fps: float, n_frames: int, hop_s: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(T, H, W, 3) frames at ``fps`` -> ``(n_windows, n_frames, H, W, 3)`` and starts in s."""
    if len(frames) == 0:
        raise ValueError("no video frames")
    starts_s = window_starts_s(len(frames) / fps, n_frames / fps, hop_s)
    index = np.round(starts_s * fps).astype(int)[:, None] + np.arange(n_frames)[None, :]
    return frames[np.minimum(index, len(frames) - 1)], starts_s


def resample_audio(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Mono float32 resampled with FFmpeg's resampler, as ``avts.media.read`` does for files."""
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if from_hz == to_hz or samples.size == 0:
        return samples
    return resample_mono(samples, from_hz, to_hz)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(n,) or (n, channels) -> (n,) float32; integer samples are scaled to [-1, 1]."""
    x = np.asarray(samples)
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / float(-np.iinfo(x.dtype).min)
    x = x.astype(np.float32, copy=False)
    if x.ndim == 2:
        x = x.mean(axis=1, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"audio must be (n,) or (n, channels), got shape {x.shape}")
    return x


def conform_frames(frames: np.ndarray, fps: float, to_fps: float, size_hw: tuple[int, int]
                   ) -> np.ndarray:
    """Frames shown at ``i / to_fps`` (the last frame with time <= instant), resized with
    FFmpeg's scaler to ``size_hw``, the same path decoded files take."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    n_out = max(1, math.ceil(len(frames) / fps * to_fps - 1e-6))
    picks = np.minimum(np.floor(np.arange(n_out) / to_fps * fps + 1e-6).astype(int),
                       len(frames) - 1)
    height, width = size_hw
    out = np.empty((n_out, height, width, 3), dtype=np.uint8)
    for i, k in enumerate(picks):
        image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[k]), format="rgb24")
        out[i] = image.reformat(width=width, height=height, format="rgb24").to_ndarray()
    return out
