"""Where the analysis windows go, and how they are grouped into timeline stretches."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from avts.errors import MediaTooShortError

MIN_SEARCH_S = 0.1  # below this a file is too short to search for an offset at all
AUTO_WINDOWS = 16  # short files get about this many windows ...
MAX_HOP_S = 2.0  # ... long files one window start every this many seconds
MIN_HOP_S = 0.25


@dataclass(frozen=True)
class WindowPlan:
    starts_s: np.ndarray  # window starts (video frames from start, audio shifted around it)
    clip_s: float  # window length
    search_s: float  # offsets searched: -search_s .. +search_s (may be less than asked)


def plan_windows(span_start_s: float, span_s: float, clip_s: float, search_s: float,
                 hop_s: float | None = None, *, name: str = "the file",
                 frame_grid: tuple[float, float] | None = None) -> WindowPlan:
    """Windows ``[t, t + clip_s)`` whose audio shifted by up to ``search_s`` either way stays in
    the usable span. A file too short for the full search range gets a narrower one. With
    ``frame_grid=(first_frame_s, fps)`` each start is moved onto a frame's timestamp."""
    room_s = span_s - clip_s
    if room_s < 2 * MIN_SEARCH_S:
        raise MediaTooShortError(
            f"{name} is too short to measure an offset: {span_s:.2f} s usable, need more than "
            f"{clip_s + 2 * MIN_SEARCH_S:.2f} s (one {clip_s:g} s window plus a search range)")
    search_s = min(search_s, room_s / 2)
    lo, hi = span_start_s + search_s, span_start_s + span_s - clip_s - search_s
    if hop_s is None:
        hop_s = min(MAX_HOP_S, max(MIN_HOP_S, (hi - lo) / (AUTO_WINDOWS - 1)))
    n = 1 + int(math.floor((hi - lo) / hop_s + 1e-9))
    starts = lo + hop_s * np.arange(n)
    # centre the grid in the room left over, so both ends of the file are sampled alike
    starts += (hi - starts[-1]) / 2
    if frame_grid is not None and frame_grid[1] > 0:
        starts = snap_to_frames(starts, lo, hi, *frame_grid)
    return WindowPlan(starts_s=starts, clip_s=clip_s, search_s=search_s)


def snap_to_frames(starts_s: np.ndarray, lo_s: float, hi_s: float, first_frame_s: float,
                   fps: float) -> np.ndarray:
    """Starts moved to the nearest frame timestamp (kept within ``[lo_s, hi_s]`` when a frame
    lies there). Why: a window's video is the frames on screen at ``t + i/fps``; between two
    frames that is the earlier one, so an unaligned start sees its video up to a frame early
    (half a frame on average), while its audio starts exactly at ``t``. Every estimate then
    came out about half a frame too early; on the frame grid the two line up."""
    period = 1.0 / fps
    k = np.round((starts_s - first_frame_s) / period)
    snapped = first_frame_s + k * period
    snapped = np.where(snapped < lo_s - 1e-9, snapped + period, snapped)
    snapped = np.where(snapped > hi_s + 1e-9, snapped - period, snapped)
    if not (np.all(snapped >= lo_s - 1e-9) and np.all(snapped <= hi_s + 1e-9)):
        return starts_s  # the room is narrower than a frame: keep the plain grid
    return np.unique(snapped)


def group_segments(starts_s: np.ndarray, segment_s: float) -> list[np.ndarray]:
    """Indices of consecutive windows split into ``round(span / segment_s)`` (at least one)
    stretches of near-equal window counts, so no stretch is left with a stray window."""
    if len(starts_s) == 0:
        return []
    span_s = float(starts_s[-1] - starts_s[0])
    n_groups = min(len(starts_s), max(1, round(span_s / segment_s)))
    return [g for g in np.array_split(np.arange(len(starts_s)), n_groups) if len(g)]
