"""Synchronisation losses on (video, audio) embedding pairs.

Every loss is an ``nn.Module`` with ``forward(fv, fa, y) -> scalar`` where ``fv, fa`` are
(B, D) embeddings and ``y`` is (B,) float, 1 = in sync, 0 = not in sync; and
``pair_score(fv, fa) -> (B,)``, higher = more likely in sync, which evaluation thresholds.
``CrossEntropySyncLoss`` owns parameters: the optimiser must include ``loss.parameters()``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avts.config import LOSS_NAMES


def pair_distance(fv: torch.Tensor, fa: torch.Tensor) -> torch.Tensor:
    """Euclidean distance per row: (B, D), (B, D) -> (B,). Gradient is finite at d = 0."""
    d2 = (fv - fa).pow(2).sum(dim=1)  # (B,)
    return d2.clamp_min(1e-12).sqrt()


class ContrastiveLoss(nn.Module):
    """The paper's loss (Korbar et al. 2018, contrastive loss):

        E = 1/N sum_n [ y_n d_n^2 + (1 - y_n) max(eta - d_n, 0)^2 ],  d_n = ||fv_n - fa_n||_2.

    Embeddings are L2-normalised, so d lies in [0, 2] (orthogonal unit vectors are sqrt(2)
    apart). Positives are pulled to coincide; negatives are pushed until they are at least
    eta = 0.99 apart (a bit short of orthogonal) and then contribute nothing.

    With ``in_batch_negatives`` (not in the paper; off by default) the negative term is also
    applied to every (video of positive i, audio of positive j) in the batch whose videos
    differ: extra easy negatives at no extra network cost, which makes training from scratch
    converge in far fewer steps (the tiny CPU preset relies on it). ``groups`` gives each row's
    source video so that pairs from the same video are never used as negatives.
    """

    def __init__(self, margin: float = 0.99, in_batch_negatives: bool = False) -> None:
        super().__init__()
        self.margin = margin
        self.in_batch_negatives = in_batch_negatives

    def forward(self, fv: torch.Tensor, fa: torch.Tensor, y: torch.Tensor,
                groups: torch.Tensor | None = None) -> torch.Tensor:
        y = y.to(fv.dtype)  # (B,)
        d2 = (fv - fa).pow(2).sum(dim=1)  # (B,), squared directly: smooth at d = 0
        d = d2.clamp_min(1e-12).sqrt()  # (B,)
        hinge = (self.margin - d).clamp_min(0.0)  # (B,)
        loss = (y * d2 + (1.0 - y) * hinge.pow(2)).mean()
        if self.in_batch_negatives and groups is not None:
            loss = loss + self._in_batch_term(fv, fa, y, groups)
        return loss

    def _in_batch_term(self, fv: torch.Tensor, fa: torch.Tensor, y: torch.Tensor,
                       groups: torch.Tensor) -> torch.Tensor:
        pos = y > 0.5
        v, a, g = fv[pos], fa[pos], groups[pos]  # (P, D), (P, D), (P,)
        other = g[:, None] != g[None, :]  # (P, P): pairs from different videos
        if not other.any():
            return fv.sum() * 0.0
        d2 = (v[:, None, :] - a[None, :, :]).pow(2).sum(dim=2)[other]  # (K,)
        return (self.margin - d2.clamp_min(1e-12).sqrt()).clamp_min(0.0).pow(2).mean()

    def pair_score(self, fv: torch.Tensor, fa: torch.Tensor) -> torch.Tensor:
        return -pair_distance(fv, fa)  # (B,)


class CrossEntropySyncLoss(nn.Module):
    """Binary "in sync?" classifier on the pair, trained with BCE: the alternative the paper
    compares the contrastive loss against in its loss ablation.

    Pair features: [fv, fa, |fv - fa|, fv * fa] -> MLP -> one logit.
    """

    def __init__(self, embed_dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.head = nn.Sequential(
            nn.Linear(4 * embed_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 1),
        )

    def logit(self, fv: torch.Tensor, fa: torch.Tensor) -> torch.Tensor:
        pair = torch.cat([fv, fa, (fv - fa).abs(), fv * fa], dim=1)  # (B, 4D)
        return self.head(pair).squeeze(1)  # (B,)

    def forward(self, fv: torch.Tensor, fa: torch.Tensor, y: torch.Tensor,
                groups: torch.Tensor | None = None) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(self.logit(fv, fa), y.to(fv.dtype))

    def pair_score(self, fv: torch.Tensor, fa: torch.Tensor) -> torch.Tensor:
        return self.logit(fv, fa)  # (B,)


class InfoNCELoss(nn.Module):
    """Symmetric InfoNCE over the in-sync pairs of the batch (not in the paper; a modern baseline).

    For the P rows with y = 1, video i must pick its own audio among the P positive audios
    (and vice versa); the other positives' audio serve as negatives, the y = 0 rows are unused.
    With fewer than 2 positives there is nothing to contrast and the loss is 0 (with a graph).
    """

    def __init__(self, temperature: float = 0.07) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, fv: torch.Tensor, fa: torch.Tensor, y: torch.Tensor,
                groups: torch.Tensor | None = None) -> torch.Tensor:
        keep = y > 0.5  # (B,)
        n_pos = int(keep.sum())
        if n_pos < 2:
            return fv.sum() * 0.0 + fa.sum() * 0.0
        v = F.normalize(fv[keep], dim=1)  # (P, D)
        a = F.normalize(fa[keep], dim=1)  # (P, D)
        logits = v @ a.T / self.temperature  # (P, P); row i: video i against all audios
        target = torch.arange(n_pos, device=fv.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))

    def pair_score(self, fv: torch.Tensor, fa: torch.Tensor) -> torch.Tensor:
        return F.cosine_similarity(fv, fa, dim=1)  # (B,)


def build_loss(
    name: str, margin: float = 0.99, embed_dim: int = 128, temperature: float = 0.07,
    in_batch_negatives: bool = False,
) -> nn.Module:
    """``"contrastive"`` (paper), ``"cross_entropy"`` or ``"infonce"``."""
    if name == "contrastive":
        return ContrastiveLoss(margin, in_batch_negatives)
    if name == "cross_entropy":
        return CrossEntropySyncLoss(embed_dim)
    if name == "infonce":
        return InfoNCELoss(temperature)
    raise ValueError(f"unknown loss {name!r} (known: {', '.join(LOSS_NAMES)})")


class MultiwayLoss(nn.Module):
    """Multi-way matching (Chung et al. 2019, "Perfect match"): for one video window, pick the
    in-sync audio among K time-shifted audio windows of the SAME video.

    ``forward(fv (B, D), fa (B, K, D), target (B,) long)``: logits are cosine similarities over
    ``temperature``, cross-entropy on the index of the true shift. Every candidate comes from the
    same recording, so what the speaker looks or sounds like cannot tell them apart: only timing
    can (the pairwise losses above can be solved by identity alone).
    """

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = temperature

    def logits(self, fv: torch.Tensor, fa: torch.Tensor) -> torch.Tensor:
        v = F.normalize(fv, dim=-1).unsqueeze(1)  # (B, 1, D)
        a = F.normalize(fa, dim=-1)  # (B, K, D)
        return (v * a).sum(dim=-1) / self.temperature  # (B, K)

    def forward(self, fv: torch.Tensor, fa: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.logits(fv, fa), target)

    def pair_score(self, fv: torch.Tensor, fa: torch.Tensor) -> torch.Tensor:
        return F.cosine_similarity(fv, fa, dim=1)  # (B,)
