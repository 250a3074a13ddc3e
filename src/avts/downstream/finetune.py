"""The paper's video protocol (Korbar et al. 2018, Sec. 4.3, UCF101/HMDB51): the video network,
initialised from AVTS training or at random, plus a linear classifier, fine-tuned end to end on
labelled clips; reported per clip and per video (the mean of its clips' softmax).

A small loop of its own, with the training run's conventions: ``last.pt`` every epoch and
``best.pt`` written atomically, exact resume (CPU), ``metrics.jsonl``, and a plateau schedule
on the training loss. Videos are decoded once, at the model's frame rate and size, into memory.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from avts.checkpoint import load_checkpoint, save_checkpoint
from avts.config import Config
from avts.downstream.labelled import LabelledItem
from avts.errors import MediaError, TrainingDivergedError
from avts.features.video import frames_to_tensor
from avts.media import probe, read_video
from avts.train.checkpoint import random_states, restore_random_states
from avts.types import FinetuneEpoch, SkippedFile

_FINETUNE_KEYS = ("format_version", "kind", "config", "model", "optimizer", "epoch")


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 12
    batch_size: int = 16
    lr: float = 1e-3  # AdamW, for the whole network and the classifier
    weight_decay: float = 1e-4
    clips_per_video: int = 4  # random training clips drawn from each video per epoch
    test_clips_per_video: int = 5  # evenly spaced clips scored per test video
    plateau_patience: int = 2  # lr x plateau_factor when the training loss stalls this long
    plateau_factor: float = 0.1
    dropout: float = 0.2  # before the linear classifier
    test_fraction: float = 0.3  # share of each class held out when there are no split files
    seed: int = 0


class VideoClassifier(nn.Module):
    """The AVTS video network and a linear layer: (B, 3, T, H, W) -> (B, n_classes) logits."""

    def __init__(self, video: nn.Module, n_classes: int, dropout: float) -> None:
        super().__init__()
        self.video = video
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(video.out_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.video(x)))


def decode_videos(items: Sequence[LabelledItem], cfg: Config,
                  progress: Callable[[int, int], None] | None = None
                  ) -> tuple[list[LabelledItem], list[np.ndarray], list[SkippedFile]]:
    """Whole videos at the model's fps and size; files without usable video are left out."""
    clip = cfg.data.clip
    kept, frames, skipped = [], [], []
    for n, item in enumerate(items, start=1):
        try:
            info = probe(item.path)
            if not info.has_video:
                raise MediaError("no video stream")
            video = read_video(item.path, info.start_s, None, clip.fps,
                               (clip.height, clip.width), info=info)
            if len(video) == 0:
                raise MediaError("no frames")
        except MediaError as err:
            skipped.append(SkippedFile(item.path, str(err)))
        else:
            kept.append(item)
            frames.append(video)
        if progress is not None:
            progress(n, len(items))
    return kept, frames, skipped


def clip_batch(videos: Sequence[np.ndarray], picks: Sequence[tuple[int, int]], n_frames: int
               ) -> torch.Tensor:
    """``(video index, first frame)`` picks -> (B, 3, T, H, W); short videos hold their last
    frame."""
    clips = []
    for v, first in picks:
        index = np.minimum(first + np.arange(n_frames), len(videos[v]) - 1)
        clips.append(videos[v][index])
    return frames_to_tensor(np.stack(clips))


def train_picks(rng: np.random.Generator, videos: Sequence[np.ndarray], n_frames: int,
                per_video: int) -> list[tuple[int, int]]:
    picks = [(v, int(rng.integers(0, max(1, len(f) - n_frames + 1))))
             for v, f in enumerate(videos) for _ in range(per_video)]
    return [picks[i] for i in rng.permutation(len(picks))]


def eval_picks(videos: Sequence[np.ndarray], n_frames: int, per_video: int
               ) -> list[tuple[int, int]]:
    picks = []
    for v, f in enumerate(videos):
        last = max(0, len(f) - n_frames)
        picks += [(v, int(s)) for s in np.unique(np.linspace(0, last, per_video).round())]
    return picks


@dataclass
class Split:
    videos: list[np.ndarray]  # decoded frames, one array per video
    labels: np.ndarray  # class index per video


