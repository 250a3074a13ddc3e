"""Fit a checkpoint's offset-search confidence on shifted copies of its TRAINING clips and store
it in a copy of the checkpoint (key ``calibration``, which ``avts.load_model`` exposes and the
offset search uses instead of the method's default).

    python scripts/calibrate_sync.py CKPT DATA_DIR OUT.pt [--every 3] [--offsets ...]
        [--work DIR] [--rows ROWS.jsonl]
    python scripts/calibrate_sync.py CKPT OUT.pt --set SLOPE,MIDPOINT --fitted-on TEXT
    python scripts/calibrate_sync.py CKPT OUT.pt --fit-rows ROWS.jsonl [ROWS2.jsonl ...]

Every ``--every``-th video of DATA_DIR that the checkpoint lists among its ``train_videos`` or
``val_videos`` (matched by file name; any other file is left out, so held-out clips never enter
the fit) is copied with its audio delayed by each of ``--offsets`` ms, measured with the
checkpoint's learned method (``avts.sync.methods.learned_method``, default options), and the
logistic P(|error| <= 1 frame at the file's frame rate) of the raw score (the peak prominence)
is fitted as benchmarks/sync_accuracy.py --fit-calibration does (scikit-learn, C=10). With
``--with-face`` the share of windows whose region is a detected face is a second input, where
the method reports one (``face_slope``: the same prominence is a hit more often on a talking
head; measured on the shipped model it did not beat the score alone, docs/real-footage.md).
Prints one JSON object: the fit, the hit rate, the score range of hits and misses. With
``--set`` it stores a given fit instead (one made on a twin run of the same recipe that kept
validation clips, for a model trained on every clip). With ``--fit-rows`` it fits on the
``--rows`` files of earlier runs, pooled (e.g. twins of one recipe on two splits).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from avts.checkpoint import load_checkpoint, save_checkpoint
from avts.data.corpus import find_videos
from avts.media.probe import probe
from avts.media.remux import make_shifted_copy
from avts.models.build import load_model
from avts.sync.detect import SyncOptions, detect
from avts.sync.methods import learned_method

OFFSETS_MS = (-480, -160, 0, 120, 360)  # not the bench's offsets; multiples of 40 ms


def training_side(data: Path, loaded, every: int, side: str = "both") -> tuple[list[Path], int]:
    """Every ``every``-th video of ``data`` among the checkpoint's training (``train``),
    validation (``val``: never a gradient step, only the pick of the epoch) or both."""
    names = {"train": loaded.train_videos, "val": loaded.val_videos,
             "both": (*loaded.train_videos, *loaded.val_videos)}[side]
    known = {Path(p).name for p in names}
    videos = find_videos(data)
    seen = [v for v in videos if v.name in known]
    return seen[::every], len(videos) - len(seen)


def measure(videos: list[Path], loaded, offsets: list[int], work: Path) -> list[dict]:
    rows = []
    for video in videos:
        info = probe(video)
        frame_ms = 1000.0 / (info.video_fps or 25.0)
        for offset in offsets:
            copy = make_shifted_copy(video, work / f"{video.stem}_{offset:+d}{video.suffix}",
                                     offset)
            t0 = time.perf_counter()
            try:
                r = detect(copy, learned_method(loaded, probe(copy)), SyncOptions())
            except Exception as err:  # noqa: BLE001 - a fitting script: record and go on
                rows.append({"file": video.name, "true_ms": offset, "error": str(err)})
                continue
            err_ms = None if r.offset_ms is None else r.offset_ms - offset
            rows.append({"file": video.name, "true_ms": offset, "offset_ms": r.offset_ms,
                         "score": r.score, "face_share": r.face_share, "frame_ms": frame_ms,
                         "hit": err_ms is not None and abs(err_ms) <= frame_ms + 1e-6,
                         "seconds": time.perf_counter() - t0})
            copy.unlink()
    return rows


def fit(rows: list[dict], by_face: bool = False) -> dict:
    from sklearn.linear_model import LogisticRegression

    ok = [r for r in rows if "score" in r and np.isfinite(r["score"])]
    by_face = by_face and bool(ok) and all(r.get("face_share") is not None for r in ok)
    score = np.array([[r["score"], r["face_share"]] if by_face else [r["score"]] for r in ok])
    hit = np.array([r["hit"] for r in ok])
    summary = {"n": len(ok), "hit_rate": float(hit.mean()) if len(ok) else None,
               "score_hits": _quartiles(score[hit, 0]) if hit.any() else None,
               "score_misses": _quartiles(score[~hit, 0]) if (~hit).any() else None}
    if len(np.unique(hit)) < 2:
        return {**summary, "note": "all cases alike; nothing to fit"}
    model = LogisticRegression(C=10.0).fit(score, hit)
    slope, intercept = float(model.coef_[0, 0]), float(model.intercept_[0])
    if slope <= 0:
        return {**summary, "note": "a higher score is not more often right; nothing to fit"}
    face = {"face_slope": float(model.coef_[0, 1])} if by_face else {}
    return {**summary, "slope": slope, "midpoint": -intercept / slope, **face}


def _quartiles(x: np.ndarray) -> list[float]:
    return [round(float(q), 3) for q in np.percentile(x, [0, 25, 50, 75, 100])]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("data", type=Path, nargs="?",
                   help="folder holding the checkpoint's training clips (not with --set)")
    p.add_argument("out", type=Path, help="the calibrated copy of the checkpoint")
    p.add_argument("--set", metavar="SLOPE,MIDPOINT[,FACE_SLOPE]",
                   help="store this calibration instead of fitting one, e.g. the fit of a twin "
                   "run of the same recipe that kept validation clips (--fitted-on says so)")
    p.add_argument("--fitted-on", default="given with --set",
                   help="with --set or --fit-rows: where the fit comes from")
    p.add_argument("--fit-rows", type=Path, nargs="+", metavar="ROWS",
                   help="fit on these --rows files of earlier runs (pooled) instead of measuring")
    p.add_argument("--with-face", action="store_true",
                   help="fit on the score and the share of windows with a face (face_slope)")
    p.add_argument("--every", type=int, default=3)
    p.add_argument("--offsets", default=",".join(map(str, OFFSETS_MS)))
    p.add_argument("--work", type=Path, help="folder for the shifted copies (default: temp)")
    p.add_argument("--rows", type=Path, help="also write every measurement (JSON lines)")
    p.add_argument("--side", choices=("train", "val", "both"), default="both",
                   help="which of the checkpoint's clips (val: closest to unseen footage)")
    p.add_argument("--strip", action="store_true",
                   help="leave out what only resuming needs (optimizer, history): to ship it")
    args = p.parse_args()
    if sum(x is not None for x in (args.set, args.data, args.fit_rows)) > 1:
        p.error("give one of DATA (the clips to fit on), --set and --fit-rows")
    if args.out.resolve() == args.checkpoint.resolve():
        p.error("OUT must differ from CHECKPOINT (inputs are never overwritten)")
    if args.set:
        try:
            values = [float(x) for x in args.set.split(",")]
            if len(values) not in (2, 3):
                raise ValueError
        except ValueError:
            p.error(f"--set wants SLOPE,MIDPOINT[,FACE_SLOPE], got {args.set!r}")
        mapping = dict(zip(("slope", "midpoint", "face_slope")[:len(values)], values, strict=True))
        save_calibrated(args.checkpoint, args.out, {**mapping, "fitted_on": args.fitted_on},
                        args.strip)
        print(json.dumps({"checkpoint": str(args.checkpoint), "out": str(args.out),
                          "calibration": mapping}))
        return
    if args.fit_rows:
        _fit_rows(p, args)
        return
    if args.data is None:
        p.error("give DATA (the clips to fit on), --set SLOPE,MIDPOINT or --fit-rows ROWS")
    loaded = load_model(args.checkpoint)
    videos, left_out = training_side(args.data, loaded, max(1, args.every), args.side)
    if not videos:
        p.error(f"none of the videos in {args.data} is among the checkpoint's training clips")
    offsets = [int(o) for o in args.offsets.split(",")]
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        rows = measure(videos, loaded, offsets, Path(tmp))
    if args.rows:
        args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = fit(rows, args.with_face)
    report = {"checkpoint": str(args.checkpoint), "clips": len(videos),
              "left_out_not_training": left_out, "offsets_ms": offsets,
              "seconds_per_file": float(np.mean([r["seconds"] for r in rows if "seconds" in r])),
              "calibration": result}
    if "slope" in result:
        save_calibrated(args.checkpoint, args.out,
                        {**_mapping(result), "fitted_on": f"{len(videos)} {args.side} clips "
                         f"x {len(offsets)} offsets, scripts/calibrate_sync.py"}, args.strip)
        report["out"] = str(args.out)
    print(json.dumps(report, indent=1))


def _mapping(result: dict) -> dict:
    keys = ("slope", "midpoint", "face_slope")
    return {k: result[k] for k in keys if k in result}


def _fit_rows(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    rows = []
    for path in args.fit_rows:
        try:
            rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        except (OSError, ValueError) as err:
            p.error(f"{path}: not a --rows file ({err})")
    result = fit(rows, args.with_face)
    report = {"checkpoint": str(args.checkpoint), "rows": [str(r) for r in args.fit_rows],
              "calibration": result}
    if "slope" in result:
        save_calibrated(args.checkpoint, args.out,
                        {**_mapping(result), "fitted_on": args.fitted_on}, args.strip)
        report["out"] = str(args.out)
    print(json.dumps(report, indent=1))


def save_calibrated(checkpoint: Path, out: Path, calibration: dict, strip: bool) -> None:
    """A copy of ``checkpoint`` with ``calibration`` (and, with ``strip``, without what only
    resuming needs) at ``out``, written atomically."""
    state = load_checkpoint(checkpoint)
    state.pop("format_version")
    for key in ("optimizer", "scheduler", "random_states", "history") if strip else ():
        state.pop(key, None)
    state["calibration"] = calibration
    save_checkpoint(out, state)


if __name__ == "__main__":
    main()
