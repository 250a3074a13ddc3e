"""Decode every clip of a folder once at 25 fps into small arrays for fast research loops.

Per clip (``OUT/<name>.npz``): ``crop`` (T, S, S, 3) uint8, the region of ``--region``
(avts.features.region.find_region on frames with a 160-pixel short side) resized to S x S;
``full`` (T, S, S, 3) the whole frame resized; ``audio`` (n,) float32 mono at 16 kHz from the
same start; ``box`` the region on the 160-pixel frames. Usage:
    python scripts/real_cache.py DATA_DIR OUT_DIR [--size 48] [--box-fraction 0.5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from avts.data.corpus import find_videos
from avts.features.region import find_region
from avts.media.probe import probe
from avts.media.read import read_audio, read_video

FPS = 25.0
SR_HZ = 16000
SHORT_SIDE = 160


def resize(frames: np.ndarray, size: int) -> np.ndarray:
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()  # (T, 3, H, W)
    x = F.interpolate(x, size=(size, size), mode="area")
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def cache_one(path: Path, out: Path, size: int, box_fraction: float, region: str) -> dict:
    info = probe(path)
    scale = SHORT_SIDE / min(info.height, info.width)
    hw = (max(2, round(info.height * scale / 2) * 2), max(2, round(info.width * scale / 2) * 2))
    duration = min(info.duration_s, 60.0)
    frames = read_video(path, info.start_s, duration, FPS, hw, info=info)
    audio = read_audio(path, info.start_s, frames.shape[0] / FPS, SR_HZ, info=info)
    box = find_region(frames, region, box_fraction)
    np.savez(out, crop=resize(box.crop(frames), size), full=resize(frames, size),
             audio=audio.astype(np.float32),
             box=np.array([box.top, box.left, box.height, box.width, hw[0], hw[1]]))
    return {"file": path.name, "frames": int(frames.shape[0]),
            "box": [box.top, box.left, box.height, box.width], "hw": list(hw)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--box-fraction", type=float, default=0.5)
    parser.add_argument("--region", default="motion", choices=("face", "motion", "full"))
    parser.add_argument("--reverse", action="store_true", help="last file first (a 2nd worker)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    t0 = time.perf_counter()
    paths = find_videos(Path(args.data))
    for path in reversed(paths) if args.reverse else paths:
        target = out / (path.name + ".npz")
        if target.exists():
            continue
        try:
            rows.append(cache_one(path, target, args.size, args.box_fraction, args.region))
        except Exception as err:  # noqa: BLE001 - a research script: report and go on
            rows.append({"file": path.name, "error": str(err)})
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
