"""Shifting audio against stream-copied video: events line up, video bytes stay, inputs stay."""

from fractions import Fraction

import numpy as np
import pytest
from conftest import write_bad_files
from media_synth import (
    click_onsets_s,
    flash_instants_s,
    flash_times_s,
    write_flash_click,
    write_offset_mkv,
)

from avts.errors import MediaError, NoAudioStreamError, OutputPathError, UnreadableMediaError
from avts.media import probe, read_audio, read_video
from avts.media.remux import make_shifted_copy, shift_audio, video_packets_identical

FPS, SR_HZ = 25, 16000
FRAME_S = 1 / FPS


def _events(path):
    """(flash instants, click onsets) in seconds, measured from the decoded file itself."""
    info = probe(path)
    frames = read_video(path, info.start_s, info.duration_s, FPS, (48, 64))
    audio = read_audio(path, info.start_s, info.duration_s, SR_HZ)
    return flash_instants_s(frames, FPS, info.start_s), click_onsets_s(audio, SR_HZ, info.start_s)


@pytest.fixture
def clip(tmp_path):
    return write_flash_click(tmp_path / "clip.mp4", FPS, SR_HZ)


@pytest.mark.parametrize("offset_ms", [200, -200])
def test_shift_then_fix_lines_up_flashes_and_clicks(clip, tmp_path, offset_ms):
    original = clip.read_bytes()
    shifted = make_shifted_copy(clip, tmp_path / "shifted.mp4", offset_ms)
    flashes, clicks = _events(shifted)
    # "audio late by +200 ms": every click is heard 200 ms after its flash is seen
    assert np.allclose(np.subtract(clicks, flashes), offset_ms / 1000, atol=0.002)
    assert np.allclose(flashes, flash_times_s(FPS), atol=1e-6)

    fixed = shift_audio(shifted, tmp_path / "fixed.mp4", offset_ms)
    flashes, clicks = _events(fixed)
    assert len(clicks) == len(flashes) == 3
    assert np.max(np.abs(np.subtract(clicks, flashes))) < FRAME_S
    assert video_packets_identical(clip, shifted) and video_packets_identical(clip, fixed)
    assert clip.read_bytes() == original
    before, after = probe(clip), probe(fixed)
    assert after.video_duration_s == before.video_duration_s
    assert abs(after.audio_duration_s - before.audio_duration_s) < FRAME_S


def test_matroska_with_late_start_keeps_codec_and_start(tmp_path):
    src = write_offset_mkv(tmp_path / "late.mkv", Fraction(25), SR_HZ, start_s=1.0)
    shifted = make_shifted_copy(src, tmp_path / "shifted.mkv", 120)
    info = probe(shifted)
    assert info.audio_codec == "flac" and abs(info.start_s - 1.0) < 0.002
    flashes, clicks = _events(shifted)
    assert np.allclose(np.subtract(clicks, flashes), 0.120, atol=0.002)
    assert video_packets_identical(src, shifted)


def test_container_follows_the_output_suffix(clip, tmp_path):
    out = make_shifted_copy(clip, tmp_path / "copy.mkv", 0)
    info = probe(out)
    assert "matroska" in info.container and info.audio_codec == "aac"
    assert video_packets_identical(clip, out)
    flashes, clicks = _events(out)
    assert np.max(np.abs(np.subtract(clicks, flashes))) < 0.002


def test_packet_comparison_sees_a_different_video(clip, tmp_path):
    other = write_flash_click(tmp_path / "other.mp4", FPS, SR_HZ, duration_s=2.0)
    assert not video_packets_identical(clip, other)


def test_never_overwrites_its_input(clip, tmp_path):
    original = clip.read_bytes()
    (tmp_path / "hard.mp4").hardlink_to(clip)
    (tmp_path / "soft.mp4").symlink_to(clip)
    for dst in (clip, tmp_path / "." / "clip.mp4", tmp_path / "hard.mp4", tmp_path / "soft.mp4"):
        with pytest.raises(OutputPathError, match="refusing to overwrite the input"):
            shift_audio(clip, dst, 100)
    assert clip.read_bytes() == original


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("kind,error", [("empty", UnreadableMediaError),
                                        ("text", UnreadableMediaError),
                                        ("truncated", UnreadableMediaError),
                                        ("no_audio", NoAudioStreamError)])
def test_bad_input_leaves_no_output(clip, tmp_path, kind, error):
    bad = write_bad_files(tmp_path / "bad", clip)[kind]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(error) as err:
        shift_audio(bad, out_dir / "fixed.mp4", 200)
    assert "\n" not in str(err.value)
    assert _listing(out_dir) == []


def test_failure_while_writing_leaves_no_output(clip, tmp_path):
    # WebM takes VP8/VP9/AV1 only: the muxer rejects the H.264 stream after the file is opened.
    with pytest.raises(MediaError, match="cannot write"):
        shift_audio(clip, tmp_path / "fixed.webm", 200)
    assert _listing(tmp_path) == ["clip.mp4"]


def test_bad_output_paths_are_one_line_errors(clip, tmp_path):
    with pytest.raises(OutputPathError, match="does not exist"):
        shift_audio(clip, tmp_path / "missing" / "out.mp4", 10)
    with pytest.raises(OutputPathError, match="unsupported output type"):
        shift_audio(clip, tmp_path / "out.xyz", 10)
    with pytest.raises(OutputPathError, match="is a folder"):
        shift_audio(clip, tmp_path, 10)
    with pytest.raises(MediaError, match="finite"):
        shift_audio(clip, tmp_path / "out.mp4", float("nan"))
