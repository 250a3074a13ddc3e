"""Helpers for the downstream tests: a seeded tiny checkpoint, a deterministic clip, WAV files."""

from __future__ import annotations

import wave

import numpy as np
import torch

from avts.checkpoint import save_checkpoint
from avts.config import apply_overrides, tiny
from avts.models.build import build_networks


def make_checkpoint(path, seed: int = 0):
    """A tiny two-stream model with seeded random weights, saved as a training run would."""
    # The input and network the pinned embeddings were taken with (the tiny preset's until it
    # went to 8 fps, 40x40, a 20 ms hop and the spatial max), so that the pins follow
    # preprocessing, not the preset.
    cfg = apply_overrides(tiny(), ["data.clip.fps=12.0", "data.clip.height=48",
                                   "data.clip.width=48", "data.mel.hop_samples=160",
                                   "model.video_space_pool=mean"])
    torch.manual_seed(seed)
    model, loss_fn = build_networks(cfg)
    save_checkpoint(path, {"config": cfg.to_dict(), "model": model.state_dict(),
                           "loss": loss_fn.state_dict(), "threshold": 0.0, "epoch": 0,
                           "train_videos": [], "val_videos": []})
    return path


def clip_arrays(duration_s: float = 2.0, fps: float = 25.0, sr_hz: int = 16000):
    """A moving bright square with a tone that rises over time: deterministic, not trivial."""
    n = round(duration_s * fps)
    frames = np.full((n, 64, 64, 3), 30, np.uint8)
    for i in range(n):
        x = 4 + (i * 2) % 48
        frames[i, 20:32, x: x + 12] = (220, 120, 40)
    t = np.arange(round(duration_s * sr_hz)) / sr_hz
    audio = (0.4 * np.sin(2 * np.pi * (300 + 200 * t) * t)).astype(np.float32)
    return frames, fps, audio, sr_hz


def write_wav(path, samples: np.ndarray, sr_hz: int):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr_hz)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def class_sound(kind: str, rng: np.random.Generator, sr_hz: int, duration_s: float
                ) -> np.ndarray:
    """Three easily told apart kinds of sound, each with per-example variation."""
    t = np.arange(round(duration_s * sr_hz)) / sr_hz
    if kind == "tone":
        return 0.3 * np.sin(2 * np.pi * rng.uniform(300, 500) * t)
    if kind == "noise":
        return 0.2 * rng.standard_normal(len(t))
    clicks = np.zeros(len(t))  # "clicks": a few sharp bursts
    for at in rng.integers(0, len(t) - 200, size=6):
        clicks[at: at + 80] = 0.8 * np.sin(2 * np.pi * 3000 * t[:80])
    return clicks


def write_sound_set(root, n_per_class: int = 6, seed: int = 0, sr_hz: int = 8000,
                    kinds=("tone", "noise", "clicks")) -> dict[str, list]:
    """One folder per class of short WAV files (lengths 0.4 to 1.6 s); returns the paths."""
    rng = np.random.default_rng(seed)
    paths = {}
    for kind in kinds:
        (root / kind).mkdir(parents=True, exist_ok=True)
        paths[kind] = [write_wav(root / kind / f"{kind}_{i}.wav",
                                 class_sound(kind, rng, sr_hz, rng.uniform(0.4, 1.6)), sr_hz)
                       for i in range(n_per_class)]
    return paths


def write_action_set(root, n_per_class: int = 3, duration_s: float = 1.5, fps: float = 12.0
                     ) -> dict[str, list]:
    """Two "actions" in class folders: a square moving right, a square blinking in place."""
    from avts.media.write import write_av

    n = round(duration_s * fps)
    paths: dict[str, list] = {"moving": [], "blinking": []}
    for kind in paths:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            frames = np.full((n, 32, 32, 3), 20 + 10 * i, np.uint8)
            for t in range(n):
                if kind == "moving":
                    x = (2 * t + 3 * i) % 24
                    frames[t, 10:18, x: x + 8] = 230
                elif t % 2 == 0:
                    frames[t, 12:20, 4 + 6 * i: 12 + 6 * i] = 230
            audio = np.zeros(round(duration_s * 16000), np.float32)
            paths[kind].append(write_av(root / kind / f"{kind}_{i}.mp4", frames, fps, audio,
                                        16000))
    return paths
