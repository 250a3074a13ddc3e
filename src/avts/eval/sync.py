"""Sync classification: score pairs, choose a threshold, report accuracy per negative kind."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from avts.config import MelConfig
from avts.data.dataset import ClipStore, PairDataset, collate_pairs
from avts.data.pairs import KINDS, PairSpec, kind_code
from avts.data.regionstore import RegionStore
from avts.eval.framesync import score_window_pairs
from avts.types import SyncAccuracy


@torch.no_grad()
def score_pairs(
    model: torch.nn.Module,
    loss_fn: torch.nn.Module,
    store: ClipStore | RegionStore,
    pairs: Sequence[PairSpec],
    mel: MelConfig,
    device: torch.device,
    batch_size: int = 64,
    num_workers: int = 0,
) -> dict[str, np.ndarray]:
    """Run both networks over ``pairs``; returns ``score`` (higher = in sync), ``label``,
    ``kind`` (``pairs.kind_code``) and the mean ``loss``, for the pairs that decoded.
    The frame-rate model (a ``RegionStore``) scores windows of its per-frame features instead
    (``avts.eval.framesync``): the one place evaluation tells the two models apart."""
    if isinstance(store, RegionStore):
        return score_window_pairs(model, store, pairs, mel, device)
    model.eval()
    loader = DataLoader(PairDataset(store, pairs, mel), batch_size=batch_size,
                        num_workers=num_workers, collate_fn=collate_pairs)
    scores, labels, kinds, losses = [], [], [], []
    for batch in loader:
        if "video" not in batch:
            continue
        y = batch["label"].to(device)
        fv, fa = model(batch["video"].to(device), batch["audio"].to(device))
        losses.append(float(loss_fn(fv.float(), fa.float(), y)) * len(y))
        scores.append(loss_fn.pair_score(fv.float(), fa.float()).cpu().numpy())
        labels.append(batch["label"].numpy())
        kinds.append(batch["kind"].numpy())
    n = sum(len(s) for s in scores)
    return {
        "score": np.concatenate(scores) if scores else np.zeros(0),
        "label": np.concatenate(labels) if labels else np.zeros(0),
        "kind": np.concatenate(kinds) if kinds else np.zeros(0, dtype=int),
        "loss": np.array(sum(losses) / max(n, 1)),
    }


def _kind_mask(kind: np.ndarray, name: str) -> np.ndarray:
    return kind == kind_code(name)


def balanced_accuracy(scores: np.ndarray, kind: np.ndarray, threshold: float,
                      negatives: Sequence[str]) -> float:
    """Mean of the positive recall and the mean true-negative rate over ``negatives``."""
    pos = scores[_kind_mask(kind, "positive")] >= threshold
    tnr = [np.mean(scores[_kind_mask(kind, k)] < threshold) for k in negatives
           if _kind_mask(kind, k).any()]
    if not len(pos) or not tnr:
        return float("nan")
    return 0.5 * (float(np.mean(pos)) + float(np.mean(tnr)))


def choose_threshold(scores: np.ndarray, kind: np.ndarray,
                     negatives: Sequence[str] = ("easy", "hard")) -> float:
    """Threshold maximising balanced accuracy of positives vs. ``negatives`` (midpoints between
    sorted scores are the only candidates that matter)."""
    used = _kind_mask(kind, "positive") | np.isin(kind, [kind_code(k) for k in negatives])
    values = np.unique(scores[used])
    if len(values) < 2:
        return float(values[0]) if len(values) else 0.0
    candidates = (values[1:] + values[:-1]) / 2
    accs = [balanced_accuracy(scores, kind, t, negatives) for t in candidates]
    return float(candidates[int(np.nanargmax(accs))])


def accuracy_by_kind(scores: np.ndarray, kind: np.ndarray, threshold: float) -> SyncAccuracy:
    """Accuracy of positives vs. each negative kind (balanced: half positives, half negatives)."""
    def acc(neg: str) -> float:
        return balanced_accuracy(scores, kind, threshold, [neg])

    pos = scores[_kind_mask(kind, "positive")]
    return SyncAccuracy(
        easy=acc("easy"),
        hard=acc("hard"),
        superhard=acc("superhard"),
        positive=float(np.mean(pos >= threshold)) if len(pos) else float("nan"),
        threshold=threshold,
        n_pairs={k: int(_kind_mask(kind, k).sum()) for k in KINDS},
    )
