"""Checkpoints: complete, versioned, written atomically; loading rebuilds the model."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avts._atomic import atomic_path
from avts.config import Config, from_dict
from avts.errors import CheckpointError

FORMAT_VERSION = 1


def random_states() -> dict[str, Any]:
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_random_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if states.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (plus the format version) to a temporary file beside ``path``, then
    rename it: a crash mid-write never leaves a truncated checkpoint under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"format_version": FORMAT_VERSION, **state}, tmp)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        # Our checkpoints hold numpy random states and plain containers, hence weights_only=False.
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many types for a corrupt file
        raise CheckpointError(f"cannot read checkpoint {path}: {type(err).__name__}") from err
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not an avts checkpoint (format {FORMAT_VERSION})")
    return state


def checkpoint_config(state: dict[str, Any]) -> Config:
    return from_dict(state["config"], check_files=False)  # the group CSV may be elsewhere now
