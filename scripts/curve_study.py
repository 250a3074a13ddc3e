"""How a file's per-window curves are combined into one offset: measure alternatives offline.

    python scripts/curve_study.py collect CKPT DATA_DIR SPLIT_CSV OUT.jsonl [--part I --parts N]
    python scripts/curve_study.py analyze OUT.jsonl [OUT2.jsonl ...]

``collect`` shifts each clip (the checkpoint's validation clips, side ``val``, and the
``eval`` clips of SPLIT_CSV) by the bench's offsets with ``make_shifted_copy``, runs the
checkpoint's learned method exactly as ``avts.sync.detect`` does up to the per-window curves
(default ``SyncOptions``: +-1 s, coarse grid plus fine steps) and writes one JSON line per copy:
the grid, every window's curve and the offset ``detect`` reports. ``--part/--parts`` split the
clips between processes. ``analyze`` scores each way of combining the curves (on the coarse
grid, parabolic peak) against the reported offsets: within one frame, sign right for
|offset| >= 160 ms, median |error|, per side.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np

OFFSETS_MS = (-500, -200, -80, 0, 80, 200, 500)  # avts bench-sync's defaults


def collect(args) -> None:
    import torch

    from avts.media.probe import probe
    from avts.media.remux import make_shifted_copy
    from avts.models.build import load_model
    from avts.sync.curves import aggregate, parabolic_peak
    from avts.sync.detect import SyncOptions, _collect, _frame_grid, _score_curves
    from avts.sync.methods import learned_method
    from avts.sync.windows import plan_windows

    torch.set_num_threads(1)
    loaded = load_model(args.checkpoint)
    split = {r["file"]: r["split"] for r in csv.DictReader(open(args.split_csv))}
    clips = [("val", Path(p).name) for p in sorted(loaded.val_videos)]
    clips += [("eval", f) for f in sorted(f for f, s in split.items() if s == "eval")]
    opts, work = SyncOptions(), Path(args.out).with_suffix(".tmp")
    work.mkdir(exist_ok=True)
    with open(args.out, "a") as out:
        for side, name in clips[args.part :: args.parts]:
            video = Path(args.data) / name
            for off in OFFSETS_MS:
                copy = make_shifted_copy(video, work / f"{video.stem}_{off:+d}{video.suffix}", off)
                info = probe(copy)
                method = learned_method(loaded, info)
                plan = plan_windows(info.start_s, info.duration_s, method.clip_s,
                                    opts.search_ms / 1000.0, opts.hop_s, name=str(copy),
                                    frame_grid=_frame_grid(info, opts))
                pad_s = math.floor(plan.search_s * 100 + 1e-6) / 100
                evidence = _collect(copy, method, plan.starts_s, pad_s, None)
                copy.unlink()
                row = {"side": side, "file": name, "true_ms": off,
                       "fps": float(info.video_fps or 25.0)}
                if evidence.states:
                    grid, curves, coarse = _score_curves(method, evidence.states, pad_s)
                    row.update(grid=grid.tolist(), coarse=coarse.tolist(),
                               curves=np.round(curves, 6).tolist(),
                               official_ms=parabolic_peak(grid, aggregate(curves)))
                out.write(json.dumps(row) + "\n")
                out.flush()


def _peak(grid: np.ndarray, curve: np.ndarray, limit_ms: float | None = None) -> float:
    from avts.sync.curves import parabolic_peak

    keep = np.ones(len(grid), bool) if limit_ms is None else np.abs(grid) <= limit_ms + 1e-6
    return parabolic_peak(grid[keep], curve[keep])


def _zscore(c: np.ndarray) -> np.ndarray:
    return (c - c.mean(1, keepdims=True)) / (c.std(1, keepdims=True) + 1e-9)


def _softmax(c: np.ndarray, temperature: float) -> np.ndarray:
    z = np.exp((c - c.max(1, keepdims=True)) / temperature)
    return z / z.sum(1, keepdims=True)


def _softmax_mean(temperature: float):
    return lambda g, c: _peak(g, _softmax(c, temperature).mean(0))


def _prior(lam: float):
    """Mean curve minus ``lam`` per ms of shift: a prior for small offsets."""
    return lambda g, c: _peak(g, c.mean(0) - lam * np.abs(g))


VARIANTS = {
    "mean (today, coarse grid)": lambda g, c: _peak(g, c.mean(0)),
    "mean, peak within +-600 ms": lambda g, c: _peak(g, c.mean(0), 600),
    "per-window z-score, mean": lambda g, c: _peak(g, _zscore(c).mean(0)),
    "per-window z-score, mean, +-600 ms": lambda g, c: _peak(g, _zscore(c).mean(0), 600),
    "median over windows": lambda g, c: _peak(g, np.median(c, 0)),
    "mean of per-window ranks": lambda g, c: _peak(g, (c.argsort(1).argsort(1)).mean(0)),
    **{f"mean of softmax, T={t}": _softmax_mean(t) for t in (0.02, 0.05, 0.1)},
    **{f"mean - {lam:g} x |shift ms|": _prior(lam) for lam in (2e-5, 5e-5, 1e-4)},
}


def _score(rows: list[dict], combine) -> tuple[float, float, float]:
    within, sign, errors = [], [], []
    for r in rows:
        if combine is None:
            pred = r["official_ms"]
        else:
            coarse = np.array(r["coarse"], bool)
            g, c = np.array(r["grid"])[coarse], np.array(r["curves"])[:, coarse]
            c = np.where(np.isfinite(c), c, np.nanmean(c, 1, keepdims=True))
            pred = combine(g, c)
        err = abs(pred - r["true_ms"])
        within.append(err <= 1000.0 / r["fps"] + 1e-6)
        errors.append(err)
        if abs(r["true_ms"]) >= 160:
            sign.append(np.sign(pred) == np.sign(r["true_ms"]))
    return float(np.mean(within)), float(np.mean(sign)), float(np.median(errors))


def analyze(args) -> None:
    rows = [json.loads(line) for f in args.rows for line in open(f)]
    rows = [r for r in rows if "curves" in r]
    for side in ("val", "eval"):
        rs = [r for r in rows if r["side"] == side]
        print(f"== {side}: {len(rs)} copies of {len({r['file'] for r in rs})} clips")
        for name, combine in {"detect (coarse + fine grid)": None, **VARIANTS}.items():
            w, s, m = _score(rs, combine)
            print(f"{name:38s} within 1 frame {w:.3f}  sign {s:.3f}  median {m:.0f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    for name in ("checkpoint", "data", "split_csv", "out"):
        c.add_argument(name)
    c.add_argument("--part", type=int, default=0)
    c.add_argument("--parts", type=int, default=1)
    a = sub.add_parser("analyze")
    a.add_argument("rows", nargs="+")
    args = p.parse_args()
    collect(args) if args.cmd == "collect" else analyze(args)


if __name__ == "__main__":
    main()