class FinetuneRunner:
    def __init__(self, model: VideoClassifier, cfg: Config, ft: FinetuneConfig, train: Split,
                 test: Split, run_dir: Path, extra_state: dict[str, Any],
                 on_epoch: Callable[[FinetuneEpoch], None] | None = None) -> None:
        self.model, self.cfg, self.ft = model, cfg, ft
        self.train, self.test = train, test
        self.run_dir = run_dir
        self.extra_state = extra_state  # classes, init, split: saved with every checkpoint
        self.on_epoch = on_epoch
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=ft.lr,
                                           weight_decay=ft.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="min", factor=ft.plateau_factor, patience=ft.plateau_patience)
        self.epoch = 0
        self.best_metric = -math.inf
        self.history: list[FinetuneEpoch] = []

    @property
    def last_path(self) -> Path:
        return self.run_dir / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.run_dir / "best.pt"

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "finetune-video", "config": self.cfg.to_dict(),
                "finetune": asdict(self.ft), "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "epoch": self.epoch,
                "best_metric": self.best_metric, "history": [asdict(m) for m in self.history],
                "random_states": random_states(), **self.extra_state}

    def resume(self) -> None:
        state = load_checkpoint(self.last_path, required=_FINETUNE_KEYS)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.best_metric = state["epoch"], state["best_metric"]
        self.history = [FinetuneEpoch(**m) for m in state["history"]]
        restore_random_states(state["random_states"])

    def fit(self) -> list[FinetuneEpoch]:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for epoch in range(self.epoch + 1, self.ft.epochs + 1):
            metrics = self._run_epoch(epoch)
            with open(self.run_dir / "metrics.jsonl", "a") as fh:
                fh.write(json.dumps(asdict(metrics)) + "\n")
            if self.on_epoch is not None:
                self.on_epoch(metrics)
        return self.history

    def _run_epoch(self, epoch: int) -> FinetuneEpoch:
        t0 = time.perf_counter()
        torch.manual_seed(self.ft.seed * 100_003 + epoch)  # dropout, as the sync trainer does
        loss, train_acc = self._train_epoch(np.random.default_rng([self.ft.seed, epoch]))
        if not math.isfinite(loss):
            raise TrainingDivergedError(f"fine-tuning loss became non-finite at epoch {epoch}")
        clip_acc, video_acc = self.evaluate()
        lr = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step(loss)
        metrics = FinetuneEpoch(epoch=epoch, train_loss=loss, train_clip_accuracy=train_acc,
                                test_clip_accuracy=clip_acc, test_video_accuracy=video_acc,
                                lr=lr, seconds=time.perf_counter() - t0)
        self.epoch = epoch
        self.history.append(metrics)
        is_best = video_acc > self.best_metric
        self.best_metric = max(self.best_metric, video_acc)
        state = self.state_dict()
        save_checkpoint(self.last_path, state)
        if is_best:
            save_checkpoint(self.best_path, state)
        return metrics

    def _train_epoch(self, rng: np.random.Generator) -> tuple[float, float]:
        n_frames = self.cfg.data.clip.n_frames
        picks = train_picks(rng, self.train.videos, n_frames, self.ft.clips_per_video)
        self.model.train()
        total, correct = 0.0, 0
        for at in range(0, len(picks), self.ft.batch_size):
            batch = picks[at: at + self.ft.batch_size]
            x = clip_batch(self.train.videos, batch, n_frames)
            y = torch.from_numpy(self.train.labels[[v for v, _ in batch]])
            logits = self.model(x)
            loss = F.cross_entropy(logits, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(batch)
            correct += int((logits.argmax(1) == y).sum())
        return total / len(picks), correct / len(picks)

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Clip accuracy, and video accuracy from each video's mean clip softmax."""
        n_frames = self.cfg.data.clip.n_frames
        picks = eval_picks(self.test.videos, n_frames, self.ft.test_clips_per_video)
        self.model.eval()
        probs = torch.cat([F.softmax(self.model(clip_batch(self.test.videos, picks[a: a + 32],
                                                           n_frames)), dim=1)
                           for a in range(0, len(picks), 32)]).numpy()
        owner = np.array([v for v, _ in picks])
        clip_acc = float(np.mean(probs.argmax(1) == self.test.labels[owner]))
        per_video = np.stack([probs[owner == v].mean(0) for v in range(len(self.test.videos))])
        video_acc = float(np.mean(per_video.argmax(1) == self.test.labels))
        return clip_acc, video_acc
