"""Shifted copies of in-sync videos, by remuxing (no re-encoding): a stand-in for
``avts.media.remux`` until that lands. Positive ``offset_ms`` makes the audio late: the audio
packets are delayed; a negative offset delays the video packets instead, so that no
timestamp becomes negative."""

from __future__ import annotations

from pathlib import Path

import av


def write_shifted(src: str | Path, dst: str | Path, offset_ms: float) -> Path:
    with av.open(str(src)) as inp, av.open(str(dst), mode="w") as out:
        vin, ain = inp.streams.video[0], inp.streams.audio[0]
        vout = out.add_stream_from_template(vin)
        aout = out.add_stream_from_template(ain)
        delayed = ain if offset_ms > 0 else vin
        streams = {vin.index: vout, ain.index: aout}
        for packet in inp.demux(vin, ain):
            if packet.dts is None:
                continue
            if packet.stream is delayed:
                delta = round(abs(offset_ms) / 1000.0 / float(packet.time_base))
                packet.pts = None if packet.pts is None else packet.pts + delta
                packet.dts += delta
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return Path(dst)
