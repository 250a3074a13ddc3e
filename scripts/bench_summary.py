"""The issue-12 figures of one or more ``avts bench-sync --json`` outputs, by content.

    python scripts/bench_summary.py BENCH.json [BENCH2.json ...] [--method avts]
        [--calibration SLOPE,MIDPOINT[,FACE_SLOPE]]

Prints one JSON object per file: for all copies, talking heads and other content (named as
``scripts/real_lab.py`` names them), the share within one frame (at each file's frame rate,
as bench-sync scores it), the share with the right sign among |offset| >= 160 ms, and the
median |error|. A copy without an estimate counts as a miss. Then how well the confidence
predicts "within one frame": its mean beside the hit rate, log loss, Brier score, and the
answers at >= 0.3 (how many right). ``--calibration`` re-maps each case's recorded score and
face share with another map (as calibrate_sync.py fits them, from the raw score) instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
from real_lab import is_talking

from avts.eval.bench_sync import score, within_frames
from avts.sync.curves import Calibration
from avts.types import BenchSyncCase

SIGN_MIN_MS = 160.0  # the sign goal is over |offset| >= 160 ms


def summary(cases: list[BenchSyncCase]) -> dict:
    if not cases:
        return {"n": 0}
    every = score(cases)
    signed = score([c for c in cases if abs(c.true_offset_ms) >= SIGN_MIN_MS])
    return {"n": every.n, "within_1_frame": round(every.within_1_frame, 3),
            "sign_160": None if signed.sign_accuracy is None else round(signed.sign_accuracy, 3),
            "n_sign": signed.n_signed, "median_abs_ms": every.median_abs_error_ms}


def by_content(cases: list[BenchSyncCase]) -> dict:
    """``summary`` of all cases, of the talking heads and of the other content."""
    talk = [c for c in cases if is_talking(Path(c.file).name)]
    other = [c for c in cases if not is_talking(Path(c.file).name)]
    return {"all": summary(cases), "talking": summary(talk), "other": summary(other)}


def confidence_summary(cases: list[BenchSyncCase], remap: Calibration | None = None) -> dict:
    """How well the confidence predicts |error| <= 1 frame over ``cases``."""
    hit = np.array([within_frames(c) for c in cases])
    if remap is None:
        conf = np.array([c.confidence or 0.0 for c in cases])
    else:
        conf = np.array([remap(c.score if c.score is not None else math.nan, c.face_share)
                         for c in cases])
    p = np.clip(conf, 1e-6, 1 - 1e-6)
    top = conf >= 0.3
    return {"mean": round(float(conf.mean()), 3), "hit_rate": round(float(hit.mean()), 3),
            "log_loss": round(float(-np.mean(np.where(hit, np.log(p), np.log(1 - p)))), 4),
            "brier": round(float(np.mean((conf - hit) ** 2)), 4),
            "n_ge_0.3": int(top.sum()), "right_ge_0.3": int((top & hit).sum())}


def _case(row: dict) -> BenchSyncCase:
    names = {f.name for f in dataclasses.fields(BenchSyncCase)}
    return BenchSyncCase(**{k: v for k, v in row.items() if k in names})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench", nargs="+", type=Path)
    p.add_argument("--method", default="avts")
    p.add_argument("--calibration", metavar="SLOPE,MIDPOINT[,FACE_SLOPE]",
                   help="re-map the recorded scores with this map")
    args = p.parse_args()
    remap = None
    if args.calibration:
        remap = Calibration(*(float(x) for x in args.calibration.split(",")))
    for path in args.bench:
        cases = [_case(c) for c in json.loads(path.read_text())["cases"]
                 if c["method"] == args.method]
        print(json.dumps({"bench": str(path), "method": args.method, **by_content(cases),
                          "confidence": confidence_summary(cases, remap)}))


if __name__ == "__main__":
    main()
