"""Scan results on disk: one JSON line (or CSV row) per file, appended and flushed as each
result arrives, so an interrupted scan loses nothing; read back to resume.

A row is ``SyncResult.to_dict()`` or ``{"file": ..., "error": "one line"}``. Non-finite numbers
become ``null`` (strict JSON). In CSV the timeline is a compact JSON string and an empty cell
is ``null``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from pathlib import Path
from typing import Any

from avts.errors import OutputPathError
from avts.types import SyncResult

CSV_FIELDS = (*(f.name for f in dataclasses.fields(SyncResult)), "error")


def json_safe(value: Any) -> Any:
    """NaN and infinities to None, recursively (``json.dumps`` would write invalid ``NaN``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


class ResultWriter:
    """Appends rows to ``path`` (JSONL, or CSV with ``as_csv``); ``done`` holds the resolved
    paths of the files already in it. Use as a context manager."""

    def __init__(self, path: Path, as_csv: bool = False) -> None:
        self.path, self.as_csv = Path(path), as_csv
        if self.path.is_dir():
            raise OutputPathError(f"{self.path} is a folder; give a file for --out")
        self.done = _read_done(self.path, as_csv) if self.path.exists() else set()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8", newline="")
        except OSError as err:
            raise OutputPathError(f"cannot write {self.path}: {err.strerror or err}") from err
        self._csv = csv.DictWriter(self._fh, CSV_FIELDS, lineterminator="\n") if as_csv else None
        if self._csv is not None and self._fh.tell() == 0:
            self._csv.writeheader()
            self._fh.flush()

    def write(self, row: dict) -> None:
        row = json_safe(row)
        if self._csv is not None:
            self._csv.writerow({k: _cell(row.get(k)) for k in CSV_FIELDS})
        else:
            self._fh.write(json.dumps(row) + "\n")
        self._fh.flush()  # line by line: a killed scan keeps every finished file

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return value


def read_rows(path: Path, as_csv: bool = False) -> list[dict]:
    """The rows of a scan output (a trailing half-written line, from a killed scan, is left
    out and cut off so that appending goes on from a clean line end)."""
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        keep = text.rfind("\n") + 1
        with open(path, "r+", encoding="utf-8") as fh:
            fh.truncate(len(text[:keep].encode("utf-8")))
        text = text[:keep]
    if not text:
        return []
    if as_csv:
        return _csv_rows(path, text)
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict) or "file" not in row:
            raise OutputPathError(f"{path}:{n} is not a scan result line; give another --out "
                                  "(or --csv if it is a CSV scan output)")
        rows.append(row)
    return rows


def _csv_rows(path: Path, text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != CSV_FIELDS:
        raise OutputPathError(f"{path} is not a CSV written by `avts scan --csv` (its header "
                              "differs); give another --out")
    return list(reader)


def _read_done(path: Path, as_csv: bool) -> set[Path]:
    try:
        rows = read_rows(path, as_csv)
    except OSError as err:
        raise OutputPathError(f"cannot read {path}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise OutputPathError(f"{path} is not a scan output (not text); give another --out") \
            from err
    return {Path(row["file"]).resolve() for row in rows if row.get("file")}
