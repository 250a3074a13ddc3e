"""read_video / read_audio: shapes on real files, A/V alignment on synthetic flashes + clicks."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media_synth import (
    click_onsets_s,
    flash_instants_s,
    flash_times_s,
    write_flash_click,
    write_offset_mkv,
    write_rotated,
    write_shifted,
    write_video_only,
)

from avts.errors import MediaTooShortError, NoAudioStreamError, UnreadableMediaError
from avts.media import probe, read_audio, read_clip, read_video

REAL_FILES = [
    "grid_bbaf2n.mpg",
    "activitynet_v_ZNVhz7ctTq0_dogwalk__derived_2997fps_mpeg4_pcm22k.avi",
    "grid_id2_vcd_swwp2s__derived_15fps_mjpeg_mulaw8k.avi",
    "ucf101_applyeyemakeup_test.avi",
    "kinetics_flipping_a_pancake.mkv",
    "hdtf_RD_Radio2_000__derived_h264_flac22k.mkv",
    "hdtf_WDA_KatieHill_000__derived_vp9_opus.webm",
    "retalking_face1.mp4",
    "dfrf_cnn2_25fps__derived_trim57s.mp4",
]


@pytest.mark.parametrize("name", REAL_FILES)
def test_read_clip_real_files(shared_av_sync: Path, name: str) -> None:
    path = shared_av_sync / name
    info = probe(path)
    start_s = info.start_s + min(1.5, info.duration_s - 1.2)
    frames, audio = read_clip(path, start_s, 1.0, 25.0, (112, 96), 16000, info=info)
    assert frames.shape == (25, 112, 96, 3) and frames.dtype == np.uint8
    assert audio.shape == (16000,) and audio.dtype == np.float32
    assert np.sqrt(np.mean(audio**2)) > 1e-3  # not silent
    assert np.abs(audio).max() <= 1.0 + 1e-3
    assert frames.std() > 5  # a real picture, not a blank fill


@pytest.mark.parametrize("name", ["ucf101_applyeyemakeup_test.avi",
                                  "kinetics_flipping_a_pancake.mkv", "grid_bbaf2n.mpg"])
def test_clip_matches_whole_file_read(shared_av_sync: Path, name: str) -> None:
    # A clip read after a seek equals the same window cut out of a whole-file read.
    path = shared_av_sync / name
    info = probe(path)
    fps, sr_hz = 25.0, 16000
    whole_v = read_video(path, info.start_s, None, fps, (64, 64), info=info)
    whole_a = read_audio(path, info.start_s, None, sr_hz, info=info)
    assert len(whole_v) == int(np.ceil(info.duration_s * fps - 1e-6))
    assert len(whole_a) == round(info.duration_s * sr_hz)
    offset_frames = 40
    start_s = info.start_s + offset_frames / fps
    clip_v = read_video(path, start_s, 1.0, fps, (64, 64))
    clip_a = read_audio(path, start_s, 1.0, sr_hz)
    np.testing.assert_array_equal(clip_v, whole_v[offset_frames : offset_frames + 25])
    cut = whole_a[offset_frames * sr_hz // 25 :][:sr_hz]
    # sample-exact except for 1 ms timestamp rounding in Matroska
    shift = np.argmax(np.correlate(cut, clip_a[200:-200], mode="valid")) - 200
    assert abs(shift) <= 0.001 * sr_hz + 1


def test_variable_frame_rate_uses_timestamps(shared_av_sync: Path) -> None:
    # retalking_face1 has 66 ms gaps: sampling at 30 fps repeats frames instead of drifting.
    path = shared_av_sync / "retalking_face1.mp4"
    info = probe(path)
    frames = read_video(path, info.start_s, None, 30.0, (32, 32), info=info)
    assert len(frames) == int(np.ceil(info.duration_s * 30 - 1e-6))
    repeats = np.mean([np.array_equal(a, b) for a, b in zip(frames[:-1], frames[1:], strict=True)])
    assert 0.15 < repeats < 0.5  # about 22 distinct frames per 30 instants


def test_edit_list_reads_the_presented_frames(shared_av_sync: Path) -> None:
    # autoavsr_leah_crop1: an edit list drops 98 packets (4 s) before the first presented frame.
    # Reading by time (with and without a seek) picks the frame a sequential decode shows.
    path = shared_av_sync / "autoavsr_leah_crop1.mp4"
    with av.open(str(path)) as container:
        decoded = [(float(f.time), f.reformat(width=32, height=24, format="rgb24").to_ndarray())
                   for f in container.decode(video=0)]
    times_s = np.array([t for t, _ in decoded])
    assert times_s[0] == pytest.approx(probe(path).video_start_s, abs=1e-3)
    for start_s in (0.0, 1.3, 2.9):
        frames = read_video(path, start_s, 0.75, 12.0, (24, 32))
        for i, frame in enumerate(frames):
            shown = np.searchsorted(times_s, start_s + i / 12.0 + 1e-3, side="right") - 1
            np.testing.assert_array_equal(frame, decoded[shown][1])


def test_video_starting_after_audio_real_file(shared_av_sync: Path) -> None:
    # dfrf_french: video from 80 ms, audio from 0. A clip at the span start begins with the first
    # frame and with the audio 80 ms (1280 samples at 16 kHz) into the audio stream.
    path = shared_av_sync / "dfrf_french.mp4"
    info = probe(path)
    with av.open(str(path)) as container:
        first = next(container.decode(video=0)).reformat(width=32, height=24, format="rgb24")
    frames, audio = read_clip(path, info.start_s, 1.0, 30.0, (24, 32), 16000, info=info)
    np.testing.assert_array_equal(frames[0], first.to_ndarray())
    from_zero = read_audio(path, 0.0, 1.08, 16000)
    np.testing.assert_allclose(audio, from_zero[1280:], atol=1e-6)


ALIGN_CASES = [
    ("h264_aac_25fps_44k.mp4", Fraction(25), 44100, {}),
    ("h264_aac_ntsc_22k.mp4", Fraction(30000, 1001), 22050, {}),
    ("h264_mp3_25fps_22k.mkv", Fraction(25), 22050, {"audio_codec": "mp3"}),
    ("h264_aac_ntsc_44k.mkv", Fraction(30000, 1001), 44100, {}),
]


@pytest.mark.parametrize(("name", "fps", "sr_hz", "codecs"), ALIGN_CASES)
@pytest.mark.parametrize("frames_in", [0.0, 15.25])  # window start, in video frames
def test_flash_and_click_align(tmp_path: Path, name: str, fps: Fraction, sr_hz: int,
                               codecs: dict, frames_in: float) -> None:
    path = write_flash_click(tmp_path / name, float(fps), sr_hz, **codecs)
    _assert_aligned(path, float(fps), start_s=frames_in / float(fps), stream_start_s=0.0)


def test_flash_and_click_align_nonzero_start(tmp_path: Path) -> None:
    fps = Fraction(30000, 1001)
    path = write_offset_mkv(tmp_path / "offset.mkv", fps, 22050, start_s=0.5)
    info = probe(path)
    assert info.start_s == pytest.approx(0.5, abs=0.002)
    # mid-frame window start: ms-rounded Matroska times never sit on an instant
    _assert_aligned(path, float(fps), start_s=info.start_s + 3.5 / float(fps),
                    stream_start_s=info.start_s)


SHIFT_CASES = [  # (file, fps, Hz, audio codec): 0.3 s is a whole number of frames at fps
    ("h264_aac.mp4", Fraction(30), 44100, "aac"),
    ("h264_flac.mkv", Fraction(20), 22050, "flac"),
]


@pytest.mark.parametrize(("name", "fps", "sr_hz", "codec"), SHIFT_CASES)
@pytest.mark.parametrize(("video_start_s", "audio_start_s"), [(0.0, 0.3), (0.3, 0.0)])
def test_streams_starting_apart_stay_in_sync(tmp_path: Path, name: str, fps: Fraction,
                                             sr_hz: int, codec: str, video_start_s: float,
                                             audio_start_s: float) -> None:
    # Flash and click share a presentation time; one stream starts 0.3 s after the other.
    path = write_shifted(tmp_path / name, fps, sr_hz, video_start_s, audio_start_s,
                         audio_codec=codec)
    info = probe(path)
    frame_s = 1.0 / float(fps)
    assert info.audio_start_s - info.video_start_s == pytest.approx(
        audio_start_s - video_start_s, abs=frame_s)
    assert info.start_s == max(info.video_start_s, info.audio_start_s)
    duration_s = np.floor(info.duration_s * 10) / 10
    frames, audio = read_clip(path, info.start_s, duration_s, float(fps), (24, 32), 16000,
                              info=info)
    seen_s = flash_instants_s(frames, float(fps), info.start_s)
    heard_s = click_onsets_s(audio, 16000, info.start_s)
    truth_s = [t for t in flash_times_s(float(fps), video_start_s)
               if info.start_s <= t < info.start_s + duration_s]
    assert len(seen_s) == len(heard_s) == len(truth_s) >= 2
    for truth, seen, heard in zip(truth_s, seen_s, heard_s, strict=True):
        assert abs(seen - heard) <= frame_s
        assert heard == pytest.approx(truth, abs=0.005)  # AAC priming and edit lists included


def _assert_aligned(path: Path, fps: float, start_s: float, stream_start_s: float) -> None:
    frame_s = 1.0 / fps
    sr_hz = 16000
    frames = read_video(path, start_s, 2.5, fps, (24, 32))
    audio = read_audio(path, start_s, 2.5, sr_hz)
    assert frames.shape == (round(2.5 * fps), 24, 32, 3)
    assert audio.shape == (2.5 * sr_hz,)
    truth_s = [t for t in flash_times_s(fps, stream_start_s) if start_s <= t < start_s + 2.5]
    seen_s = flash_instants_s(frames, fps, start_s)
    heard_s = click_onsets_s(audio, sr_hz, start_s)
    assert len(seen_s) == len(heard_s) == len(truth_s) >= 2
    for truth, seen, heard in zip(truth_s, seen_s, heard_s, strict=True):
        assert truth - 0.002 <= seen < truth + frame_s  # the flash shows at the first instant
        assert heard == pytest.approx(truth, abs=0.002)  # no AAC priming / mp3 delay shift
        assert abs(seen - heard) < frame_s


@pytest.mark.parametrize(("rotation_deg", "bright_side"),
                         [(0, "left"), (-90, "top"), (90, "bottom"), (180, "right")])
def test_rotated_video_comes_back_upright(tmp_path: Path, rotation_deg: int,
                                          bright_side: str) -> None:
    # Stored 48x64 with the left half bright; a -90 flag turns it a quarter clockwise on screen.
    path = write_rotated(tmp_path / "rotated.mp4", rotation_deg)
    sideways = rotation_deg % 180 == 90
    height, width = (64, 48) if sideways else (48, 64)
    frames = read_video(path, 0.0, 0.2, 25.0, (height // 2, width // 2))
    assert frames.shape == (5, height // 2, width // 2, 3)
    h, w = height // 4, width // 4
    sides = {"top": frames[:, :h], "bottom": frames[:, h:], "left": frames[:, :, :w],
             "right": frames[:, :, w:]}
    assert sides[bright_side].mean() > 200
    opposite = {"top": "bottom", "bottom": "top", "left": "right", "right": "left"}[bright_side]
    assert sides[opposite].mean() < 50


def test_phone_video_is_read_upright(shared_av_sync: Path) -> None:
    # Stored on its side with a -90 degree flag; upright, the lit ceiling is at the top and the
    # speaker's brown jacket at the bottom (on its side both would span the full height).
    path = shared_av_sync / "humanomni_chinese_video_selfie_speaker.mp4"
    frames = read_video(path, 2.0, 1.0, 5.0, (142, 80))
    assert frames.shape == (5, 142, 80, 3)
    quarter = 142 // 4
    assert frames[:, :quarter].mean() > frames[:, -quarter:].mean() + 30


def test_whole_file_read_lengths(tmp_path: Path) -> None:
    path = write_flash_click(tmp_path / "whole.mp4", 25.0, 44100, duration_s=2.0)
    info = probe(path)
    frames = read_video(path, info.start_s, None, 25.0, (24, 32))
    audio = read_audio(path, info.start_s, None, 16000)
    assert frames.shape[0] == 50
    assert audio.shape[0] == round(info.duration_s * 16000)


def test_window_partly_outside_is_padded(tmp_path: Path) -> None:
    path = write_flash_click(tmp_path / "pad.mp4", 25.0, 44100, duration_s=2.0)
    audio = read_audio(path, 1.5, 1.0, 16000)  # last 0.5 s beyond the end
    assert audio.shape == (16000,)
    assert not audio[8100:].any()
    frames = read_video(path, 1.5, 1.0, 25.0, (24, 32))
    assert frames.shape[0] == 25
    np.testing.assert_array_equal(frames[-1], frames[13])  # last frame held


def test_window_mostly_outside_raises(tmp_path: Path) -> None:
    path = write_flash_click(tmp_path / "short.mp4", 25.0, 44100, duration_s=1.0)
    for read in (lambda: read_audio(path, 0.5, 2.0, 16000),
                 lambda: read_video(path, 0.5, 2.0, 25.0, (24, 32))):
        with pytest.raises(MediaTooShortError) as err:
            read()
        assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_bad_files_raise_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "text.mp4"
    text.write_text("not\na video\n")
    good = write_flash_click(tmp_path / "good.mp4", 25.0, 44100, duration_s=2.0)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: int(good.stat().st_size * 0.3)])
    for path in (empty, text, truncated, tmp_path / "missing.mp4"):
        with pytest.raises(UnreadableMediaError) as video_err:
            read_video(path, 0.0, 1.0, 25.0, (24, 32))
        with pytest.raises(UnreadableMediaError) as audio_err:
            read_audio(path, 0.0, 1.0, 16000)
        for err in (video_err, audio_err):
            assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_video_without_audio_raises(tmp_path: Path) -> None:
    path = write_video_only(tmp_path / "silent.mp4")
    assert read_video(path, 0.0, 0.5, 25.0, (16, 16)).shape == (12, 16, 16, 3)
    with pytest.raises(NoAudioStreamError) as err:
        read_audio(path, 0.0, 0.5, 16000)
    assert "\n" not in str(err.value)
