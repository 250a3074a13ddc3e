"""Curriculum of negatives (paper, Sec. 3.3): easy negatives first, then a share of hard ones.

Paper default: epochs 1-50 use easy negatives only (audio from another video); from epoch 51
on, negatives are easy:hard = 3:1. Optionally a share of the hard negatives is super-hard
(overlapping windows shifted by a fraction of a second).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from avts.config import CurriculumConfig

_SUM_TOLERANCE = 1e-9


@dataclass(frozen=True)
class NegativeMix:
    """Shares of the negatives of each kind; they sum to 1."""

    easy: float  # audio from another video
    hard: float  # same video, non-overlapping (at least the minimum shift away)
    superhard: float  # same video, overlapping windows, small shift

    def __post_init__(self) -> None:
        shares = (self.easy, self.hard, self.superhard)
        if any(not math.isfinite(s) or s < 0.0 for s in shares):
            raise ValueError(f"negative shares must be finite and >= 0, got {shares}")
        if abs(sum(shares) - 1.0) > _SUM_TOLERANCE:
            raise ValueError(f"negative shares must sum to 1, got {shares}")

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.easy, self.hard, self.superhard)


EASY_ONLY = NegativeMix(easy=1.0, hard=0.0, superhard=0.0)


def negative_mix(epoch: int, cfg: CurriculumConfig) -> NegativeMix:
    """Shares of easy, hard and super-hard negatives for a 1-based ``epoch``. The config's ranges
    are checked when it is loaded (``CurriculumConfig.validate``); shares out of range still
    fail here, in ``NegativeMix``."""
    if epoch < 1:
        raise ValueError(f"epochs are 1-based, got {epoch}")
    if epoch <= cfg.easy_only_epochs:
        return EASY_ONLY
    superhard = cfg.hard_fraction * cfg.superhard_share
    hard = cfg.hard_fraction - superhard
    return NegativeMix(easy=1.0 - cfg.hard_fraction, hard=hard, superhard=superhard)
