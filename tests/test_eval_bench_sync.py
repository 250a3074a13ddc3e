"""bench-sync: shifted copies with known offsets, measured and scored per method and offset."""

from dataclasses import dataclass

import numpy as np
import pytest
from conftest import write_bad_files
from media_synth import click_onsets_s, flash_instants_s, write_flash_click_at

from avts.errors import MediaTooShortError
from avts.eval.bench_sync import offset_key, one_by_one, run_bench, score
from avts.media import probe, read_audio, read_video
from avts.types import BenchSyncCase

OFFSETS_MS = (-200, -80, 0, 80, 200)
FLASHES = [10, 27, 41, 66, 80, 101, 119, 133]  # irregular, so no offset aliases another


@dataclass(frozen=True)
class _Measured:
    offset_ms: float | None
    verdict: str
    confidence: float
    score: float = 1.0
    face_share: float | None = None


def _events_detector(path, method):
    """Model-free offset of flash/click content: each flash against its nearest click."""
    info = probe(path)
    fps = info.video_fps
    frames = read_video(path, info.start_s, info.duration_s, fps, (48, 64))
    audio = read_audio(path, info.start_s, info.duration_s, 16000)
    flashes = np.array(flash_instants_s(frames, fps, info.start_s))
    clicks = np.array(click_onsets_s(audio, 16000, info.start_s))
    if method == "early-guess":  # a deliberately poor method: the true offset, sign flipped
        return _Measured(-_nearest_lag_ms(flashes, clicks), "out-of-sync", 0.5)
    return _Measured(_nearest_lag_ms(flashes, clicks), "in-sync", 0.9)


def _nearest_lag_ms(flashes, clicks) -> float:
    lags = [clicks[np.argmin(np.abs(clicks - t))] - t for t in flashes]
    return float(np.median(lags) * 1000)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    return [write_flash_click_at(folder / "a.mp4", 25, 16000, FLASHES, 6.0),
            write_flash_click_at(folder / "b.mp4", 30, 16000, [f + 5 for f in FLASHES], 6.0)]


