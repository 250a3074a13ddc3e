"""Loader and train-step throughput (clips/s) for the tiny and the paper-sized configurations,
and train steps per second of configs/real.yaml (the frame-rate model, multi-way matching).

``tiny`` is the machine's *figure*, quoted beside every timing in the docs: the tiny network on
its original 12 fps / 48x48 / 10 ms-hop input at batch 32, kept fixed so that figures stay
comparable when the preset changes (``figure`` at the top repeats its train-step clips/s).
``demo`` is today's tiny preset as ``avts demo`` trains it (8 fps, 40x40, 20 ms hop, its batch).

Prints one JSON object. Not a test: numbers depend on the machine. Usage:
    python benchmarks/throughput.py [--device cpu] [--steps 5] [--videos 8] [--presets tiny,real]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from avts.config import Config, apply_overrides, load, tiny
from avts.data.curriculum import NegativeMix
from avts.data.dataset import PairDataset, collate_pairs
from avts.data.pairs import draw_pairs
from avts.data.prepare import index_for, load_store
from avts.models import count_parameters
from avts.models.build import build_networks
from avts.synth import synthesize


def loader_rate(cfg: Config, data_dir: str, n_clips: int, preload: bool) -> dict:
    clip = cfg.data.clip
    data_cfg = replace(cfg.data, cache_dir=os.path.join(data_dir, ".cache"), preload=preload)
    index = index_for(data_dir, replace(cfg, data=data_cfg))
    t0 = time.perf_counter()
    store = load_store(index.videos, replace(cfg, data=data_cfg))
    preload_s = time.perf_counter() - t0
    pairs = draw_pairs(np.random.default_rng(0), store.spans, n_clips,
                       NegativeMix(0.75, 0.25, 0.0), 0.5, clip.duration_s, cfg.data.pairs)
    loader = DataLoader(PairDataset(store, pairs, cfg.data.mel), batch_size=16,
                        num_workers=cfg.train.num_workers, collate_fn=collate_pairs)
    t0 = time.perf_counter()
    n = sum(len(b["label"]) for b in loader)
    seconds = time.perf_counter() - t0
    return {"clips_per_s": n / seconds, "preload_s": preload_s if preload else None,
            "num_workers": cfg.train.num_workers, "preload": preload}


def train_step_rate(cfg: Config, device: torch.device, batch: int, steps: int) -> dict:
    torch.manual_seed(0)
    model, loss_fn = build_networks(cfg)  # the same model and loss the trainer builds
    model, loss_fn = model.to(device), loss_fn.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    clip, mel = cfg.data.clip, cfg.data.mel
    n_mel_frames = mel.n_frames(round(clip.duration_s * mel.sr_hz))
    video = torch.randn(batch, 3, clip.n_frames, clip.height, clip.width, device=device)
    audio = torch.randn(batch, 1, mel.n_mels, n_mel_frames, device=device)
    y = (torch.arange(batch, device=device) % 2).float()

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            fv, fa = model(video, audio)
        loss = loss_fn(fv.float(), fa.float(), y, groups=torch.arange(batch, device=device))
        opt.zero_grad()
        loss.backward()
        opt.step()

    seconds = timed(step, steps, device)
    return {"clips_per_s": batch * steps / seconds, "batch_size": batch, "steps": steps,
            "params": count_parameters(model)}


def timed(step, steps: int, device: torch.device) -> float:
    """Seconds for ``steps`` calls of ``step`` after one warm-up call (GPU work waited for)."""
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def multiway_step_rate(cfg: Config, device: torch.device, steps: int) -> dict:
    """Training steps of the frame-rate model (model.kind framesync) on random items."""
    from avts.data.multiway_items import item_spec
    from avts.train.multiway import item_logits

    torch.manual_seed(0)
    model, loss_fn = build_networks(cfg)
    model, loss_fn = model.to(device), loss_fn.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    spec, mw, batch = item_spec(cfg), cfg.data.multiway, cfg.train.batch_size
    video = torch.randint(0, 256, (batch, spec.video_frames, mw.size, mw.size),
                          dtype=torch.uint8, device=device)
    audio = torch.randn(batch, spec.audio_frames * spec.samples_per_frame, device=device)

    def step() -> None:
        logits = item_logits(model, loss_fn, video, audio, cfg)
        target = torch.full((len(logits),), spec.max_shift, device=device)
        loss = torch.nn.functional.cross_entropy(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()

    seconds = timed(step, steps, device)
    return {"steps_per_s": steps / seconds, "items_per_s": batch * steps / seconds,
            "batch_size": batch, "steps": steps, "params": count_parameters(model)}


# The input and network the machine figure has always been measured on (the tiny preset until
# 2026-12, when the preset moved to a smaller input and the video net's spatial max).
FIGURE_INPUT = ("data.clip.fps=12.0", "data.clip.height=48", "data.clip.width=48",
                "data.mel.hop_samples=160", "model.video_space_pool=mean")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--loader-clips", type=int, default=512)
    parser.add_argument("--presets", default="tiny,demo,paper,real",
                        help="comma-separated: tiny (the figure), demo, paper, real "
                             "(configs/real.yaml, step only)")
    args = parser.parse_args()
    wanted = args.presets.split(",")
    device = torch.device(args.device)
    demo = tiny()
    presets = {"tiny": (apply_overrides(demo, FIGURE_INPUT), 32),
               "demo": (demo, demo.train.batch_size),
               "paper": (Config(), 8 if device.type == "cpu" else 64)}
    result = {"device": str(device), "torch": torch.__version__, "threads":
              torch.get_num_threads(), "cpu": platform.processor() or platform.machine()}
    with tempfile.TemporaryDirectory() as data_dir:
        synthesize(data_dir, args.videos, seed=0)
        for name, (cfg, batch) in presets.items():
            if name not in wanted:
                continue
            result[name] = {
                "loader_preloaded": loader_rate(cfg, data_dir, args.loader_clips, preload=True),
                "loader_on_demand": loader_rate(cfg, data_dir, args.loader_clips // 4,
                                                preload=False),
                "train_step": train_step_rate(cfg, device, batch, args.steps),
            }
    if "tiny" in result:
        result = {"figure": result["tiny"]["train_step"]["clips_per_s"], **result}
    if "real" in wanted:
        real = load(Path(__file__).resolve().parents[1] / "configs" / "real.yaml")
        result["real"] = {"train_step": multiway_step_rate(real, device, args.steps)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
