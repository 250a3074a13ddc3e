"""Per-clip errors of several cross-validated recipes side by side: is a clip's error a property
of the clip (every recipe finds the same constant) or of one model?

    python scripts/clip_errors.py CV/rows.jsonl CV/rows_sp.jsonl CV/rows_w.jsonl CV/rows_k4.jsonl \
        [--max-sd 30] [--min-face 0.5] [--agree-ms 40]

Reads scripts/cross_validate.py's ``rows{TAG}.jsonl`` (one line per out-of-fold copy). The first
file is the reference: its clips with a face in at least ``--min-face`` of the windows whose
error (answer - true offset) varies by at most ``--max-sd`` ms over the shifted copies are
"constant-error" clips. For each, every recipe's median error and spread; a clip counts as
reproduced when every recipe's median lies within ``--agree-ms`` of the reference's. Prints one
JSON object.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np


def clip_errors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    """file -> errors (ms) of its copies, and file -> its last row (face share, frame length)."""
    errors: dict[str, list[float]] = defaultdict(list)
    info: dict[str, dict] = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        errors[row["file"]].append(row["offset_ms"] - row["true_ms"])
        info[row["file"]] = row
    return {f: np.asarray(e) for f, e in errors.items()}, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=Path, nargs="+",
                        help="rows{TAG}.jsonl files; the first is the reference")
    parser.add_argument("--max-sd", type=float, default=30.0)
    parser.add_argument("--min-face", type=float, default=0.5)
    parser.add_argument("--agree-ms", type=float, default=40.0)
    args = parser.parse_args()

    loaded = [clip_errors(p) for p in args.rows]
    recipes = [errors for errors, _ in loaded]
    ref, info = loaded[0]
    constant = sorted((f for f, e in ref.items()
                       if e.std() <= args.max_sd and info[f]["face_share"] >= args.min_face),
                      key=lambda f: float(np.median(ref[f])))
    clips = []
    for name in constant:
        medians = [float(np.median(r[name])) for r in recipes]
        clips.append({"file": name,
                      "median_ms": [round(m, 1) for m in medians],
                      "sd_ms": [round(float(r[name].std()), 1) for r in recipes],
                      "beyond_one_frame": abs(medians[0]) > info[name]["frame_ms"],
                      "reproduced": all(abs(m - medians[0]) <= args.agree_ms for m in medians)})
    beyond_frame = [c for c in clips if c["beyond_one_frame"]]
    print(json.dumps({
        "recipes": [str(p) for p in args.rows],
        "constant_face_clips": len(clips),
        "beyond_one_frame": len(beyond_frame),
        "beyond_one_frame_reproduced": sum(c["reproduced"] for c in beyond_frame),
        "clips": clips,
    }, indent=1))


if __name__ == "__main__":
    main()
