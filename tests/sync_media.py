"""Clips for the sync tests: irregular white flashes, each with a click ``offset_ms`` later."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avts.media.write import write_av


def write_flash_click_offset(path: Path, offset_ms: float, duration_s: float = 8.0,
                             fps: float = 25.0, sr_hz: int = 16000, seed: int = 0, *,
                             silent: bool = False, still: bool = False,
                             drift: float = 0.0) -> Path:
    """Positive ``offset_ms``: each click comes after its flash (the audio is late). With
    ``drift`` the flash at ``t`` clicks at ``t * (1 + drift) + offset``: the audio falls
    behind linearly, by ``drift * 60000`` ms per minute."""
    rng = np.random.default_rng(seed)
    n_frames = round(duration_s * fps)
    frames = np.full((n_frames, 48, 64, 3), 20, np.uint8)
    audio = np.zeros(round(duration_s * sr_hz), np.float32)
    if not silent:
        audio += (0.002 * rng.standard_normal(audio.size)).astype(np.float32)
    burst = 0.8 * np.sin(2 * np.pi * 2000.0 * np.arange(80) / sr_hz)
    t = 0.3
    while t < duration_s - 0.3:
        i = round(t * fps)
        if not still:
            frames[i] = 230
            if i + 1 < n_frames:
                frames[i + 1] = 120
        at = round((i / fps * (1.0 + drift) + offset_ms / 1000.0) * sr_hz)
        if not silent and 0 <= at < audio.size - burst.size:
            audio[at : at + burst.size] += burst
        t += rng.uniform(0.3, 0.9)
    return write_av(path, frames, fps, audio, sr_hz)


def write_audio_only(path: Path, duration_s: float = 4.0, sr_hz: int = 16000) -> Path:
    """An AAC-in-MP4 file without a video stream."""
    samples = (0.1 * np.sin(np.arange(round(duration_s * sr_hz)) / 8.0)).astype(np.float32)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=sr_hz)
        stream.layout = "mono"
        for at in range(0, samples.size, 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, at : at + 1024], format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = sr_hz, at, Fraction(1, sr_hz)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def make_framesync_checkpoint(path: Path, seed: int = 0, calibration: dict | None = None,
                              members: int = 1, **multiway) -> Path:
    """A tiny frame-rate (``model.kind: framesync``) checkpoint with seeded random weights, in
    the format ``avts train`` writes: structure tests, not accuracy."""
    import torch

    from avts.checkpoint import save_checkpoint
    from avts.config import from_dict
    from avts.models.build import build_networks

    spec = {"size": 16, "jitter": 2, "region_short_side": 48, **multiway}
    cfg = from_dict({"model": {"kind": "framesync", "framesync_widths": [4, 4, 8, 8],
                               "embed_dim": 8, "framesync_members": members},
                     "train": {"loss": "multiway"},
                     "data": {"clip": {"fps": 25.0}, "multiway": spec}})
    torch.manual_seed(seed)
    model, loss_fn = build_networks(cfg)
    state = {"config": cfg.to_dict(), "model": model.state_dict(), "loss": loss_fn.state_dict(),
             "threshold": 0.0, "epoch": 1, "train_videos": [], "val_videos": []}
    if calibration is not None:
        state["calibration"] = calibration
    save_checkpoint(path, state)
    return path
