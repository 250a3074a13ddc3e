"""Labelled sets for the downstream protocols: a CSV in ESC-50's form (``filename, fold,
target, category``; ``file``/``label`` as written by ``avts synth`` work too) or one folder per
class. Folds come from the CSV when it has them."""

from __future__ import annotations

import csv
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from avts.downstream.batch import find_media
from avts.errors import DatasetError

META_NAMES = ("meta.csv", "labels.csv", "meta/esc50.csv")  # looked for in the data folder
_FILE_COLUMNS = ("filename", "file", "path")
_LABEL_COLUMNS = ("category", "label", "class", "target")


@dataclass(frozen=True)
class LabelledItem:
    path: Path
    label: str
    fold: int | None = None  # from the CSV; None when it gives none


@dataclass(frozen=True)
class LabelledSet:
    root: Path
    items: list[LabelledItem]
    classes: list[str]  # sorted class names; index = class id
    source: str  # the CSV used, or "folders"

    @property
    def has_folds(self) -> bool:
        return all(item.fold is not None for item in self.items)


def load_labelled_set(root: str | Path, meta: str | Path | None = None,
                      classes: Sequence[str] = ()) -> LabelledSet:
    """Items of ``root`` from ``meta`` (or a ``meta.csv``/``labels.csv`` found there), else
    from its class folders; ``classes`` keeps only classes matching one of the globs."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    meta_path = Path(meta) if meta else next(
        (root / n for n in META_NAMES if (root / n).is_file()), None)
    items = _from_csv(root, meta_path) if meta_path else _from_folders(root)
    if classes:
        items = [i for i in items if any(fnmatch.fnmatchcase(i.label, g) for g in classes)]
        if not items:
            raise DatasetError(f"no class in {root} matches {', '.join(classes)}")
    if not items:
        raise DatasetError(f"{root}: no labelled files (give a CSV with --meta, or put the "
                           "files in one folder per class)")
    names = sorted({i.label for i in items})
    return LabelledSet(root, items, names, str(meta_path) if meta_path else "folders")


def _from_folders(root: Path) -> list[LabelledItem]:
    items = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        items += [LabelledItem(path, folder.name) for path in find_media(folder)]
    return items


def _column(header: list[str], names: tuple[str, ...], meta: Path, what: str) -> str:
    found = next((n for n in names if n in header), None)
    if found is None:
        raise DatasetError(f"{meta}: no {what} column (expected one of {', '.join(names)}; "
                           f"found {', '.join(header)})")
    return found


def _from_csv(root: Path, meta: Path) -> list[LabelledItem]:
    try:
        with open(meta, newline="") as fh:
            rows = list(csv.DictReader(fh))
            header = [h.strip() for h in (rows[0].keys() if rows else [])]
    except OSError as err:
        raise DatasetError(f"cannot read {meta}: {err.strerror}") from err
    if not rows:
        raise DatasetError(f"{meta} has no rows")
    file_col = _column(header, _FILE_COLUMNS, meta, "file name")
    label_col = _column(header, _LABEL_COLUMNS, meta, "label")
    items, missing = [], []
    for row in rows:
        path = root / row[file_col].strip()
        if not path.is_file():
            missing.append(path)
            continue
        fold = row.get("fold")
        items.append(LabelledItem(path, row[label_col].strip(), _fold(fold, meta)))
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DatasetError(f"{meta} names a missing file: {missing[0]}{more}")
    return items


def _fold(value: str | None, meta: Path) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError as err:
        raise DatasetError(f"{meta}: fold {value!r} is not an integer") from err
