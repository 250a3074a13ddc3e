"""Offset of one file: stream windows, score shifts, aggregate, pick, calibrate, judge."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from avts.media.probe import probe, require_av
from avts.media.stream import Window, stream_windows
from avts.sync.curves import (
    Calibration,
    aggregate,
    at_edge,
    edge_discounted,
    merge_grids,
    parabolic_peak,
    prominence,
    shift_grid,
)
from avts.sync.signal import is_silent, is_still
from avts.sync.verdict import INCONCLUSIVE, Tolerances, drift_ms_per_min, verdict
from avts.sync.windows import group_segments, plan_windows
from avts.types import SyncResult, SyncWindow

MAX_SEARCH_MS = 5000.0
_BATCH = 16  # windows prepared together (one forward pass of the video network)


class Method(Protocol):
    name: str
    calibration: Calibration
    clip_s: float
    fps: float
    size_hw: tuple[int, int]
    sr_hz: int
    step_ms: float  # coarse shift step
    fine_ms: float  # fine shift step around the best coarse shift

    def prepare(self, windows: list[Window], pad_s: float) -> list: ...

    def curves(self, states: list, shifts_ms: np.ndarray, pad_s: float) -> np.ndarray: ...


@dataclass(frozen=True)
class SyncOptions:
    search_ms: float = 1000.0  # offsets from -search_ms to +search_ms are tried (max 5000)
    hop_s: float | None = None  # window spacing; None: ~16 windows, at most one per 2 s
    segment_s: float = 5.0  # timeline stretch length (windows grouped by start time)
    tolerances: Tolerances = Tolerances()  # ITU-R BT.1359 acceptability by default
    min_confidence: float = 0.3  # below this the verdict is "inconclusive"
    snap_to_frames: bool = True  # window starts on the file's frame timestamps (no bias)


@dataclass
class _Evidence:
    starts_s: np.ndarray  # every window's start
    usable: np.ndarray  # (n,) bool: the window has sound and motion
    states: list  # the method's per-window state, usable windows only
    silent: int  # windows left out for silent audio
    still: int  # windows left out for a still picture


def detect(path: str | Path, method: Method, options: SyncOptions = SyncOptions(),
           progress: Callable[[int, int], None] | None = None) -> SyncResult:
    path = Path(path)
    info = probe(path)
    require_av(info, 0.0)
    plan = plan_windows(info.start_s, info.duration_s, method.clip_s,
                        min(options.search_ms, MAX_SEARCH_MS) / 1000.0, options.hop_s,
                        name=str(path), frame_grid=_frame_grid(info, options))
    pad_s = math.floor(plan.search_s * 100 + 1e-6) / 100  # whole spectrogram hops
    evidence = _collect(path, method, plan.starts_s, pad_s, progress)
    base = dict(file=path, fps=float(info.video_fps or 0.0), method=method.name,
                search_ms=pad_s * 1000.0, tolerance_early_ms=options.tolerances.early_ms,
                tolerance_late_ms=options.tolerances.late_ms,
                n_windows=int(evidence.usable.sum()), n_windows_total=len(plan.starts_s))
    if not evidence.states:
        return SyncResult(offset_ms=None, offset_frames=None, confidence=0.0, score=float("nan"),
                          verdict=INCONCLUSIVE, timeline=(), drift_ms_per_min=None,
                          reason=_no_signal_reason(evidence), **base)
    grid, curves, n_coarse = _score_curves(method, evidence.states, pad_s)
    mean = aggregate(curves)
    offset_ms = parabolic_peak(grid, mean)
    score = prominence(mean[n_coarse])
    faces = face_share(evidence.states)
    confidence = method.calibration(edge_discounted(score, offset_ms, pad_s * 1000.0,
                                                    method.step_ms), faces)
    timeline = _timeline(method, evidence, grid, curves, n_coarse, options.segment_s)
    frame_ms = 1000.0 / base["fps"] if base["fps"] else 40.0
    drift = drift_ms_per_min(np.array([(w.start_s + w.end_s) / 2 for w in timeline]),
                             np.array([np.nan if w.offset_ms is None else w.offset_ms
                                       for w in timeline]),
                             np.array([w.confidence for w in timeline]), min_change_ms=frame_ms)
    result, reason = verdict(offset_ms, confidence, options.tolerances, options.min_confidence)
    if reason and at_edge(offset_ms, pad_s * 1000.0, method.step_ms):
        reason += f"; the peak lies at the edge of the +-{pad_s * 1000.0:g} ms search range"
    return SyncResult(offset_ms=offset_ms, offset_frames=offset_ms / frame_ms,
                      confidence=confidence, score=score, verdict=result, timeline=timeline,
                      drift_ms_per_min=drift, reason=reason, face_share=faces, **base)


def face_share(states: list) -> float | None:
    """Share of the windows whose region is a detected face's mouth; None for a method
    whose windows have no region (its states carry no ``face``)."""
    flags = [getattr(state, "face", None) for state in states]
    if not flags or any(f is None for f in flags):
        return None
    return float(np.mean(flags))


def _frame_grid(info, options: SyncOptions) -> tuple[float, float] | None:
    if not options.snap_to_frames or not info.video_fps:
        return None
    return float(info.video_start_s or 0.0), float(info.video_fps)


def _collect(path: Path, method: Method, starts_s: np.ndarray, pad_s: float,
             progress) -> _Evidence:
    usable = np.zeros(len(starts_s), dtype=bool)
    states: list = []
    batch: list[Window] = []
    silent = still = 0
    windows = stream_windows(path, starts_s, method.clip_s, method.fps, method.size_hw,
                             method.sr_hz, pad_s, progress=progress)
    for i, window in enumerate(windows):
        quiet, frozen = is_silent(window.audio), is_still(window.frames)
        silent, still = silent + quiet, still + frozen
        if quiet or frozen:
            continue
        usable[i] = True
        batch.append(window)
        if len(batch) == _BATCH:
            states += method.prepare(batch, pad_s)
            batch = []
    if batch:
        states += method.prepare(batch, pad_s)
    return _Evidence(starts_s, usable, states, silent, still)


def _no_signal_reason(evidence: _Evidence) -> str:
    n = len(evidence.starts_s)
    if evidence.silent == n:
        return "the audio is silent"
    if evidence.still == n:
        return "the picture does not change"
    return "no window has both sound and motion"


def _score_curves(method: Method, states: list, pad_s: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Curves on the coarse grid, plus fine steps around the best coarse shift of the mean
    curve; returns the merged grid, the curves on it, and which grid points are coarse."""
    search_ms = pad_s * 1000.0
    coarse = shift_grid(search_ms, method.step_ms)
    coarse_curves = method.curves(states, coarse, pad_s)
    if method.fine_ms >= method.step_ms:
        return coarse, coarse_curves, np.ones(len(coarse), dtype=bool)
    best = coarse[int(np.nanargmax(aggregate(coarse_curves)))]
    fine = shift_grid(method.step_ms, method.fine_ms, center_ms=best, limit_ms=search_ms)
    fine = fine[~np.isin(np.round(fine), np.round(coarse))]
    grid = merge_grids(coarse, fine)
    curves = np.empty((len(states), len(grid)))
    curves[:, np.isin(grid, np.round(coarse))] = coarse_curves
    if len(fine):
        curves[:, np.isin(grid, np.round(fine))] = method.curves(states, fine, pad_s)
    return grid, curves, np.isin(grid, np.round(coarse))


def _timeline(method: Method, evidence: _Evidence, grid: np.ndarray, curves: np.ndarray,
              coarse: np.ndarray, segment_s: float = 5.0) -> tuple[SyncWindow, ...]:
    rows = np.full(len(evidence.starts_s), -1)
    rows[evidence.usable] = np.arange(int(evidence.usable.sum()))
    out = []
    for idx in group_segments(evidence.starts_s, segment_s):
        start_s, end_s = float(evidence.starts_s[idx[0]]), float(evidence.starts_s[idx[-1]])
        end_s += method.clip_s
        used = rows[idx][rows[idx] >= 0]
        if not len(used):
            out.append(SyncWindow(start_s, end_s, None, 0.0))
            continue
        mean = aggregate(curves[used])
        peak_ms = parabolic_peak(grid, mean)
        score = edge_discounted(prominence(mean[coarse]), peak_ms, float(np.abs(grid).max()),
                                method.step_ms)
        faces = face_share([evidence.states[i] for i in used])
        out.append(SyncWindow(start_s, end_s, peak_ms, method.calibration(score, faces)))
    return tuple(out)
