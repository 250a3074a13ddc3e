"""bench-sync: shifted copies with known offsets, measured and scored per method and offset."""

from dataclasses import dataclass

import numpy as np
import pytest
from media_synth import click_onsets_s, flash_instants_s, write_flash_click_at

from avts.eval.bench_sync import offset_key, run_bench, score
from avts.media import probe, read_audio, read_video
from avts.types import BenchSyncCase

OFFSETS_MS = (-200, -80, 0, 80, 200)
FLASHES = [10, 27, 41, 66, 80, 101, 119, 133]  # irregular, so no offset aliases another


@dataclass(frozen=True)
class _Measured:
    offset_ms: float | None
    verdict: str
    confidence: float


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
    result = run_bench(clips, OFFSETS_MS, ["events", "early-guess"], _events_detector,
                       tmp_path / "work", progress=lambda done, total: calls.append((done, total)))
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
    result = run_bench([silent, clips[0]], [0, 80], ["events"], _events_detector, tmp_path / "w")
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
