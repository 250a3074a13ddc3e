"""How a file's per-window curves are combined into one offset: measure alternatives offline.

    python scripts/curve_study.py collect CKPT DATA_DIR SPLIT_CSV OUT.jsonl [--part I --parts N]
    python scripts/curve_study.py regions CKPT DATA_DIR SPLIT_CSV REGIONS.jsonl [--part I --parts N]
    python scripts/curve_study.py analyze OUT.jsonl [OUT2.jsonl ...] [--regions REGIONS.jsonl ...]

``collect`` shifts each clip (the checkpoint's validation clips, side ``val``, and the
``eval`` clips of SPLIT_CSV) by the bench's offsets with ``make_shifted_copy``, runs the
checkpoint's learned method exactly as ``avts.sync.detect`` does up to the per-window curves
(default ``SyncOptions``: +-1 s, coarse grid plus fine steps) and writes one JSON line per copy:
the grid, every window's curve and the offset ``detect`` reports. ``--part/--parts`` split the
clips between processes. ``analyze`` scores each way of combining the curves (on the coarse
grid, parabolic peak) against the reported offsets: within one frame, sign right for
|offset| >= 160 ms, median |error|, per side. ``regions`` records, per clip, whether the mouth
of a face is found over the whole clip (as training finds its region) and in how many of the
offset search's windows (as ``sync`` finds it); with ``--regions``, ``analyze`` also scores the
reported offsets by that category.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np

OFFSETS_MS = (-500, -200, -80, 0, 80, 200, 500)  # avts bench-sync's defaults


def _clips(loaded, split_csv: str) -> list[tuple[str, str]]:
    """(side, file name): the checkpoint's validation clips, then the split's eval clips."""
    split = {r["file"]: r["split"] for r in csv.DictReader(open(split_csv))}
    clips = [("val", Path(p).name) for p in sorted(loaded.val_videos)]
    return clips + [("eval", f) for f in sorted(f for f, s in split.items() if s == "eval")]


def _search_plan(path: Path, loaded):
    """(info, method, window starts, pad_s) exactly as ``avts.sync.detect`` plans them."""
    from avts.media.probe import probe
    from avts.sync.detect import SyncOptions, _frame_grid
    from avts.sync.methods import learned_method
    from avts.sync.windows import plan_windows

    opts = SyncOptions()
    info = probe(path)
    method = learned_method(loaded, info)
    plan = plan_windows(info.start_s, info.duration_s, method.clip_s, opts.search_ms / 1000.0,
                        opts.hop_s, name=str(path), frame_grid=_frame_grid(info, opts))
    return info, method, plan.starts_s, math.floor(plan.search_s * 100 + 1e-6) / 100


def collect(args) -> None:
    import torch

    from avts.media.remux import make_shifted_copy
    from avts.models.build import load_model
    from avts.sync.curves import aggregate, parabolic_peak
    from avts.sync.detect import _collect, _score_curves

    torch.set_num_threads(1)
    loaded = load_model(args.checkpoint)
    work = Path(args.out).with_suffix(".tmp")
    work.mkdir(exist_ok=True)
    with open(args.out, "a") as out:
        for side, name in _clips(loaded, args.split_csv)[args.part :: args.parts]:
            video = Path(args.data) / name
            for off in OFFSETS_MS:
                copy = make_shifted_copy(video, work / f"{video.stem}_{off:+d}{video.suffix}", off)
                info, method, starts_s, pad_s = _search_plan(copy, loaded)
                evidence = _collect(copy, method, starts_s, pad_s, None)
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


def regions(args) -> None:
    from avts.features.region import mouth_region
    from avts.media.read import read_video
    from avts.media.stream import stream_windows
    from avts.models.build import load_model

    loaded = load_model(args.checkpoint)
    with open(args.out, "a") as out:
        for side, name in _clips(loaded, args.split_csv)[args.part :: args.parts]:
            path = Path(args.data) / name
            info, m, starts_s, pad_s = _search_plan(path, loaded)
            windows = stream_windows(path, starts_s, m.clip_s, m.fps, m.size_hw, m.sr_hz, pad_s)
            faces = [mouth_region(w.frames) is not None for w in windows]
            whole = read_video(path, info.start_s, info.duration_s, m.fps, m.size_hw)
            out.write(json.dumps({"side": side, "file": name, "windows": len(faces),
                                  "face_windows": int(sum(faces)),
                                  "clip_face": mouth_region(whole) is not None}) + "\n")
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


def _coarse_curves(row: dict) -> tuple[np.ndarray, np.ndarray]:
    """(coarse grid, window curves on it), a shift with no overlap filled by its row's mean;
    parsed once per copy, not once per way of combining."""
    coarse = np.array(row["coarse"], bool)
    g, c = np.array(row["grid"])[coarse], np.array(row["curves"])[:, coarse]
    return g, np.where(np.isfinite(c), c, np.nanmean(c, 1, keepdims=True))


def _score(rows: list[dict], combine) -> tuple[float, float, float]:
    within, sign, errors = [], [], []
    for r in rows:
        pred = r["official_ms"] if combine is None else combine(*r["coarse_curves"])
        err = abs(pred - r["true_ms"])
        within.append(err <= 1000.0 / r["fps"] + 1e-6)
        errors.append(err)
        if abs(r["true_ms"]) >= 160:
            sign.append(np.sign(pred) == np.sign(r["true_ms"]))
    return float(np.mean(within)), float(np.mean(sign)), float(np.median(errors))


def _region_kind(r: dict) -> str:
    if not r["clip_face"]:
        return "no face over the clip" + (" (found in some windows)" if r["face_windows"] else "")
    if r["face_windows"] == r["windows"]:
        return "a face over the clip and in every window"
    return "a face over the clip, missed in some windows"


def analyze(args) -> None:
    rows = [json.loads(line) for f in args.rows for line in open(f)]
    rows = [{**r, "coarse_curves": _coarse_curves(r)} for r in rows if "curves" in r]
    kinds = {r["file"]: _region_kind(r) for f in args.regions for r in map(json.loads, open(f))}
    for side in ("val", "eval"):
        rs = [r for r in rows if r["side"] == side]
        print(f"== {side}: {len(rs)} copies of {len({r['file'] for r in rs})} clips")
        for name, combine in {"detect (coarse + fine grid)": None, **VARIANTS}.items():
            w, s, m = _score(rs, combine)
            print(f"{name:38s} within 1 frame {w:.3f}  sign {s:.3f}  median {m:.0f} ms")
        for kind in sorted({kinds[r["file"]] for r in rs if r["file"] in kinds}):
            part = [r for r in rs if kinds.get(r["file"]) == kind]
            w, s, m = _score(part, None)
            print(f"  detect, {kind}: {len({r['file'] for r in part})} clips, within 1 frame "
                  f"{w:.3f}  sign {s:.3f}  median {m:.0f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for cmd in ("collect", "regions"):
        c = sub.add_parser(cmd)
        for name in ("checkpoint", "data", "split_csv", "out"):
            c.add_argument(name)
        c.add_argument("--part", type=int, default=0)
        c.add_argument("--parts", type=int, default=1)
    a = sub.add_parser("analyze")
    a.add_argument("rows", nargs="+")
    a.add_argument("--regions", nargs="+", default=[])
    args = p.parse_args()
    {"collect": collect, "regions": regions, "analyze": analyze}[args.cmd](args)


if __name__ == "__main__":
    main()
