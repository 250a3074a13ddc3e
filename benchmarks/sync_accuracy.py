"""Offset accuracy of both methods on shifted copies of synthetic videos (not a test).

Synthesizes ``--videos`` videos with a seed never used in training (default 4242; the demo
trains on seed 0 and evaluates on 7919), writes copies shifted by each of ``--offsets`` ms
(positive = audio late), measures every copy with the learned method (``--checkpoint``) and the
baseline, and prints one JSON object: per method the share with |error| <= 1 and <= 2 frames,
sign accuracy, the median |error|, per offset; with ``--fit-calibration`` it also measures
mismatched copies (the video of one file with the audio of another, where every estimate is
wrong) and prints the logistic fit of P(|error| <= 1 frame) on the raw score, which
``avts.sync`` uses as its calibration.

    python benchmarks/sync_accuracy.py --checkpoint RUN/best.pt [--videos 16] [--seed 4242]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from shift_av import write_mismatched

from avts.api import load_model, probe
from avts.media.remux import make_shifted_copy
from avts.sync.baseline import BaselineMethod
from avts.sync.detect import SyncOptions, detect
from avts.sync.methods import learned_method
from avts.synth import synthesize

OFFSETS_MS = (-900, -500, -200, -80, 0, 80, 200, 500, 900)


def shifted_copies(folder: Path, n_videos: int, seed: int, offsets_ms) -> list[tuple[Path, float]]:
    videos = synthesize(folder / "src", n_videos, seed=seed)
    out = []
    for video in videos:
        for offset in offsets_ms:
            dst = folder / f"{video.stem}_{offset:+d}.mp4"
            if not dst.exists():
                make_shifted_copy(video, dst, offset)
            out.append((dst, float(offset)))
    return out


def mismatched_copies(folder: Path, n_videos: int, seed: int) -> list[tuple[Path, float]]:
    """Video i with the audio of video i+1: every estimate is wrong (NaN truth)."""
    videos = sorted((folder / "src").glob("*.mp4"))[:n_videos]
    out = []
    for a, b in zip(videos, videos[1:] + videos[:1], strict=True):
        dst = folder / f"{a.stem}_with_{b.stem}_audio.mp4"
        if not dst.exists():
            write_mismatched(a, b, dst)
        out.append((dst, float("nan")))
    return out


def summarise(rows: list[dict], frame_ms: float) -> dict:
    rows = [r for r in rows if np.isfinite(r["true_ms"])]  # mismatched pairs: calibration only
    err = np.array([abs(r["error_ms"]) if r["error_ms"] is not None else np.inf for r in rows])
    true = np.array([r["true_ms"] for r in rows])
    est = np.array([r["offset_ms"] if r["offset_ms"] is not None else np.nan for r in rows])
    signed = true != 0
    summary = {"n": len(rows), "within_1_frame": float(np.mean(err <= frame_ms)),
               "within_2_frames": float(np.mean(err <= 2 * frame_ms)),
               "sign_accuracy": float(np.mean(np.sign(est[signed]) == np.sign(true[signed]))),
               "median_abs_error_ms": float(np.median(err)),
               "seconds_per_file": float(np.mean([r["seconds"] for r in rows]))}
    summary["per_offset"] = {str(int(o)): float(np.mean(err[true == o] <= frame_ms))
                             for o in np.unique(true)}
    # the median signed error per offset shows a bias that the shares hide
    summary["median_error_ms_per_offset"] = {
        str(int(o)): float(np.nanmedian(est[true == o] - o)) for o in np.unique(true)}
    return summary


def fit_calibration(rows: list[dict], frame_ms: float) -> dict:
    from sklearn.linear_model import LogisticRegression

    score = np.array([[r["score"]] for r in rows if np.isfinite(r["score"])])
    hit = np.array([r["error_ms"] is not None and bool(abs(r["error_ms"]) <= frame_ms)
                    for r in rows if np.isfinite(r["score"])])
    if len(np.unique(hit)) < 2:
        return {"note": "all cases alike; nothing to fit", "hit_rate": float(hit.mean())}
    fit = LogisticRegression(C=10.0).fit(score, hit)
    slope, intercept = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    return {"slope": slope, "midpoint": -intercept / slope, "n": len(hit)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path)
    p.add_argument("--videos", type=int, default=16)
    p.add_argument("--seed", type=int, default=4242)
    p.add_argument("--offsets", default=",".join(str(o) for o in OFFSETS_MS))
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "avts-sync-acc")
    p.add_argument("--fit-calibration", action="store_true")
    p.add_argument("--no-baseline", action="store_true", help="measure the learned method only")
    p.add_argument("--rows", type=Path, help="also write every measurement here (JSON lines)")
    args = p.parse_args()
    offsets = [int(o) for o in args.offsets.split(",")]
    folder = args.work / f"seed{args.seed}"
    cases = shifted_copies(folder, args.videos, args.seed, offsets)
    if args.fit_calibration:  # failures to fit against: audio from another video
        cases += mismatched_copies(folder, args.videos, args.seed)
    methods = {} if args.no_baseline else {"baseline": BaselineMethod(25.0)}
    if args.checkpoint:
        # twostream or framesync, with the checkpoint's own calibration if it has one
        methods["avts"] = learned_method(load_model(args.checkpoint), probe(cases[0][0]))
    frame_ms = 1000.0 / (probe(cases[0][0]).video_fps or 25.0)
    report: dict = {"videos": args.videos, "seed": args.seed, "offsets_ms": offsets,
                    "frame_ms": frame_ms, "checkpoint": str(args.checkpoint)}
    all_rows = []
    for name, method in methods.items():
        rows = []
        for path, true_ms in cases:
            t0 = time.perf_counter()
            r = detect(path, method, SyncOptions())
            err = None if r.offset_ms is None else r.offset_ms - true_ms  # NaN if mismatched
            rows.append({"method": name, "file": path.name, "true_ms": true_ms,
                         "offset_ms": r.offset_ms, "error_ms": err, "score": r.score,
                         "confidence": r.confidence, "verdict": r.verdict,
                         "seconds": time.perf_counter() - t0})
        report[name] = summarise(rows, frame_ms)
        if args.fit_calibration:
            report[name]["calibration_fit"] = fit_calibration(rows, frame_ms)
        all_rows += rows
    if args.rows:
        args.rows.write_text("".join(json.dumps(r) + "\n" for r in all_rows))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
