"""Train/test splits of a labelled video set: the official UCF101 (``trainlist01.txt`` /
``testlist01.txt``) or HMDB51 (``<class>_test_split1.txt``: 1 train, 2 test, 0 unused) split
files when present, else a seeded split stratified by class. Always by video, never by clip."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from avts.downstream.labelled import LabelledItem
from avts.errors import DatasetError

Split = tuple[list[LabelledItem], list[LabelledItem], str]  # train, test, description


def split_videos(root: Path, items: Sequence[LabelledItem], test_fraction: float, seed: int
                 ) -> Split:
    ucf = _find(root, "trainlist01.txt")
    if ucf is not None and (ucf.parent / "testlist01.txt").is_file():
        return _ucf_split(root, items, ucf, ucf.parent / "testlist01.txt")
    hmdb = sorted(root.rglob("*_test_split1.txt"))
    if hmdb:
        return _hmdb_split(items, hmdb)
    return _stratified_split(items, test_fraction, seed)


def _find(root: Path, name: str) -> Path | None:
    return next(iter(sorted(root.rglob(name))), None)


def _checked(train: list[LabelledItem], test: list[LabelledItem], how: str) -> Split:
    if not train or not test:
        raise DatasetError(f"{how}: {len(train)} training and {len(test)} test videos match "
                           "the files found; check the split files against the folders")
    return train, test, how


def _ucf_split(root: Path, items: Sequence[LabelledItem], train_list: Path, test_list: Path
               ) -> Split:
    def names(path: Path) -> set[str]:
        return {line.split()[0].strip() for line in path.read_text().splitlines()
                if line.strip()}

    train_names, test_names = names(train_list), names(test_list)
    rel = {item: item.path.relative_to(root).as_posix() for item in items}
    train = [i for i in items if rel[i] in train_names]
    test = [i for i in items if rel[i] in test_names]
    return _checked(train, test, f"official split 1 ({train_list.name}, {test_list.name})")


def _hmdb_split(items: Sequence[LabelledItem], split_files: list[Path]) -> Split:
    role: dict[tuple[str, str], str] = {}
    for path in split_files:
        label = path.name[: -len("_test_split1.txt")]
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                role[(label, parts[0])] = parts[1]
    train = [i for i in items if role.get((i.label, i.path.name)) == "1"]
    test = [i for i in items if role.get((i.label, i.path.name)) == "2"]
    return _checked(train, test, f"official split 1 ({len(split_files)} *_test_split1.txt)")


def _stratified_split(items: Sequence[LabelledItem], test_fraction: float, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in sorted({i.label for i in items}):
        members = [i for i in items if i.label == label]
        if len(members) < 2:
            raise DatasetError(f"class {label!r} has {len(members)} video; a train/test split "
                               "needs at least 2 per class")
        order = rng.permutation(len(members))
        n_test = min(len(members) - 1, max(1, round(test_fraction * len(members))))
        test += [members[k] for k in order[:n_test]]
        train += [members[k] for k in order[n_test:]]
    return _checked(train, test, f"stratified by class ({test_fraction:.0%} test, seed {seed})")
