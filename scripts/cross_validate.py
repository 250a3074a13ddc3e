"""Grouped cross-validation of the packaged model's recipe over every shared real clip.

    python scripts/cross_validate.py WORK_DIR --pretrained PRE.pt [--shared ../shared/data]
        [--folds 5] [--seed 0] [--offsets=-500,-200,-80,0,80,200,500] [--methods avts,baseline]
        [--seeds 0 1 --tag _k4] [--set KEY=VALUE ... --tag _x] [--against TAG] [--only 0 2]

Fold 0 is the evaluation side of configs/real-split.csv (the clips every earlier figure was
measured on); the training side is cut into ``--folds - 1`` more folds by whole groups of
av-sync-groups.csv (``avts.data.heldout.grouped_folds``), so no speaker or source is on both
sides of any fold. For each fold, scripts/default_members.sh trains the two members on every
other fold's clips (from PRE.pt, the synthetic pretraining of scripts/make_default_model.sh),
then ``avts bench-sync`` and ``avts eval-sync`` measure the merged model on the fold's clips.
Every clip is thus measured once by a model that never saw its speaker or source. With
``--seeds 0 1`` each fold's model merges the pair of every seed (seed 0's runs are reused);
``--tag`` names that variant's outputs so that variants share the folds and their runs;
``--set`` changes the recipe of both members (their runs are then named by the tag too).

Writes WORK_DIR/fold{k}/ (links, runs, bench{TAG}.json, eval_sync{TAG}.json),
WORK_DIR/folds.csv (``file,split`` with the fold number as the split), WORK_DIR/rows{TAG}.jsonl
(every out-of-fold copy in scripts/calibrate_sync.py's ``--rows`` form, to fit a confidence map
on: ``calibrate_sync.py CKPT OUT.pt --fit-rows WORK_DIR/rows.jsonl``) and prints one JSON
object: the issue's figures per fold and pooled, by content, with clip-bootstrap intervals,
per offset, and eval-sync's accuracies. A fold whose outputs exist is not run again (delete
them to redo it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from bench_summary import SIGN_MIN_MS, _case, by_content

from avts.data.heldout import grouped_folds, read_groups, read_split, write_split
from avts.eval.bench_sync import offset_key, right_sign, score, within_frames

ROOT = Path(__file__).resolve().parents[1]


def fold_assignment(groups: dict[str, str], split: dict[str, str], n_folds: int,
                    seed: int) -> dict[str, int]:
    """Fold 0: the committed evaluation side; 1..n_folds-1: its training side, by group."""
    train = {f: g for f, g in groups.items() if split.get(f) == "train"}
    folds = {f: k + 1 for f, k in grouped_folds(train, n_folds - 1, seed).items()}
    return {**folds, **{f: 0 for f in groups if split.get(f) == "eval"}}


def link_fold(folds: dict[str, int], k: int, data: Path, out: Path) -> None:
    for side in ("train", "eval"):
        (out / side).mkdir(parents=True, exist_ok=True)
    for name, fold in folds.items():
        link = out / ("eval" if fold == k else "train") / name
        if not link.exists():
            os.symlink((data / name).resolve(), link)


def run_fold(fold_dir: Path, args: argparse.Namespace, groups_csv: Path) -> None:
    model = train_members(fold_dir, args, groups_csv)
    tag = args.tag
    _capture(["avts", "bench-sync", str(fold_dir / "eval"), "--checkpoint", str(model),
              f"--offsets={args.offsets}", "--methods", args.methods, "--jobs", str(args.jobs),
              "--json"], fold_dir / f"bench{tag}.json")
    _capture(["avts", "eval-sync", "--checkpoint", str(model), "--data", str(fold_dir / "eval"),
              "--json"], fold_dir / f"eval_sync{tag}.json")


def train_members(fold_dir: Path, args: argparse.Namespace, groups_csv: Path) -> Path:
    """default_members.sh once per seed (seed 0 in members/, seed s in members_s{s}/; with
    ``--set``, those names with the tag appended), and with more than one seed, every member
    merged into one ensemble."""
    runs = []
    variant = args.tag if args.set else ""  # changed members get runs of their own
    for seed in args.seeds:
        out = fold_dir / (f"members{variant}" if seed == 0 else f"members_s{seed}{variant}")
        extra = [] if seed == 0 else [f"train.seed={seed}", "data.split_seed=0"]
        if not (out / "ensemble.pt").exists():
            subprocess.run(["bash", str(ROOT / "scripts" / "default_members.sh"),
                            str(fold_dir / "train"), str(args.pretrained), str(out),
                            str(groups_csv), *extra, *args.set], check=True, cwd=ROOT,
                           stdout=sys.stderr)
        runs += [out / "scratch" / "last.pt", out / "finetune" / "last.pt"]
    if len(args.seeds) == 1:
        return runs[0].parents[1] / "ensemble.pt"
    model = fold_dir / f"ensemble{args.tag}.pt"
    if not model.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "merge_framesync.py"),
                        *map(str, runs), "--out", str(model)], check=True, cwd=ROOT,
                       stdout=sys.stderr)
    return model


def _capture(cmd: list[str], out: Path) -> None:
    """Run ``cmd`` unless ``out`` exists; its stdout becomes ``out`` only when it succeeds."""
    if out.exists():
        return
    part = out.with_suffix(".part")
    with open(part, "w") as fh:
        subprocess.run(cmd, check=True, stdout=fh, cwd=ROOT)
    part.replace(out)


def per_offset(cases: list) -> dict:
    """Within one frame and the sign, per true offset."""
    out = {}
    for offset in sorted({c.true_offset_ms for c in cases}):
        s = score([c for c in cases if c.true_offset_ms == offset])
        out[offset_key(offset)] = {"within_1_frame": round(s.within_1_frame, 3),
                                   "sign": None if s.sign_accuracy is None
                                   else round(s.sign_accuracy, 3), "n": s.n}
    return out


def clip_counts(cases: list) -> dict[str, tuple[int, int, int, int]]:
    """Per clip: copies within one frame, copies, right signs, signed copies (>= 160 ms)."""
    by_file: dict[str, list] = {}
    for c in cases:
        by_file.setdefault(Path(c.file).name, []).append(c)
    return {f: (sum(within_frames(c) for c in cs), len(cs),
                sum(right_sign(c) for c in cs if abs(c.true_offset_ms) >= SIGN_MIN_MS),
                sum(abs(c.true_offset_ms) >= SIGN_MIN_MS for c in cs))
            for f, cs in by_file.items()}


def _shares(counts: np.ndarray, draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pooled within-one-frame and sign shares of each draw of clips (rows of ``draws``)."""
    sums = counts[draws].sum(axis=1)
    with np.errstate(invalid="ignore"):
        return sums[:, 0] / sums[:, 1], sums[:, 2] / sums[:, 3]


