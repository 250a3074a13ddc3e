from pathlib import Path

import pytest

from avts.data.heldout import (
    grouped_folds,
    grouped_holdout,
    read_groups,
    read_split,
    write_split,
)
from avts.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ROOT / ".." / "shared" / "data" / "av-sync-groups.csv"


def test_no_group_on_both_sides_and_fraction():
    groups = {f"g{g}_{i}.mp4": f"g{g}" for g in range(30) for i in range(1 + g % 4)}
    split = grouped_holdout(groups, 0.22, seed=0)
    sides: dict[str, set[str]] = {}
    for name, side in split.items():
        sides.setdefault(groups[name], set()).add(side)
    assert all(len(s) == 1 for s in sides.values())
    n_eval = sum(s == "eval" for s in split.values())
    assert 0.22 * len(groups) <= n_eval <= 0.25 * len(groups)
    assert split == grouped_holdout(groups, 0.22, seed=0)
    assert split != grouped_holdout(groups, 0.22, seed=1)


def test_folds_keep_groups_whole_and_balance():
    groups = {f"g{g}_{i}.mp4": f"g{g}" for g in range(30) for i in range(1 + g % 4)}
    folds = grouped_folds(groups, 4, seed=0)
    by_group: dict[str, set[int]] = {}
    for name, k in folds.items():
        by_group.setdefault(groups[name], set()).add(k)
    assert all(len(s) == 1 for s in by_group.values())
    counts = [sum(k == i for k in folds.values()) for i in range(4)]
    assert max(counts) - min(counts) <= 4  # at most the largest group apart
    assert folds == grouped_folds(groups, 4, seed=0)
    with pytest.raises(ConfigError, match="at least 2"):
        grouped_folds(groups, 1)
    with pytest.raises(ConfigError, match="only 2 groups"):
        grouped_folds({"a.mp4": "a", "b.mp4": "b"}, 3)


def test_bad_fraction_and_csv(tmp_path):
    with pytest.raises(ConfigError):
        grouped_holdout({"a.mp4": "a"}, 1.5)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,kind\na,b\n")
    with pytest.raises(ConfigError):
        read_groups(bad)


@pytest.mark.skipif(not GROUPS.exists(), reason="shared data not present")
def test_repository_split_is_reproduced(tmp_path):
    split = grouped_holdout(read_groups(GROUPS), 0.22, seed=2)
    write_split(tmp_path / "s.csv", split)
    assert read_split(tmp_path / "s.csv") == read_split(ROOT / "configs" / "real-split.csv")
