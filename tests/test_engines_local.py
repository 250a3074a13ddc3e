import os

import pytest

from avts.engines.local import FnSpec, run


def _start(tag: str) -> dict:
    return {"tag": tag, "pid": os.getpid(), "token": os.urandom(8).hex()}


def _square(state: dict, item: int) -> tuple:
    if item == 3:
        raise ValueError("three is refused")
    return item * item, state["tag"], state["pid"], state["token"]


SPEC = FnSpec(fn=_square, init=_start, init_args=("t",), threads=0)


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_item_once_with_errors_yielded_not_raised(jobs):
    seen = []
    outcomes = list(run(range(6), SPEC, jobs=jobs, progress=lambda d, t: seen.append((d, t))))
    assert sorted(o.item for o in outcomes) == list(range(6))
    by_item = {o.item: o for o in outcomes}
    assert isinstance(by_item[3].error, ValueError) and by_item[3].value is None
    assert all(by_item[i].value[:2] == (i * i, "t") for i in range(6) if i != 3)
    assert seen[-1] == (6, 6) and [d for d, _ in seen] == list(range(1, 7))


def test_pool_runs_init_once_per_worker_process():
    outcomes = list(run(range(8), SPEC, jobs=2))
    values = [o.value for o in outcomes if o.error is None]
    pids = {v[2] for v in values}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    for pid in pids:  # one init per worker: every item of a worker saw the same state
        assert len({v[3] for v in values if v[2] == pid}) == 1


def test_torch_threads_are_set_per_worker():
    outcomes = list(run(range(2), FnSpec(fn=_threads, threads=1), jobs=2))
    assert [o.value for o in outcomes] == [1, 1]


def _threads(state, item) -> int:
    import torch

    return torch.get_num_threads()
