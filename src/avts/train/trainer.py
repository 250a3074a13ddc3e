"""Training loop for the two-stream sync model: curriculum pairs, contrastive loss, plateau LR,
atomic per-epoch checkpoints with exact resume, metrics to TensorBoard and JSONL.

Determinism: every epoch re-seeds numpy (pair draws) and torch (init is seeded once, dropout and
loader workers per epoch) from ``(seed, epoch)``, so an interrupted run resumed from ``last.pt``
reaches the same weights as an uninterrupted one on the CPU. CUDA kernels are not guaranteed
bit-identical.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from avts.config import Config
from avts.data.curriculum import NegativeMix, negative_mix
from avts.data.dataset import ClipStore, PairDataset, collate_pairs
from avts.data.pairs import draw_pairs, fixed_eval_pairs
from avts.errors import ConfigError, TrainingDivergedError
from avts.eval.sync import accuracy_by_kind, choose_threshold, score_pairs
from avts.losses import build_loss
from avts.models import build_model
from avts.train.checkpoint import (
    checkpoint_config,
    load_checkpoint,
    random_states,
    restore_random_states,
    save_checkpoint,
)
from avts.types import EpochMetrics

log = logging.getLogger(__name__)

StepCallback = Callable[[int, int, int, float, float], None]  # epoch, step, n_steps, loss, clips/s
EpochCallback = Callable[[EpochMetrics], None]

# Settings that may change between a run and its resumption without changing the result.
_RESUMABLE_FIELDS = ("epochs", "num_workers", "device")


def select_device(name: str) -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def build_networks(cfg: Config) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The two-stream model and the loss that ``cfg`` describes; a bad setting is a ConfigError."""
    try:
        model = build_model(cfg.model)
        loss_fn = build_loss(cfg.train.loss, cfg.train.margin, cfg.model.embed_dim,
                             in_batch_negatives=cfg.train.in_batch_negatives)
    except ValueError as err:  # models/ and losses.py know nothing of avts errors
        raise ConfigError(f"invalid model or loss setting: {err}") from err
    return model, loss_fn


@dataclass
class Callbacks:
    on_step: StepCallback | None = None
    on_epoch: EpochCallback | None = None