def _interval(x: np.ndarray) -> list[float]:
    return [round(float(q), 3) for q in np.nanpercentile(x, [2.5, 97.5])]


def clip_bootstrap(cases: list, n_draws: int = 2000, seed: int = 0) -> dict:
    """95 % intervals of the pooled shares by resampling whole clips (a clip's copies share
    one error, docs/real-footage.md, so the copies are not independent samples)."""
    counts = np.array(list(clip_counts(cases).values()), dtype=float)
    if not len(counts):
        return {}
    draws = np.random.default_rng(seed).integers(0, len(counts), size=(n_draws, len(counts)))
    w1, sign = _shares(counts, draws)
    return {"n_clips": len(counts), "within_1_frame_95": _interval(w1),
            "sign_160_95": _interval(sign)}


def paired_difference(base: list, cases: list, n_draws: int = 2000, seed: int = 0) -> dict:
    """This variant minus ``base`` on the clips both measured: the pooled differences and
    their 95 % intervals, the same clips drawn for both (far narrower than two intervals)."""
    return paired_counts(clip_counts(base), clip_counts(cases), n_draws, seed)


def paired_counts(a: dict, b: dict, n_draws: int = 2000, seed: int = 0) -> dict:
    """``paired_difference`` on per-clip counts (``clip_counts``'s form)."""
    files = sorted(set(a) & set(b))
    if not files:
        return {}
    ca = np.array([a[f] for f in files], dtype=float)
    cb = np.array([b[f] for f in files], dtype=float)
    every = np.arange(len(files))[None]
    draws = np.random.default_rng(seed).integers(0, len(files), size=(n_draws, len(files)))
    (w1a, sa), (w1b, sb) = _shares(ca, draws), _shares(cb, draws)
    (w1a0, sa0), (w1b0, sb0) = _shares(ca, every), _shares(cb, every)
    return {"n_clips": len(files),
            "within_1_frame": round(float(w1b0[0] - w1a0[0]), 3),
            "within_1_frame_95": _interval(w1b - w1a),
            "sign_160": round(float(sb0[0] - sa0[0]), 3), "sign_160_95": _interval(sb - sa)}


