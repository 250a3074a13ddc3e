"""``scan``: measure the offset of many files in worker processes, one result row per file,
written as each arrives; files already in the output are skipped (resume).

Each worker loads the model once (``_start``) and measures files with ``sync.detect``; a file
that cannot be measured becomes ``{"file": ..., "error": "one line"}`` and the scan goes on.
``measure_copies`` runs bench-sync's measurements (each copy with each method) the same way.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

from avts.data.corpus import find_videos
from avts.engines import local
from avts.engines.results import ResultWriter
from avts.errors import AvtsError, DatasetError
from avts.sync.detect import SyncOptions, detect
from avts.types import ScanSummary, SyncResult

Progress = Callable[[int, int], None]


def find_inputs(paths: Sequence[str | Path]) -> list[Path]:
    """Resolved files: a file as given (whatever its extension), a folder's video files
    (recursive, by extension); duplicates once, in the order found."""
    found: dict[Path, None] = {}
    for item in map(Path, paths):
        if item.is_dir():
            found.update((p.resolve(), None) for p in find_videos(item))
        elif item.exists():
            found[item.resolve()] = None
        else:
            raise DatasetError(f"{item}: no such file or folder")
    return list(found)


def _start(checkpoint: str | None, method: str) -> dict:
    """Worker state: the model loaded once per worker (the method is set up per file)."""
    if method != "avts":
        return {"method": method}
    from avts.models.build import load_model

    return {"method": method, "loaded": load_model(checkpoint)}


def _measure(state: dict, job: tuple[Path, SyncOptions]) -> dict:
    path, options = job
    return _detect_file(state, path, state["method"], options).to_dict()


def _detect_file(state: dict, path: Path, method: str, options: SyncOptions) -> SyncResult:
    """``path`` measured with ``method``: "baseline", or "avts" with the worker's model."""
    from avts.media.probe import probe

    if method == "baseline":
        from avts.sync.baseline import BaselineMethod

        sync_method = BaselineMethod(probe(path).video_fps or 25.0)
    else:
        from avts.sync.methods import learned_method

        sync_method = learned_method(state["loaded"], probe(path))  # framesync: the file's aspect
    return detect(path, sync_method, options)


def error_line(err: BaseException) -> str:
    """A user error's own message; anything else with its type, on one line."""
    text = str(err) if isinstance(err, AvtsError) else f"{type(err).__name__}: {err}"
    return " ".join(text.split()) or type(err).__name__


def scan_files(files: Sequence[Path], out: Path, options: SyncOptions, method: str,
               checkpoint: Path | None, jobs: int = 1, as_csv: bool = False,
               progress: Progress | None = None) -> ScanSummary:
    """Measure ``files`` not yet in ``out`` and append one row each; see the module doc."""
    started = time.perf_counter()
    verdicts: Counter[str] = Counter()
    errors = 0
    with ResultWriter(out, as_csv) as writer:
        todo = [f for f in files if f not in writer.done]
        spec = local.FnSpec(fn=_measure, init=_start, init_args=(
            None if checkpoint is None else str(checkpoint), method))
        for outcome in local.run([(f, options) for f in todo], spec, jobs, progress):
            path = outcome.item[0]
            if outcome.error is None:
                row = outcome.value
                verdicts[row["verdict"]] += 1
            else:
                row = {"file": str(path), "error": error_line(outcome.error)}
                errors += 1
            writer.write(row)
    return ScanSummary(out=Path(out), format="csv" if as_csv else "jsonl",
                       n_files=len(files), n_measured=sum(verdicts.values()), n_errors=errors,
                       n_skipped=len(files) - len(todo), verdicts=dict(sorted(verdicts.items())),
                       elapsed_s=time.perf_counter() - started)


# --- bench-sync: shifted copies, each measured with each method ----------------------------


def measure_copies(jobs: Sequence[tuple[Path, str]], progress: Progress | None = None, *,
                   options: SyncOptions, checkpoint: Path | None,
                   workers: int) -> list[SyncResult | AvtsError]:
    """bench-sync's measurements in ``workers`` processes, or here for one
    (``eval.bench_sync.MeasureAll``):
    for each ``(copy, method)`` job, in job order, its ``SyncResult`` or the ``AvtsError`` it
    raised; any other exception is raised, as measuring the copies one by one would."""
    if not jobs:
        return []
    learned = any(method == "avts" for _, method in jobs)
    spec = local.FnSpec(fn=_measure_copy, init=_start_bench, init_args=(
        None if checkpoint is None else str(checkpoint), "avts" if learned else "baseline"))
    results: list = [None] * len(jobs)
    items = [(index, copy, method, options) for index, (copy, method) in enumerate(jobs)]
    with closing(local.run(items, spec, workers, progress)) as outcomes:  # workers end here
        for outcome in outcomes:
            if outcome.error is not None and not isinstance(outcome.error, AvtsError):
                raise outcome.error
            results[outcome.item[0]] = outcome.value if outcome.error is None else outcome.error
    return results


def _start_bench(checkpoint: str | None, method: str) -> dict:
    """``_start``, but a model that fails to load fails each learned measurement (a miss, as
    ``api.detect_offset`` per copy has it), not the worker."""
    try:
        return _start(checkpoint, method)
    except AvtsError as err:
        return {"method": method, "error": err}


def _measure_copy(state: dict, job: tuple[int, Path, str, SyncOptions]) -> SyncResult:
    _, copy, method, options = job
    if method != "baseline" and "error" in state:
        raise state["error"].with_traceback(None)
    return _detect_file(state, copy, method, options)
