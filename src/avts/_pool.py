"""An ordered map over forked worker processes, for numpy/PyAV work on many files (rendering,
encoding, decoding) that would otherwise leave all but one core idle."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def cpu_count() -> int:
    """Cores this process may run on (its affinity, where the platform says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def fork_map(fn: Callable[[T], R], items: Iterable[T], processes: int | None = None,
             min_per_process: int = 8) -> Iterator[R]:
    """``fn(item)`` for every item, yielded in input order as soon as each is ready.

    ``processes``: None gives one per core, but at least ``min_per_process`` items each (below
    that, starting processes costs more than it saves). With fewer than two processes, or off
    Linux, everything runs in this process. ``fn`` must be picklable (a module-level function
    or a ``functools.partial`` of one) and must not use torch: "fork" children share the
    parent's memory but not its thread pools. Unlike "spawn", they never re-run the caller's
    script, which breaks one without an ``if __name__ == "__main__"`` guard ("fork" is unsafe
    on macOS, hence Linux only).
    """
    items = list(items)
    n = processes if processes is not None else min(cpu_count(), len(items) // min_per_process)
    n = min(n, len(items))
    if n < 2 or sys.platform != "linux":
        yield from map(fn, items)
        return
    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork")) as pool:
        yield from pool.map(fn, items)
