"""Training loop for the two-stream sync model: curriculum pairs, the configured loss, plateau
LR, atomic per-epoch checkpoints with exact resume, metrics to TensorBoard and JSONL, and an
estimate of the epoch's length after its first steps. The frame-rate model
(``model.kind: framesync``) trains by multi-way matching instead: its loader, loss and
validation come from ``avts.train.multiway`` (``self.task``); everything else is shared.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from avts.checkpoint import save_checkpoint
from avts.config import Config
from avts.data.curriculum import NegativeMix, negative_mix
from avts.data.dataset import ClipStore, PairDataset, collate_pairs
from avts.data.pairs import draw_pairs, fixed_eval_pairs
from avts.data.regionstore import RegionStore
from avts.device import select_device
from avts.errors import ConfigError, EmptyEpochError, TrainingDivergedError
from avts.eval.sync import accuracy_by_kind, choose_threshold, score_pairs
from avts.models.build import build_networks
from avts.train.checkpoint import random_states, restore_random_states
from avts.train.multiway import MultiwayTask
from avts.train.resume import video_names
from avts.types import EpochEstimate, EpochMetrics

log = logging.getLogger(__name__)

StepCallback = Callable[[int, int, int, float, float], None]  # epoch, step, n_steps, loss, clips/s
EpochCallback = Callable[[EpochMetrics], None]
EstimateCallback = Callable[[EpochEstimate], None]

# Training steps timed (after the first, which pays for warm-up) before estimating an epoch:
# the estimate comes after step 3, minutes into a paper-sized epoch on a CPU.
ESTIMATE_STEPS = 2
# Validation runs the networks forward only: about a third of a training step's work per clip.
_FORWARD_SHARE = 1 / 3


@dataclass
class Callbacks:
    on_step: StepCallback | None = None
    on_epoch: EpochCallback | None = None
    on_estimate: EstimateCallback | None = None  # once per fit(), after the first steps


class Trainer:
    def __init__(self, cfg: Config, train_store: ClipStore | RegionStore,
                 val_store: ClipStore | RegionStore,
                 run_dir: str | Path, callbacks: Callbacks | None = None,
                 data_dir: str | Path | None = None) -> None:
        self.cfg = cfg
        self.train_store = train_store
        self.val_store = val_store
        self.run_dir = Path(run_dir)
        self.data_dir = data_dir  # recorded in checkpoints, so that a resume can find the data
        self.callbacks = callbacks or Callbacks()
        self.device = select_device(cfg.train.device)
        torch.manual_seed(cfg.train.seed)
        model, loss_fn = build_networks(cfg)
        self.model = model.to(self.device)
        self.loss_fn = loss_fn.to(self.device)
        params = list(self.model.parameters()) + list(self.loss_fn.parameters())
        self.optimizer = _build_optimizer(cfg, params)
        self.scheduler = _build_scheduler(cfg, self.optimizer)
        self._on_plateau = cfg.train.lr_schedule == "plateau"  # else a function of the epoch
        self.epoch = 0  # last finished epoch
        self.best_metric = -math.inf
        self.history: list[EpochMetrics] = []
        # None: the two-stream model's pairs; else the frame-rate model's multi-way matching
        self.task = (MultiwayTask(cfg, train_store, val_store, self.device)
                     if cfg.model.kind == "framesync" else None)
        self._val_pairs = [] if self.task else fixed_eval_pairs(
            np.random.default_rng([cfg.train.seed, 1_000_003]), val_store.spans,
            max(cfg.train.val_samples // 4, 1), cfg.data.clip.duration_s, cfg.data.pairs)
        self._estimated = False

    # --- checkpoints -------------------------------------------------------------------

    @property
    def last_path(self) -> Path:
        return self.run_dir / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.run_dir / "best.pt"

    def state_dict(self) -> dict[str, Any]:
        """Plain data and tensors only, so that the file loads with ``weights_only``."""
        return {
            "config": self.cfg.to_dict(),
            "model": self.model.state_dict(),
            "loss": self.loss_fn.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
            # The threshold chosen at this checkpoint's own epoch: what its weights were scored at.
            "threshold": self.history[-1].threshold if self.history else 0.0,
            "best_metric": self.best_metric,
            "history": [m.to_dict() for m in self.history],
            "random_states": random_states(),
            "train_videos": video_names(v.path for v in self.train_store.videos),
            "val_videos": video_names(v.path for v in self.val_store.videos),
            "data_dir": str(Path(self.data_dir).resolve()) if self.data_dir else None,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's state (checked by ``avts.train.resume`` beforehand)."""
        self.model.load_state_dict(state["model"])
        self.loss_fn.load_state_dict(state["loss"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if not self._on_plateau:
            # The saved rate followed the run's epoch count; a resume may have raised it.
            for group, base, factor in zip(self.optimizer.param_groups, self.scheduler.base_lrs,
                                           self.scheduler.lr_lambdas, strict=True):
                group["lr"] = base * factor(self.scheduler.last_epoch)
        self.epoch = state["epoch"]
        self.best_metric = state["best_metric"]
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
        if self.task:
            return self._finish_epoch(self._multiway_epoch(epoch))
        mix = negative_mix(epoch, self.cfg.curriculum)
        if self._on_plateau and epoch > 1 and mix != negative_mix(epoch - 1, self.cfg.curriculum):
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
        self._step_schedule(train_loss)
        metrics = EpochMetrics(
            epoch=epoch, train_loss=train_loss, val_loss=float(val["loss"]),
            val_accuracy=(acc.easy + acc.hard) / 2, val_accuracy_easy=acc.easy,
            val_accuracy_hard=acc.hard, threshold=threshold, lr=lr, clips_per_s=clips_per_s,
            hard_fraction=mix.hard + mix.superhard, skipped_samples=skipped)
        return self._finish_epoch(metrics)

    def _step_schedule(self, train_loss: float) -> None:
        if self._on_plateau:
            self.scheduler.step(train_loss)
        else:
            self.scheduler.step()

    def _multiway_epoch(self, epoch: int) -> EpochMetrics:
        """Train and validate one epoch of multi-way matching (``model.kind: framesync``)."""
        torch.manual_seed(self.cfg.train.seed * 100_003 + epoch)
        train_loss, clips_per_s, _ = self._train_epoch(epoch, None)
        val = self.task.validate(self.model, self.loss_fn)
        lr = self.optimizer.param_groups[0]["lr"]
        self._step_schedule(train_loss)
        acc = val.accuracy
        return EpochMetrics(
            epoch=epoch, train_loss=train_loss, val_loss=val.loss,
            val_accuracy=(acc.easy + acc.hard) / 2, val_accuracy_easy=acc.easy,
            val_accuracy_hard=acc.hard, threshold=val.threshold, lr=lr, clips_per_s=clips_per_s,
            hard_fraction=0.0, skipped_samples=0, train_top1=self.task.train_top1,
            val_top1=val.top1, val_offset_within1=val.offsets.within_1_frame,
            val_offset_sign=val.offsets.sign)

    def _finish_epoch(self, metrics: EpochMetrics) -> EpochMetrics:
        """Record the epoch and write ``last.pt`` (and ``best.pt`` when it is the best so far:
        by validation pair accuracy, or for the frame-rate model by ``train.select_by``)."""
        self.epoch = metrics.epoch
        self.history.append(metrics)
        score = selection_score(metrics, self.cfg.train.select_by) if self.task \
            else metrics.val_accuracy
        is_best = score > self.best_metric
        if is_best:
            self.best_metric = score
        state = self.state_dict()
        save_checkpoint(self.last_path, state)
        if is_best:
            save_checkpoint(self.best_path, state)
        return metrics

    def _loader(self, epoch: int, mix: NegativeMix) -> DataLoader:
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
        if len(loader) == 0:
            raise EmptyEpochError(
                f"epoch {epoch} has no training step: {len(pairs)} samples per epoch make no "
                f"full batch of {cfg.train.batch_size}; raise train.samples_per_epoch or lower "
                "train.batch_size")
        return loader

    def _train_epoch(self, epoch: int, mix: NegativeMix | None) -> tuple[float, float, int]:
        loader = self.task.loader(epoch) if self.task else self._loader(epoch, mix)
        self.model.train()
        self.loss_fn.train()
        total, n_clips, skipped = 0.0, 0, 0
        timer = _StepTimer(len(loader))
        for step, batch in enumerate(loader, start=1):
            skipped += int(batch.get("skipped", 0))
            if "video" not in batch:
                continue
            loss = self._step(batch)
            if not math.isfinite(loss):
                raise TrainingDivergedError(
                    f"loss became non-finite at epoch {epoch}, step {step}; training stopped, "
                    f"last good checkpoint: {self.last_path if self.epoch else 'none yet'}")
            n = len(batch["video"])
            total += loss * n
            n_clips += n
            timer.step(n)
            self._report_step(epoch, step, len(loader), loss, timer)
        if n_clips == 0:
            raise EmptyEpochError(
                f"epoch {epoch} trained on nothing: all {skipped} training windows failed to "
                "decode (were the video files moved or changed during training?)")
        return total / n_clips, timer.clips_per_s, skipped

    def _report_step(self, epoch: int, step: int, n_steps: int, loss: float,
                     timer: _StepTimer) -> None:
        if self.callbacks.on_step:
            self.callbacks.on_step(epoch, step, n_steps, loss, timer.clips_per_s)
        if self._estimated or not timer.ready:
            return
        self._estimated = True
        rate = timer.steady_clips_per_s
        train_clips = n_steps * self.cfg.train.batch_size
        n_val = self.task.n_val_items if self.task else len(self._val_pairs)
        val_clips = n_val * _FORWARD_SHARE
        if self.callbacks.on_estimate:
            self.callbacks.on_estimate(EpochEstimate(
                epoch=epoch, steps_timed=timer.steady_steps, clips_per_s=rate,
                seconds_per_epoch=(train_clips + val_clips) / rate, device=self.device.type))

    def _step(self, batch: dict[str, torch.Tensor]) -> float:
        loss = self.task.loss(self.model, self.loss_fn, batch) if self.task else self._loss(batch)
        if not torch.isfinite(loss):
            return loss.item()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        torch.nn.utils.clip_grad_norm_(params, self.cfg.train.grad_clip_norm)
        self.optimizer.step()
        return loss.item()

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The two-stream model's pair loss of a batch."""
        video = batch["video"].to(self.device, non_blocking=True)
        audio = batch["audio"].to(self.device, non_blocking=True)
        y = batch["label"].to(self.device, non_blocking=True)
        groups = batch["video_index"].to(self.device, non_blocking=True)
        # bf16 autocast on CUDA only; the loss is computed in float32 either way.
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.device.type == "cuda"):
            fv, fa = self.model(video, audio)
        return self.loss_fn(fv.float(), fa.float(), y, groups=groups)

    def _log(self, m: EpochMetrics, writer: Any) -> None:
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(m.to_dict()) + "\n")
        if writer is not None:
            for key, value in m.to_dict().items():
                if key != "epoch" and value is not None:
                    writer.add_scalar(key, value, m.epoch)
            writer.flush()


