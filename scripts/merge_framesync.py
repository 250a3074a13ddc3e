"""Merge frame-rate checkpoints trained on the same split from different seeds into one
ensemble checkpoint (``model.framesync_members: k``; avts.models.framesync.FrameSyncEnsemble:
the offset search then averages the members' cosines).

    python scripts/merge_framesync.py RUN0/best.pt RUN1/best.pt RUN2/best.pt --out ENSEMBLE.pt

The members must share their config (but for the seeds, starting weights, the crop-scale and
speed augmentation and where items are drawn) and their training and validation
files, so that the validation clips stay unseen by every member (calibrate on them afterwards:
scripts/calibrate_sync.py ENSEMBLE.pt DATA OUT.pt --side val). What only resuming needs
(optimizer, history, random states) is left out: the result is for inference.
``--any-split`` merges members that trained on other clips of the same folder (a variant that
also trains short clips, in cross-validation); the merged validation side then keeps only the
files that no member trained on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from avts.checkpoint import checkpoint_config, load_checkpoint, save_checkpoint
from avts.data.corpus import find_videos

# Settings that may differ between members: the seed, the starting weights, how long each
# trained and how its epoch was picked, the training augmentation and extra training files
# (the point of an ensemble: members that err differently), how the split was seeded (the
# file lists are compared instead) and the decoding threads.
FREE = (("train", "seed"), ("train", "num_workers"), ("train", "init_from"),
        ("train", "epochs"), ("train", "select_by"), ("data", "split_seed"),
        ("data", "multiway", "crop_scale"), ("data", "multiway", "speed"),
        ("data", "multiway", "whole_clips"), ("data", "train_extra"))


def _own_train_videos(state: dict, path: Path) -> list[str]:
    """The member's training files without those of its ``data.train_extra`` folder, which
    members need not share (the split of the main folder must be the same)."""
    extra = checkpoint_config(state, path).data.train_extra
    if extra is None:
        return list(state["train_videos"])
    # runs list files by resolved path, so the folder is listed again here and resolved too
    extra_files = {str(v.resolve()) for v in find_videos(Path(extra).expanduser())}
    return [f for f in state["train_videos"] if str(Path(f).resolve()) not in extra_files]


def merged_state(paths: list[Path], any_split: bool = False) -> dict:
    states = [load_checkpoint(p) for p in paths]
    configs = [checkpoint_config(s, p).to_dict() for s, p in zip(states, paths, strict=True)]
    for cfg in configs:
        for *sections, key in FREE:
            part = cfg
            for section in sections:
                part = part[section]
            part.pop(key, None)
    first, first_cfg = states[0], configs[0]
    if first_cfg["model"]["kind"] != "framesync" or first_cfg["model"]["framesync_members"] != 1:
        raise SystemExit(f"{paths[0]}: not a single frame-rate model")
    for path, state, cfg in zip(paths[1:], states[1:], configs[1:], strict=True):
        if cfg != first_cfg:
            raise SystemExit(f"{path}: its config differs from {paths[0]}'s beyond the free "
                             "settings (seed, init, epochs, select_by, crop_scale, speed, "
                             "whole_clips, train_extra)")
        same_split = sorted(state["val_videos"]) == sorted(first["val_videos"]) and sorted(
            _own_train_videos(state, path)) == sorted(_own_train_videos(first, paths[0]))
        if not (same_split or any_split):
            raise SystemExit(f"{path}: another train/validation split than {paths[0]} "
                             "(use data.split_seed, or --any-split)")
    config = checkpoint_config(first, paths[0]).to_dict()
    config["model"]["framesync_members"] = len(states)
    model = {f"members.{i}.{k}": v for i, s in enumerate(states) for k, v in s["model"].items()}
    train = list(dict.fromkeys(f for s in states for f in s["train_videos"]))
    seen = set(train)
    return {"config": config, "model": model, "loss": first["loss"],
            "epoch": first["epoch"], "threshold": first["threshold"],
            "train_videos": train,
            # with any_split: only the validation files that no member trained on
            "val_videos": [f for f in first["val_videos"] if f not in seen],
            "members": [{"path": str(p), "epoch": s["epoch"]} for p, s in
                        zip(paths, states, strict=True)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--any-split", action="store_true",
                        help="members may have trained on other clips (e.g. a variant that "
                             "also trains short clips); the merged validation side keeps only "
                             "the files no member trained on")
    args = parser.parse_args()
    if len(args.checkpoints) < 2:
        parser.error("give at least two checkpoints")
    if args.out.resolve() in {p.resolve() for p in args.checkpoints}:
        parser.error("--out must differ from the inputs (inputs are never overwritten)")
    state = merged_state(args.checkpoints, args.any_split)
    save_checkpoint(args.out, state)
    print(json.dumps({"out": str(args.out), "members": state["members"]}))


if __name__ == "__main__":
    main()
