"""Video frames (uint8 RGB, channels last) to normalised float tensors (channels first).

Pixels are scaled to [0, 1] and standardised per channel with the Kinetics mean and standard
deviation used by torchvision's video ResNets (MC3/R3D), so pretrained-style statistics apply.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)  # per-channel RGB mean on [0, 1]
KINETICS_STD = (0.22803, 0.22145, 0.216989)  # per-channel RGB std on [0, 1]


def frames_to_tensor(frames: np.ndarray | Tensor) -> Tensor:
    """(T, H, W, 3) or (B, T, H, W, 3) uint8 -> float32 (3, T, H, W) or (B, 3, T, H, W)."""
    if isinstance(frames, np.ndarray):
        # torch takes neither negative strides (flipped views) nor, without a warning,
        # read-only arrays (decoded frames may be views): copy those, as uint8.
        usable = frames.flags.writeable and all(s >= 0 for s in frames.strides)
        x = torch.from_numpy(frames if usable else frames.copy())
    else:
        x = frames
    if x.ndim not in (4, 5) or x.shape[-1] != 3:
        raise ValueError(f"frames must be (T, H, W, 3) or (B, T, H, W, 3), got {tuple(x.shape)}")
    # One pass converts to float in the channels-first layout (a new tensor, so read-only input
    # arrays are never written); the rest is in place. Per pixel: x / 255, - mean, / std.
    x = x.movedim(-1, -4).to(torch.float32, memory_format=torch.contiguous_format, copy=True)
    shape = (3, 1, 1, 1)
    mean = torch.tensor(KINETICS_MEAN, dtype=torch.float32, device=x.device).view(shape)
    std = torch.tensor(KINETICS_STD, dtype=torch.float32, device=x.device).view(shape)
    return x.div_(255.0).sub_(mean).div_(std)
