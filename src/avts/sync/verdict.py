"""Verdict from tolerances, and drift from the timeline.

Default tolerances: ITU-R BT.1359-1 (1998), "Relative timing of sound and vision for
broadcasting". It states timing as *sound before picture* (positive there = audio early):
detectability +45 ms / -125 ms, acceptability +90 ms / -185 ms. In avts a positive offset means
the audio is late, so the acceptability thresholds read: in sync when the audio is at most
90 ms early and at most 185 ms late, i.e. ``-90 <= offset_ms <= +185``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BT1359_ACCEPT_EARLY_MS = 90.0  # sound before picture, acceptability threshold
BT1359_ACCEPT_LATE_MS = 185.0  # sound after picture, acceptability threshold
BT1359_DETECT_EARLY_MS = 45.0  # detectability thresholds, for stricter checks
BT1359_DETECT_LATE_MS = 125.0

IN_SYNC, OUT_OF_SYNC, INCONCLUSIVE = "in-sync", "out-of-sync", "inconclusive"
MIN_DRIFT_SEGMENTS = 3
DRIFT_T_STAT = 3.0  # slope must be this many standard errors away from zero


@dataclass(frozen=True)
class Tolerances:
    early_ms: float = BT1359_ACCEPT_EARLY_MS  # audio may lead the picture by this much
    late_ms: float = BT1359_ACCEPT_LATE_MS  # audio may lag the picture by this much


def verdict(offset_ms: float | None, confidence: float, tolerances: Tolerances,
            min_confidence: float) -> tuple[str, str | None]:
    """``(verdict, reason)``; the reason is set only for ``inconclusive``."""
    if offset_ms is None or not math.isfinite(offset_ms):
        return INCONCLUSIVE, "no offset estimate"
    if confidence < min_confidence:
        return INCONCLUSIVE, (f"confidence {confidence:.2f} is below {min_confidence:.2f}: "
                              "too little audio-visual evidence")
    in_sync = -tolerances.early_ms <= offset_ms <= tolerances.late_ms
    return (IN_SYNC if in_sync else OUT_OF_SYNC), None


def drift_ms_per_min(times_s: np.ndarray, offsets_ms: np.ndarray, weights: np.ndarray,
                     min_change_ms: float = 0.0) -> float | None:
    """Slope of a weighted least-squares line through the stretch offsets, in ms per minute;
    None with fewer than three stretches, a slope within ``DRIFT_T_STAT`` standard errors of 0,
    or a total change over the file below ``min_change_ms``."""
    t, y, w = (np.asarray(a, dtype=np.float64) for a in (times_s, offsets_ms, weights))
    ok = np.isfinite(t) & np.isfinite(y) & np.isfinite(w) & (w > 0)
    t, y, w = t[ok], y[ok], w[ok]
    if len(t) < MIN_DRIFT_SEGMENTS or np.ptp(t) <= 0:
        return None
    tm, ym = np.average(t, weights=w), np.average(y, weights=w)
    sxx = float(np.sum(w * (t - tm) ** 2))
    slope = float(np.sum(w * (t - tm) * (y - ym)) / sxx)
    resid = y - (ym + slope * (t - tm))
    dof = len(t) - 2
    sigma2 = float(np.sum(w * resid**2)) / dof if dof > 0 else 0.0
    se = math.sqrt(sigma2 / sxx)
    if se > 0 and abs(slope) / se < DRIFT_T_STAT:
        return None
    if abs(slope) * float(np.ptp(t)) < min_change_ms:
        return None
    return slope * 60.0
