"""Shift a file's audio against its video without touching the picture.

The video packets are copied as they are (stream copy, bit-exact); the audio is decoded,
moved by a whole number of samples (dropping the start or prepending silence) and encoded
again, with its length kept so that the file's duration does not change. Only the first video
and the first audio stream are written; other streams (subtitles, data) are left out.

Sign convention, as everywhere in avts: a POSITIVE offset means the AUDIO IS LATE (a sound
is heard after its event is seen). ``shift_audio(src, dst, offset_ms)`` corrects such an
offset (late audio is advanced); ``make_shifted_copy(src, dst, offset_ms)`` introduces one
(audio delayed by ``offset_ms``). Both are ``delay_audio`` with opposite signs.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avts._atomic import atomic_path
from avts.errors import (
    MediaError,
    NoAudioStreamError,
    NoVideoStreamError,
    OutputPathError,
    UnreadableMediaError,
)
from avts.media._container import check_file, one_line, open_input, seconds

# Output container (by file suffix) -> (audio codecs it takes, encoder used for each, default).
# The input's own audio codec is kept when the container takes it; else the default is used.
_ENCODERS = {"aac": "aac", "alac": "alac", "mp3": "libmp3lame", "ac3": "ac3", "flac": "flac",
             "opus": "libopus", "mp2": "mp2", "pcm_s16le": "pcm_s16le", "pcm_mulaw": "pcm_mulaw"}
_CONTAINER_AUDIO: dict[str, tuple[frozenset[str], str]] = {
    ".mp4": (frozenset({"aac", "alac", "mp3", "ac3"}), "aac"),
    ".m4v": (frozenset({"aac", "alac", "mp3", "ac3"}), "aac"),
    ".mov": (frozenset({"aac", "alac", "mp3", "ac3", "pcm_s16le"}), "aac"),
    ".3gp": (frozenset({"aac"}), "aac"),
    ".mkv": (frozenset({"aac", "flac", "opus", "mp3", "ac3", "mp2", "pcm_s16le", "alac"}), "aac"),
    ".webm": (frozenset({"opus"}), "opus"),
    ".avi": (frozenset({"pcm_s16le", "mp3", "mp2", "ac3", "pcm_mulaw"}), "pcm_s16le"),
    ".mpg": (frozenset({"mp2", "ac3", "mp3"}), "mp2"),
    ".mpeg": (frozenset({"mp2", "ac3", "mp3"}), "mp2"),
    ".ts": (frozenset({"aac", "mp2", "ac3", "mp3"}), "aac"),
    ".flv": (frozenset({"aac", "mp3"}), "aac"),
}
_LOSSY_BITRATE_PER_CHANNEL = 96_000  # re-encoding is a second generation: stay generous
_MAX_BITRATE = 320_000
_BLOCK_SAMPLES = 65_536  # audio is shifted in blocks of at least this many samples


def shift_audio(src: str | Path, dst: str | Path, offset_ms: float) -> Path:
    """Correct an offset: write ``dst`` with ``src``'s audio moved EARLIER by ``offset_ms``.

    ``offset_ms`` > 0 means the audio in ``src`` is late: its first ``offset_ms`` are dropped
    (and silence is appended at the end). ``offset_ms`` < 0 means it is early: silence is
    prepended (and the end trimmed). Video packets are copied bit-exactly.
    """
    return delay_audio(src, dst, -offset_ms)


def make_shifted_copy(src: str | Path, dst: str | Path, offset_ms: float) -> Path:
    """Introduce an offset: write ``dst`` whose audio is LATE by ``offset_ms`` (delayed when
    positive, advanced when negative), so that a sync measurement of ``dst`` should read
    ``offset_ms`` more than one of ``src``. The inverse of ``shift_audio``."""
    return delay_audio(src, dst, offset_ms)


def delay_audio(src: str | Path, dst: str | Path, delay_ms: float) -> Path:
    """Write ``dst``: ``src``'s video packets copied, its audio delayed by ``delay_ms``
    (negative: advanced), rounded to whole samples, with the audio length kept.

    Written to a temporary file beside ``dst`` and renamed; never overwrites ``src``; on any
    failure no file is left under ``dst``. Raises ``UnreadableMediaError``,
    ``NoVideoStreamError``, ``NoAudioStreamError``, ``OutputPathError`` or ``MediaError``.
    """
    src, dst = Path(src), Path(dst)
    if not math.isfinite(delay_ms):
        raise MediaError(f"the audio shift must be a finite number of ms, got {delay_ms}")
    check_file(src)
    check_output_path(src, dst)
    allowed, default = _container_audio(dst)
    with open_input(src) as inp:
        vin, ain = _input_streams(inp, src)
        in_codec = ain.codec_context.codec.canonical_name
        encoder = _ENCODERS[in_codec] if in_codec in allowed else _ENCODERS[default]
        with atomic_path(dst) as tmp:
            try:
                with av.open(str(tmp), mode="w") as out:
                    _remux(inp, vin, ain, out, encoder, delay_ms)
            except (av.FFmpegError, ValueError) as err:
                raise MediaError(f"cannot write {dst}: {one_line(err)}") from err
    return dst


def output_suffix(src: str | Path) -> str:
    """The suffix of a shifted copy of ``src``: its own when remuxing writes that container,
    else ``.mkv`` (Matroska takes almost any video codec)."""
    suffix = Path(src).suffix.lower()
    return suffix if suffix in _CONTAINER_AUDIO else ".mkv"


def check_output_path(src: Path, dst: Path) -> None:
    """Refuse an output that is the input (same path, link or inode), cannot be created, or
    has a suffix whose container this module does not write."""
    same = src.resolve() == dst.resolve()
    if not same and dst.exists():
        try:
            same = os.path.samefile(src, dst)
        except OSError:
            same = False
    if same:
        raise OutputPathError(f"refusing to overwrite the input {src}: choose another output file")
    if dst.is_dir():
        raise OutputPathError(f"output {dst} is a folder; give a file name such as {dst}/out.mp4")
    if not dst.parent.is_dir():
        raise OutputPathError(f"output folder {dst.parent} does not exist; create it first")
    _container_audio(dst)


def _container_audio(dst: Path) -> tuple[frozenset[str], str]:
    try:
        return _CONTAINER_AUDIO[dst.suffix.lower()]
    except KeyError:
        names = ", ".join(sorted(_CONTAINER_AUDIO))
        raise OutputPathError(f"cannot write {dst}: unsupported output type "
                              f"{dst.suffix or '(no suffix)'!r}; use one of {names}") from None


def _input_streams(inp, src: Path):
    if not inp.streams.video:
        raise NoVideoStreamError(f"{src} has no video stream; there is no picture to sync to")
    if not inp.streams.audio:
        raise NoAudioStreamError(f"{src} has no audio stream; there is no sound to shift")
    return inp.streams.video[0], inp.streams.audio[0]


def _remux(inp, vin, ain, out, encoder: str, delay_ms: float) -> None:
    vout = out.add_stream_from_template(vin)
    vout.time_base = vin.time_base
    sr_hz = ain.codec_context.sample_rate
    aout = _audio_output(out, ain, encoder)
    shifter = _AudioShifter(round(delay_ms * sr_hz / 1000.0), sr_hz, aout)
    for packet in _demux(inp, vin, ain):
        if packet.stream is vin:
            packet.stream = vout
            out.mux(packet)
        else:
            for frame in _decode_audio(packet, shifter.resampler):
                for shifted in shifter.push(frame):
                    out.mux(aout.encode(shifted))
    for shifted in shifter.finish():
        out.mux(aout.encode(shifted))
    out.mux(aout.encode(None))


def _audio_output(out, ain, encoder: str):
    ctx = ain.codec_context
    aout = out.add_stream(encoder, rate=ctx.sample_rate)
    aout.layout = ctx.layout.name
    if encoder in ("aac", "libmp3lame", "libopus", "mp2"):
        wanted = max(ctx.bit_rate or 0, _LOSSY_BITRATE_PER_CHANNEL * ctx.channels)
        aout.bit_rate = min(wanted, _MAX_BITRATE)
    aout.time_base = Fraction(1, ctx.sample_rate)
    return aout


def _demux(inp, vin, ain) -> Iterator[av.Packet]:
    """Real packets of both streams; a damaged container is an input error, not a write one."""
    packets = inp.demux(vin, ain)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError as err:
            raise UnreadableMediaError(f"cannot read media file {inp.name}: "
                                       f"demuxing failed ({one_line(err)})") from err
        if packet.size:  # the empty packets at the end only flush decoders
            yield packet


def _decode_audio(packet: av.Packet, resampler: av.AudioResampler) -> list[av.AudioFrame]:
    # A damaged audio packet is skipped (as players do); the shift is counted in samples of
    # the decoded audio, so a skipped packet shortens the audio instead of moving it.
    try:
        frames = packet.decode()
    except av.InvalidDataError:
        return []
    return [out for frame in frames for out in resampler.resample(frame)]


class _AudioShifter:
    """Delays (or advances) a stream of planar float frames by ``delay_samples``, keeping the
    total number of samples, and hands out frames stamped from the input's first timestamp."""

    def __init__(self, delay_samples: int, sr_hz: int, aout) -> None:
        self.delay = delay_samples
        self.sr_hz = sr_hz
        self.resampler = av.AudioResampler(format="fltp", layout=aout.layout.name, rate=sr_hz)
        self.layout = aout.layout.name
        self.n_channels = aout.layout.nb_channels
        self.to_drop = max(0, -delay_samples)  # advancing: samples still to drop at the start
        self.n_dropped = 0
        # delaying: the last ``delay`` samples seen, which the end of the output never reaches
        self.held = np.zeros((self.n_channels, max(0, delay_samples)), np.float32)
        self.pending: list[np.ndarray] = []
        self.n_pending = 0
        self.next_pts: int | None = None

    def push(self, frame: av.AudioFrame) -> list[av.AudioFrame]:
        if self.next_pts is None:
            start_s = seconds(frame.pts, frame.time_base) or 0.0
            self.next_pts = round(start_s * self.sr_hz)
        block = frame.to_ndarray().astype(np.float32, copy=False)
        if self.to_drop:
            cut = min(self.to_drop, block.shape[1])
            block = block[:, cut:]
            self.to_drop -= cut
            self.n_dropped += cut
        self.pending.append(block)
        self.n_pending += block.shape[1]
        # Work in large blocks so that delaying costs one copy of ``held`` per block, not per
        # codec frame (1024 samples).
        if self.n_pending < max(_BLOCK_SAMPLES, self.held.shape[1]):
            return []
        return self._emit()

    def finish(self) -> list[av.AudioFrame]:
        frames = self._emit()
        if self.n_dropped:  # advanced: pad the end so that the length stays the same
            frames += self._frames(np.zeros((self.n_channels, self.n_dropped), np.float32))
        return frames

    def _emit(self) -> list[av.AudioFrame]:
        if not self.pending:
            return []
        block = np.concatenate(self.pending, axis=1)
        self.pending, self.n_pending = [], 0
        if self.held.shape[1]:
            joined = np.concatenate([self.held, block], axis=1)
            block, self.held = joined[:, : block.shape[1]], joined[:, block.shape[1] :]
        return self._frames(block)

    def _frames(self, block: np.ndarray) -> list[av.AudioFrame]:
        if block.shape[1] == 0:
            return []
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp",
                                           layout=self.layout)
        frame.sample_rate = self.sr_hz
        frame.time_base = Fraction(1, self.sr_hz)
        frame.pts = self.next_pts or 0
        self.next_pts = frame.pts + block.shape[1]
        return [frame]


def video_packets_identical(a: str | Path, b: str | Path) -> bool:
    """True when the first video streams of ``a`` and ``b`` hold the same packets, byte for
    byte and in the same order (timestamps may differ by the containers' time bases)."""
    with open_input(Path(a)) as ca, open_input(Path(b)) as cb:
        if not ca.streams.video or not cb.streams.video:
            return False
        pa = (bytes(p) for p in ca.demux(ca.streams.video[0]) if p.size)
        pb = (bytes(p) for p in cb.demux(cb.streams.video[0]) if p.size)
        return all(x == y for x, y in itertools.zip_longest(pa, pb))
