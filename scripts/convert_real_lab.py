"""Wrap a research checkpoint of scripts/real_lab.py (keys ``model``, ``args``) into an avts
checkpoint (format 2, ``model.kind: framesync``) that ``avts sync``/``scan``/``fix``/
``bench-sync`` and ``avts.detect_offset`` load.

    python scripts/convert_real_lab.py /work/runs/real-best.pt OUT.pt \\
        [--split configs/real-split.csv] [--data ../shared/data/av-sync] \\
        [--calibration CALIB.json | --slope S --midpoint M] [--as-default]

``--as-default`` writes the package's default model (src/avts/assets/default.pt) instead of
OUT. The config is rebuilt from the research arguments (widths, embed_dim, crop size and
jitter, region, multi-way item shape, temperature). Fields the research format lacks:

* ``threshold``: the pair-score threshold that ``eval-sync`` uses. Multi-way models rank shifts
  of one recording against each other; across recordings their cosines are not comparable and
  pair accuracy stays at chance whatever the threshold (docs/real-footage.md, finding 4), so
  ``--threshold`` (default 0.0, cosine zero) is a documented placeholder, never NaN. The offset
  search does not use it.
* ``train_videos``: the split's ``train`` rows under ``--data``; ``val_videos``: none (the
  research run held no validation clips out of its training side).
* ``calibration``: the confidence map of the offset search, fitted on shifted copies of
  training clips by scripts/calibrate_sync.py; without one the method's default applies.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

from avts.checkpoint import save_checkpoint
from avts.config import from_dict
from avts.data.heldout import read_split
from avts.losses import MultiwayLoss
from avts.models.build import load_model
from avts.models.framesync import FrameSync

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "avts" / "assets" / "default.pt"


def research_config(args: dict) -> dict:
    """The avts config (as a nested dict) that a real_lab.py run's arguments describe."""
    frames = int(args.get("frames", 45))
    widths = list(args.get("widths", [24, 48, 64, 96]))  # real_lab.py's default
    return {
        "model": {"kind": "framesync", "framesync_widths": widths,
                  "embed_dim": int(args.get("embed_dim", 64))},
        "train": {"loss": "multiway", "temperature": float(args.get("temperature", 0.1)),
                  "optimizer": "adamw", "lr": float(args.get("lr", 1e-3)),
                  "batch_size": int(args.get("batch", 16)), "samples_per_epoch": 1024,
                  "seed": int(args.get("seed", 0))},
        "data": {
            "clip": {"fps": 25.0},
            "mel": {"sr_hz": 16000, "hop_samples": 160, "n_mels": 40},
            "multiway": {
                "n_frames": frames, "win_frames": int(args.get("win") or frames),
                "win_stride": int(args.get("win_stride", 5)),
                "max_shift": int(args.get("max_shift", 15)),
                "region": "full" if args.get("input") == "full" else "motion",
                "size": int(args.get("size") or 48), "jitter": int(args.get("jitter", 0)),
                "audio_mix": float(args.get("mix", 0.0)), "flip": bool(args.get("flip", False)),
            },
        },
    }


def read_calibration(opts: argparse.Namespace) -> dict | None:
    if opts.calibration:
        fit = json.loads(Path(opts.calibration).read_text())
        fit = fit.get("calibration", fit)
        return {"slope": float(fit["slope"]), "midpoint": float(fit["midpoint"])}
    if opts.slope is not None and opts.midpoint is not None:
        return {"slope": opts.slope, "midpoint": opts.midpoint}
    return None


def convert(src: Path, out: Path, split: Path, data: Path, threshold: float,
            calibration: dict | None) -> dict:
    saved = torch.load(src, map_location="cpu", weights_only=True)
    args = saved.get("args", {})
    cfg = from_dict(research_config(args))
    model = FrameSync(cfg.model.framesync_widths, cfg.model.embed_dim, cfg.data.mel.n_mels)
    model.load_state_dict(saved["model"])  # fails loudly if the widths were wrong
    rows = read_split(split)
    state = {"config": cfg.to_dict(), "model": model.state_dict(),
             "loss": MultiwayLoss(cfg.train.temperature).state_dict(), "epoch": 1,
             "threshold": float(threshold),
             "train_videos": [str((data / n).resolve()) for n, s in sorted(rows.items())
                              if s == "train"],
             "val_videos": [],
             "source": {"file": str(src), "format": "scripts/real_lab.py",
                        "steps": saved.get("steps"), "train_s": saved.get("train_s")}}
    if calibration is not None:
        state["calibration"] = calibration
    save_checkpoint(out, state)
    loaded = load_model(out)  # it must load as avts loads it
    return {"out": str(out), "kind": loaded.config.model.kind,
            "parameters": sum(p.numel() for p in loaded.model.parameters()),
            "bytes": out.stat().st_size, "train_videos": len(loaded.train_videos),
            "calibration": loaded.calibration, "threshold": loaded.threshold}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", type=Path, help="a real_lab.py model.pt")
    p.add_argument("out", type=Path, nargs="?", help="the avts checkpoint to write")
    p.add_argument("--split", type=Path, default=Path("configs/real-split.csv"))
    p.add_argument("--data", type=Path, default=Path("../shared/data/av-sync"))
    p.add_argument("--threshold", type=float, default=0.0, help="pair threshold placeholder")
    p.add_argument("--calibration", help="JSON with slope and midpoint (calibrate_sync.py)")
    p.add_argument("--slope", type=float)
    p.add_argument("--midpoint", type=float)
    p.add_argument("--as-default", action="store_true", help=f"write {DEFAULT_OUT}")
    opts = p.parse_args()
    out = DEFAULT_OUT if opts.as_default else opts.out
    if out is None:
        p.error("give OUT or --as-default")
    if out.resolve() == opts.src.resolve():
        p.error("OUT must not be the research file (inputs are never overwritten)")
    if not math.isfinite(opts.threshold):
        p.error("--threshold must be a finite number")
    report = convert(opts.src, out, opts.split, opts.data, opts.threshold,
                     read_calibration(opts))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
