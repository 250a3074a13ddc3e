"""Known offsets of training files (avts.data.offsets): the table, the lookup, and the decoded
stores, on a file whose clicks are heard 200 ms after their flashes are seen."""

import json
from pathlib import Path

import numpy as np
import pytest
from media_synth import (
    SIZE_HW,
    click_onsets_s,
    click_track,
    flash_frames,
    flash_instants_s,
)

from avts.config import ClipConfig, MultiwayConfig, from_dict, load
from avts.data.dataset import ClipStore
from avts.data.offsets import lookup_delays, read_known_offsets
from avts.data.prepare import prepare_split
from avts.data.regionstore import RegionStore
from avts.errors import ConfigError
from avts.media import probe
from avts.media.write import write_av

FPS, SR, LATE_S = 25, 16000, 0.2
REAL_YAML = Path(__file__).resolve().parents[1] / "configs" / "real.yaml"


def _late_clicks(path, late_s=LATE_S, seconds=3.2):
    """Flashes with their clicks ``late_s`` later: a file whose audio is late by ``late_s``."""
    audio = click_track(round(seconds * SR), SR, FPS)
    k = round(late_s * SR)
    audio = np.concatenate([np.zeros(k, np.float32), audio[:-k]])
    return write_av(path, flash_frames(round(seconds * FPS)), FPS, audio, SR)


def _lag_s(flashes, clicks):
    """Mean click time minus flash time over the flashes that have a click."""
    return float(np.mean([min(clicks, key=lambda c: abs(c - f - LATE_S)) - f for f in flashes]))


def test_csv_and_scan_tables(tmp_path):
    csv = tmp_path / "offsets.csv"
    csv.write_text("file,offset_ms\na.mp4,120\n./sub/b.mp4,-40.5\n\nbroken.mp4,\n")
    assert read_known_offsets(csv) == {"a.mp4": 0.12, "sub/b.mp4": -0.0405}
    scan = tmp_path / "scan.json"  # recognised by its content, not its name
    scan.write_text("\n".join(json.dumps(r) for r in [
        {"file": "/data/a.mp4", "offset_ms": 80.0, "verdict": "out-of-sync"},
        {"file": "/data/broken.mp4", "error": "no audio stream"},
        {"file": "/data/quiet.mp4", "offset_ms": None},
    ]) + "\n")
    assert read_known_offsets(scan) == {"/data/a.mp4": 0.08}


@pytest.mark.parametrize("text, message", [
    ("file,group\na.mp4,x\n", "the columns file and offset_ms"),
    ("file,offset_ms\na.mp4,soon\n", "line 2: offset_ms 'soon' is not a number"),
    ("file,offset_ms\na.mp4,nan\n", "is not finite"),
    ("file,offset_ms\na.mp4,10\na.mp4,20\n", "a.mp4 is listed with two offsets"),
    ("file,offset_ms\n,10\n", "empty file"),
])
def test_bad_csv_tables_name_the_problem(tmp_path, text, message):
    path = tmp_path / "offsets.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_known_offsets(path)


def test_bad_scan_tables_and_missing_files(tmp_path):
    path = tmp_path / "scan.jsonl"
    path.write_text('{"file": "a.mp4", "offset_ms": 1}\nnot json\n')
    with pytest.raises(ConfigError, match="line 2 is not JSON"):
        read_known_offsets(path)
    path.write_text('{"offset_ms": 1}\n')  # JSON lines, but not a scan's
    with pytest.raises(ConfigError, match="no 'file'"):
        read_known_offsets(path)
    with pytest.raises(ConfigError, match="cannot read"):
        read_known_offsets(tmp_path / "gone.csv")
    with pytest.raises(ConfigError, match="data.known_offsets: file .*gone.csv not found"):
        from_dict({"data": {"known_offsets": str(tmp_path / "gone.csv")}})


def test_lookup_by_path_relative_path_then_name(tmp_path):
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    a, b, c, d = root / "a.mp4", root / "sub" / "b.mp4", root / "sub" / "c.mp4", root / "d.mp4"
    table = {str(a): 0.1, "sub/b.mp4": 0.2, "c.mp4": 0.3, "sub/a.mp4": 9.0}
    assert lookup_delays([a, b, c, d], table, root) == [0.1, 0.2, 0.3, 0.0]


@pytest.fixture(scope="module")
def late(tmp_path_factory):
    return probe(_late_clicks(tmp_path_factory.mktemp("late") / "late.mp4"))


def test_region_store_undoes_a_known_offset(late):
    mw = MultiwayConfig(region="full", region_short_side=48, size=12, jitter=0)
    for delay, lag in ((0.0, LATE_S), (LATE_S, 0.0)):
        track = RegionStore([late], ClipConfig(fps=FPS), SR, mw, audio_delays=[delay]).tracks[0]
        flashes = flash_instants_s(track.gray[..., None], FPS, track.start_s)
        clicks = click_onsets_s(track.audio, SR, track.start_s)
        assert len(flashes) == 3 and len(clicks) >= 2
        assert _lag_s(flashes, clicks) == pytest.approx(lag, abs=0.005)


@pytest.mark.parametrize("preload", [True, False])
def test_clip_store_undoes_a_known_offset(late, preload):
    clip = ClipConfig(fps=FPS, duration_s=2.0, height=SIZE_HW[0], width=SIZE_HW[1])
    for delay, lag in ((0.0, LATE_S), (LATE_S, 0.0)):
        store = ClipStore([late], clip, SR, preload=preload, audio_delays=[delay])
        frames, snap_s = store.video(0, 0.4)
        flashes = flash_instants_s(frames, FPS, 0.4 + snap_s)
        clicks = click_onsets_s(store.audio(0, 0.4 + snap_s), SR, 0.4 + snap_s)
        assert len(flashes) == 2 and len(clicks) == 2
        assert _lag_s(flashes, clicks) == pytest.approx(lag, abs=0.005)


@pytest.mark.parametrize("listed, lag", [("abcd", 0.0), ("", LATE_S)])
def test_training_split_reads_the_table(late, tmp_path, caplog, listed, lag):
    for name in "abcd":
        (tmp_path / f"{name}.mp4").symlink_to(late.path)
    table = tmp_path / "offsets.csv"
    rows = [f"{name}.mp4,200" for name in listed] or ["elsewhere/late.mp4,200"]
    table.write_text("file,offset_ms\n" + "\n".join(rows) + "\n")
    cfg = load(REAL_YAML, ["data.val_fraction=0.5", "data.multiway.region=full",
                           "data.multiway.region_short_side=48", "data.multiway.size=12",
                           "data.multiway.jitter=0", "data.multiway.n_frames=15",
                           "data.multiway.win_frames=5", "data.multiway.max_shift=5",
                           "data.multiway.margin=2", "data.pairs.superhard_min_shift_s=0.08",
                           "data.pairs.superhard_max_shift_s=0.16", "train.num_workers=0",
                           f"data.known_offsets={table}", f"data.cache_dir={tmp_path / 'c'}"])
    data = prepare_split(tmp_path, cfg)
    for track in data.train.tracks + data.val.tracks:
        flashes = flash_instants_s(track.gray[..., None], FPS, track.start_s)
        clicks = click_onsets_s(track.audio, SR, track.start_s)
        assert _lag_s(flashes, clicks) == pytest.approx(lag, abs=0.005)
    unmatched = [r for r in caplog.records if "none of its 1 files" in r.getMessage()]
    assert len(unmatched) == (0 if listed else 1)
