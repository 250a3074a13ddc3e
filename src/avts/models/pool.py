"""Pooling shared by both streams: collapse a feature sequence (B, C, T) to a vector.

The paper averages over time and space ("global"). "time" keeps a coarse time axis so the
embedding still says *when* something happens, which hard (time-shifted) negatives need.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avts.config import POOL_MODES


class SequencePool(nn.Module):
    """(B, C, T) -> (B, C) for ``"global"``, (B, C * steps) for ``"time"``."""

    def __init__(self, mode: str, time_steps: int) -> None:
        super().__init__()
        if mode not in POOL_MODES:
            raise ValueError(f"unknown pool mode {mode!r} (known: {', '.join(POOL_MODES)})")
        if time_steps < 1:
            raise ValueError(f"pool_time_steps must be >= 1, got {time_steps}")
        self.mode = mode
        self.time_steps = time_steps

    def out_dim(self, channels: int) -> int:
        return channels if self.mode == "global" else channels * self.time_steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, C, T)
        if self.mode == "global":
            return x.mean(dim=2)  # (B, C)
        # Adaptive average pooling resamples any T (also T < steps, by repetition) to `steps`.
        x = F.adaptive_avg_pool1d(x, self.time_steps)  # (B, C, steps)
        return x.flatten(1)  # (B, C * steps), channel-major
