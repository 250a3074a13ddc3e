"""What the trainer does differently for the frame-rate model (``model.kind: framesync``,
``train.loss: multiway``): its epoch loader, its batch loss and its validation.

A step runs each stream once per item: ``video_steps`` over the item's video frames (the
context margins are cut off afterwards), ``audio_steps`` over the audio around it; then every
scoring window (``win_frames`` frames, every ``win_stride``) picks its audio among the
``2 * max_shift + 1`` shifted windows of the same item (``window_logits``), cross-entropy on the
true shift (Chung et al. 2019, "Perfect match"). Validation reports the multi-way top-1 on a
fixed set of validation items (central crop, no augmentation), the whole-clip offset search
on the validation clips (``avts.eval.framesync.clip_offsets``, over the +-1 s that ``avts sync``
searches by default) and, so that the checkpoint keeps a meaningful pair threshold, the pair
accuracies on fixed validation pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from avts.config import Config
from avts.data.multiway import MultiwaySpec, candidate_mask, candidate_windows
from avts.data.multiway_items import MultiwayDataset, draw, item_spec, window_spec
from avts.data.pairs import fixed_eval_pairs
from avts.data.prepare import pair_window_s
from avts.data.regionstore import RegionStore
from avts.errors import EmptyEpochError
from avts.eval.framesync import ClipOffsets, clip_offsets
from avts.eval.sync import accuracy_by_kind, choose_threshold, score_pairs
from avts.features.audio import log_mel
from avts.losses import MultiwayLoss
from avts.models.framesync import FrameSync, video_input
from avts.types import SyncAccuracy

SEARCH_S = 1.0  # the offset search of the validation clips: avts sync's default range


def window_logits(v: torch.Tensor, a: torch.Tensor, spec: MultiwaySpec, wspec: MultiwaySpec,
                  stride: int, loss_fn: MultiwayLoss, bounds: torch.Tensor | None = None
                  ) -> torch.Tensor:
    """Multi-way logits for every scoring window of ``wspec.n_frames`` frames (every ``stride``
    frames) inside the item's ``spec.n_frames``: (n_windows * B, K), window-major.

    v: (B, n_frames, D) scored video steps; a: (B, audio_frames, D) audio steps of the item.
    With ``spec.whole_clips``, ``bounds`` (B, 2) (``multiway.audio_bounds``) leaves the
    candidates that would score audio outside the clip out of the softmax (logit -inf).
    """
    out = []
    for w in range(0, spec.n_frames - wspec.n_frames + 1, stride):
        vw = v[:, w:w + wspec.n_frames]  # (B, win, D)
        aw = a[:, w:w + wspec.audio_frames]  # the audio this window's candidates need
        cand = candidate_windows(aw, wspec)  # (B, K, win, D)
        out.append(loss_fn.logits(FrameSync.window_embedding(vw),
                                  FrameSync.window_embedding(cand)))
    logits = torch.cat(out)
    if spec.whole_clips and bounds is not None:
        keep = candidate_mask(bounds.to(logits.device), spec, wspec, stride)
        logits = logits.masked_fill(~keep, float("-inf"))
    return logits


def item_logits(model: FrameSync, loss_fn: MultiwayLoss, video: torch.Tensor,
                audio: torch.Tensor, cfg: Config, bounds: torch.Tensor | None = None
                ) -> torch.Tensor:
    """(n_windows * B, K) logits of a batch of items; the true shift is index ``max_shift``.

    video: (B, V, S, S) grey levels; audio: (B, n) samples, on the model's device; bounds:
    (B, 2) the items' own audio frames (used with ``data.multiway.whole_clips``).
    """
    spec, dev = item_spec(cfg), video.device
    x = video_input(video)  # (B, 2, V, S, S)
    mel = log_mel(audio, cfg.data.mel).unsqueeze(1)  # (B, 1, M, F)
    # bf16 autocast on CUDA only; the logits are computed in float32 either way.
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
        v, a = model.video_steps(x), model.audio_steps(mel)
    v = v.float()[:, spec.margin:spec.margin + spec.n_frames]  # (B, n_frames, D)
    a = a.float()[:, :spec.audio_frames]  # (B, audio_frames, D)
    return window_logits(v, a, spec, window_spec(cfg), cfg.data.multiway.win_stride, loss_fn,
                         bounds)


@dataclass(frozen=True)
class MultiwayValidation:
    loss: float  # mean multi-way cross-entropy over the validation windows
    top1: float  # share of validation windows whose best shift is the true one
    threshold: float  # pair-score threshold chosen on the validation pairs
    accuracy: SyncAccuracy  # validation pairs at that threshold
    offsets: ClipOffsets  # whole-clip offset search on the validation clips


class MultiwayTask:
    """Loader, loss and validation of multi-way training on ``RegionStore``s."""

    def __init__(self, cfg: Config, train_store: RegionStore, val_store: RegionStore,
                 device: torch.device) -> None:
        self.cfg = cfg
        self.train_store, self.val_store = train_store, val_store
        self.device = device
        self.spec = item_spec(cfg)
        rng = np.random.default_rng([cfg.train.seed, 1_000_003])
        self.val_items = draw(rng, val_store, cfg.train.val_samples, self.spec)
        self.val_pairs = fixed_eval_pairs(rng, val_store.spans, max(cfg.train.val_samples // 4, 1),
                                          pair_window_s(cfg), cfg.data.pairs)
        self._hits, self._windows = 0, 0  # training top-1 of the current epoch

    @property
    def n_val_items(self) -> int:
        return len(self.val_items) + len(self.val_pairs)

    def loader(self, epoch: int) -> DataLoader:
        cfg = self.cfg
        rng = np.random.default_rng([cfg.train.seed, epoch])
        n = cfg.train.samples_per_epoch
        items = draw(rng, self.train_store, n, self.spec)
        partners = draw(rng, self.train_store, n, self.spec) if cfg.data.multiway.audio_mix else []
        dataset = MultiwayDataset(self.train_store, items, self.spec, cfg.data.multiway,
                                  cfg.train.seed * 100_003 + epoch, partners)
        loader = DataLoader(dataset, batch_size=cfg.train.batch_size,
                            num_workers=cfg.train.num_workers, drop_last=True, shuffle=False)
        if len(loader) == 0:
            raise EmptyEpochError(f"epoch {epoch} has no training step: {n} samples per epoch "
                                  f"make no full batch of {cfg.train.batch_size}")
        self._hits, self._windows = 0, 0
        return loader

    def logits(self, model: FrameSync, loss_fn: MultiwayLoss,
               batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(n_windows * B, K) logits of a batch; the true shift is index ``max_shift``."""
        video = batch["video"].to(self.device, non_blocking=True)
        audio = batch["audio"].to(self.device, non_blocking=True)
        return item_logits(model, loss_fn, video, audio, self.cfg, batch.get("bounds"))

    def loss(self, model: FrameSync, loss_fn: MultiwayLoss,
             batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Training loss of a batch; counts its windows for ``train_top1``."""
        logits = self.logits(model, loss_fn, batch)
        target = torch.full((len(logits),), self.spec.max_shift, device=logits.device)
        self._hits += int((logits.detach().argmax(1) == target).sum())
        self._windows += len(logits)
        return F.cross_entropy(logits, target)

    @property
    def train_top1(self) -> float:
        return self._hits / max(self._windows, 1)

    @torch.no_grad()
    def validate(self, model: FrameSync, loss_fn: MultiwayLoss) -> MultiwayValidation:
        model.eval()
        dataset = MultiwayDataset(self.val_store, self.val_items, self.spec,
                                  self.cfg.data.multiway)
        total, hits, windows = 0.0, 0, 0
        for batch in DataLoader(dataset, batch_size=self.cfg.train.batch_size):
            logits = self.logits(model, loss_fn, batch)
            target = torch.full((len(logits),), self.spec.max_shift, device=logits.device)
            total += float(F.cross_entropy(logits, target, reduction="sum"))
            hits += int((logits.argmax(1) == target).sum())
            windows += len(logits)
        pairs = score_pairs(model, loss_fn, self.val_store, self.val_pairs, self.cfg.data.mel,
                            self.device)
        threshold = choose_threshold(pairs["score"], pairs["kind"])
        offsets = clip_offsets(model, self.val_store, self.cfg.data.mel, self.device, SEARCH_S)
        return MultiwayValidation(
            loss=total / max(windows, 1), top1=hits / max(windows, 1), threshold=threshold,
            accuracy=accuracy_by_kind(pairs["score"], pairs["kind"], threshold), offsets=offsets)
