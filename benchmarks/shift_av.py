"""Test media for the sync benchmarks: shifted copies come from ``avts.media.remux``
(``make_shifted_copy``: positive = audio late); this adds mismatched copies, the video of one
file with the audio of another, by remuxing packets (no re-encoding)."""

from __future__ import annotations

from pathlib import Path

import av

from avts.media.remux import make_shifted_copy

write_shifted = make_shifted_copy  # the name older scripts import


def write_mismatched(video_src: str | Path, audio_src: str | Path, dst: str | Path) -> Path:
    """The video of one file with the audio of another: no offset is right (for calibration)."""
    with av.open(str(video_src)) as vin_c, av.open(str(audio_src)) as ain_c, \
            av.open(str(dst), mode="w") as out:
        vin, ain = vin_c.streams.video[0], ain_c.streams.audio[0]
        vout, aout = out.add_stream_from_template(vin), out.add_stream_from_template(ain)
        for container, stream, target in ((vin_c, vin, vout), (ain_c, ain, aout)):
            for packet in container.demux(stream):
                if packet.dts is None:
                    continue
                packet.stream = target
                out.mux(packet)
    return Path(dst)
