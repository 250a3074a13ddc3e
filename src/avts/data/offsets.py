"""Known audio/video offsets of training files (``data.known_offsets``), undone when they are read.

Footage with a measured lip-sync error is a wrong positive for every window it gives: the model
is taught that the shifted pair is in sync. With its offset known (measured by ``avts scan``, or
by hand), the file can train anyway: its audio is read ``offset`` later on the file's own
timeline, so the pairs cut from it are in sync. The table is a CSV with the columns ``file``
and ``offset_ms`` (others are ignored, so an ``avts scan --csv`` output works as it stands) or
an ``avts scan`` JSON-lines output; rows with an error or no offset are passed over. Offsets
follow ``avts sync``: positive means the audio is late. ``file`` is an absolute path, a path
relative to the data folder, or the file name alone; files not listed count as in sync.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from avts.data.tables import read_columns
from avts.errors import ConfigError

KEY = "data.known_offsets"


def read_known_offsets(path: str | Path) -> dict[str, float]:
    """``file -> offset in seconds`` (positive: audio late); a bad table is a ConfigError."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{KEY}: cannot read {path}: {err}") from err
    if text.lstrip().startswith("{"):  # JSON lines, whatever the name
        return _from_scan(text, path)
    table: dict[str, float] = {}
    for line, (name, value) in read_columns(
            path, ("file", "offset_ms"), KEY,
            "a CSV with the columns file and offset_ms or an `avts scan` .jsonl output"):
        if not value:  # a file `avts scan --csv` could not measure
            continue
        where = f"{path} line {line}"
        _add(table, name, _ms(value, where), where)
    return table


def _from_scan(text: str, path: Path) -> dict[str, float]:
    table: dict[str, float] = {}
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path} line {line}"
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{KEY}: {where} is not JSON: {err.msg}") from err
        if not isinstance(row, dict) or "file" not in row:
            raise ConfigError(f"{KEY}: {where} has no 'file' (not an `avts scan` output)")
        if row.get("offset_ms") is None:  # a file the scan could not measure
            continue
        _add(table, str(row["file"]), _ms(row["offset_ms"], where), where)
    return table


def _ms(value: object, where: str) -> float:
    try:
        seconds = float(value) / 1000.0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{KEY}: {where}: offset_ms {value!r} is not a number") from None
    if not math.isfinite(seconds):
        raise ConfigError(f"{KEY}: {where}: offset_ms {value!r} is not finite")
    return seconds


def _add(table: dict[str, float], name: str, seconds: float, where: str) -> None:
    if not name:
        raise ConfigError(f"{KEY}: {where}: empty file")
    name = Path(name).as_posix().removeprefix("./")
    if table.setdefault(name, seconds) != seconds:
        raise ConfigError(f"{KEY}: {where}: {name} is listed with two offsets")


def lookup_delays(paths: Sequence[Path], table: dict[str, float], root: Path) -> list[float]:
    """Each file's known offset in seconds (0 where the table has none): looked up by resolved
    path, then by path relative to ``root``, then by file name."""
    by_resolved = {Path(k).expanduser().resolve(): v for k, v in table.items()
                   if Path(k).expanduser().is_absolute()}
    delays = []
    for path in paths:
        resolved = Path(path).resolve()
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else None
        if resolved in by_resolved:
            delays.append(by_resolved[resolved])
        elif rel is not None and rel in table:
            delays.append(table[rel])
        else:
            delays.append(table.get(path.name, 0.0))
    return delays
