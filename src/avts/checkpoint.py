"""Checkpoint files: versioned, written atomically, read safely.

A checkpoint is a dict of plain data (dicts, lists, str, int, float, bool, None) and tensors,
so that it loads with ``torch.load(weights_only=True)``: opening a checkpoint from someone else
cannot run code. What the dict holds is the trainer's business (``avts.train``); this module
knows only the envelope (the format version) and the config, which every reader needs.
"""

from __future__ import annotations

import pickletools
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from avts._atomic import atomic_path
from avts.config import Config, from_dict
from avts.errors import AvtsError, CheckpointError

# 2: plain data only (weights_only loading), a threshold per epoch, the data folder.
FORMAT_VERSION = 2
# Keys every checkpoint of this format has (the trainer adds the optimizer state and more).
REQUIRED_KEYS = ("format_version", "config", "model", "loss", "epoch", "threshold",
                 "train_videos", "val_videos")


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (plus the format version) to a temporary file beside ``path``, then
    rename it: a crash mid-write never leaves a truncated checkpoint under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"format_version": FORMAT_VERSION, **state}, tmp)
    return path


def load_checkpoint(path: str | Path, required: tuple[str, ...] = REQUIRED_KEYS) -> dict[str, Any]:
    """The checkpoint's dict, on the CPU. ``CheckpointError`` (one line) for a missing, corrupt,
    foreign or unsafe file, one written in another format version, or one without the
    ``required`` keys (a sync model's by default)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a corrupt or foreign file
        raise CheckpointError(_unreadable_reason(path, err)) from err
    if not isinstance(state, dict) or "format_version" not in state:
        raise CheckpointError(f"{path} is not an avts checkpoint (a torch file of something else)")
    _check_version(path, state["format_version"])
    missing = [k for k in required if k not in state]
    if missing and state.get("kind") == "finetune-video":
        raise CheckpointError(f"{path} is a fine-tuned video classifier, not a sync model")
    if missing:
        raise CheckpointError(f"{path} is not a complete avts checkpoint: no {', '.join(missing)}")
    return state


def checkpoint_config(state: dict[str, Any], path: str | Path = "checkpoint") -> Config:
    """The run's config, stored as a plain dict."""
    try:
        return from_dict(state["config"], check_files=False)  # the group CSV may be elsewhere now
    except AvtsError as err:
        raise CheckpointError(f"{path}: its config does not load: {err}") from err


def _check_version(path: Path, version: Any) -> None:
    if version == FORMAT_VERSION:
        return
    if isinstance(version, int) and version < FORMAT_VERSION:
        raise CheckpointError(
            f"{path} is in checkpoint format {version}, from an older avts; this version reads "
            f"format {FORMAT_VERSION} only: train again (or use the avts that wrote it)")
    raise CheckpointError(f"{path} is in checkpoint format {version!r}, which this avts "
                          f"(format {FORMAT_VERSION}) does not know: update avts")


def _unreadable_reason(path: Path, err: Exception) -> str:
    """One line saying why ``torch.load(weights_only=True)`` refused ``path``."""
    version = _peek_format_version(path)
    if isinstance(version, int) and version < FORMAT_VERSION:
        try:
            _check_version(path, version)
        except CheckpointError as old:
            return str(old)
    blocked = re.search(r"GLOBAL ([\w.]+)", str(err))
    if blocked:
        return (f"refusing to load {path}: it holds a pickled Python object ({blocked.group(1)}) "
                "that could run code when loaded; avts checkpoints hold only tensors and plain "
                "data")
    if not zipfile.is_zipfile(path):
        return f"{path} is not a torch checkpoint (not a zip archive; truncated or another file?)"
    return f"{path} is corrupt or not an avts checkpoint ({type(err).__name__})"


def _peek_format_version(path: Path) -> Any:
    """The ``format_version`` stored at the head of a torch zip file, read from the pickle's
    opcodes without executing any of them (so older formats get a clear error); None if absent."""
    try:
        with zipfile.ZipFile(path) as zf:
            name = next((n for n in zf.namelist() if n.endswith("/data.pkl")), None)
            if name is None:
                return None
            previous = None
            for op, arg, _pos in pickletools.genops(zf.read(name)):
                if op.name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
                    continue  # memo bookkeeping between a key and its value
                if previous == "format_version":
                    return arg
                previous = arg
    except Exception:  # any damage: there is simply no version to report
        return None
    return None
