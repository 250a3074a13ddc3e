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


# 30 groups of 1 to 4 clips
GROUPED = {f"g{g}_{i}.mp4": f"g{g}" for g in range(30) for i in range(1 + g % 4)}


def assert_groups_whole(assignment: dict) -> None:
    """Every group's clips have one value (side or fold) in ``assignment``."""
    seen: dict[str, set] = {}
    for name, where in assignment.items():
        seen.setdefault(GROUPED[name], set()).add(where)
    assert all(len(s) == 1 for s in seen.values())


def test_no_group_on_both_sides_and_fraction():
    groups = GROUPED
    split = grouped_holdout(groups, 0.22, seed=0)
    assert_groups_whole(split)
    n_eval = sum(s == "eval" for s in split.values())
    assert 0.22 * len(groups) <= n_eval <= 0.25 * len(groups)
    assert split == grouped_holdout(groups, 0.22, seed=0)
    assert split != grouped_holdout(groups, 0.22, seed=1)


def test_folds_keep_groups_whole_and_balance():
    groups = GROUPED
    folds = grouped_folds(groups, 4, seed=0)
    assert_groups_whole(folds)
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
