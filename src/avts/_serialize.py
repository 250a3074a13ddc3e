"""One converter from dataclasses (configs and results) to plain JSON/YAML types."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any


def to_plain(value: Any) -> Any:
    """Dataclasses and dicts to dicts, tuples and lists to lists, paths to strings."""
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value
