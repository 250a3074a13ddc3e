import dataclasses
import os
import shutil

import pytest

from avts.config import tiny
from avts.data.prepare import load_corpus, prepare_split, seen_in_run
from avts.errors import ConfigError, DatasetError


def _cfg(tmp_path, **data):
    cfg = tiny()
    return dataclasses.replace(cfg, data=dataclasses.replace(
        cfg.data, cache_dir=str(tmp_path / "cache"), **data))


def _groups_csv(tmp_path, corpus, sizes):
    """A CSV that puts the sorted files of ``corpus`` into groups of the given sizes."""
    names = sorted(p.name for p in corpus.glob("*.mp4"))
    rows, i = ["file,group"], 0
    for g, size in enumerate(sizes):
        rows += [f"{name},g{g}" for name in names[i:i + size]]
        i += size
    (tmp_path / "groups.csv").write_text("\n".join(rows) + "\n")
    return str(tmp_path / "groups.csv")


def test_too_small_folder_says_how_many_videos_are_needed_before_decoding(
        synth_corpus, tmp_path, no_decode):
    with pytest.raises(DatasetError, match=r"need at least 8 usable videos at "
                                           r"data.val_fraction=0.2 \(found 6;"):
        prepare_split(synth_corpus, _cfg(tmp_path))


def test_groups_that_leave_a_side_too_small_fail_before_decoding(synth_corpus, tmp_path,
                                                                 no_decode):
    one_group = _cfg(tmp_path, val_fraction=0.34, group_by="synth")
    with pytest.raises(DatasetError, match="data.group_by='synth': need at least 2 videos"):
        prepare_split(synth_corpus, one_group)
    lopsided = _cfg(tmp_path, val_fraction=0.34,
                    group_by=_groups_csv(tmp_path, synth_corpus, [5, 1]))
    with pytest.raises(DatasetError, match="puts 5 videos in training and 1 in validation"):
        prepare_split(synth_corpus, lopsided)


def test_grouped_split_decodes_whole_groups_on_each_side(synth_corpus, tmp_path):
    cfg = _cfg(tmp_path, val_fraction=0.34, group_by=_groups_csv(tmp_path, synth_corpus, [2, 2, 2]))
    data = prepare_split(synth_corpus, cfg)
    assert (len(data.train.videos), len(data.val.videos)) == (4, 2)
    names = sorted(p.name for p in synth_corpus.glob("*.mp4"))
    val_groups = {names.index(v.path.name) // 2 for v in data.val.videos}
    train_groups = {names.index(v.path.name) // 2 for v in data.train.videos}
    assert len(val_groups) == 1 and val_groups.isdisjoint(train_groups)


def test_load_corpus_needs_two_usable_videos_before_decoding(synth_corpus, tmp_path, no_decode):
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(sorted(synth_corpus.glob("*.mp4"))[0], folder / "a.mp4")
    with pytest.raises(DatasetError, match="need at least 2 usable videos"):
        load_corpus(folder, _cfg(tmp_path))


def test_seen_in_run_by_resolved_path_then_by_name_for_moved_files(tmp_path):
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        (tmp_path / "eval" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "eval" / name).write_bytes(b"x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "b.mp4").write_bytes(b"y")
    os.symlink(tmp_path / "eval", tmp_path / "link")
    paths = sorted((tmp_path / "eval").iterdir())
    # a.mp4: the same file by another path; b.mp4: another existing file of the same name (not
    # seen); c.mp4: the run's copy is gone (trained elsewhere), so the name decides.
    run = [str(tmp_path / "link" / "a.mp4"), str(tmp_path / "other" / "b.mp4"),
           "/gone/elsewhere/c.mp4"]
    assert [p.name for p in seen_in_run(paths, run)] == ["a.mp4", "c.mp4"]
    assert seen_in_run(paths, []) == []


def test_a_config_built_in_python_is_validated_before_probing(tmp_path, no_decode):
    cfg = tiny()
    bad = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, device="gpu"))
    with pytest.raises(ConfigError, match="train.device"):
        prepare_split(tmp_path / "does-not-exist", bad)


def test_train_extra_videos_join_the_training_side_only(synth_corpus, tmp_path):
    names = sorted(p.name for p in synth_corpus.glob("*.mp4"))
    main, extra = tmp_path / "main", tmp_path / "extra"
    main.mkdir(), extra.mkdir()
    for name in names[:4]:
        os.symlink(synth_corpus / name, main / name)
    for name in names[4:]:
        os.symlink(synth_corpus / name, extra / name)
    cfg = _cfg(tmp_path, val_fraction=0.5, train_extra=str(extra))
    data = prepare_split(main, cfg)
    train = sorted(v.path.name for v in data.train.videos)
    val = sorted(v.path.name for v in data.val.videos)
    assert (len(train), len(val)) == (4, 2)
    assert set(names[4:]) <= set(train) and set(val) <= set(names[:4])


def test_train_extra_must_be_a_folder_with_usable_videos(synth_corpus, tmp_path, no_decode):
    with pytest.raises(ConfigError, match="data.train_extra: folder .*nowhere not found"):
        _cfg(tmp_path, train_extra=str(tmp_path / "nowhere")).validate()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="data.train_extra: no video files under"):
        prepare_split(synth_corpus, _cfg(tmp_path, val_fraction=0.34,
                                         train_extra=str(tmp_path / "empty")))
