"""Write audio-visual files with PyAV (H.264 + AAC in MP4 by default), atomically."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avts._atomic import atomic_path
from avts.errors import MediaError


def write_av(path: str | Path, frames: np.ndarray, fps: float, audio: np.ndarray, sr_hz: int,
             *, video_codec: str = "h264", audio_codec: str = "aac",
             audio_bitrate: int = 128_000) -> Path:
    """Write ``frames`` (T, H, W, 3) uint8 at ``fps`` and ``audio`` (n,) or (channels, n) float
    in [-1, 1] at ``sr_hz`` to ``path``. Both streams start at time 0.

    The file is written to a temporary name beside ``path`` and renamed, so a crash never
    leaves a half-written file under the final name. H.264 needs even width and height.
    """
    path = Path(path)
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise MediaError(f"frames must be (T, H, W, 3) uint8, got shape {frames.shape}")
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[None, :]
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w") as container:
        vstream = container.add_stream(video_codec, rate=Fraction(fps).limit_denominator(1001))
        vstream.height, vstream.width = frames.shape[1], frames.shape[2]
        vstream.pix_fmt = "yuv420p"
        if video_codec in ("h264", "libx264"):
            # zerolatency turns off x264's lookahead and macroblock tree, whose output varied
            # from run to run; without them a seed always gives the same file.
            vstream.options = {"preset": "veryfast", "crf": "20", "tune": "zerolatency"}
        astream = container.add_stream(audio_codec, rate=sr_hz)
        astream.layout = layout
        if audio_bitrate:
            astream.bit_rate = audio_bitrate
        for image in frames:
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            container.mux(vstream.encode(frame))
        container.mux(vstream.encode())
        _encode_audio(container, astream, samples, sr_hz, layout)
    return path


def _encode_audio(container, stream, samples: np.ndarray, sr_hz: int, layout: str) -> None:
    # Encoders take fixed-size frames (1024 for AAC); feed planar float chunks with explicit pts.
    chunk = stream.codec_context.frame_size or 1024
    planar = np.clip(samples, -1.0, 1.0).astype(np.float32)
    for start in range(0, planar.shape[1], chunk):
        part = np.ascontiguousarray(planar[:, start : start + chunk])
        frame = av.AudioFrame.from_ndarray(part, format="fltp", layout=layout)
        frame.sample_rate = sr_hz
        frame.pts = start
        frame.time_base = Fraction(1, sr_hz)
        container.mux(stream.encode(frame))
    container.mux(stream.encode())
