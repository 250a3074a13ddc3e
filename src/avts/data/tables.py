"""Small CSV tables that configs point at (``data.group_by``, ``data.known_offsets``)."""

from __future__ import annotations

import csv
from pathlib import Path

from avts.errors import ConfigError


def read_columns(path: str | Path, columns: tuple[str, ...], key: str, expected: str
                 ) -> list[tuple[int, list[str]]]:
    """``(line number, [cell of each column, stripped])`` for every non-blank row of a CSV whose
    header names ``columns`` (any order, case-insensitive, other columns ignored). A file that
    cannot be read or lacks a column is a one-line ConfigError naming ``key`` and ``expected``."""
    try:
        with open(Path(path).expanduser(), newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ConfigError(f"{key}: cannot read {path}: {err}") from err
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if any(c not in header for c in columns):
        raise ConfigError(f"{key}: {path} must be {expected}; "
                          f"got {','.join(header) or 'an empty file'}")
    index = [header.index(c) for c in columns]
    return [(line, [row[i].strip() if i < len(row) else "" for i in index])
            for line, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