def test_bench_scores_each_method_overall_and_per_offset(clips, tmp_path):
    calls = []
    result = run_bench(clips, OFFSETS_MS, ["events", "early-guess"],
                       one_by_one(_events_detector), tmp_path / "work",
                       progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (20, 20) and len(result.cases) == 20
    good, bad = result.overall["events"], result.overall["early-guess"]
    assert good.n == 10 and good.within_1_frame == 1.0 and good.sign_accuracy == 1.0
    assert good.n_signed == 8 and good.median_abs_error_ms < 2
    assert bad.sign_accuracy == 0.0 and bad.within_1_frame == pytest.approx(0.2)  # offset 0 only
    assert set(result.per_offset["events"]) == {"-200", "-80", "0", "+80", "+200"}
    assert result.per_offset["early-guess"]["0"].within_2_frames == 1.0
    assert result.per_offset["events"]["0"].sign_accuracy is None
    # every copy exists, with the video packets of its original
    assert all(c.copy.exists() and c.copy.parent.parent == tmp_path / "work"
               for c in result.cases)
    fps = {c.file.name: c.fps for c in result.cases}
    assert fps["a.mp4"] == pytest.approx(25) and fps["b.mp4"] == pytest.approx(30)
    assert result.to_dict()["overall"]["events"]["within_1_frame"] == 1.0


def test_files_that_cannot_be_shifted_are_noted_and_skipped(clips, tmp_path):
    from media_synth import write_video_only

    silent = write_video_only(tmp_path / "silent.mp4")
    result = run_bench([silent, clips[0]], [0, 80], ["events"], one_by_one(_events_detector),
                       tmp_path / "w")
    assert result.files == [clips[0]] and result.overall["events"].n == 2
    assert len(result.notes) == 1 and "silent.mp4" in result.notes[0]
    assert "no audio stream" in result.notes[0]


def test_scores_count_missing_estimates_as_misses():
    def case(true_ms, measured_ms, fps=25.0):
        err = None if measured_ms is None else measured_ms - true_ms
        return BenchSyncCase(file="f", copy="c", true_offset_ms=true_ms, method="m", fps=fps,
                             measured_offset_ms=measured_ms, error_ms=err, verdict=None,
                             confidence=None)

    s = score([case(200, 240), case(200, 281), case(-80, None), case(0, 0.0)])
    assert s.n == 4 and s.n_signed == 3 and s.n_failed == 1
    assert s.within_1_frame == 0.5  # 40 ms is exactly one frame at 25 fps
    assert s.within_2_frames == 0.5  # 81 ms is just over two frames
    assert s.sign_accuracy == pytest.approx(2 / 3)
    assert offset_key(80) == "+80" and offset_key(-500.0) == "-500" and offset_key(0) == "0"


def test_api_runs_both_methods_side_by_side_with_a_checkpoint(clips, random_checkpoint):
    import avts

    result = avts.bench_sync(clips[0], [0, 200], checkpoint=random_checkpoint, search_ms=500)
    assert result.methods == ["avts", "baseline"] and result.notes == []
    assert {(c.method, c.true_offset_ms) for c in result.cases} == {
        ("avts", 0.0), ("avts", 200.0), ("baseline", 0.0), ("baseline", 200.0)}
    # the copies lived in a temporary folder that is gone; the baseline still found the shift
    assert not result.cases[0].copy.exists()
    assert result.overall["baseline"].within_2_frames == 1.0
    assert 0 <= result.overall["avts"].within_2_frames <= 1  # an untrained model: any score


def test_measuring_one_by_one_keeps_user_errors_as_results_and_raises_the_rest(clips):
    def detect(path, method):
        if method == "short":
            raise MediaTooShortError(f"{path} is too short")
        if method == "bug":
            raise ValueError("a bug, not a miss")
        return method

    progress = []
    measure = one_by_one(detect)
    results = measure([(clips[0], "ok"), (clips[1], "short")], lambda *a: progress.append(a))
    assert results[0] == "ok" and isinstance(results[1], MediaTooShortError)
    assert progress == [(1, 2), (2, 2)]
    with pytest.raises(ValueError, match="a bug"):
        measure([(clips[0], "bug")], None)


def test_parallel_workers_give_the_same_cases(clips, tmp_path):
    import shutil

    import torch
    from sync_media import make_framesync_checkpoint

    import avts

    folder = tmp_path / "vids"
    folder.mkdir()
    shutil.copy(clips[0], folder / "a.mp4")
    write_bad_files(folder / "bad", clips[0])  # skipped, but short.mp4: shifted, then misses
    checkpoint = make_framesync_checkpoint(tmp_path / "fs.pt")

    def bench(jobs, progress=None):
        return avts.bench_sync(folder, [-200, 120], checkpoint=checkpoint, search_ms=500,
                               out_dir=tmp_path / "o", jobs=jobs, progress=progress).to_dict()

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a worker: other thread counts round the sums differently
    try:
        calls = []
        one, two = bench(1), bench(2, lambda done, total: calls.append((done, total)))
    finally:
        torch.set_num_threads(threads)
    assert one == two  # offsets measured, errors, their order and the scores
    assert [name.split("/")[-1] for name in one["files"]] == ["a.mp4", "short.mp4"]
    assert len(one["notes"]) == 4 and calls[-1] == (8, 8) == (len(calls), len(one["cases"]))
    measured, short = one["cases"][:4], one["cases"][4:]
    assert [c["method"] for c in measured] == ["avts", "baseline"] * 2
    assert all(c["measured_offset_ms"] is not None and not c.get("error") for c in measured)
    assert abs(measured[1]["error_ms"]) < 20 and abs(measured[3]["error_ms"]) < 20  # baseline
    assert all("too short" in c["error"] for c in short)


def test_parallel_measurement_keeps_user_errors_and_raises_the_rest(clips, tmp_path,
                                                                    monkeypatch):
    from avts.engines import scan
    from avts.errors import CheckpointError
    from avts.sync.detect import SyncOptions

    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    # one job runs in this process, so a patched function is seen; more would spawn workers
    measure = dict(options=SyncOptions(search_ms=500), checkpoint=broken, workers=2)
    [result] = scan.measure_copies([(clips[0], "avts")], **measure)
    assert isinstance(result, CheckpointError) and "not a torch checkpoint" in str(result)
    assert scan.measure_copies([], **measure) == []

    def bug(*args):
        raise ValueError("a bug, not a miss")

    monkeypatch.setattr(scan, "_detect_file", bug)
    with pytest.raises(ValueError, match="a bug"):
        scan.measure_copies([(clips[0], "baseline")], **measure)


def test_bench_refuses_a_bad_job_count(clips):
    import avts
    from avts.errors import ConfigError

    with pytest.raises(ConfigError, match="--jobs must be >= 1"):
        avts.bench_sync(clips[0], [0], methods=["baseline"], jobs=0)
