#!/usr/bin/env bash
# The confidence map of the packaged model. scripts/make_default_model.sh trains on every usable
# training clip, so none is left to fit a map on. This script trains twins of its six members
# that keep a validation side (data.val_fraction 0.2), on two splits of the training clips:
# split 0 (79 / 21, mostly talking heads) and split 4 (balanced: 10 talking / 11 other). Each
# twin ensemble measures its own 21 validation clips, each shifted by -480, -160, 0, +120,
# +360 ms, and the map is fitted on the two sets of copies pooled (one split alone gave too
# few hits to fit on: docs/real-footage.md). Prints the fit (slope, midpoint) that
# make_default_model.sh stores. About 40 minutes on an idle 2-core CPU of figure 169 with
# make_default_model.sh's WORK_DIR (it reuses real/ and pretrain/).
#
#   bash scripts/make_default_calibration.sh WORK_DIR [SHARED_DATA_DIR]
set -euo pipefail

work=${1:?usage: make_default_calibration.sh WORK_DIR [SHARED_DATA_DIR]}
shared=${2:-../shared/data}
groups="$shared/av-sync-groups.csv"
mkdir -p "$work"

[ -d "$work/real" ] || python scripts/make_real_split.py --groups "$groups" \
    --link-data "$shared/av-sync" --link-to "$work/real"
if [ ! -f "$work/pretrain/best.pt" ]; then
    avts synth "$work/synth" --num-videos 400 --seed 100
    avts train --config configs/real.yaml --data "$work/synth" --out "$work/pretrain" \
        data.multiway.region=motion
fi
rows=()
for split in 0 4; do
    TWIN=(--group-by "$groups" data.split_seed=$split data.multiway.max_shift=25
          data.multiway.n_frames=25)
    members=()
    for seed in 0 1 2; do
        avts train --config configs/real.yaml --data "$work/real/train" \
            --out "$work/twin$split-scratch$seed" "${TWIN[@]}" train.epochs=12 train.seed=$seed
        avts train --config configs/real.yaml --data "$work/real/train" \
            --out "$work/twin$split-finetune$seed" "${TWIN[@]}" train.epochs=5 train.seed=$seed \
            --init "$work/pretrain/best.pt"
        members+=("$work/twin$split-scratch$seed/last.pt" "$work/twin$split-finetune$seed/last.pt")
    done
    python scripts/merge_framesync.py "${members[@]}" --out "$work/twin$split.pt"
    python scripts/calibrate_sync.py "$work/twin$split.pt" "$work/real/train" \
        "$work/twin$split-calibrated.pt" --every 1 --side val --strip \
        --rows "$work/twin$split-rows.jsonl"
    rows+=("$work/twin$split-rows.jsonl")
done
python scripts/calibrate_sync.py "$work/twin0.pt" "$work/twin-pooled.pt" --strip \
    --fit-rows "${rows[@]}" --fitted-on "twins on splits 0 and 4, 21 val clips x 5 offsets each"
