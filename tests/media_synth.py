"""Tiny synthetic media for the media tests: white flashes with clicks at the same instants."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from avts.media.write import write_av

FLASH_FRAMES = (12, 40, 71)  # frame indices of the white flashes
SIZE_HW = (48, 64)
CLICK_S = 0.002  # click length; short enough to mark one instant, long enough to survive AAC


def flash_frames(n_frames: int) -> np.ndarray:
    frames = np.full((n_frames, *SIZE_HW, 3), 16, dtype=np.uint8)
    frames[[i for i in FLASH_FRAMES if i < n_frames]] = 240
    return frames


def click_track(n_samples: int, sr_hz: int, fps: float) -> np.ndarray:
    """Clicks at the flash times (relative to the stream start), silence elsewhere."""
    audio = np.zeros(n_samples, dtype=np.float32)
    n_click = max(1, round(CLICK_S * sr_hz))
    burst = 0.8 * np.sin(2 * np.pi * 3000.0 * np.arange(n_click) / sr_hz)
    for index in FLASH_FRAMES:
        at = round(index / fps * sr_hz)
        if at >= n_samples:
            continue
        audio[at : at + n_click] = burst[: n_samples - at]
    return audio


def flash_times_s(fps: float, start_s: float = 0.0) -> list[float]:
    return [start_s + index / fps for index in FLASH_FRAMES]


def write_flash_click(path: Path, fps: float, sr_hz: int, duration_s: float = 3.2,
                      **codecs: str) -> Path:
    """Flashes and clicks through ``write_av`` (both streams start at 0)."""
    n_frames = round(duration_s * fps)
    audio = click_track(round(duration_s * sr_hz), sr_hz, fps)
    return write_av(path, flash_frames(n_frames), fps, audio, sr_hz, **codecs)


def write_offset_mkv(path: Path, fps: Fraction, sr_hz: int, start_s: float,
                     duration_s: float = 3.2) -> Path:
    """Matroska (H.264 + FLAC) whose streams both start at ``start_s`` instead of 0."""
    return write_shifted(path, fps, sr_hz, start_s, start_s, duration_s=duration_s)


def write_shifted(path: Path, fps: Fraction, sr_hz: int, video_start_s: float,
                  audio_start_s: float, duration_s: float = 3.2, audio_codec: str = "flac"
                  ) -> Path:
    """H.264 plus ``audio_codec`` whose streams start at their own times, in sync.

    Flash ``i`` is presented at ``video_start_s + FLASH_FRAMES[i] / fps`` (the start rounded to
    a whole frame); its click sits at the same presentation time in the audio stream.
    """
    video_start_s = round(video_start_s * fps) / fps  # frame times are whole frames
    n_frames = round(duration_s * fps)
    audio = _clicks_at(flash_times_s(float(fps), video_start_s), audio_start_s,
                       round(duration_s * sr_hz), sr_hz)
    with av.open(str(path), mode="w") as container:
        vstream = container.add_stream("h264", rate=fps)
        vstream.height, vstream.width = SIZE_HW
        vstream.pix_fmt = "yuv420p"
        astream = container.add_stream(audio_codec, rate=sr_hz)
        astream.layout = "mono"
        vtb = 1 / fps
        for i, image in enumerate(flash_frames(n_frames)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = round(video_start_s * fps) + i
            frame.time_base = vtb
            container.mux(vstream.encode(frame))
        container.mux(vstream.encode())
        _encode_audio(container, astream, audio, round(audio_start_s * sr_hz))
    return path


def _clicks_at(times_s: list[float], start_s: float, n_samples: int, sr_hz: int) -> np.ndarray:
    audio = np.zeros(n_samples, dtype=np.float32)
    n_click = max(1, round(CLICK_S * sr_hz))
    burst = 0.8 * np.sin(2 * np.pi * 3000.0 * np.arange(n_click) / sr_hz)
    for time_s in times_s:
        at = round((time_s - start_s) * sr_hz)
        if 0 <= at < n_samples:
            audio[at : at + n_click] = burst[: n_samples - at]
    return audio


def _encode_audio(container, stream, audio: np.ndarray, first_pts: int) -> None:
    sr_hz = stream.codec_context.sample_rate
    chunk = stream.codec_context.frame_size or 4096
    # AAC takes planar float; FLAC 16-bit integers
    if stream.codec_context.name == "aac":
        samples, fmt = np.clip(audio, -1, 1).astype(np.float32), "fltp"
    else:
        samples, fmt = (np.clip(audio, -1, 1) * 32767).astype(np.int16), "s16"
    for at in range(0, len(samples), chunk):
        part = np.ascontiguousarray(samples[None, at : at + chunk])
        frame = av.AudioFrame.from_ndarray(part, format=fmt, layout="mono")
        frame.sample_rate = sr_hz
        frame.pts = first_pts + at  # a positive first pts delays the whole stream
        frame.time_base = Fraction(1, sr_hz)
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def click_onsets_s(audio: np.ndarray, sr_hz: int, start_s: float) -> list[float]:
    """Times where the signal first exceeds 30% of its peak, one per click."""
    loud = np.flatnonzero(np.abs(audio) > 0.3 * np.abs(audio).max())
    if loud.size == 0:
        return []
    firsts = loud[np.concatenate([[True], np.diff(loud) > sr_hz * 0.05])]
    return [start_s + k / sr_hz for k in firsts]


def flash_instants_s(frames: np.ndarray, fps: float, start_s: float) -> list[float]:
    bright = np.flatnonzero(frames.reshape(len(frames), -1).mean(axis=1) > 128)
    return [start_s + i / fps for i in bright]


def write_video_only(path: Path, n_frames: int = 25, size_px: int = 32) -> Path:
    """An H.264 MP4 with no audio stream (a common broken input)."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("h264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size_px, size_px, "yuv420p"
        for i in range(n_frames):
            image = np.full((size_px, size_px, 3), (i * 3) % 255, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def write_rotated(path: Path, rotation_deg: int, n_frames: int = 10) -> Path:
    """H.264 MP4 stored as SIZE_HW with its left half bright, flagged with a display rotation
    (counter-clockwise degrees, as FFmpeg reports it; -90 is a phone held upright)."""
    if not hasattr(av.video.stream.VideoStream, "set_display_rotation"):
        pytest.skip("this PyAV cannot write a display matrix (set_display_rotation)")
    image = np.full((*SIZE_HW, 3), 16, dtype=np.uint8)
    image[:, : SIZE_HW[1] // 2] = 240
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("h264", rate=25)
        stream.height, stream.width = SIZE_HW
        stream.pix_fmt = "yuv420p"
        stream.set_display_rotation(rotation_deg)
        for _ in range(n_frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def write_flash_click_at(path: Path, fps: float, sr_hz: int, flash_frames_at: list[int],
                         duration_s: float) -> Path:
    """Like ``write_flash_click`` with flashes (and clicks) at the given frame indices."""
    n_frames = round(duration_s * fps)
    frames = np.full((n_frames, *SIZE_HW, 3), 16, dtype=np.uint8)
    frames[[i for i in flash_frames_at if i < n_frames]] = 240
    audio = np.zeros(round(duration_s * sr_hz), dtype=np.float32)
    n_click = max(1, round(CLICK_S * sr_hz))
    burst = 0.8 * np.sin(2 * np.pi * 3000.0 * np.arange(n_click) / sr_hz)
    for index in flash_frames_at:
        at = round(index / fps * sr_hz)
        audio[at : at + n_click] = burst[: max(0, len(audio) - at)]
    return write_av(path, frames, fps, audio, sr_hz)
