#!/usr/bin/env bash
# Rebuild the packaged model (src/avts/assets/default.pt) from nothing: two frame-rate models
# trained with configs/real.yaml on every usable training clip of configs/real-split.csv, with
# candidates over the whole +-1 s that `avts sync` searches, one from scratch and one from a
# model pretrained on synthetic videos, merged into an ensemble. Its confidence map was fitted
# on a twin of this recipe that kept 21 validation clips (scripts/make_default_calibration.sh),
# because this one keeps none. README "The shipped model" and docs/real-footage.md say what
# each step adds. About 9 minutes on an idle 2-core CPU of figure 195, and the result equals
# the shipped file bit for bit.
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
# 400 synthetic videos (sounds caused by visible contacts) to pretrain member B on.
avts synth "$work/synth" --num-videos 400 --seed 100
avts train --config configs/real.yaml --data "$work/synth" --out "$work/pretrain" \
    data.multiway.region=motion
# Member A from scratch, member B from the pretrained model, on the real clips; one checkpoint
# that averages the two members' cosines, with the twin's confidence map.
bash scripts/default_members.sh "$work/real/train" "$work/pretrain/best.pt" "$work/members" \
    "$groups"
python scripts/calibrate_sync.py "$work/members/ensemble.pt" "$work/default.pt" --strip \
    --set 1.1573940726973144,3.6859027395215955 \
    --fitted-on "21 val clips x 5 offsets of a twin run that kept them (scripts/make_default_calibration.sh)"