class _StepTimer:
    """Clips per second over an epoch, and over the steps after the first (which pays for
    warm-up: loader workers starting, first allocations), for the per-epoch estimate."""

    def __init__(self, n_steps: int) -> None:
        self.t0 = time.perf_counter()
        self.n_steps = n_steps
        self.steps = 0
        self.clips = 0
        self.t_first = self.t0
        self.clips_first = 0

    def step(self, n_clips: int) -> None:
        self.steps += 1
        self.clips += n_clips
        if self.steps == 1:
            self.t_first, self.clips_first = time.perf_counter(), self.clips

    @property
    def clips_per_s(self) -> float:
        return self.clips / max(time.perf_counter() - self.t0, 1e-9)

    @property
    def ready(self) -> bool:
        """Enough steps timed: ESTIMATE_STEPS after the first, or the whole (short) epoch."""
        return self.steps >= min(1 + ESTIMATE_STEPS, self.n_steps)

    @property
    def steady_steps(self) -> int:
        return self.steps - 1 if self.steps > 1 else 1

    @property
    def steady_clips_per_s(self) -> float:
        if self.steps == 1:
            return self.clips_per_s
        return (self.clips - self.clips_first) / max(time.perf_counter() - self.t_first, 1e-9)


def selection_score(metrics: EpochMetrics, select_by: str) -> float:
    """The frame-rate model's best.pt metric: multi-way top-1, or the whole-clip offset
    search (mean of the shares within one frame and with the right sign; the top-1 when no
    validation clip is long enough to search, which holds for every epoch of a run)."""
    if select_by == "offset":
        score = (metrics.val_offset_within1 + metrics.val_offset_sign) / 2
        if not math.isnan(score):
            return score
    return metrics.val_top1


def _build_scheduler(cfg: Config, optimizer: torch.optim.Optimizer):
    """The paper's lr x factor on a training-loss plateau, or a cosine over the epochs (a
    function of the epoch count, so a resume with more ``train.epochs`` stretches it)."""
    t = cfg.train
    if t.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda e: 0.5 * (1.0 + math.cos(math.pi * min(e, t.epochs) / t.epochs)))
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=t.plateau_factor, patience=t.plateau_patience)


def _build_optimizer(cfg: Config, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    t = cfg.train
    if t.optimizer == "sgd":
        return torch.optim.SGD(params, lr=t.lr, momentum=0.9, weight_decay=t.weight_decay)
    if t.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
    raise ConfigError(f"train.optimizer must be 'sgd' or 'adamw', got {t.optimizer!r}")


def _tensorboard(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dependency, but a broken install must not stop training
        log.warning("tensorboard is not importable; metrics go to metrics.jsonl only")
        return None
    return SummaryWriter(log_dir=str(run_dir / "tb"))
