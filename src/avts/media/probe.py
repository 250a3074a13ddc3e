"""``probe``: what a media file holds, with timing measured from its timestamps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from avts.errors import MediaTooShortError, NoAudioStreamError, NoVideoStreamError
from avts.media._container import display_rotation_deg, open_input, seconds
from avts.types import MediaInfo


@dataclass
class _StreamTiming:
    """Packet timing of one stream, gathered while demuxing (no pixel decoding)."""

    pts_s: list[float] = field(default_factory=list)
    end_s: float | None = None  # latest pts + packet duration
    first_frame_s: float | None = None  # pts of the first decoded frame
    rotation_deg: int = 0  # display rotation of the first decoded frame (counter-clockwise)

    def add_packet(self, packet: av.Packet) -> None:
        start_s = seconds(packet.pts, packet.time_base)
        # An edit list can drop packets (autoavsr_leah_crop1.mp4 drops 4 s of them): they are
        # decoded as references but never shown, so they say nothing about presented time.
        if start_s is None or packet.is_discard:
            return
        self.pts_s.append(start_s)
        end_s = start_s + (seconds(packet.duration, packet.time_base) or 0.0)
        self.end_s = end_s if self.end_s is None else max(self.end_s, end_s)


def probe(path: str | Path) -> MediaInfo:
    """Describe ``path``: streams, codecs, measured fps and the usable audio-video span.

    Raises ``UnreadableMediaError`` for missing, empty, non-media or undecodable files; a
    missing stream is reported by ``has_audio`` / ``has_video``, not raised.
    """
    path = Path(path)
    with open_input(path) as container:
        vstream = container.streams.video[0] if container.streams.video else None
        astream = container.streams.audio[0] if container.streams.audio else None
        vtiming, atiming = _demux_timing(container, vstream, astream)
        video = _video_fields(vstream, vtiming) if vstream is not None else {}
        audio = _audio_fields(astream, atiming) if astream is not None else {}
        return MediaInfo(
            path=path,
            duration_s=_usable_duration_s(video, audio),
            container=container.format.name,
            has_video=vstream is not None,
            has_audio=astream is not None,
            **video,
            **audio,
        )


def require_av(info: MediaInfo, min_duration_s: float, remedy: str | None = None) -> None:
    """Raise unless ``info`` has both streams overlapping for at least ``min_duration_s``
    (``remedy``: what the message suggests when the file is too short; None: the generic
    advice)."""
    if not info.has_video:
        raise NoVideoStreamError(
            f"{info.path} has no video stream; AVTS needs a file with both picture and sound"
        )
    if not info.has_audio:
        raise NoAudioStreamError(
            f"{info.path} has no audio stream; AVTS needs a file with both picture and sound"
        )
    if info.duration_s < min_duration_s:
        raise MediaTooShortError(
            f"{info.path} has only {info.duration_s:.2f} s where audio and video overlap; "
            f"at least {min_duration_s:.2f} s is needed "
            f"({remedy or 'use a longer file or shorter clips'})"
        )


def _demux_timing(container, vstream, astream) -> tuple[_StreamTiming, _StreamTiming]:
    # Demuxing is cheap; decoding only until each stream yields one frame proves that the
    # codec works and gives the audio start after priming / pre-skip samples are dropped.
    vtiming, atiming = _StreamTiming(), _StreamTiming()
    streams = [s for s in (vstream, astream) if s is not None]
    if not streams:
        return vtiming, atiming
    for stream in streams:
        stream.thread_type = "SLICE"  # frame threading would delay the first frame
    for packet in container.demux(*streams):
        timing = vtiming if packet.stream is vstream else atiming
        if packet.size == 0:
            continue
        timing.add_packet(packet)
        if timing.first_frame_s is None:
            for frame in packet.decode():
                timing.first_frame_s = seconds(frame.pts, frame.time_base)
                if packet.stream is vstream:
                    timing.rotation_deg = display_rotation_deg(frame)
                break
    return vtiming, atiming


def _video_fields(stream, timing: _StreamTiming) -> dict:
    pts_s = np.unique(np.asarray(timing.pts_s, dtype=np.float64))
    fps = None
    start_s = _metadata_start_s(stream)
    duration_s = _metadata_duration_s(stream)
    if len(pts_s) >= 2:
        # count / span rather than header rate or median interval: files with dropped or
        # irregular frames (e.g. 30 fps nominal with 66 ms gaps) show their real mean rate.
        span_s = float(pts_s[-1] - pts_s[0])
        fps = (len(pts_s) - 1) / span_s if span_s > 0 else None
        interval_s = float(np.median(np.diff(pts_s)))
        start_s = float(pts_s[0])
        duration_s = float(pts_s[-1]) + interval_s - start_s
    elif len(pts_s) == 1:
        start_s = float(pts_s[0])
        duration_s = duration_s or 0.0
    if timing.first_frame_s is not None and timing.first_frame_s > start_s:
        # what a player shows first; frames before it cannot be decoded (open GOP)
        duration_s = max(0.0, (duration_s or 0.0) - (timing.first_frame_s - start_s))
        start_s = timing.first_frame_s
    ctx = stream.codec_context
    sideways = timing.rotation_deg % 180 == 90
    return {
        "video_codec": ctx.name,
        "video_fps": fps,
        "width": ctx.height if sideways else ctx.width,
        "height": ctx.width if sideways else ctx.height,
        "rotation_deg": timing.rotation_deg,
        "video_start_s": start_s,
        "video_duration_s": duration_s,
    }


def _audio_fields(stream, timing: _StreamTiming) -> dict:
    start_s = timing.first_frame_s
    if start_s is None:
        start_s = min(timing.pts_s) if timing.pts_s else _metadata_start_s(stream)
    duration_s = _metadata_duration_s(stream)
    if timing.end_s is not None and start_s is not None:
        duration_s = max(0.0, timing.end_s - start_s)
    ctx = stream.codec_context
    return {
        "audio_codec": ctx.name,
        "audio_sr_hz": ctx.sample_rate,
        "audio_channels": ctx.channels,
        "audio_start_s": start_s,
        "audio_duration_s": duration_s,
    }


def _metadata_start_s(stream) -> float:
    return seconds(stream.start_time, stream.time_base) or 0.0


def _metadata_duration_s(stream) -> float | None:
    return seconds(stream.duration, stream.time_base)


def _usable_duration_s(video: dict, audio: dict) -> float:
    # Overlap of the two streams; with one stream, that stream's own length.
    spans = [
        (fields[f"{kind}_start_s"], fields[f"{kind}_duration_s"])
        for kind, fields in (("video", video), ("audio", audio))
        if fields and fields[f"{kind}_start_s"] is not None
        and fields[f"{kind}_duration_s"] is not None
    ]
    if not spans:
        return 0.0
    start_s = max(s for s, _ in spans)
    end_s = min(s + d for s, d in spans)
    return max(0.0, end_s - start_s)
