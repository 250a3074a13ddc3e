"""Training-time augmentation that keeps audio and video in sync: it never shifts either in
time. Video: a random crop (scale 0.8-1 of each side) resized back, and a horizontal flip.
Audio: a random gain of +-6 dB. Every random draw comes from the explicit generator."""

from __future__ import annotations

import torch
import torch.nn.functional as F

MIN_CROP_SCALE = 0.8
MAX_GAIN_DB = 6.0


def augment_video(video: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """(3, T, H, W) float -> same shape: random crop resized back, then a random flip."""
    _, _, h, w = video.shape
    scale = MIN_CROP_SCALE + (1 - MIN_CROP_SCALE) * torch.rand((), generator=gen).item()
    ch, cw = max(1, round(h * scale)), max(1, round(w * scale))
    top = int(torch.randint(0, h - ch + 1, (), generator=gen))
    left = int(torch.randint(0, w - cw + 1, (), generator=gen))
    crop = video[:, :, top : top + ch, left : left + cw]  # (3, T, ch, cw)
    out = F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False)  # T as batch
    if torch.rand((), generator=gen).item() < 0.5:
        out = out.flip(-1)
    return out


def augment_audio(waveform: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """(n,) float -> same shape, scaled by a random gain in [-6, +6] dB."""
    gain_db = (2 * torch.rand((), generator=gen).item() - 1) * MAX_GAIN_DB
    return waveform * 10 ** (gain_db / 20)
