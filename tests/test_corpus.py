import json
import os
from pathlib import Path

import numpy as np
import pytest

from avts.data.corpus import (
    CorpusIndex,
    cache_file,
    index_corpus,
    min_videos_for_split,
    split_by_video,
    usable_span,
)
from avts.errors import ConfigError, DatasetError, UnreadableMediaError
from avts.types import MediaInfo


def _info(path, duration_s=5.0, has_video=True, has_audio=True, v0=0.0, a0=0.0):
    return MediaInfo(
        path=Path(path),
        duration_s=duration_s,
        container="mov,mp4,m4a,3gp,3g2,mj2",
        has_video=has_video,
        has_audio=has_audio,
        video_start_s=v0,
        audio_start_s=a0,
    )


class FakeProbe:
    """Answers by file stem; counts calls per file."""

    def __init__(self):
        self.calls: list[str] = []

    def __call__(self, path: Path) -> MediaInfo:
        self.calls.append(path.name)
        stem = path.stem
        if stem.startswith("broken"):
            raise UnreadableMediaError(f"{path.name}: not a media file")
        if stem.startswith("silent"):
            return _info(path, has_audio=False)
        if stem.startswith("mute"):
            return _info(path, has_video=False)
        if stem.startswith("short"):
            return _info(path, duration_s=1.2)
        return _info(path, duration_s=5.0, v0=0.04, a0=0.1)


def _write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    _write(root / "b.mp4")
    _write(root / "a.MKV")
    _write(root / "sub" / "deep" / "c.webm")
    _write(root / "sub" / "broken.avi")
    _write(root / "silent.mov")
    _write(root / "mute.mp4")
    _write(root / "short.ts")
    _write(root / "notes.txt")
    _write(root / "sub" / "cover.jpg")
    return root


def _index(root, tmp_path, probe, **kw):
    return index_corpus(root, 2.5, cache_dir=tmp_path / "cache", probe_fn=probe, **kw)


def test_recursive_scan_and_skip_reasons(corpus, tmp_path):
    probe = FakeProbe()
    seen = []
    index = _index(corpus, tmp_path, probe, progress=lambda done, total: seen.append((done, total)))
    assert isinstance(index, CorpusIndex)
    assert index.root == corpus.absolute()
    assert [v.path.relative_to(corpus).as_posix() for v in index.videos] == [
        "a.MKV",
        "b.mp4",
        "sub/deep/c.webm",
    ]
    reasons = {s.path.name: s.reason for s in index.skipped}
    assert set(reasons) == {"broken.avi", "silent.mov", "mute.mp4", "short.ts"}
    assert reasons["broken.avi"] == "broken.avi: not a media file"
    assert "has no audio stream" in reasons["silent.mov"]
    assert "has no video stream" in reasons["mute.mp4"]
    assert "only 1.20 s where audio and video overlap; at least 2.50 s" in reasons["short.ts"]
    assert all("\n" not in reason for reason in reasons.values())
    assert seen[-1] == (7, 7) and len(seen) == 7
    assert sorted(probe.calls) == sorted(
        ["a.MKV", "b.mp4", "c.webm", "broken.avi", "silent.mov", "mute.mp4", "short.ts"]
    )
    assert index.spans == [(0.1, 5.0)] * 3


def test_usable_span_starts_when_both_streams_have_started():
    assert usable_span(_info("x.mp4", duration_s=3.0, v0=0.5, a0=0.2)) == (0.5, 3.0)
    assert usable_span(_info("x.mp4", v0=None, a0=None)) == (0.0, 5.0)


def test_cache_hit_probes_each_file_once(corpus, tmp_path):
    probe = FakeProbe()
    first = _index(corpus, tmp_path, probe)
    n_files = len(probe.calls)
    second = _index(corpus, tmp_path, probe)
    assert len(probe.calls) == n_files  # every outcome, failures included, came from the cache
    assert second.videos == first.videos
    assert second.skipped == first.skipped
    # The minimum duration is applied after the cache, so a new threshold needs no probing.
    relaxed = index_corpus(corpus, 1.0, cache_dir=tmp_path / "cache", probe_fn=probe)
    assert len(probe.calls) == n_files
    assert "short.ts" in {v.path.name for v in relaxed.videos}


def test_changed_file_is_probed_again(corpus, tmp_path):
    probe = FakeProbe()
    _index(corpus, tmp_path, probe)
    probe.calls.clear()
    target = corpus / "b.mp4"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    _write(corpus / "a.MKV", b"longer content")
    _index(corpus, tmp_path, probe)
    assert sorted(probe.calls) == ["a.MKV", "b.mp4"]


