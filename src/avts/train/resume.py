"""The checks a run must pass before it continues from ``last.pt``: the same settings and the
same training and validation files; otherwise it would silently train something else."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from avts.config import Config
from avts.errors import ConfigError, DatasetError

# Settings that may change between a run and its resumption without changing the result.
RESUMABLE_FIELDS = ("epochs", "num_workers", "device")


def check_resumable(saved: Config, given: Config) -> None:
    """Refuse a config that differs from the checkpoint's in more than RESUMABLE_FIELDS."""
    keep = {f: getattr(saved.train, f) for f in RESUMABLE_FIELDS}
    if replace(given, train=replace(given.train, **keep)) != saved:
        changed = _changed_keys(saved.to_dict(), given.to_dict())
        changed = [k for k in changed if k not in {f"train.{f}" for f in RESUMABLE_FIELDS}]
        allowed = ", ".join("train." + f for f in RESUMABLE_FIELDS)
        raise ConfigError(f"cannot resume: the config differs from the checkpoint's in "
                          f"{', '.join(changed)}; only {allowed} may change")


def _changed_keys(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [k for key in a for k in _changed_keys(a[key], b.get(key), f"{prefix}{key}.")]
    return [prefix.rstrip(".")] if a != b else []


def video_names(paths: Iterable[str | Path]) -> list[str]:
    """How a checkpoint records files: absolute, resolved paths."""
    return [str(Path(p).resolve()) for p in paths]


def check_same_files(state: dict[str, Any], train: Iterable[str | Path],
                     val: Iterable[str | Path]) -> None:
    """Refuse to resume when the data no longer gives the checkpoint's train/validation files."""
    old_train, old_val = set(state["train_videos"]), set(state["val_videos"])
    new_train, new_val = set(video_names(train)), set(video_names(val))
    if (old_train, old_val) == (new_train, new_val):
        return
    old_all, new_all = old_train | old_val, new_train | new_val
    parts = [
        _count(old_train - new_all, "training file is gone", "training files are gone"),
        _count(old_val - new_all, "validation file is gone", "validation files are gone"),
        _count(new_all - old_all, "new file", "new files"),
        _count((old_train & new_val) | (old_val & new_train),
               "file moved between training and validation",
               "files moved between training and validation"),
    ]
    raise DatasetError("cannot resume: the data folder no longer gives the run's training and "
                       f"validation files: {'; '.join(p for p in parts if p)}; resume refused")


def _count(names: set[str], one: str, many: str) -> str:
    if not names:
        return ""
    shown = sorted(Path(n).name for n in names)
    more = f", ... {len(shown) - 3} more" if len(shown) > 3 else ""
    return f"{len(names)} {one if len(names) == 1 else many} ({', '.join(shown[:3])}{more})"
