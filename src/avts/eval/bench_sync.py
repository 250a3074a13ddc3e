"""bench-sync: how well offset detection recovers offsets that we introduce ourselves.

In-sync videos are copied with their audio delayed by known amounts (``make_shifted_copy``:
video packets untouched, positive offset = audio late); then every copy is measured by every
method, all measurements handed to one callable (which may run them in parallel), and the
errors are scored at each file's own frame rate: the share of copies within one and within
two frames of the true offset, and for nonzero offsets the share whose measured offset has
the right sign. A method that gives no estimate (``offset_ms`` None, or an error) counts as
a miss on every score.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avts.errors import AvtsError, MediaError
from avts.media.probe import probe
from avts.media.remux import make_shifted_copy, output_suffix
from avts.types import BenchSyncCase, BenchSyncResult, BenchSyncScore

log = logging.getLogger(__name__)

Detect = Callable[[Path, str], Any]  # (file, method) -> SyncResult (``offset_ms``, ``verdict``...)
Progress = Callable[[int, int], None]  # (measurements done, total)
Job = tuple[Path, str]  # (shifted copy, method)
# (jobs, progress) -> per job, in job order: its SyncResult, or the AvtsError it raised
MeasureAll = Callable[[Sequence[Job], Progress | None], list[Any]]

_FRAME_EPS = 1e-6  # an error of exactly one frame counts as within one frame


@dataclass(frozen=True)
class _Copy:
    video: Path  # the in-sync original
    fps: float  # its frame rate, the unit of the scores
    offset_ms: float  # the offset introduced (positive: audio late)
    path: Path  # the shifted copy


def run_bench(videos: Sequence[Path], offsets_ms: Sequence[float], methods: Sequence[str],
              measure: MeasureAll, work_dir: Path, progress: Progress | None = None,
              notes: Sequence[str] = ()) -> BenchSyncResult:
    """Shift every video by every offset into ``work_dir``, measure each copy with each
    method through ``measure`` (all jobs at once, so that it may run them in parallel; see
    ``one_by_one``), and score the results (overall and per offset, per method)."""
    notes = list(notes)
    copies, used = _make_copies(videos, offsets_ms, work_dir, notes)
    jobs = [(c, m) for c in copies for m in methods]  # the order of the cases
    results = measure([(c.path, m) for c, m in jobs], progress)
    cases = [_case(c, m, r) for (c, m), r in zip(jobs, results, strict=True)]
    return summarize(cases, offsets_ms, methods, used, notes)


def one_by_one(detect: Detect) -> MeasureAll:
    """A ``MeasureAll`` that calls ``detect(copy, method)`` for each job in turn, here."""

    def measure(jobs: Sequence[Job], progress: Progress | None = None) -> list[Any]:
        results: list[Any] = []
        for done, (copy, method) in enumerate(jobs, 1):
            try:
                results.append(detect(copy, method))
            except AvtsError as err:  # a miss; any other exception stops the bench
                results.append(err)
            if progress is not None:
                progress(done, len(jobs))
        return results

    return measure


def _make_copies(videos: Sequence[Path], offsets_ms: Sequence[float], work_dir: Path,
                 notes: list[str]) -> tuple[list[_Copy], list[Path]]:
    """Every video shifted by every offset, and the videos used; a video that cannot be
    shifted is noted and left out."""
    copies: list[_Copy] = []
    used: list[Path] = []
    for index, video in enumerate(videos):
        try:
            fps = _fps(video)
            folder = work_dir / f"{index:03d}_{video.stem}"  # same-named files stay apart
            shifted = [_Copy(video, fps, off, _shifted(video, folder, off)) for off in offsets_ms]
        except MediaError as err:
            notes.append(f"skipped {video}: {err}")
            continue
        copies += shifted
        used.append(video)
    return copies, used


def summarize(cases: Sequence[BenchSyncCase], offsets_ms: Sequence[float],
              methods: Sequence[str], files: Sequence[Path],
              notes: Sequence[str] = ()) -> BenchSyncResult:
    """Scores per method, overall and per true offset."""
    overall = {m: score([c for c in cases if c.method == m]) for m in methods}
    per_offset = {
        m: {offset_key(o): score([c for c in cases if c.method == m and c.true_offset_ms == o])
            for o in offsets_ms}
        for m in methods
    }
    return BenchSyncResult(offsets_ms=[float(o) for o in offsets_ms], methods=list(methods),
                           files=list(files), overall=overall, per_offset=per_offset,
                           cases=list(cases), notes=list(notes))


def within_frames(case: BenchSyncCase, frames: float = 1.0) -> bool:
    """Is the case's |error| at most ``frames`` frames of its file (no estimate: no)?"""
    if case.error_ms is None:
        return False
    return abs(case.error_ms) * case.fps / 1000.0 <= frames + _FRAME_EPS


def right_sign(case: BenchSyncCase) -> bool:
    """Does the estimate name the late stream that the true offset does (no estimate: no)?"""
    return case.measured_offset_ms is not None and \
        bool(np.sign(case.measured_offset_ms) == np.sign(case.true_offset_ms))


def score(cases: Sequence[BenchSyncCase]) -> BenchSyncScore:
    """Shares within 1 and 2 frames, sign accuracy on nonzero offsets, median |error|."""
    signed = [c for c in cases if c.true_offset_ms != 0]
    errors = [abs(c.error_ms) for c in cases if c.error_ms is not None]
    return BenchSyncScore(
        n=len(cases),
        within_1_frame=_share(sum(within_frames(c, 1) for c in cases), len(cases)),
        within_2_frames=_share(sum(within_frames(c, 2) for c in cases), len(cases)),
        sign_accuracy=_share(sum(right_sign(c) for c in signed), len(signed)),
        n_signed=len(signed),
        n_failed=sum(c.measured_offset_ms is None for c in cases),
        median_abs_error_ms=float(np.median(errors)) if errors else None,
    )


def offset_key(offset_ms: float) -> str:
    """JSON key of an offset: ``"+200"``, ``"-80"``, ``"0"`` (``"+12.5"`` when fractional)."""
    text = f"{offset_ms:+g}"
    return "0" if float(offset_ms) == 0 else text


def _share(k: int, n: int) -> float | None:
    return k / n if n else None


def _fps(video: Path) -> float:
    info = probe(video)
    if not info.video_fps:
        raise MediaError(f"{video} has no measurable frame rate")
    return float(info.video_fps)


def _shifted(video: Path, folder: Path, offset_ms: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / f"{video.stem}_{offset_key(offset_ms)}ms{output_suffix(video)}"
    return make_shifted_copy(video, dst, offset_ms)


def _case(copy: _Copy, method: str, result: Any) -> BenchSyncCase:
    """The scored case of one measurement (``result``: a SyncResult or the AvtsError raised)."""
    common = dict(file=copy.video, copy=copy.path, true_offset_ms=float(copy.offset_ms),
                  method=method, fps=copy.fps)
    if isinstance(result, AvtsError):
        log.warning("%s: %s failed: %s", copy.path, method, result)
        return BenchSyncCase(**common, measured_offset_ms=None, error_ms=None, verdict=None,
                             confidence=None, error=str(result))
    measured = result.offset_ms
    return BenchSyncCase(
        **common, measured_offset_ms=None if measured is None else float(measured),
        error_ms=None if measured is None else float(measured) - float(copy.offset_ms),
        verdict=result.verdict, confidence=float(result.confidence),
        score=float(result.score) if math.isfinite(result.score) else None,
        face_share=result.face_share)
