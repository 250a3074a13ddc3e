"""Score curves over audio shifts: aggregation, sub-step peak, sharpness, calibration.

A curve holds one score per candidate shift (higher = more likely in sync). As in SyncNet
(Chung and Zisserman 2016), per-window curves are averaged *before* the best shift is chosen,
so that windows without a clear event do not vote with a random peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """Logistic map from the raw peak prominence, and the share of windows whose region is a
    detected face, to P(|error| <= 1 frame). The face term is there because the same
    prominence means a hit far more often on a talking head than on other content."""

    slope: float
    midpoint: float
    face_slope: float = 0.0  # added to the logit per unit of face share

    def __call__(self, score: float, face_share: float | None = None) -> float:
        if not math.isfinite(score):
            return 0.0
        logit = self.slope * (score - self.midpoint) + self.face_slope * (face_share or 0.0)
        return 1.0 / (1.0 + math.exp(-logit))


def aggregate(curves: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean of per-window curves ``(n_windows, n_shifts)``; rows with NaN are left out."""
    curves = np.asarray(curves, dtype=np.float64)
    ok = np.all(np.isfinite(curves), axis=1)
    if weights is not None:
        ok &= np.asarray(weights) > 0
    if not ok.any():
        return np.full(curves.shape[1], np.nan)
    w = np.ones(ok.sum()) if weights is None else np.asarray(weights, dtype=np.float64)[ok]
    return (curves[ok] * w[:, None]).sum(axis=0) / w.sum()


def parabolic_peak(shifts: np.ndarray, curve: np.ndarray) -> float:
    """Shift of the curve's maximum, refined by the parabola through it and its neighbours
    (the neighbours may be unevenly spaced). Falls back to the grid point at the ends."""
    i = int(np.nanargmax(curve))
    if i == 0 or i == len(curve) - 1:
        return float(shifts[i])
    x0, x1, x2 = (float(v) for v in shifts[i - 1 : i + 2])
    y0, y1, y2 = (float(v) for v in curve[i - 1 : i + 2])
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
    b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / denom
    if a >= 0:  # not a maximum (flat or numerically odd): keep the grid point
        return x1
    vertex = -b / (2 * a)
    return float(min(max(vertex, x0), x2))


def prominence(curve: np.ndarray) -> float:
    """Peak height over the median, in standard deviations of the curve (SyncNet's
    median-minus-min distance, made scale-free so one calibration fits any model)."""
    curve = np.asarray(curve, dtype=np.float64)
    curve = curve[np.isfinite(curve)]
    if curve.size < 3:
        return float("nan")
    spread = float(np.std(curve))
    if spread <= 1e-12:
        return 0.0
    return float((curve.max() - np.median(curve)) / spread)


def merge_grids(coarse_ms: np.ndarray, fine_ms: np.ndarray) -> np.ndarray:
    """Sorted union of two shift grids (in whole milliseconds)."""
    return np.unique(np.concatenate([np.round(coarse_ms), np.round(fine_ms)]))


def shift_grid(search_ms: float, step_ms: float, center_ms: float = 0.0,
               limit_ms: float | None = None) -> np.ndarray:
    """Shifts ``center_ms + k * step_ms`` within ``center_ms +- search_ms`` (and ``+-limit_ms``)."""
    k = int(math.floor(search_ms / step_ms + 1e-9))
    grid = center_ms + step_ms * np.arange(-k, k + 1)
    if limit_ms is not None:
        grid = grid[np.abs(grid) <= limit_ms + 1e-9]
    return grid


EDGE_SCORE_FACTOR = 0.5  # a peak at the search range's edge needs twice the usual evidence


def at_edge(peak_ms: float, search_ms: float, step_ms: float) -> bool:
    """Is the peak at, or within one step of, either end of ``-search_ms..+search_ms``?"""
    return abs(peak_ms) >= search_ms - step_ms - 1e-6


def edge_discounted(score: float, peak_ms: float, search_ms: float, step_ms: float) -> float:
    """The score that confidence is read from: at the edge of the search range the curve may
    still be rising, its true peak outside the range, so the score counts half (a confident
    verdict there takes evidence twice as strong as elsewhere)."""
    return score * EDGE_SCORE_FACTOR if at_edge(peak_ms, search_ms, step_ms) else score
