"""The issue-12 figures of one or more ``avts bench-sync --json`` outputs, by content.

    python scripts/bench_summary.py BENCH.json [BENCH2.json ...] [--method avts]

Prints one JSON object per file: for all copies, talking heads and other content (named as
``scripts/real_lab.py`` names them), the share within one frame (at each file's frame rate,
as bench-sync scores it), the share with the right sign among |offset| >= 160 ms, and the
median |error|. A copy without an estimate counts as a miss.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from real_lab import is_talking

from avts.eval.bench_sync import score
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


def _case(row: dict) -> BenchSyncCase:
    names = {f.name for f in dataclasses.fields(BenchSyncCase)}
    return BenchSyncCase(**{k: v for k, v in row.items() if k in names})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench", nargs="+", type=Path)
    p.add_argument("--method", default="avts")
    args = p.parse_args()
    for path in args.bench:
        cases = [_case(c) for c in json.loads(path.read_text())["cases"]
                 if c["method"] == args.method]
        talk = [c for c in cases if is_talking(Path(c.file).name)]
        other = [c for c in cases if not is_talking(Path(c.file).name)]
        print(json.dumps({"bench": str(path), "method": args.method, "all": summary(cases),
                          "talking": summary(talk), "other": summary(other)}))


if __name__ == "__main__":
    main()
