"""Which torch device to run on."""

from __future__ import annotations

import torch

from avts.errors import ConfigError


def select_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA, else Apple's MPS, else the CPU; otherwise the named device, which must
    exist on this machine (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ConfigError(f"unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r}: CUDA is not available on this machine")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"device {name!r}: this machine has {torch.cuda.device_count()} GPUs")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {name!r}: MPS is not available on this machine")
    return device
