#!/usr/bin/env bash
# The packaged model's two members on one folder of real clips, merged into one checkpoint:
# one trained from scratch, one from a model pretrained on synthetic videos (configs/real.yaml;
# docs/real-footage.md, model F). Shared by scripts/make_default_model.sh and
# scripts/cross_validate.py, so that what is measured is what is shipped.
#
#   bash scripts/default_members.sh TRAIN_DIR PRETRAINED.pt OUT_DIR GROUPS_CSV [KEY=VALUE ...]
#
# Writes OUT_DIR/scratch, OUT_DIR/finetune (the runs) and OUT_DIR/ensemble.pt (no calibration).
# KEY=VALUE overrides go to both runs (another seed of the pair: train.seed=1
# data.split_seed=0, so that its split, and so its validation clips, stay those of seed 0).
set -euo pipefail

train=${1:?usage: default_members.sh TRAIN_DIR PRETRAINED.pt OUT_DIR GROUPS_CSV}
pretrained=${2:?usage: default_members.sh TRAIN_DIR PRETRAINED.pt OUT_DIR GROUPS_CSV}
out=${3:?usage: default_members.sh TRAIN_DIR PRETRAINED.pt OUT_DIR GROUPS_CSV}
groups=${4:?usage: default_members.sh TRAIN_DIR PRETRAINED.pt OUT_DIR GROUPS_CSV}
shift 4
mkdir -p "$out"

# Every usable clip (data.val_fraction=0.02 with the groups leaves one or two small groups out
# only because the trainer needs a validation side; last.pt is kept), candidates -25..+25
# frames with 25 scored frames per item (83-frame items), for the epochs the balanced
# validation side chose (docs/real-footage.md, run D).
REAL=(--group-by "$groups" data.val_fraction=0.02 data.multiway.max_shift=25
      data.multiway.n_frames=25 "$@")
avts train --config configs/real.yaml --data "$train" --out "$out/scratch" \
    "${REAL[@]}" train.epochs=12
avts train --config configs/real.yaml --data "$train" --out "$out/finetune" \
    "${REAL[@]}" train.epochs=5 --init "$pretrained"
python scripts/merge_framesync.py "$out/scratch/last.pt" "$out/finetune/last.pt" \
    --out "$out/ensemble.pt"
