"""`avts fix` on a real clip: shift it by known offsets, fix it, and check the result.

For each offset X (positive: audio late) the clip is copied with its audio made late by X,
then fixed twice: with the known offset (``offset_ms=X``) and measured (``--auto``). Printed
as one JSON object per offset:

* ``true_residual_ms``: lag of the fixed file's audio against the original's, both taken
  relative to their own video timelines, by cross-correlating the waveforms (0 is perfect);
* ``auto``: what the method measures on the original and on the auto-fixed file, and their
  difference in frames (the fix should restore what the original measures);
* ``video_packets_identical``: the fixed files' video packets against the original's.

Not a test: it needs a real clip and (for ``--method avts``) a checkpoint. Usage:
    python benchmarks/fix_residual.py VIDEO [--offsets 200,-200] [--method baseline]
        [--checkpoint C] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from avts import api
from avts.errors import AvtsError
from avts.media import probe, read_audio
from avts.media.remux import make_shifted_copy, output_suffix, video_packets_identical

_MAX_LAG_S = 1.0


def audio_lag_ms(reference: Path, other: Path, margin_s: float) -> float:
    """How late ``other``'s audio is against ``reference``'s (relative to each file's usable
    span start), from the peak of their cross-correlation, refined to a fraction of a sample."""
    ref_info, other_info = probe(reference), probe(other)
    sr_hz = ref_info.audio_sr_hz
    span_s = min(ref_info.duration_s, other_info.duration_s) - 2 * margin_s
    a = read_audio(reference, ref_info.start_s + margin_s, span_s, sr_hz)
    b = read_audio(other, other_info.start_s + margin_s, span_s, sr_hz)
    n = len(a)
    spectrum = np.fft.rfft(b, 2 * n) * np.conj(np.fft.rfft(a, 2 * n))
    xcorr = np.fft.irfft(spectrum, 2 * n)
    max_lag = int(_MAX_LAG_S * sr_hz)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([xcorr[: max_lag + 1], xcorr[-max_lag:]])
    k = int(np.argmax(values))
    left, right = values[k - 1], values[(k + 1) % len(values)]
    denom = left - 2 * values[k] + right
    frac = 0.5 * (left - right) / denom if denom else 0.0
    return float((lags[k] + frac) / sr_hz * 1000)


def _summary(result) -> dict | None:
    if result is None:
        return None
    return {k: result.to_dict()[k] for k in ("offset_ms", "offset_frames", "confidence",
                                             "verdict")}


def run(video: Path, offsets_ms: list[float], method: str, checkpoint, work: Path) -> list[dict]:
    fps = probe(video).video_fps
    original = api.detect_offset(video, checkpoint=checkpoint, method=method)
    suffix = output_suffix(video)
    rows = []
    for offset_ms in offsets_ms:
        shifted = make_shifted_copy(video, work / f"shifted_{offset_ms:+g}{suffix}", offset_ms)
        margin_s = abs(offset_ms) / 1000 + 0.1  # keep the shift's silence out of the window
        known = api.fix_offset(shifted, work / f"fixed_{offset_ms:+g}{suffix}", offset_ms,
                               checkpoint=checkpoint, method=method)
        true_residual_ms = audio_lag_ms(video, known.dst, margin_s)
        rows.append({
            "file": str(video), "fps": fps, "method": method, "offset_ms": offset_ms,
            "shifted_true_lag_ms": audio_lag_ms(video, shifted, margin_s),
            "known": {"applied_offset_ms": known.applied_offset_ms,
                      "true_residual_ms": true_residual_ms,
                      "true_residual_frames": true_residual_ms * fps / 1000,
                      "measured_after": _summary(known.measured_after),
                      "video_packets_identical": video_packets_identical(video, known.dst)},
            "auto": _auto(video, shifted, original, work / f"auto_{offset_ms:+g}{suffix}",
                          method, checkpoint, margin_s, fps),
        })
    return rows


def _auto(video: Path, shifted: Path, original, dst: Path, method: str, checkpoint,
          margin_s: float, fps: float) -> dict:
    try:
        auto = api.fix_offset(shifted, dst, None, checkpoint=checkpoint, method=method)
    except AvtsError as err:  # an inconclusive measurement writes nothing
        return {"measured_original": _summary(original), "error": str(err)}
    after_ms, original_ms = auto.measured_after.offset_ms, original.offset_ms
    diff_ms = None if after_ms is None or original_ms is None else after_ms - original_ms
    return {"measured_original": _summary(original),
            "measured_shifted": _summary(auto.measured_before),
            "applied_offset_ms": auto.applied_offset_ms,
            "measured_after": _summary(auto.measured_after),
            "after_minus_original_frames": None if diff_ms is None else diff_ms * fps / 1000,
            "true_residual_ms": audio_lag_ms(video, auto.dst, margin_s),
            "video_packets_identical": video_packets_identical(video, auto.dst)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--offsets", default="200,-200", help="comma-separated, in ms")
    parser.add_argument("--method", default="baseline", choices=["avts", "baseline"])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--work", type=Path, help="keep the files here (default: temporary)")
    args = parser.parse_args()
    offsets = [float(x) for x in args.offsets.split(",")]
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        rows = run(args.video, offsets, args.method, args.checkpoint, args.work)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = run(args.video, offsets, args.method, args.checkpoint, Path(tmp))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
