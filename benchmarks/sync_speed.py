"""Speed and peak memory of ``avts.detect_offset`` on a long 720p file (not a test).

Generates (once, cached under ``--cache``) a ``--minutes``-long 1280x720 25 fps H.264 file
(x264 ultrafast) with a moving square that flashes when a click sounds, then runs each method in
a fresh process and prints one JSON object: wall and CPU time, real-time factors (media
seconds per wall second, and per CPU second) and peak resident memory (``ru_maxrss``) per method.

    python benchmarks/sync_speed.py [--minutes 10] [--checkpoint C] [--threads 2]

Without ``--checkpoint`` the learned method runs a randomly initialised tiny model: its speed
does not depend on the weights (its offset and verdict do: pass a trained checkpoint, e.g. a
25 fps tiny model, to see them right). The 1-minute load average before and after each run is
recorded, since wall time on a shared machine depends on the neighbours.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

FPS, SR_HZ, SIZE_WH = 25, 44100, (1280, 720)

_CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(int(sys.argv[4]))
import avts
t0, c0 = time.perf_counter(), time.process_time()
r = avts.detect_offset(sys.argv[1], sys.argv[3] or None, method=sys.argv[2])
wall = time.perf_counter() - t0
cpu = time.process_time() - c0
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "offset_ms": r.offset_ms,
                  "confidence": r.confidence, "verdict": r.verdict, "n_windows": r.n_windows_total,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generate(path: Path, minutes: float, offset_ms: float = 120.0) -> Path:
    """Moving square, a flash plus a click every 0.4-1.2 s; the audio is ``offset_ms`` late."""
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    n_frames = round(minutes * 60 * FPS)
    flash = np.zeros(n_frames, bool)
    flash[np.cumsum(rng.integers(10, 30, n_frames // 10))[: n_frames // 10] % n_frames] = True
    width, height = SIZE_WH
    base = np.tile(np.linspace(30, 90, width, dtype=np.uint8)[None, :, None], (height, 1, 3))
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), mode="w") as out:
        vs = out.add_stream("h264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "23"}
        vs.thread_type = "AUTO"
        aus = out.add_stream("aac", rate=SR_HZ)
        aus.layout = "stereo"
        audio_per_frame = SR_HZ // FPS
        click = 0.6 * np.sin(2 * np.pi * 1500 * np.arange(400) / SR_HZ).astype(np.float32)
        delay = round(offset_ms / 1000 * SR_HZ)
        pending = np.zeros(audio_per_frame + delay + click.size, np.float32)
        for i in range(n_frames):
            img = base.copy()
            x = int((np.sin(i / 40) * 0.4 + 0.5) * (width - 120))
            y = int((np.cos(i / 55) * 0.4 + 0.5) * (height - 120))
            img[y : y + 120, x : x + 120] = 240 if flash[i] else (200, 60, 40)
            out.mux(vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
            if flash[i]:
                pending[delay : delay + click.size] += click
            chunk = pending[:audio_per_frame] + 0.003 * rng.standard_normal(audio_per_frame)
            pending = np.concatenate([pending[audio_per_frame:], np.zeros(audio_per_frame,
                                                                          np.float32)])
            frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]).astype(np.float32),
                                               format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = SR_HZ, i * audio_per_frame
            frame.time_base = Fraction(1, SR_HZ)
            out.mux(aus.encode(frame))
        out.mux(vs.encode())
        out.mux(aus.encode())
    tmp.rename(path)
    return path


def random_checkpoint(path: Path) -> Path:
    import torch

    from avts.checkpoint import save_checkpoint
    from avts.config import tiny
    from avts.models.build import build_networks

    cfg = tiny()
    torch.manual_seed(0)
    model, loss = build_networks(cfg)
    return save_checkpoint(path, {"config": cfg.to_dict(), "model": model.state_dict(),
                                  "loss": loss.state_dict(), "threshold": 0.0, "epoch": 0,
                                  "train_videos": [], "val_videos": []})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--checkpoint", type=Path)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--methods", default="baseline,avts")
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "avts" / "bench")
    args = p.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    video = generate(args.cache / f"sync_speed_{args.minutes:g}min_720p25.mp4", args.minutes)
    ckpt = args.checkpoint or random_checkpoint(args.cache / "random_tiny.pt")
    report = {"file": str(video), "media_s": args.minutes * 60, "true_offset_ms": 120.0,
              "threads": args.threads, "checkpoint": str(ckpt)}
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    for method in args.methods.split(","):
        load_before = os.getloadavg()[0]
        out = subprocess.run([sys.executable, "-c", _CHILD, str(video), method,
                              str(ckpt) if method == "avts" else "", str(args.threads)],
                             capture_output=True, text=True, env=env, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        # the machine may be shared: the 1-minute load average beside each timing says how much
        result["loadavg_1min_before_after"] = [load_before, os.getloadavg()[0]]
        result["realtime_factor"] = report["media_s"] / result["wall_s"]
        # on a shared machine wall time depends on the neighbours; CPU seconds do not
        result["realtime_factor_per_cpu_s"] = report["media_s"] / result["cpu_s"]
        report[method] = result
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