def rows(cases: list) -> list[dict]:
    """calibrate_sync.py's ``--rows`` form of the learned method's copies."""
    return [{"file": Path(c.file).name, "true_ms": c.true_offset_ms,
             "offset_ms": c.measured_offset_ms, "score": c.score, "face_share": c.face_share,
             "frame_ms": 1000.0 / (c.fps or 25.0), "hit": bool(within_frames(c))}
            for c in cases if c.score is not None]


def eval_sync_mean(reports: list[dict]) -> dict:
    """eval-sync accuracies per negative kind, pooled over folds by their pair counts."""
    out = {}
    for kind in ("easy", "hard", "superhard"):
        n = [r.get("n_pairs", {}).get(kind, 0) for r in reports]
        if sum(n):
            out[kind] = round(float(np.average([r[kind] for r in reports], weights=n)), 3)
    return out


def _bench_cases(path: Path, method: str) -> list:
    if not path.exists():
        return []
    return [_case(c) for c in json.loads(path.read_text())["cases"] if c["method"] == method]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("work", type=Path)
    p.add_argument("--pretrained", type=Path, required=True)
    p.add_argument("--shared", type=Path, default=ROOT / ".." / "shared" / "data")
    p.add_argument("--split", type=Path, default=ROOT / "configs" / "real-split.csv")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--offsets", default="-500,-200,-80,0,80,200,500")
    p.add_argument("--methods", default="avts,baseline")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="train the member pair with each of these seeds and merge them all")
    p.add_argument("--tag", default="", help="suffix of this run's outputs in each fold")
    p.add_argument("--only", type=int, nargs="*", help="run these folds only (default: all)")
    p.add_argument("--against", metavar="TAG",
                   help="also report the learned method's paired difference from that variant's "
                   "outputs ('' for the recipe as shipped)")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                   help="config overrides for both members of a variant (needs --tag)")
    args = p.parse_args()
    if args.set and not args.tag:
        p.error("--set needs --tag (the variant's runs and outputs are named by it)")
    groups_csv = (args.shared / "av-sync-groups.csv").resolve()
    args.pretrained = args.pretrained.resolve()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    folds = fold_assignment(read_groups(groups_csv), read_split(args.split), args.folds,
                            args.seed)
    write_split(work / "folds.csv", {f: str(k) for f, k in folds.items()})
    for k in range(args.folds):
        if args.only is None or k in args.only:
            link_fold(folds, k, args.shared / "av-sync", work / f"fold{k}")
            run_fold(work / f"fold{k}", args, groups_csv)
            print(f"fold {k} done", file=sys.stderr)
    report: dict = {"folds": {}, "eval_sync": {}}
    pooled: dict[str, list] = {}
    eval_reports = []
    for k in range(args.folds):
        bench = work / f"fold{k}" / f"bench{args.tag}.json"
        if not bench.exists():
            continue
        report["folds"][k] = {}
        for method in args.methods.split(","):
            mine = _bench_cases(bench, method)
            pooled.setdefault(method, []).extend(mine)
            report["folds"][k][method] = by_content(mine)
        es = work / f"fold{k}" / f"eval_sync{args.tag}.json"
        if es.exists():
            eval_reports.append(json.loads(es.read_text()))
            report["eval_sync"][k] = {kind: eval_reports[-1][kind]
                                       for kind in ("easy", "hard", "superhard")}
    report["pooled"] = {m: {**by_content(c), "bootstrap": clip_bootstrap(c),
                            "per_offset": per_offset(c)} for m, c in pooled.items()}
    if args.against is not None:
        base = [c for k in range(args.folds)
                for c in _bench_cases(work / f"fold{k}" / f"bench{args.against}.json", "avts")]
        report["against"] = {"tag": args.against,
                             **paired_difference(base, pooled.get("avts", []))}
    report["eval_sync"]["pooled"] = eval_sync_mean(eval_reports)
    with open(work / f"rows{args.tag}.jsonl", "w") as fh:
        for row in rows(pooled.get("avts", [])):
            fh.write(json.dumps(row) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