class Trainer:
    def __init__(self, cfg: Config, train_store: ClipStore, val_store: ClipStore,
                 run_dir: str | Path, callbacks: Callbacks | None = None) -> None:
        self.cfg = cfg
        self.train_store = train_store
        self.val_store = val_store
        self.run_dir = Path(run_dir)
        self.callbacks = callbacks or Callbacks()
        self.device = select_device(cfg.train.device)
        torch.manual_seed(cfg.train.seed)
        model, loss_fn = build_networks(cfg)
        self.model = model.to(self.device)
        self.loss_fn = loss_fn.to(self.device)
        params = list(self.model.parameters()) + list(self.loss_fn.parameters())
        self.optimizer = _build_optimizer(cfg, params)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="min", factor=cfg.train.plateau_factor,
            patience=cfg.train.plateau_patience)
        self.epoch = 0  # last finished epoch
        self.best_metric = -math.inf
        self.threshold = 0.0
        self.history: list[EpochMetrics] = []
        self._val_pairs = fixed_eval_pairs(
            np.random.default_rng([cfg.train.seed, 1_000_003]), val_store.spans,
            max(cfg.train.val_samples // 4, 1), cfg.data.clip.duration_s, cfg.data.pairs)

    # --- checkpoints -------------------------------------------------------------------

    @property
    def last_path(self) -> Path:
        return self.run_dir / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.run_dir / "best.pt"

    def state_dict(self) -> dict[str, Any]:
        return {
            "config": self.cfg.to_dict(),
            "model": self.model.state_dict(),
            "loss": self.loss_fn.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
            "best_metric": self.best_metric,
            "threshold": self.threshold,
            "history": [m.to_dict() for m in self.history],
            "random_states": random_states(),
            "train_videos": [str(v.path) for v in self.train_store.videos],
            "val_videos": [str(v.path) for v in self.val_store.videos],
        }

    def resume(self, path: str | Path | None = None) -> None:
        state = load_checkpoint(path or self.last_path)
        _check_resumable(checkpoint_config(state), self.cfg)
        self.model.load_state_dict(state["model"])
        self.loss_fn.load_state_dict(state["loss"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = state["epoch"]
        self.best_metric = state["best_metric"]
        self.threshold = state["threshold"]
        self.history = [EpochMetrics(**m) for m in state["history"]]
        restore_random_states(state["random_states"])

    # --- the loop ----------------------------------------------------------------------

    def fit(self) -> list[EpochMetrics]:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        writer = _tensorboard(self.run_dir)
        try:
            for epoch in range(self.epoch + 1, self.cfg.train.epochs + 1):
                metrics = self._run_epoch(epoch)
                self._log(metrics, writer)
                if self.callbacks.on_epoch:
                    self.callbacks.on_epoch(metrics)
        finally:
            if writer is not None:
                writer.close()
        return self.history

    def _run_epoch(self, epoch: int) -> EpochMetrics:
        mix = negative_mix(epoch, self.cfg.curriculum)
        if epoch > 1 and mix != negative_mix(epoch - 1, self.cfg.curriculum):
            # A new curriculum stage changes the task: its loss is not comparable with the
            # previous stage's, so the plateau detector starts afresh.
            self.scheduler.best = self.scheduler.mode_worse
            self.scheduler.num_bad_epochs = 0
        torch.manual_seed(self.cfg.train.seed * 100_003 + epoch)
        train_loss, clips_per_s, skipped = self._train_epoch(epoch, mix)
        val = score_pairs(self.model, self.loss_fn, self.val_store, self._val_pairs,
                          self.cfg.data.mel, self.device, self.cfg.train.batch_size,
                          self.cfg.train.num_workers)
        threshold = choose_threshold(val["score"], val["kind"])
        acc = accuracy_by_kind(val["score"], val["kind"], threshold)
        lr = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step(train_loss)
        metrics = EpochMetrics(
            epoch=epoch, train_loss=train_loss, val_loss=float(val["loss"]),
            val_accuracy=(acc.easy + acc.hard) / 2, val_accuracy_easy=acc.easy,
            val_accuracy_hard=acc.hard, threshold=threshold, lr=lr, clips_per_s=clips_per_s,
            hard_fraction=mix.hard + mix.superhard, skipped_samples=skipped)
        self.epoch = epoch
        self.history.append(metrics)
        is_best = metrics.val_accuracy > self.best_metric
        if is_best:
            self.best_metric = metrics.val_accuracy
            self.threshold = threshold
        state = self.state_dict()
        save_checkpoint(self.last_path, state)
        if is_best:
            save_checkpoint(self.best_path, state)
        return metrics

    def _train_epoch(self, epoch: int, mix: NegativeMix) -> tuple[float, float, int]:
        cfg = self.cfg
        rng = np.random.default_rng([cfg.train.seed, epoch])
        pairs = draw_pairs(rng, self.train_store.spans, cfg.train.samples_per_epoch, mix,
                           cfg.data.pairs.positive_fraction, cfg.data.clip.duration_s,
                           cfg.data.pairs)
        augment_seed = cfg.train.seed * 100_003 + epoch if cfg.data.augment else None
        loader = DataLoader(PairDataset(self.train_store, pairs, cfg.data.mel, augment_seed),
                            batch_size=cfg.train.batch_size, num_workers=cfg.train.num_workers,
                            collate_fn=collate_pairs, drop_last=True,
                            pin_memory=self.device.type == "cuda")
        self.model.train()
        self.loss_fn.train()
        total, n_clips, skipped = 0.0, 0, 0
        t0 = time.perf_counter()
        for step, batch in enumerate(loader, start=1):
            skipped += int(batch["skipped"])
            if "video" not in batch:
                continue
            loss = self._step(batch)
            if not math.isfinite(loss):
                raise TrainingDivergedError(
                    f"loss became non-finite at epoch {epoch}, step {step}; training stopped, "
                    f"last good checkpoint: {self.last_path if self.epoch else 'none yet'}")
            n = len(batch["label"])
            total += loss * n
            n_clips += n
            if self.callbacks.on_step:
                rate = n_clips / max(time.perf_counter() - t0, 1e-9)
                self.callbacks.on_step(epoch, step, len(loader), loss, rate)
        seconds = time.perf_counter() - t0
        return total / max(n_clips, 1), n_clips / max(seconds, 1e-9), skipped

    def _step(self, batch: dict[str, torch.Tensor]) -> float:
        video = batch["video"].to(self.device, non_blocking=True)
        audio = batch["audio"].to(self.device, non_blocking=True)
        y = batch["label"].to(self.device, non_blocking=True)
        groups = batch["video_index"].to(self.device, non_blocking=True)
        # bf16 autocast on CUDA only; the loss is computed in float32 either way.
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.device.type == "cuda"):
            fv, fa = self.model(video, audio)
        loss = self.loss_fn(fv.float(), fa.float(), y, groups=groups)
        if not torch.isfinite(loss):
            return loss.item()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        torch.nn.utils.clip_grad_norm_(params, self.cfg.train.grad_clip_norm)
        self.optimizer.step()
        return loss.item()

    def _log(self, m: EpochMetrics, writer: Any) -> None:
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(m.to_dict()) + "\n")
        if writer is not None:
            for key, value in m.to_dict().items():
                if key != "epoch":
                    writer.add_scalar(key, value, m.epoch)
            writer.flush()


def _build_optimizer(cfg: Config, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    t = cfg.train
    if t.optimizer == "sgd":
        return torch.optim.SGD(params, lr=t.lr, momentum=0.9, weight_decay=t.weight_decay)
    if t.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
    raise ConfigError(f"train.optimizer must be 'sgd' or 'adamw', got {t.optimizer!r}")


def _check_resumable(saved: Config, given: Config) -> None:
    """Resuming with a different model or data setting would silently train something else."""
    strip = {f: getattr(saved.train, f) for f in _RESUMABLE_FIELDS}
    if replace(given, train=replace(given.train, **strip)) != saved:
        raise ConfigError("--resume: the config differs from the checkpoint's in more than "
                          f"{', '.join('train.' + f for f in _RESUMABLE_FIELDS)}")


def _tensorboard(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dependency, but a broken install must not stop training
        log.warning("tensorboard is not importable; metrics go to metrics.jsonl only")
        return None
    return SummaryWriter(log_dir=str(run_dir / "tb"))
