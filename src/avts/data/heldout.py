"""A held-out evaluation split by group: no speaker or source recording on both sides.

``av-sync-groups.csv`` (``file,group``) names the group of every clip; whole groups go to the
evaluation side, in an order fixed by a hash of ``seed`` and the group name, until about
``eval_fraction`` of the clips are there. Pure and deterministic: the same CSV and seed always
give the same split (kept in ``configs/real-split.csv``).
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from avts.errors import ConfigError


def read_groups(path: str | Path) -> dict[str, str]:
    """``file -> group`` from a CSV with a ``file,group`` header."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"file", "group"} <= set(rows[0]):
        raise ConfigError(f"{path}: expected a CSV with columns file,group")
    return {row["file"]: row["group"] for row in rows}


def _group_order(groups: list[str], seed: int) -> list[str]:
    def key(g: str) -> str:
        return hashlib.sha1(f"{seed}:{g}".encode()).hexdigest()

    return sorted(groups, key=key)


def grouped_holdout(file_groups: Mapping[str, str], eval_fraction: float = 0.22,
                    seed: int = 0) -> dict[str, str]:
    """``file -> "train" | "eval"``; every group lies entirely on one side.

    Groups are taken in hash order; a group is skipped when it would push the evaluation side
    past ``eval_fraction`` by more than 3 percentage points, so one large group cannot swamp it.
    """
    if not 0.0 < eval_fraction < 1.0:
        raise ConfigError(f"eval_fraction must lie in (0, 1), got {eval_fraction}")
    sizes = Counter(file_groups.values())
    n_total = len(file_groups)
    target, ceiling = eval_fraction * n_total, (eval_fraction + 0.03) * n_total
    held: set[str] = set()
    n_eval = 0
    for group in _group_order(list(sizes), seed):
        if n_eval >= target:
            break
        if n_eval + sizes[group] <= ceiling:
            held.add(group)
            n_eval += sizes[group]
    return {f: ("eval" if g in held else "train") for f, g in sorted(file_groups.items())}


def grouped_folds(file_groups: Mapping[str, str], n_folds: int, seed: int = 0) -> dict[str, int]:
    """``file -> fold`` (0 .. n_folds-1) for grouped cross-validation; every group in one fold.

    Largest groups first (ties in hash order), each to the fold with the fewest clips so far,
    so the folds differ in size by at most the largest group.
    """
    if n_folds < 2:
        raise ConfigError(f"cross-validation needs at least 2 folds, got {n_folds}")
    sizes = Counter(file_groups.values())
    if n_folds > len(sizes):
        raise ConfigError(f"{n_folds} folds but only {len(sizes)} groups")
    order = _group_order(list(sizes), seed)
    order.sort(key=lambda g: -sizes[g])  # stable: hash order among equal sizes
    fold_of: dict[str, int] = {}
    counts = [0] * n_folds
    for group in order:
        k = min(range(n_folds), key=lambda i: (counts[i], i))
        fold_of[group] = k
        counts[k] += sizes[group]
    return {f: fold_of[g] for f, g in sorted(file_groups.items())}


def write_split(path: str | Path, split: Mapping[str, str]) -> None:
    """``file,split`` rows, sorted by file name."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "split"])
        for name in sorted(split):
            writer.writerow([name, split[name]])


def read_split(path: str | Path) -> dict[str, str]:
    with open(path, newline="") as fh:
        return {row["file"]: row["split"] for row in csv.DictReader(fh)}