def test_corrupt_cache_is_ignored(corpus, tmp_path):
    path = cache_file(corpus.absolute(), tmp_path / "cache")
    _write(path, b"{not json")
    probe = FakeProbe()
    index = _index(corpus, tmp_path, probe)
    assert len(index.videos) == 3
    data = json.loads(path.read_text())  # rewritten, valid again
    assert len(data["entries"]) == 7
    for junk in ([1, 2], {"version": 1, "entries": {str(corpus / "b.mp4"): "junk"}}):
        path.write_text(json.dumps(junk))
        assert len(_index(corpus, tmp_path, FakeProbe()).videos) == 3
    assert not list(path.parent.glob("*.tmp"))


def test_default_cache_dir_honours_xdg(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    index_corpus(corpus, 2.5, probe_fn=FakeProbe())
    assert len(list((tmp_path / "xdg" / "avts" / "probe").glob("probe-*.json"))) == 1


def test_missing_root_and_empty_root(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        index_corpus(tmp_path / "nope", 2.5, cache_dir=tmp_path, probe_fn=FakeProbe())
    _write(tmp_path / "empty" / "readme.txt")
    with pytest.raises(DatasetError, match="no video files"):
        index_corpus(tmp_path / "empty", 2.5, cache_dir=tmp_path, probe_fn=FakeProbe())


def _videos(n, speakers=None):
    return [_info(f"/data/{speakers[i] if speakers else 'v'}_{i:03d}.mp4") for i in range(n)]


@pytest.mark.parametrize("n", [2, 3, 10, 57])
def test_split_by_video_disjoint_nonempty_deterministic(n):
    videos = _videos(n)
    train, val = split_by_video(videos, 0.2, seed=0)
    assert train and val
    assert {v.path for v in train}.isdisjoint({v.path for v in val})
    assert len(train) + len(val) == n
    assert (train, val) == split_by_video(videos, 0.2, seed=0)
    assert split_by_video(list(reversed(videos)), 0.2, seed=0)[1] == list(reversed(val))
    if n >= 10:
        assert len(val) == round(0.2 * n)


def test_split_depends_on_seed():
    videos = _videos(40)
    splits = {tuple(v.path for v in split_by_video(videos, 0.25, seed=s)[1]) for s in range(5)}
    assert len(splits) > 1


def test_split_keeps_groups_together():
    speakers = [f"spk{i % 7}" for i in range(50)]
    videos = _videos(50, speakers)

    def group(info):
        return info.path.name.split("_")[0]

    train, val = split_by_video(videos, 0.3, seed=1, group_fn=group)
    assert train and val
    assert {group(v) for v in train}.isdisjoint({group(v) for v in val})


def test_split_errors():
    with pytest.raises(DatasetError):
        split_by_video(_videos(1), 0.2, seed=0)
    with pytest.raises(DatasetError):
        split_by_video(_videos(5), 0.2, seed=0, group_fn=lambda info: "all")
    with pytest.raises(ConfigError):
        split_by_video(_videos(5), 0.0, seed=0)


@pytest.mark.parametrize("n_groups,seed", [(7, 0), (7, 1), (20, 3), (45, 5)])
def test_grouped_split_keeps_each_group_on_one_side_close_to_the_share(n_groups, seed):
    rng = np.random.default_rng(seed)
    speakers = [f"spk{k}" for k in range(n_groups) for _ in range(rng.integers(1, 6))]
    videos = _videos(len(speakers), speakers)

    def group(info):
        return info.path.name.split("_")[0]

    train, val = split_by_video(videos, 0.25, seed=seed, group_fn=group)
    assert {group(v) for v in train}.isdisjoint({group(v) for v in val})
    assert len(train) + len(val) == len(videos) and train and val
    # Whole groups of at most 5 videos: the share misses the target by less than one group.
    assert abs(len(val) - 0.25 * len(videos)) <= 2.5
    assert (train, val) == split_by_video(videos, 0.25, seed=seed, group_fn=group)
    again = split_by_video(list(reversed(videos)), 0.25, seed=seed, group_fn=group)[1]
    assert {v.path for v in again} == {v.path for v in val}  # independent of the input order


def test_one_huge_group_goes_to_training():
    videos = _videos(30, ["big"] * 25 + [f"s{i}" for i in range(5)])
    train, val = split_by_video(videos, 0.2, seed=0, group_fn=lambda v: v.path.name.split("_")[0])
    assert len(val) == 5 and all(v.path.name.startswith("big") for v in train)


@pytest.mark.parametrize("val_fraction", [0.05, 0.1, 0.2, 0.34, 0.5, 0.8])
def test_min_videos_for_split_is_the_first_count_with_two_videos_each_side(val_fraction):
    need = min_videos_for_split(val_fraction)
    for n in range(2, need + 3):
        train, val = split_by_video(_videos(n), val_fraction, seed=0)
        assert (min(len(train), len(val)) >= 2) == (n >= need), n
    assert min_videos_for_split(0.2) == 8
