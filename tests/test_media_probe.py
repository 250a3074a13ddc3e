"""probe / require_av on real files from shared data and on broken or incomplete files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from media_synth import write_rotated, write_video_only

from avts.errors import (
    MediaTooShortError,
    NoAudioStreamError,
    NoVideoStreamError,
    UnreadableMediaError,
)
from avts.media import probe, require_av, write_av

# name -> (container prefix, measured fps, audio Hz, channels)
KNOWN = {
    "grid_bbaf2n.mpg": ("mpeg", 25.0, 44100, 2),
    "activitynet_v_ZNVhz7ctTq0_dogwalk__derived_2997fps_mpeg4_pcm22k.avi": ("avi", 29.97, 22050, 1),
    "grid_id2_vcd_swwp2s__derived_15fps_mjpeg_mulaw8k.avi": ("avi", 15.0, 8000, 1),
    "ucf101_applyeyemakeup_test.avi": ("avi", 25.0, 44100, 2),
    "kinetics_flipping_a_pancake.mkv": ("matroska", 30.0, 48000, 1),
    "hdtf_RD_Radio2_000__derived_h264_flac22k.mkv": ("matroska", 25.0, 22050, 1),
    "hdtf_WDA_KatieHill_000__derived_vp9_opus.webm": ("matroska", 25.0, 48000, 2),
    "retalking_face1.mp4": ("mov", 22.1, 44100, 2),
    "videollama2_baby_reading__derived_24fps.mp4": ("mov", 24.0, 44100, 2),
    "lrs2_deepavsr_00001.mp4": ("mov", 25.0, 16000, 1),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_probe_known_files(shared_av_sync: Path, name: str) -> None:
    container, fps, sr_hz, channels = KNOWN[name]
    info = probe(shared_av_sync / name)
    assert info.has_video and info.has_audio
    assert info.container.startswith(container)
    assert info.video_fps == pytest.approx(fps, abs=0.05)
    assert (info.audio_sr_hz, info.audio_channels) == (sr_hz, channels)
    assert info.width > 0 and info.height > 0
    assert 2.5 < info.duration_s < 60.5
    assert info.start_s == max(info.video_start_s, info.audio_start_s)
    assert info.duration_s <= min(info.video_duration_s, info.audio_duration_s) + 1e-6


def test_probe_start_times(shared_av_sync: Path) -> None:
    # WebM: VP9 starts at +7 ms. Opus pre-skip puts the first audio packets at -2 ms (webm)
    # and -7 ms (kinetics mkv); the decoder drops those samples, so presented audio starts ~0.
    webm = probe(shared_av_sync / "hdtf_WDA_KatieHill_000__derived_vp9_opus.webm")
    assert webm.video_start_s == pytest.approx(0.007, abs=1e-3)
    assert webm.audio_start_s == pytest.approx(0.0, abs=2e-3)
    assert webm.start_s == pytest.approx(0.007, abs=1e-3)
    mkv = probe(shared_av_sync / "kinetics_flipping_a_pancake.mkv")
    assert mkv.video_start_s == pytest.approx(0.0, abs=1e-3)
    assert -0.008 <= mkv.audio_start_s <= 0.001
    # AAC priming (negative first packet pts) is not reported as an early audio start.
    aac = probe(shared_av_sync / "avsbench_GrqTKuk8x4_tabla.mp4")
    assert aac.audio_start_s == pytest.approx(0.0, abs=1e-4)
    # Irregular timing: the first frame of retalking_face1 is at 33 ms.
    vfr = probe(shared_av_sync / "retalking_face1.mp4")
    assert vfr.video_start_s == pytest.approx(0.033, abs=1e-3)
    assert vfr.video_fps == pytest.approx(22.1, abs=0.2)  # header says 30
    # An edit list drops the first 98 video packets of autoavsr_leah_crop1 (pts down to -4.05 s);
    # presentation starts at 0 in both streams.
    leah = probe(shared_av_sync / "autoavsr_leah_crop1.mp4")
    assert leah.video_start_s == pytest.approx(0.0, abs=1e-3)
    assert leah.audio_start_s == pytest.approx(0.0, abs=1e-3)
    assert leah.video_duration_s == pytest.approx(4.0, abs=0.1)
    # dfrf_french starts its video 80 ms after its audio: the usable span starts with the video.
    french = probe(shared_av_sync / "dfrf_french.mp4")
    assert french.video_start_s == pytest.approx(0.080, abs=1e-3)
    assert french.audio_start_s == pytest.approx(0.0, abs=1e-3)
    assert french.start_s == french.video_start_s


def test_probe_rotated_file_reports_displayed_size(tmp_path: Path) -> None:
    written = probe(write_rotated(tmp_path / "rotated.mp4", -90))  # stored 64x48
    assert (written.width, written.height, written.rotation_deg) == (48, 64, -90)
    upside_down = probe(write_rotated(tmp_path / "upside_down.mp4", 180))
    assert (upside_down.width, upside_down.height, upside_down.rotation_deg) == (64, 48, 180)


def test_probe_phone_video_reports_displayed_size(shared_av_sync: Path) -> None:
    # stored 568x320 with a -90 degree display rotation, shown as portrait 320x568
    phone = probe(shared_av_sync / "humanomni_chinese_video_selfie_speaker.mp4")
    assert (phone.width, phone.height, phone.rotation_deg) == (320, 568, -90)


def test_probe_all_files_as_the_data_readme_describes(shared_av_sync: Path) -> None:
    table = _readme_table(shared_av_sync.parent / "README.md")
    paths = sorted(p for p in shared_av_sync.iterdir() if p.is_file())
    assert sorted(p.name for p in paths) == sorted(table)
    for path in paths:
        info = probe(path)
        stated = table[path.name]
        assert info.has_video and info.has_audio, path.name
        assert 7.0 < info.video_fps < 61.0, path.name  # 7.288 fps to 60 fps
        # "audio and video of about the same length" (one clip's audio ends 0.4 s early)
        assert info.duration_s == pytest.approx(float(stated["duration s"]), abs=0.5), path.name
        # The README measured stream start times; probe reports the first frame and sample
        # shown, which can differ by a frame (an AVI's empty first frame) or Opus pre-skip.
        offset_ms = 1000 * (info.audio_start_s - info.video_start_s)
        stated_ms = float(stated["start offset a-v ms"])
        assert abs(offset_ms - stated_ms) <= 1000 / info.video_fps + 1, path.name
        assert info.to_dict()["path"] == str(info.path)


def _readme_table(readme: Path) -> dict[str, dict[str, str]]:
    """Rows of the av-sync file table in shared/data/README.md, keyed by file name."""
    header: list[str] = []
    rows: dict[str, dict[str, str]] = {}
    for line in readme.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| file | source"):
            header = cells
        elif header and line.startswith("| `") and len(cells) == len(header):
            rows[cells[0].strip("`")] = dict(zip(header, cells, strict=True))
        elif not line.startswith("|"):
            header = []
    return rows


def _write_short(path: Path) -> Path:
    frames = np.zeros((25, 32, 32, 3), dtype=np.uint8)
    return write_av(path, frames, 25.0, np.zeros(16000, dtype=np.float32), 16000)


def _write_video_only(path: Path) -> Path:
    return write_video_only(path)


def _one_line(err: pytest.ExceptionInfo, path: Path) -> str:
    text = str(err.value)
    assert "\n" not in text
    assert str(path) in text
    return text


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.mp4"
    with pytest.raises(UnreadableMediaError) as err:
        probe(path)
    assert "no such file" in _one_line(err, path)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(UnreadableMediaError) as err:
        probe(path)
    assert "empty" in _one_line(err, path)


def test_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\nsecond line\n")
    with pytest.raises(UnreadableMediaError) as err:
        probe(path)
    _one_line(err, path)
    assert err.value.__cause__ is not None


def test_truncated_mp4(tmp_path: Path) -> None:
    whole = _write_short(tmp_path / "whole.mp4")
    path = tmp_path / "truncated.mp4"
    data = whole.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.3)])
    with pytest.raises(UnreadableMediaError) as err:
        probe(path)
    _one_line(err, path)


def test_video_without_audio(tmp_path: Path) -> None:
    path = _write_video_only(tmp_path / "silent.mp4")
    info = probe(path)
    assert info.has_video and not info.has_audio
    assert info.duration_s == pytest.approx(1.0, abs=0.05)
    with pytest.raises(NoAudioStreamError) as err:
        require_av(info, 0.5)
    _one_line(err, path)


def test_require_av_errors(tmp_path: Path) -> None:
    path = _write_short(tmp_path / "short.mp4")
    info = probe(path)
    require_av(info, 0.9)
    with pytest.raises(MediaTooShortError) as err:
        require_av(info, 2.0)
    _one_line(err, path)
    with pytest.raises(NoVideoStreamError) as err:
        require_av(type(info)(**{**info.__dict__, "has_video": False}), 0.5)
    _one_line(err, path)
