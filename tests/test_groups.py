import csv
import logging
from pathlib import Path

import pytest

from avts.data.corpus import find_videos, split_by_video
from avts.data.groups import group_fn, group_names, read_group_csv
from avts.errors import ConfigError
from avts.types import MediaInfo

ROOT = Path("/data")
NAMES = ["lrs2_spk1_a.mp4", "lrs2_spk1_b.mp4", "lrs2_spk2_a.mp4", "vox_spk1_a.mp4", "other.mp4"]


def _info(path):
    return MediaInfo(path=Path(path), duration_s=5.0, container="mp4", has_video=True,
                     has_audio=True)


def _paths(names=NAMES, root=ROOT):
    return [root / n for n in names]


def test_regex_first_group_or_whole_match_names_the_group():
    first = group_names(_paths(), r"^[a-z0-9]+_(spk\d)", ROOT)
    assert [first[p] for p in _paths()] == ["spk1", "spk1", "spk2", "spk1", None]
    whole = group_names(_paths(), r"^[a-z0-9]+_spk\d", ROOT)
    assert [whole[p] for p in _paths()] == ["lrs2_spk1", "lrs2_spk1", "lrs2_spk2", "vox_spk1",
                                            None]


def test_unmatched_files_are_their_own_group_with_a_warning(caplog):
    videos = [_info(p) for p in _paths()]
    with caplog.at_level(logging.WARNING, logger="avts.data.groups"):
        key = group_fn(videos, r"^lrs2_(spk\d)", ROOT)
    assert "2 of 5 files belong to no group" in caplog.text and "other.mp4" in caplog.text
    keys = [key(v) for v in videos]
    assert keys[0] == keys[1] != keys[2]
    assert len({keys[3], keys[4], keys[0], keys[2]}) == 4
    assert group_fn(videos, None, ROOT) is None


def test_csv_by_relative_path_or_file_name(tmp_path):
    root = tmp_path / "data"
    (tmp_path / "g.csv").write_text(
        "file,group\nsub/x.mp4,A\ny.mp4,A\n./z.mp4,B\nsub/other.mp4,C\n\n")
    paths = [root / "sub" / "x.mp4", root / "deep" / "y.mp4", root / "z.mp4",
             root / "other.mp4", root / "w.mp4"]
    names = group_names(paths, str(tmp_path / "g.csv"), root)
    # other.mp4 at the top is not sub/other.mp4; w.mp4 is not listed.
    assert [names[p] for p in paths] == ["A", "A", "B", None, None]


@pytest.mark.parametrize("text,message", [
    ("name,speaker\na.mp4,x\n", "header 'file,group'; got name,speaker"),
    ("", "an empty file"),
    ("file,group\na.mp4,\n", "line 2: empty file or group"),
    ("file,group\na.mp4,x\nb.mp4,y\na.mp4,z\n", "line 4: a.mp4 is listed in groups 'x' and 'z'"),
])
def test_bad_group_csv_is_a_config_error(tmp_path, text, message):
    (tmp_path / "g.csv").write_text(text)
    with pytest.raises(ConfigError, match="data.group_by") as err:
        read_group_csv(tmp_path / "g.csv")
    assert message in str(err.value)


def test_real_groups_csv_splits_the_shared_corpus_by_group(shared_av_sync):
    table = read_group_csv(shared_av_sync.parent / "av-sync-groups.csv")
    paths = find_videos(shared_av_sync)
    assert {p.name for p in paths} <= set(table)  # every shared clip has a group
    videos = [_info(p) for p in paths]
    key = group_fn(videos, str(shared_av_sync.parent / "av-sync-groups.csv"), shared_av_sync)
    train, val = split_by_video(videos, 0.2, seed=0, group_fn=key)
    assert {key(v) for v in train}.isdisjoint({key(v) for v in val})
    assert abs(len(val) / len(videos) - 0.2) < 0.05
    assert (train, val) == split_by_video(videos, 0.2, seed=0, group_fn=key)
    # The same speaker from two sources stays on one side (data README: aoc).
    aoc = {table[p.name] for p in paths if p.name.startswith(("retalking_face3", "hdtf_WDA_Alex"))}
    assert len(aoc) == 1
    with open(shared_av_sync.parent / "av-sync-groups.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(table)
