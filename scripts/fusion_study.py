"""Would the learned and the model-free curves, added, find more offsets than either alone?

    python scripts/fusion_study.py collect CV_DIR OUT.jsonl --fold K [--part I --parts N]
    python scripts/fusion_study.py analyze OUT.jsonl [OUT2.jsonl ...] [--weights 0 0.25 ...]
        [--bench-dir CV_DIR] [--rows-out ROWS.jsonl]

``collect`` takes the cross-validation's fold K (``scripts/cross_validate.py``: the fold's
merged model ``fold{K}/members/ensemble.pt`` and its left-out clips ``fold{K}/eval``), shifts
each clip by the bench's offsets with ``make_shifted_copy`` and, for both methods, plans the
windows, collects the evidence and averages the per-window curves exactly as
``avts.sync.detect`` does, but on one dense grid (every 10 ms over +-1 s) for both, so that the
curves can be added. One JSON line per copy. ``analyze`` z-scores each mean curve over the
shifts, adds the baseline's with a weight, and scores the parabolic peak of the sum (within one
frame, sign for |offset| >= 160 ms, median |error|) for fixed weights and for the weight chosen
on the other folds (nested: no fold's figure comes from a weight fitted on it). Weight 0 is
the learned curve alone, searched on every 10 ms shift; ``--bench-dir`` sets it and the nested
fusion beside what ``avts bench-sync`` measured for the same copies (paired clip-bootstrap
intervals), and ``--rows-out`` writes its copies for ``calibrate_sync.py --fit-rows``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

OFFSETS_MS = (-500, -200, -80, 0, 80, 200, 500)  # avts bench-sync's defaults
STEP_MS = 10.0


def _mean_curve(path: Path, method, info) -> tuple[np.ndarray, np.ndarray] | None:
    """(grid, mean curve) of ``method`` on ``path`` as detect plans and averages it."""
    from avts.sync.curves import aggregate, shift_grid
    from avts.sync.detect import SyncOptions, _collect, _frame_grid
    from avts.sync.windows import plan_windows

    opts = SyncOptions()
    plan = plan_windows(info.start_s, info.duration_s, method.clip_s, opts.search_ms / 1000.0,
                        opts.hop_s, name=str(path), frame_grid=_frame_grid(info, opts))
    pad_s = math.floor(plan.search_s * 100 + 1e-6) / 100
    evidence = _collect(path, method, plan.starts_s, pad_s, None)
    if not evidence.states:
        return None
    grid = shift_grid(pad_s * 1000.0, STEP_MS)
    return grid, aggregate(method.curves(evidence.states, grid, pad_s))


def collect(args) -> None:
    import torch

    from avts.errors import AvtsError
    from avts.media.probe import probe
    from avts.media.remux import make_shifted_copy
    from avts.models.build import load_model
    from avts.sync.baseline import BaselineMethod
    from avts.sync.methods import learned_method

    torch.set_num_threads(1)
    fold = Path(args.cv) / f"fold{args.fold}"
    loaded = load_model(fold / "members" / "ensemble.pt")
    work = Path(args.out).with_suffix(".tmp")
    work.mkdir(exist_ok=True)
    clips = sorted((fold / "eval").iterdir())[args.part :: args.parts]
    done = set()
    if Path(args.out).exists():  # a rerun adds only the copies still missing
        done = {(r["fold"], r["file"], r["true_ms"])
                for r in map(json.loads, Path(args.out).read_text().splitlines())}
    with open(args.out, "a") as out:
        for video in clips:
            for off in OFFSETS_MS:
                if (args.fold, video.name, off) in done:
                    continue
                copy = make_shifted_copy(video, work / f"{video.stem}_{off:+d}{video.suffix}", off)
                info = probe(copy)
                row = {"fold": args.fold, "file": video.name, "true_ms": off,
                       "fps": float(info.video_fps or 25.0)}
                for name, method in (("avts", learned_method(loaded, info)),
                                     ("baseline", BaselineMethod(info.video_fps or 25.0))):
                    try:
                        found = _mean_curve(copy, method, info)
                    except AvtsError:  # e.g. too short for the baseline's 3 s windows
                        found = None
                    if found is not None:
                        row[name] = {"grid": found[0].tolist(),
                                     "mean": np.round(found[1], 7).tolist()}
                copy.unlink()
                out.write(json.dumps(row) + "\n")
                out.flush()


def _z(curve: np.ndarray) -> np.ndarray:
    curve = np.where(np.isfinite(curve), curve, np.nan)
    return (curve - np.nanmean(curve)) / (np.nanstd(curve) + 1e-12)


def _fused(row: dict, weight: float) -> float | None:
    """Peak of z(learned) + weight * z(baseline) on the grid points both have."""
    from avts.sync.curves import parabolic_peak

    parts = [(row[m], w) for m, w in (("avts", 1.0), ("baseline", weight)) if m in row and w]
    if not parts:
        return None
    grids = [np.round(p["grid"]) for p, _ in parts]
    common = grids[0]
    for g in grids[1:]:
        common = np.intersect1d(common, g)
    total = np.zeros(len(common))
    for (p, w), g in zip(parts, grids, strict=True):
        z = _z(np.asarray(p["mean"], dtype=float))
        total += w * np.nan_to_num(z[np.isin(g, common)], nan=0.0)
    return parabolic_peak(common, total)


def _score(rows: list[dict], estimates: list[float | None]) -> dict:
    hits, signs, n_sign, errors = 0, 0, 0, []
    for row, est in zip(rows, estimates, strict=True):
        true = row["true_ms"]
        err = math.inf if est is None else est - true
        errors.append(abs(err))
        hits += abs(err) <= 1000.0 / row["fps"]
        if abs(true) >= 160:
            n_sign += 1
            signs += est is not None and est != 0 and (est > 0) == (true > 0)
    return {"n": len(rows), "within_1_frame": round(hits / max(len(rows), 1), 3),
            "sign_160": round(signs / max(n_sign, 1), 3),
            "median_abs_ms": round(float(np.median(errors)), 1)}


def _talking(name: str) -> bool:
    from real_lab import is_talking

    return is_talking(name)


def analyze(args) -> None:
    unique = {}
    for row in (json.loads(line) for path in args.rows for line in open(path)):
        unique.setdefault((row["fold"], row["file"], row["true_ms"]), row)
    rows = list(unique.values())
    report: dict = {"fixed": {}}
    for w in args.weights:
        est = [_fused(r, w) for r in rows]
        report["fixed"][str(w)] = {"all": _score(rows, est),
                                   **{k: _score([r for r in rows if _talking(r["file"]) == t],
                                                [e for r, e in zip(rows, est, strict=True)
                                                 if _talking(r["file"]) == t])
                                      for k, t in (("talking", True), ("other", False))}}
    base_only = [_fused({**r, "avts": r.get("baseline")}, 0.0) if "baseline" in r else None
                 for r in rows]
    report["baseline_only"] = _score(rows, base_only)
    chosen, nested = _nested(rows, args.weights, lambda idx, w: [_fused(rows[i], w) for i in idx])
    report["nested"] = {"weights": chosen, "all": _score(rows, nested)}
    dense = [_fused(r, 0.0) for r in rows]
    if args.bench_dir:
        official = _official(rows, Path(args.bench_dir))
        report["official"] = _score(rows, official)
        report["dense_minus_official"] = _paired(rows, official, dense)
        report["nested_minus_official"] = _paired(rows, official, nested)
        report["gated"] = _gated(rows, official, Path(args.bench_dir), args.weights)
        report["gated_minus_official"] = _paired(rows, official, report["gated"].pop("est"))
    if args.rows_out:
        _write_rows(rows, dense, Path(args.rows_out))
    print(json.dumps(report, indent=1))


def _nested(rows: list[dict], weights: list[float], answers) -> tuple[dict, list]:
    """Each fold's answers with the weight whose answers score best (within one frame + sign)
    on the other folds; ``answers(indices, w)`` gives the estimates of those rows."""
    chosen, est = {}, [None] * len(rows)
    for k in sorted({r["fold"] for r in rows}):
        rest = [i for i, r in enumerate(rows) if r["fold"] != k]
        scores = {w: _score([rows[i] for i in rest], answers(rest, w)) for w in weights}
        chosen[k] = max(weights, key=lambda w: scores[w]["within_1_frame"] + scores[w]["sign_160"])
        mine = [i for i, r in enumerate(rows) if r["fold"] == k]
        for i, e in zip(mine, answers(mine, chosen[k]), strict=True):
            est[i] = e
    return chosen, est


def _gated(rows: list[dict], official: list, cv: Path, weights: list[float]) -> dict:
    """Copies with a face in at least half of the learned windows keep the official answer;
    the others take the fused peak, its weight chosen on the other folds."""
    faces = {}
    for line in open(cv / "rows.jsonl"):
        r = json.loads(line)
        faces[(r["file"], round(r["true_ms"]))] = r.get("face_share") or 0.0
    face = [faces.get((r["file"], r["true_ms"]), 0.0) >= 0.5 for r in rows]

    def answers(idx: list[int], w: float) -> list:
        return [official[i] if face[i] else _fused(rows[i], w) for i in idx]

    chosen, est = _nested(rows, weights, answers)
    return {"weights": chosen, "n_face": int(sum(face)), "all": _score(rows, est), "est": est}


def _official(rows: list[dict], cv: Path) -> list[float | None]:
    """What ``avts bench-sync`` measured for the same copies (the learned method)."""
    found = {}
    for bench in sorted(cv.glob("fold*/bench.json")):
        for c in json.loads(bench.read_text())["cases"]:
            if c["method"] == "avts":
                found[(Path(c["file"]).name, round(c["true_offset_ms"]))] = c["measured_offset_ms"]
    return [found.get((r["file"], r["true_ms"])) for r in rows]


def _counts(rows: list[dict], est: list[float | None]) -> dict[str, np.ndarray]:
    """Per clip: within one frame, copies, right signs, signed copies."""
    out: dict[str, np.ndarray] = {}
    for row, e in zip(rows, est, strict=True):
        c = out.setdefault(row["file"], np.zeros(4))
        err = math.inf if e is None else e - row["true_ms"]
        c += [abs(err) <= 1000.0 / row["fps"], 1, 0, 0]
        if abs(row["true_ms"]) >= 160:
            c += [0, 0, e is not None and e != 0 and (e > 0) == (row["true_ms"] > 0), 1]
    return out


def _paired(rows: list[dict], a: list, b: list) -> dict:
    """b minus a, pooled, with 95 % intervals from resampling whole clips for both at once."""
    from cross_validate import paired_counts

    return paired_counts(_counts(rows, a), _counts(rows, b))


def _write_rows(rows: list[dict], est: list[float | None], out: Path) -> None:
    """calibrate_sync.py's --rows form of the dense search: score = the peak prominence of the
    mean curve (discounted at the search edge as ``avts sync`` does)."""
    from avts.sync.curves import edge_discounted, prominence

    with open(out, "w") as fh:
        for row, e in zip(rows, est, strict=True):
            if e is None or "avts" not in row:
                continue
            grid = np.asarray(row["avts"]["grid"])
            score = edge_discounted(prominence(np.asarray(row["avts"]["mean"], dtype=float)), e,
                                    float(np.abs(grid).max()), STEP_MS)
            fh.write(json.dumps({"file": row["file"], "true_ms": row["true_ms"], "offset_ms": e,
                                 "score": score, "face_share": None,
                                 "frame_ms": 1000.0 / row["fps"],
                                 "hit": abs(e - row["true_ms"]) <= 1000.0 / row["fps"]}) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("cv")
    c.add_argument("out")
    c.add_argument("--fold", type=int, required=True)
    c.add_argument("--part", type=int, default=0)
    c.add_argument("--parts", type=int, default=1)
    a = sub.add_parser("analyze")
    a.add_argument("rows", nargs="+")
    a.add_argument("--weights", type=float, nargs="+",
                   default=[0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5])
    a.add_argument("--bench-dir", help="the CV directory: compare with its bench.json figures")
    a.add_argument("--rows-out", help="write the dense search's copies as calibration rows")
    args = p.parse_args()
    collect(args) if args.cmd == "collect" else analyze(args)


if __name__ == "__main__":
    main()
