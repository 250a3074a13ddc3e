import os
import sys
from functools import partial

import pytest

from avts._pool import fork_map

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="worker processes: Linux only")


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def _fail_on(bad: int, x: int) -> int:
    if x == bad:
        raise ValueError(f"item {x}")
    return x


@linux_only
def test_workers_keep_the_input_order():
    out = list(fork_map(_pid_and_square, range(20), processes=2))
    assert [sq for _, sq in out] == [x * x for x in range(20)]
    assert os.getpid() not in {pid for pid, _ in out}  # done in worker processes


def test_few_items_run_in_this_process():
    # None: at least 8 items a process, so 10 items stay here.
    out = list(fork_map(_pid_and_square, range(10)))
    assert {pid for pid, _ in out} == {os.getpid()}
    assert [sq for _, sq in out] == [x * x for x in range(10)]


@linux_only
def test_a_worker_error_reaches_the_caller():
    with pytest.raises(ValueError, match="item 5"):
        list(fork_map(partial(_fail_on, 5), range(10), processes=2))
