"""Decode clips by presentation time: video frames on a fixed-rate grid and mono audio."""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avts.errors import MediaTooShortError, NoAudioStreamError, NoVideoStreamError
from avts.media._container import display_rotation_deg, open_input, seconds
from avts.media.probe import probe
from avts.types import MediaInfo

_PTS_TOLERANCE_S = 1e-3  # millisecond time bases (Matroska/WebM) round frame times by <= 0.5 ms
_SEEK_MIN_S = 1.0  # closer than this to the stream start, decoding from the start is as cheap
_AUDIO_SEEK_MARGIN_S = 0.5  # decode this much before the window so that codecs settle
_REORDER_DEPTH = 4  # frames buffered to repair out-of-order timestamps (AVI packed B-frames)
_SKIP_MARGIN_S = 1.0  # decode every frame from this long before a window (covers low fps)
_MIN_COVERED_FRACTION = 0.5  # a window mostly outside the stream is an error, not padding


def read_clip(path: str | Path, start_s: float, duration_s: float | None, fps: float,
              size_hw: tuple[int, int], sr_hz: int, *,
              info: MediaInfo | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Video ``(T, H, W, 3)`` uint8 and mono audio ``(n,)`` float32 for the same window."""
    if duration_s is None:
        info = info or probe(path)
    frames = read_video(path, start_s, duration_s, fps, size_hw, info=info)
    audio = read_audio(path, start_s, duration_s, sr_hz, info=info)
    return frames, audio


def read_video(path: str | Path, start_s: float, duration_s: float | None, fps: float,
               size_hw: tuple[int, int], *, info: MediaInfo | None = None) -> np.ndarray:
    """Frames on screen at ``start_s + i / fps``, resized to ``size_hw``: ``(T, H, W, 3)`` uint8.

    ``duration_s=None`` reads to the end of the usable span (``info`` is probed when not given).
    """
    path = Path(path)
    instants_s = _video_instants_s(path, start_s, duration_s, fps, info)
    height, width = size_hw

    def to_rgb(frame: av.VideoFrame) -> np.ndarray:
        return upright_rgb(frame, height, width)

    if len(instants_s) == 0:
        return np.zeros((0, height, width, 3), dtype=np.uint8)
    try:
        frames, n_covered = _sample_video(path, instants_s, to_rgb, seek=True)
    except _SeekMissed:
        frames, n_covered = _sample_video(path, instants_s, to_rgb, seek=False)
    _check_coverage(path, "video", start_s, len(instants_s) / fps, n_covered, len(instants_s))
    return np.stack(frames)


def read_audio(path: str | Path, start_s: float, duration_s: float | None, sr_hz: int, *,
               info: MediaInfo | None = None) -> np.ndarray:
    """Mono audio samples at ``start_s + k / sr_hz``: exactly ``round(duration_s * sr_hz)``
    float32 values, placed by the audio stream's own timestamps and zero where it has none.

    ``duration_s=None`` reads to the end of the usable span (``info`` is probed when not given).
    """
    path = Path(path)
    if duration_s is None:
        info = info or probe(path)
        duration_s = max(0.0, info.start_s + info.duration_s - start_s)
    n_out = round(duration_s * sr_hz)
    end_s = start_s + duration_s
    try:
        native, native_start_s, native_sr_hz = _decode_mono(path, start_s, end_s, seek=True)
    except _SeekMissed:
        native, native_start_s, native_sr_hz = _decode_mono(path, start_s, end_s, seek=False)
    if native_sr_hz != sr_hz and native.size:
        native = resample_mono(native, native_sr_hz, sr_hz)
    offset = round((start_s - native_start_s) * sr_hz)
    out, n_covered = sample_window(native, offset, n_out)
    _check_coverage(path, "audio", start_s, duration_s, n_covered, n_out)
    return out


class _SeekMissed(Exception):
    """A seek landed after the wanted time (MPEG-PS does this); decode from the start instead."""


# --- video -------------------------------------------------------------------------------


def _video_instants_s(path: Path, start_s: float, duration_s: float | None, fps: float,
                      info: MediaInfo | None) -> np.ndarray:
    if duration_s is None:
        info = info or probe(path)
        end_s = info.start_s + info.duration_s
        # instants strictly before the span end; the epsilon keeps float noise from adding one
        n_frames = max(0, math.ceil((end_s - start_s) * fps - 1e-6))
    else:
        n_frames = round(duration_s * fps)
    return start_s + np.arange(n_frames, dtype=np.float64) / fps


def _video_stream(container, path: Path):
    if not container.streams.video:
        raise NoVideoStreamError(f"{path} has no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return stream


def upright_rgb(frame: av.VideoFrame, height: int, width: int) -> np.ndarray:
    """``frame`` as a player shows it (display rotation applied), ``(height, width, 3)`` uint8."""
    rotation_deg = display_rotation_deg(frame)
    if rotation_deg % 180 == 90:  # a quarter turn swaps the axes: resize to the stored shape
        height, width = width, height
    rgb = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
    if rotation_deg == 0:
        return rgb
    return np.ascontiguousarray(np.rot90(rgb, k=rotation_deg // 90))  # k > 0: counter-clockwise


def _sample_video(path: Path, instants_s: np.ndarray,
                  convert: Callable[[av.VideoFrame], np.ndarray], *, seek: bool
                  ) -> tuple[list[np.ndarray], int]:
    with open_input(path) as container:
        stream = _video_stream(container, path)
        first_s = float(instants_s[0])
        timed = _reordered(_raw_timed(_decode(container, stream, first_s - _SKIP_MARGIN_S)))
        if seek and _seek_before(container, stream, first_s):
            first = next(timed, None)
            if first is None or first[0] > instants_s[0] + _PTS_TOLERANCE_S:
                raise _SeekMissed
            timed = itertools.chain([first], timed)
        return _sample_frames(timed, instants_s, convert)


def _seek_before(container, stream, time_s: float) -> bool:
    """Seek to the keyframe at or before ``time_s`` when that is far enough into the stream."""
    stream_start_s = seconds(stream.start_time, stream.time_base) or 0.0
    if time_s - stream_start_s <= _SEEK_MIN_S:
        return False
    container.seek(_to_pts(time_s, stream.time_base), stream=stream, backward=True)
    return True


def _decode(container, stream, skip_before_s: float | None = None
            ) -> Iterator[av.VideoFrame | av.AudioFrame]:
    """Decode ``stream`` from the current position, skipping packets the codec rejects.

    Right after a seek a decoder can receive a packet it cannot use yet (MP2 in MPEG-PS), and
    files often end in a damaged packet; players skip those, and so do we. A stream that yields
    no frame at all still fails. Packets before ``skip_before_s`` are decoded only as far as
    later frames need them (non-reference frames skipped), which speeds up seeks into long GOPs.
    """
    first_error: av.FFmpegError | None = None
    n_frames = 0
    skipping = False
    for packet in container.demux(stream):
        if skip_before_s is not None:
            packet_s = seconds(packet.pts, packet.time_base)
            early = packet_s is not None and packet_s < skip_before_s
            if early != skipping:
                stream.codec_context.skip_frame = "NONREF" if early else "DEFAULT"
                skipping = early
        try:
            frames = packet.decode()
        except av.InvalidDataError as err:
            first_error = first_error or err
            continue
        n_frames += len(frames)
        yield from frames
    if n_frames == 0 and first_error is not None:
        raise first_error


def _raw_timed(frames: Iterator[av.VideoFrame]) -> Iterator[tuple[float, av.VideoFrame]]:
    for frame in frames:
        time_s = seconds(frame.pts, frame.time_base)
        if time_s is not None:
            yield time_s, frame


def _reordered(timed: Iterator[tuple[float, av.VideoFrame]]
               ) -> Iterator[tuple[float, av.VideoFrame]]:
    # Decoders emit frames in presentation order, but AVI with packed B-frames labels them with
    # shuffled timestamps; handing the smallest pending timestamp to each frame repairs that.
    pending_s: list[float] = []
    frames: deque[av.VideoFrame] = deque()
    for time_s, frame in timed:
        heapq.heappush(pending_s, time_s)
        frames.append(frame)
        if len(frames) > _REORDER_DEPTH:
            yield heapq.heappop(pending_s), frames.popleft()
    while frames:
        yield heapq.heappop(pending_s), frames.popleft()


def _sample_frames(timed: Iterator[tuple[float, av.VideoFrame]], instants_s: np.ndarray,
                   convert: Callable[[av.VideoFrame], np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Pick the last frame with time <= each instant; returns (frames, n instants covered)."""
    out: list[np.ndarray] = []
    n = len(instants_s)
    n_covered = 0
    prev: tuple[float, av.VideoFrame] | None = None
    prev_rgb: np.ndarray | None = None
    prev_interval_s = 0.0
    for time_s, frame in timed:
        while len(out) < n and instants_s[len(out)] + _PTS_TOLERANCE_S < time_s:
            if prev is None:  # instant before the first frame: show the first frame
                out.append(convert(frame))
                continue
            prev_rgb = convert(prev[1]) if prev_rgb is None else prev_rgb
            out.append(prev_rgb)
            n_covered += 1
        if len(out) >= n:
            return out, n_covered
        if prev is not None:
            prev_interval_s = time_s - prev[0]
        prev, prev_rgb = (time_s, frame), None
    if prev is None:
        return out, n_covered
    # After the last frame: it stays on screen for one frame interval, then the stream is over.
    last_s, last_frame = prev
    duration_s = seconds(last_frame.duration, last_frame.time_base) or prev_interval_s
    end_s = last_s + max(duration_s, 0.0)
    prev_rgb = convert(last_frame) if prev_rgb is None else prev_rgb
    while len(out) < n:
        n_covered += int(instants_s[len(out)] < end_s + _PTS_TOLERANCE_S)
        out.append(prev_rgb)
    return out, n_covered


# --- audio -------------------------------------------------------------------------------


def _audio_stream(container, path: Path):
    if not container.streams.audio:
        raise NoAudioStreamError(f"{path} has no audio stream")
    return container.streams.audio[0]


def _decode_mono(path: Path, start_s: float, end_s: float, *, seek: bool
                 ) -> tuple[np.ndarray, float, int]:
    """Mono float32 audio at the native rate covering ``[start_s, end_s)`` where present,
    with the presentation time of its first sample and the native rate."""
    with open_input(path) as container:
        stream = _audio_stream(container, path)
        sought = seek and _seek_before(container, stream, start_s - _AUDIO_SEEK_MARGIN_S)
        chunks = _collect_audio(_decode(container, stream), end_s)
    if sought and (not chunks or chunks[0][0] > start_s):
        raise _SeekMissed
    return _assemble(chunks)


def _collect_audio(frames: Iterator[av.AudioFrame], end_s: float
                   ) -> list[tuple[float, np.ndarray, int]]:
    chunks = []
    for frame in frames:
        time_s = seconds(frame.pts, frame.time_base)
        if time_s is None:
            time_s = chunks[-1][0] + len(chunks[-1][1]) / chunks[-1][2] if chunks else 0.0
        if time_s >= end_s:
            break
        chunks.append((time_s, _frame_to_mono(frame), frame.sample_rate))
    return chunks


def _frame_to_mono(frame: av.AudioFrame) -> np.ndarray:
    """Average the channels of any sample format into float32 in [-1, 1]."""
    data = frame.to_ndarray()
    n_channels = frame.layout.nb_channels
    if not frame.format.is_planar:
        data = data.reshape(-1, n_channels).T  # packed (1, n * ch) -> (ch, n)
    if data.dtype == np.uint8:
        data = (data.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(data.dtype, np.integer):
        data = data.astype(np.float32) / float(-np.iinfo(data.dtype).min)
    return data.mean(axis=0, dtype=np.float32)


def _assemble(chunks: list[tuple[float, np.ndarray, int]]) -> tuple[np.ndarray, float, int]:
    """Join decoded chunks into one buffer, placing each by its pts where it jumps."""
    if not chunks:
        return np.zeros(0, dtype=np.float32), 0.0, 1
    sr_hz = chunks[0][2]
    start_s = chunks[0][0]
    pieces: list[np.ndarray] = []
    n_written = 0
    for time_s, samples, _ in chunks:
        position = round((time_s - start_s) * sr_hz)
        # Timestamps rounded to the time base (1 ms in Matroska) jitter by a few samples;
        # keep chunks contiguous unless the stream really has a gap or an overlap.
        if abs(position - n_written) <= max(2, round(_PTS_TOLERANCE_S * sr_hz)):
            position = n_written
        if position > n_written:
            pieces.append(np.zeros(position - n_written, dtype=np.float32))
            n_written = position
        elif position < n_written:
            samples = samples[n_written - position:]
        pieces.append(samples)
        n_written += len(samples)
    return np.concatenate(pieces), start_s, sr_hz


def resample_mono(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Mono float32 samples resampled with FFmpeg's resampler (files and arrays alike)."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to_hz)
    frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
    frame.sample_rate = from_hz
    frame.pts = 0
    frame.time_base = Fraction(1, from_hz)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def sample_window(samples: np.ndarray, offset: int, n_out: int) -> tuple[np.ndarray, int]:
    """``samples[offset : offset + n_out]`` with zeros outside; also the count of real samples."""
    out = np.zeros(n_out, dtype=np.float32)
    lo, hi = max(offset, 0), min(offset + n_out, len(samples))
    if hi > lo:
        out[lo - offset : hi - offset] = samples[lo:hi]
    return out, max(0, hi - lo)


# --- shared ------------------------------------------------------------------------------


def _to_pts(time_s: float, time_base) -> int:
    return int(math.floor(time_s / float(time_base)))


def _check_coverage(path: Path, kind: str, start_s: float, duration_s: float, n_covered: int,
                    n_total: int) -> None:
    if n_total and n_covered < _MIN_COVERED_FRACTION * n_total:
        raise MediaTooShortError(
            f"{path}: the window {start_s:.3f}-{start_s + duration_s:.3f} s lies mostly outside "
            f"its {kind} stream ({n_covered}/{n_total} samples inside); pick an earlier start "
            f"or a shorter clip"
        )
