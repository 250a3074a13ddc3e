#!/usr/bin/env bash
# Rebuild the packaged model (src/avts/assets/default.pt) from nothing: two frame-rate models
# trained with configs/real.yaml on the training side of configs/real-split.csv, one from
# scratch and one from a model pretrained on synthetic videos, merged into an ensemble whose
# confidence is fitted on the runs' validation clips. README "The shipped model" and
# docs/real-footage.md say what each step adds. 28 minutes on an idle 2-core CPU (figure 79),
# and the result equals the shipped file bit for bit.
#
#   bash scripts/make_default_model.sh WORK_DIR [SHARED_DATA_DIR]
#
# SHARED_DATA_DIR (default ../shared/data) holds av-sync/ and av-sync-groups.csv. Writes
# WORK_DIR/default.pt; copy it to src/avts/assets/default.pt to ship it.
set -euo pipefail

work=${1:?usage: make_default_model.sh WORK_DIR [SHARED_DATA_DIR]}
shared=${2:-../shared/data}
groups="$shared/av-sync-groups.csv"
mkdir -p "$work"

# The 113 training clips (the 32 evaluation clips share no speaker or source with them).
python scripts/make_real_split.py --groups "$groups" --link-data "$shared/av-sync" \
    --link-to "$work/real"
# Member A: the real clips from scratch.
avts train --config configs/real.yaml --data "$work/real/train" --out "$work/scratch" \
    --group-by "$groups"
# Member B: 400 synthetic videos (sounds caused by visible contacts) first, then the real clips.
avts synth "$work/synth" --num-videos 400 --seed 100
avts train --config configs/real.yaml --data "$work/synth" --out "$work/pretrain" \
    data.multiway.region=motion
avts train --config configs/real.yaml --data "$work/real/train" --out "$work/finetune" \
    --group-by "$groups" --init "$work/pretrain/best.pt"
# One checkpoint that averages the two members' cosines, calibrated on the validation clips.
python scripts/merge_framesync.py "$work/scratch/best.pt" "$work/finetune/best.pt" \
    --out "$work/ensemble.pt"
python scripts/calibrate_sync.py "$work/ensemble.pt" "$work/real/train" "$work/default.pt" \
    --every 1 --side val --strip
