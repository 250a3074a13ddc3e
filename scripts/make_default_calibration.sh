#!/usr/bin/env bash
# The confidence map of the packaged model. scripts/make_default_model.sh trains on every usable
# training clip, so none is left to fit a map on; this twin trains the same two members with a
# validation side (data.val_fraction 0.2, the 79 / 21 split the earlier defaults used) and fits
# the map on its 21 validation clips, each shifted by -480, -160, 0, +120, +360 ms. Prints the
# fit (slope, midpoint) that make_default_model.sh stores. 7 min 16 s on an idle 2-core CPU of
# figure 162-195 with make_default_model.sh's WORK_DIR (it reuses real/ and pretrain/).
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
TWIN=(--group-by "$groups" data.multiway.max_shift=25 data.multiway.n_frames=25)
avts train --config configs/real.yaml --data "$work/real/train" --out "$work/twin-scratch" \
    "${TWIN[@]}" train.epochs=12
avts train --config configs/real.yaml --data "$work/real/train" --out "$work/twin-finetune" \
    "${TWIN[@]}" train.epochs=5 --init "$work/pretrain/best.pt"
python scripts/merge_framesync.py "$work/twin-scratch/last.pt" "$work/twin-finetune/last.pt" \
    --out "$work/twin.pt"
python scripts/calibrate_sync.py "$work/twin.pt" "$work/real/train" "$work/twin-calibrated.pt" \
    --every 1 --side val --strip
