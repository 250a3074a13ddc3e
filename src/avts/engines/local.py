"""A local pool of worker processes that applies one function to many items and yields each
outcome as soon as it is ready (completion order), so callers can record results one by one.

``run(items, fn_spec, jobs, progress)`` is the interface every engine keeps (a Ray runner will
sit beside this one). ``FnSpec.init(*init_args)`` runs once per worker (load a model there, not
per item) and returns the worker's state; ``FnSpec.fn(state, item)`` runs per item. Both must be
module-level functions: workers are *spawned* (a forked copy of a process that already ran
torch can deadlock), so everything they get is pickled.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from avts.errors import AvtsError

Progress = Callable[[int, int], None]  # (done, total)
_AHEAD = 2  # items queued per worker: enough to keep it busy, few enough to stop quickly


class WorkerDiedError(AvtsError):
    """A worker process ended abruptly (killed, out of memory, a crash in native code)."""


@dataclass(frozen=True)
class FnSpec:
    fn: Callable[[Any, Any], Any]  # (state, item) -> result; module level (pickled by name)
    init: Callable[..., Any] | None = None  # (*init_args) -> state, once per worker
    init_args: tuple = ()  # picklable arguments of init
    threads: int = 1  # torch threads per worker process (N workers then use about N cores)


@dataclass(frozen=True)
class Outcome:
    item: Any
    value: Any = None  # fn's result, when it returned
    error: BaseException | None = None  # what fn raised instead


_STATE: dict[str, Any] = {}  # the worker's state, set by _start_worker


def _start_worker(spec: FnSpec) -> None:
    if spec.threads:
        import torch

        torch.set_num_threads(spec.threads)
    _STATE["state"] = None if spec.init is None else spec.init(*spec.init_args)


def _call(spec: FnSpec, item: Any) -> Any:
    return spec.fn(_STATE["state"], item)


def run(items: Iterable[Any], fn_spec: FnSpec, jobs: int = 1,
        progress: Progress | None = None) -> Iterator[Outcome]:
    """Apply ``fn_spec.fn`` to every item; yield an ``Outcome`` per item as it completes. An
    exception from ``fn`` is yielded (``Outcome.error``), not raised, so one bad item never
    stops the rest. ``jobs <= 1`` runs in this process (its own thread count kept)."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        yield from _run_inline(items, fn_spec, progress)
    else:
        yield from _run_pool(items, fn_spec, jobs, progress)


def _run_inline(items: list, spec: FnSpec, progress: Progress | None) -> Iterator[Outcome]:
    state = None if spec.init is None else spec.init(*spec.init_args)
    for done, item in enumerate(items, 1):
        try:
            outcome = Outcome(item, value=spec.fn(state, item))
        except Exception as err:  # recorded per item; KeyboardInterrupt still stops the run
            outcome = Outcome(item, error=err)
        if progress is not None:
            progress(done, len(items))
        yield outcome


def _run_pool(items: list, spec: FnSpec, jobs: int,
              progress: Progress | None) -> Iterator[Outcome]:
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(min(jobs, len(items)), mp_context=ctx,
                               initializer=_start_worker, initargs=(spec,))
    pending: dict[Future, Any] = {}
    todo = iter(items)
    done = 0
    try:
        while True:
            # keep a bounded queue, so that an interrupted run stops after the items in hand
            while len(pending) < jobs * _AHEAD:
                item = next(todo, _END)
                if item is _END:
                    break
                pending[pool.submit(_call, spec, item)] = item
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                item = pending.pop(future)
                done += 1
                yield _outcome(item, future)
                if progress is not None:
                    progress(done, len(items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_END = object()


def _outcome(item: Any, future: Future) -> Outcome:
    err = future.exception()
    if isinstance(err, BrokenProcessPool):
        # the pool cannot go on; items not yet yielded are left for a rerun to pick up
        raise WorkerDiedError(f"a worker process died while handling {item} ({err}); "
                              "results so far are kept, rerun to continue") from err
    return Outcome(item, error=err) if err is not None else Outcome(item, value=future.result())
