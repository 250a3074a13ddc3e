"""End to end: detect_offset on generated clips with known offsets, and on bad input."""

import math

import pytest
from sync_media import write_audio_only, write_flash_click_offset

import avts
from avts.errors import AvtsError, CheckpointError, MediaTooShortError, UnreadableMediaError

FRAME_MS = 40.0  # the clips are 25 fps


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sync")
    return {ms: write_flash_click_offset(folder / f"off{ms}.mp4", ms) for ms in (200, -300)}


@pytest.mark.parametrize("true_ms", [200, -300])
def test_baseline_finds_known_offset_with_sign(clips, true_ms):
    result = avts.detect_offset(clips[true_ms], method="baseline")
    assert abs(result.offset_ms - true_ms) <= FRAME_MS
    assert math.copysign(1, result.offset_ms) == math.copysign(1, true_ms)
    assert result.offset_frames == pytest.approx(result.offset_ms / FRAME_MS)
    assert result.verdict == "out-of-sync" and result.confidence > 0.5
    assert result.late_stream == ("audio" if true_ms > 0 else "video")
    as_json = result.to_dict()
    for key in ("file", "offset_ms", "offset_frames", "fps", "confidence", "verdict", "method",
                "timeline"):
        assert key in as_json
    assert set(as_json["timeline"][0]) == {"start_s", "end_s", "offset_ms", "confidence"}


def test_tolerances_change_the_verdict(clips):
    result = avts.detect_offset(clips[200], method="baseline", tolerance_late_ms=250)
    assert result.verdict == "in-sync" and result.tolerance_late_ms == 250


def test_learned_method_structure(clips, random_checkpoint, monkeypatch):
    monkeypatch.setenv("AVTS_CHECKPOINT", str(random_checkpoint))  # found through the env
    result = avts.detect_offset(clips[200], search_ms=500)
    assert result.method == "avts" and result.search_ms == 500
    assert -500 <= result.offset_ms <= 500
    assert 0.0 <= result.confidence <= 1.0 and math.isfinite(result.score)
    assert result.verdict in ("in-sync", "out-of-sync", "inconclusive")
    assert 0 < result.n_windows <= result.n_windows_total  # windows without a flash are still
    assert result.timeline and all(w.start_s < w.end_s for w in result.timeline)


def test_learned_method_without_a_model_says_how_to_get_one(clips, monkeypatch):
    monkeypatch.delenv("AVTS_CHECKPOINT", raising=False)
    with pytest.raises(CheckpointError, match="--method baseline"):
        avts.detect_offset(clips[200])


def test_silent_audio_and_still_picture_are_inconclusive(tmp_path):
    silent = write_flash_click_offset(tmp_path / "silent.mp4", 0, duration_s=5, silent=True)
    still = write_flash_click_offset(tmp_path / "still.mp4", 0, duration_s=5, still=True)
    r = avts.detect_offset(silent, method="baseline")
    assert r.verdict == "inconclusive" and r.offset_ms is None and "silent" in r.reason
    r = avts.detect_offset(still, method="baseline")
    assert r.verdict == "inconclusive" and "picture" in r.reason


def test_bad_files_raise_one_line_errors(tmp_path, clips):
    from conftest import write_bad_files

    bad = write_bad_files(tmp_path / "bad", clips[200])
    bad["audio_only"] = write_audio_only(tmp_path / "bad" / "audio_only.mp4")
    expected = {"empty": UnreadableMediaError, "text": UnreadableMediaError,
                "truncated": AvtsError, "no_audio": AvtsError, "short": MediaTooShortError,
                "audio_only": AvtsError}
    for name, path in bad.items():
        with pytest.raises(expected[name]) as info:
            avts.detect_offset(path, method="baseline")
        assert "\n" not in str(info.value), name


def test_linear_drift_is_measured_end_to_end(tmp_path):
    # clicks at t * 1.002: the audio falls behind by 2 ms per second, +120 ms per minute
    clip = write_flash_click_offset(tmp_path / "drift.mp4", 0, duration_s=40.0, drift=0.002,
                                    seed=5)
    r = avts.detect_offset(clip, method="baseline", search_ms=300, hop_s=1.0)
    assert r.drift_ms_per_min is not None and abs(r.drift_ms_per_min - 120.0) <= 12.0
    offsets = [w.offset_ms for w in r.timeline]
    assert len(offsets) >= 5 and offsets == sorted(offsets)  # later stretches, later audio
    assert abs(r.offset_ms - 40.0) <= 20.0  # the mean offset: the one at mid-file


def test_a_peak_at_the_edge_of_the_search_range_is_inconclusive(tmp_path):
    # the audio is 530 ms early, 500 ms are searched: the curve peaks at the -500 ms edge and
    # the true offset may lie beyond it (this read "out-of-sync" with confidence 1.0 before)
    clip = write_flash_click_offset(tmp_path / "beyond.mp4", -530)
    edge = avts.detect_offset(clip, method="baseline", search_ms=500)
    assert edge.offset_ms == pytest.approx(-500.0, abs=10.0)
    assert edge.verdict == "inconclusive" and "edge of the" in edge.reason
    inside = avts.detect_offset(clip, method="baseline", search_ms=1000)
    assert inside.verdict == "out-of-sync" and inside.confidence > 0.5
    assert abs(inside.offset_ms + 530.0) <= FRAME_MS
