"""Where the time of `avts demo` goes: CPU-seconds per unit of each stage, and the totals and
shares they add up to for a whole demo.

Prints one JSON object. Not a test: numbers depend on the machine. CPU time (one torch thread,
``time.process_time``) rather than wall time, so that a busy shared machine still gives
comparable figures. Usage:
    python benchmarks/demo_cost.py [--steps 4] [--videos 6] [key=value ...]
where ``key=value`` overrides the tiny preset (for example ``data.clip.fps=12.0`` to cost the
older input).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from avts.api import DEMO_EVAL_VIDEOS, DEMO_TRAIN_VIDEOS
from avts.config import Config, apply_overrides, tiny
from avts.data.curriculum import NegativeMix
from avts.data.dataset import PairDataset, collate_pairs
from avts.data.pairs import draw_pairs
from avts.data.prepare import index_for, load_store
from avts.features.audio import log_mel
from avts.models.build import build_networks
from avts.synth import SynthConfig, synthesize


def _cpu_s(fn, repeat: int = 1) -> float:
    t0 = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t0) / repeat


def data_costs(cfg: Config, n_videos: int, n_items: int = 256) -> dict[str, float]:
    """CPU-seconds per video (synthesis, probe, preload) and per pair (loader, of it log-mel)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # One process, so that process_time sees all of it (the demo uses one per core); at the
        # model's frame rate, as the demo renders its world.
        world = SynthConfig(fps=cfg.data.clip.fps)
        per = {"synthesize_per_video": _cpu_s(
            lambda: synthesize(folder, n_videos, 0, world, processes=1)) / n_videos}
        cfg = replace(cfg, data=replace(cfg.data, cache_dir=str(folder / "cache"), preload=True))
        t0 = time.process_time()
        index = index_for(folder, cfg)
        per["probe_per_video"] = (time.process_time() - t0) / n_videos
        t0 = time.process_time()
        store = load_store(index.videos, cfg)
        per["preload_per_video"] = (time.process_time() - t0) / n_videos
        pairs = draw_pairs(np.random.default_rng(0), store.spans, n_items,
                           NegativeMix(0.5, 0.5, 0.0), 0.5, cfg.data.clip.duration_s,
                           cfg.data.pairs)
        dataset = PairDataset(store, pairs, cfg.data.mel)
        per["loader_per_pair"] = _cpu_s(
            lambda: collate_pairs([dataset[i] for i in range(n_items)])) / n_items
    n_samples = round(cfg.data.clip.duration_s * cfg.data.mel.sr_hz)
    waveform = torch.randn(n_samples)
    per["log_mel_per_pair"] = _cpu_s(lambda: log_mel(waveform, cfg.data.mel), n_items)
    return per


def step_costs(cfg: Config, steps: int) -> dict[str, float]:
    """CPU-seconds of one training step (forward, backward, AdamW) and one validation forward,
    both on a batch of ``train.batch_size`` random inputs of the right shape."""
    torch.manual_seed(0)
    model, loss_fn = build_networks(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr)
    clip, mel, b = cfg.data.clip, cfg.data.mel, cfg.train.batch_size
    video = torch.randn(b, 3, clip.n_frames, clip.height, clip.width)
    audio = torch.randn(b, 1, mel.n_mels, mel.n_frames(round(clip.duration_s * mel.sr_hz)))
    y, groups = (torch.arange(b) % 2).float(), torch.arange(b)

    def train_step() -> None:
        loss = loss_fn(*model(video, audio), y, groups=groups)
        opt.zero_grad()
        loss.backward()
        opt.step()

    @torch.no_grad()
    def val_forward() -> None:
        loss_fn.pair_score(*model(video, audio))

    train_step()  # warm-up: first calls allocate and pick kernels
    val_forward()
    return {"train_step": _cpu_s(train_step, steps), "val_batch": _cpu_s(val_forward, steps)}


def demo_totals(cfg: Config, per: dict[str, float]) -> dict[str, float]:
    """CPU-seconds of each stage of a whole demo (default video counts, this config)."""
    t = cfg.train
    n_videos = DEMO_TRAIN_VIDEOS + DEMO_EVAL_VIDEOS
    n_train = t.epochs * (t.samples_per_epoch // t.batch_size) * t.batch_size
    n_val = t.epochs * 4 * max(t.val_samples // 4, 1)  # positive, easy, hard, super-hard
    n_eval = 4 * 256  # evaluate_sync's default n_per_kind
    per_val_pair = per["val_batch"] / t.batch_size + per["loader_per_pair"]
    return {
        "synthesis": n_videos * per["synthesize_per_video"],
        "probing": n_videos * per["probe_per_video"],
        "preload_decoding": n_videos * per["preload_per_video"],
        "train_loader": n_train * per["loader_per_pair"],
        "train_forward_backward": n_train / t.batch_size * per["train_step"],
        "validation": n_val * per_val_pair,
        "final_evaluation": n_eval * per_val_pair,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("overrides", nargs="*", help="key=value on top of the tiny preset")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg = apply_overrides(tiny(), args.overrides)
    per = {**data_costs(cfg, args.videos), **step_costs(cfg, args.steps)}
    totals = demo_totals(cfg, per)
    total = sum(totals.values())
    print(json.dumps({
        "overrides": args.overrides, "cpu_s_per_unit": per, "demo_cpu_s": total,
        "demo_cpu_s_by_stage": totals,
        "share": {k: round(v / total, 3) for k, v in totals.items()},
        "log_mel_share": round(per["log_mel_per_pair"] * (totals["train_loader"]
                                                          / per["loader_per_pair"]) / total, 4),
    }, indent=2))


if __name__ == "__main__":
    main()
