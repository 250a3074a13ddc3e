#!/usr/bin/env bash
# Rebuild the packaged model (src/avts/assets/default.pt) from nothing: two frame-rate models
# trained with configs/real.yaml on every usable shared real clip, with candidates over the
# whole +-1 s that `avts sync` searches, one from scratch and one from a model pretrained on
# synthetic videos, merged into an ensemble (scripts/default_members.sh). What the recipe
# reaches on clips it never saw comes from scripts/cross_validate.py (5 folds by speaker or
# source over the same 145 clips), and so does its confidence map: fitted on the 1,015
# out-of-fold copies of that cross-validation
#   python scripts/cross_validate.py CV --pretrained WORK_DIR/pretrain/best.pt
#   python scripts/calibrate_sync.py WORK_DIR/members/ensemble.pt OUT.pt --fit-rows CV/rows.jsonl
# README "The shipped model" and docs/real-footage.md say what each step adds.
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

# 400 synthetic videos (sounds caused by visible contacts) to pretrain member B on.
avts synth "$work/synth" --num-videos 400 --seed 100
avts train --config configs/real.yaml --data "$work/synth" --out "$work/pretrain" \
    data.multiway.region=motion
# Member A from scratch, member B from the pretrained model, on every shared real clip; one
# checkpoint that averages the two members' cosines, with the cross-validated confidence map.
bash scripts/default_members.sh "$shared/av-sync" "$work/pretrain/best.pt" "$work/members" \
    "$groups"
python scripts/calibrate_sync.py "$work/members/ensemble.pt" "$work/default.pt" --strip \
    --set 0.5628798034417087,5.035726772510991 \
    --fitted-on "1015 out-of-fold copies (145 clips x 7 offsets) of scripts/cross_validate.py"
