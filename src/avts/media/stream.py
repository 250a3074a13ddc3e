"""One streaming pass over a file that yields analysis windows: frames and padded audio.

Used by the offset search (``avts.sync``), which needs, for each window start ``t``, the video
frames on screen at ``t + i / fps`` (i < n_frames) and the audio of ``[t - pad_s,
t + clip_s + pad_s)``. Reading windows one by one with ``read_video``/``read_audio`` would seek
and decode every GOP again for each window; here the file is demuxed once, in order:

* video packets far from the next needed instant are only kept (from the last keyframe on) and
  decoded when a window comes near, so stretches between windows cost demuxing, not decoding,
  whenever a keyframe falls between two windows;
* only the frames that are sampled are converted, straight to the small size the caller wants;
* audio is decoded and resampled as it streams and trimmed behind the earliest open window, so
  memory does not grow with the file's duration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from avts.errors import NoAudioStreamError, NoVideoStreamError, UnreadableMediaError
from avts.media._container import open_input, seconds

_LOOKAHEAD_S = 0.5  # start decoding this long before a needed instant (covers B-frame reorder)
_MAX_HELD_PACKETS = 2000  # decode anyway when a stream has no keyframe for this long
_PTS_TOLERANCE_S = 1e-3
_GAP_TOLERANCE_S = 0.005  # audio timestamp jumps smaller than this are jitter, not gaps


@dataclass(frozen=True)
class Window:
    """The decoded material of one analysis window."""

    start_s: float  # video frames are sampled at start_s + i / fps
    frames: np.ndarray  # (T, H, W, 3) uint8
    audio: np.ndarray  # (n,) float32 mono, covering [start_s - pad_s, start_s + clip_s + pad_s)


class _Video:
    """Assigns decoded frames to the sorted sampling instants ("last frame with pts <= t")."""

    def __init__(self, instants_s: np.ndarray, size_hw: tuple[int, int]) -> None:
        self.instants_s = instants_s
        self.out: list[np.ndarray | None] = [None] * len(instants_s)
        self.next = 0  # first unresolved instant
        self.prev: tuple[float, av.VideoFrame] | None = None
        self.prev_rgb: np.ndarray | None = None
        self.height, self.width = size_hw

    def next_needed_s(self) -> float:
        return float(self.instants_s[self.next]) if self.next < len(self.instants_s) else np.inf

    def _rgb(self, frame: av.VideoFrame) -> np.ndarray:
        return frame.reformat(width=self.width, height=self.height, format="rgb24").to_ndarray()

    def add(self, time_s: float, frame: av.VideoFrame) -> None:
        n = len(self.instants_s)
        while self.next < n and self.instants_s[self.next] + _PTS_TOLERANCE_S < time_s:
            source = self.prev[1] if self.prev is not None else frame
            if self.prev_rgb is None or self.prev is None:
                self.prev_rgb = self._rgb(source)
            self.out[self.next] = self.prev_rgb
            self.next += 1
        if self.prev is None or time_s >= self.prev[0]:
            self.prev, self.prev_rgb = (time_s, frame), None

    def finish(self) -> None:
        """End of stream: the last frame stays on screen for the remaining instants."""
        if self.prev is None:
            return
        rgb = self._rgb(self.prev[1]) if self.prev_rgb is None else self.prev_rgb
        for i in range(self.next, len(self.instants_s)):
            self.out[i] = rgb
        self.next = len(self.instants_s)


class _Audio:
    """Mono audio at ``sr_hz`` in a buffer that starts at ``start_s`` and can be trimmed."""

    def __init__(self, sr_hz: int) -> None:
        self.sr_hz = sr_hz
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=sr_hz)
        self.chunks: list[np.ndarray] = []
        self.start_s: float | None = None  # time of the first buffered sample
        self.n = 0  # buffered samples
        self.next_in_s: float | None = None  # where the next input frame should start
        self.ended = False

    @property
    def end_s(self) -> float:
        return -np.inf if self.start_s is None else self.start_s + self.n / self.sr_hz

    def _append(self, samples: np.ndarray) -> None:
        if samples.size:
            self.chunks.append(samples)
            self.n += samples.size

    def add(self, frame: av.AudioFrame | None) -> None:
        if frame is None:
            for out in self.resampler.resample(None):
                self._append(out.to_ndarray().reshape(-1))
            self.ended = True
            return
        time_s = seconds(frame.pts, frame.time_base)
        if self.start_s is None:
            self.start_s = time_s or 0.0
        elif time_s is not None and self.next_in_s is not None:
            gap_s = time_s - self.next_in_s
            if gap_s > _GAP_TOLERANCE_S:  # a real hole in the stream: keep the timeline right
                self._append(np.zeros(round(gap_s * self.sr_hz), np.float32))
        base_s = time_s if time_s is not None else (self.next_in_s or 0.0)
        self.next_in_s = base_s + frame.samples / frame.sample_rate
        frame.pts = None  # the resampler would otherwise rebase on timestamps we already handle
        for out in self.resampler.resample(frame):
            self._append(out.to_ndarray().reshape(-1))

    def take(self, start_s: float, n_out: int) -> np.ndarray:
        """``n_out`` samples from ``start_s`` (zeros where the stream has none)."""
        out = np.zeros(n_out, np.float32)
        if self.start_s is None or not self.chunks:
            return out
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks)]
        data = self.chunks[0]
        offset = round((start_s - self.start_s) * self.sr_hz)
        lo, hi = max(offset, 0), min(offset + n_out, len(data))
        if hi > lo:
            out[lo - offset : hi - offset] = data[lo:hi]
        return out

    def trim_before(self, time_s: float) -> None:
        if self.start_s is None or not self.chunks:
            return
        drop = round((time_s - self.start_s) * self.sr_hz)
        if drop <= 0:
            return
        data = np.concatenate(self.chunks) if len(self.chunks) > 1 else self.chunks[0]
        drop = min(drop, len(data))
        self.chunks = [data[drop:]]
        self.n = len(data) - drop
        self.start_s += drop / self.sr_hz


def stream_windows(path: str | Path, starts_s: np.ndarray, clip_s: float, fps: float,
                   size_hw: tuple[int, int], sr_hz: int, pad_s: float, *,
                   progress: Callable[[int, int], None] | None = None) -> Iterator[Window]:
    """Yield a ``Window`` for each start in ``starts_s`` (ascending), in one pass over the file.

    Raises ``NoVideoStreamError``/``NoAudioStreamError`` for a missing stream and
    ``UnreadableMediaError`` for files FFmpeg cannot open or decode.
    """
    path = Path(path)
    starts_s = np.asarray(starts_s, dtype=np.float64)
    n_frames = max(1, round(clip_s * fps))
    instants_s = (starts_s[:, None] + np.arange(n_frames) / fps).reshape(-1)
    order = np.argsort(instants_s, kind="stable")
    sorted_at = np.empty_like(order)  # flat index (window * n_frames + i) -> sorted position
    sorted_at[order] = np.arange(len(order))
    video = _Video(instants_s[order], size_hw)
    audio = _Audio(sr_hz)
    n_audio = round((clip_s + 2 * pad_s) * sr_hz)
    emitted = 0

    def ready() -> Iterator[Window]:
        nonlocal emitted
        while emitted < len(starts_s):
            t = starts_s[emitted]
            last_instant = t + (n_frames - 1) / fps
            video_done = video.next_needed_s() > last_instant + _PTS_TOLERANCE_S
            audio_done = audio.ended or audio.end_s >= t + clip_s + pad_s
            if not (video_done and audio_done):
                return
            frames = _gather(path, video, sorted_at[emitted * n_frames:(emitted + 1) * n_frames])
            yield Window(float(t), frames, audio.take(t - pad_s, n_audio))
            emitted += 1
            if emitted < len(starts_s):
                audio.trim_before(starts_s[emitted] - pad_s)
            if progress is not None:
                progress(emitted, len(starts_s))

    with open_input(path) as container:
        vstream, astream = _streams(container, path)
        for kind, item in _demux(container, vstream, astream, video.next_needed_s):
            if kind == "video":
                time_s = seconds(item.pts, item.time_base)
                if time_s is not None:
                    video.add(time_s, item)
            else:
                audio.add(item)
            yield from ready()
        video.finish()
        audio.add(None)
        yield from ready()


def _gather(path: Path, video: _Video, positions: np.ndarray) -> np.ndarray:
    picked = [video.out[p] for p in positions]
    if any(frame is None for frame in picked):
        raise UnreadableMediaError(f"cannot read media file {path}: no video frame decodes")
    for p in positions:  # each frame belongs to one window: free it once used
        video.out[p] = None
    return np.stack(picked)


def _streams(container, path: Path):
    if not container.streams.video:
        raise NoVideoStreamError(f"{path} has no video stream")
    if not container.streams.audio:
        raise NoAudioStreamError(f"{path} has no audio stream")
    vstream, astream = container.streams.video[0], container.streams.audio[0]
    vstream.thread_type = "AUTO"
    return vstream, astream


def _demux(container, vstream, astream, next_needed_s: Callable[[], float]):
    """Decoded ("video", frame) and ("audio", frame) items in file order, skipping the decoding
    of video packets that no window needs (they are held from the last keyframe on instead)."""
    held: list[av.Packet] = []
    for packet in container.demux(vstream, astream):
        if packet.stream.type == "audio":
            yield from (("audio", f) for f in _decode_packet(packet))
            continue
        packet_s = seconds(packet.pts if packet.pts is not None else packet.dts,
                           packet.time_base)
        if packet_s is not None and packet_s < next_needed_s() - _LOOKAHEAD_S:
            if packet.is_keyframe:
                held = []
            held.append(packet)
            if len(held) < _MAX_HELD_PACKETS:
                continue
        for p in [*held, packet]:
            yield from (("video", f) for f in _decode_packet(p))
        held = []


def _decode_packet(packet: av.Packet) -> list:
    # Damaged packets (a truncated tail, a packet right after a seek) are skipped as players do.
    try:
        return packet.decode()
    except av.InvalidDataError:
        return []
