"""Write configs/real-split.csv from the groups CSV and, optionally, train/eval symlink folders.

Usage:
    python scripts/make_real_split.py [--groups ../shared/data/av-sync-groups.csv]
        [--out configs/real-split.csv] [--seed 2] [--eval-fraction 0.22]
        [--link-data ../shared/data/av-sync --link-to /work/runs/real-data]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from avts.data.heldout import grouped_holdout, read_groups, write_split


def link_folders(split: dict[str, str], data_dir: Path, out_dir: Path) -> None:
    for side in ("train", "eval"):
        (out_dir / side).mkdir(parents=True, exist_ok=True)
    for name, side in split.items():
        link = out_dir / side / name
        if not link.exists():
            os.symlink((data_dir / name).resolve(), link)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", default="../shared/data/av-sync-groups.csv")
    parser.add_argument("--out", default="configs/real-split.csv")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--eval-fraction", type=float, default=0.22)
    parser.add_argument("--link-data", default=None)
    parser.add_argument("--link-to", default=None)
    args = parser.parse_args()
    split = grouped_holdout(read_groups(args.groups), args.eval_fraction, args.seed)
    write_split(args.out, split)
    if args.link_data and args.link_to:
        link_folders(split, Path(args.link_data), Path(args.link_to))


if __name__ == "__main__":
    main()
