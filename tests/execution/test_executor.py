"""Executor API: modes, ownership of clients, argument checking."""

from __future__ import annotations

import functools
import math
import operator
import subprocess
import sys
import time

import dask
import pytest
from distributed import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from uvflow.execution import Executor, rsexecute, sum_list_rsexecute, sum_map_rsexecute


def double(x):
    return 2 * x


def pair(x):
    return x, x + 1


def test_serial_mode_imports_neither_dask_nor_distributed():
    """A serial run (the CLI's choice for one task per stage) pays for neither import (~0.45 s)."""
    code = (
        "import sys\n"
        "from uvflow.execution import rsexecute, sum_list_rsexecute\n"
        "rsexecute.set_client(use_dask=False)\n"
        "parts = [rsexecute.execute(abs)(-i) for i in range(3)]\n"
        "total = rsexecute.compute(sum_list_rsexecute(parts), sync=True)\n"
        "rsexecute.persist(parts)\n"
        "assert total == 3, total\n"
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_initial_state_is_serial():
    executor = Executor()
    assert executor.mode == "serial" and not executor.using_dask
    assert executor.client is None and executor.n_workers == 1
    assert not executor.optimizing
    assert repr(executor) == "Executor(mode='serial')"


def test_serial_semantics():
    rsexecute.set_client(use_dask=False)
    assert rsexecute.execute(double) is double
    assert rsexecute.execute(double)(3) == 6
    a, b = rsexecute.execute(pair, nout=2)(1)
    assert (a, b) == (1, 2)
    data = {"x": [1, 2]}
    assert rsexecute.compute(data) is data
    assert rsexecute.persist(data) is data
    assert rsexecute.scatter(data) is data
    assert rsexecute.gather(data) is data
    assert rsexecute.optimize(data) is data
    assert rsexecute.run(operator.add, 2, 3) == {"local": 5}


def test_local_scheduler_semantics():
    rsexecute.set_client(scheduler="threads", n_workers=2)
    assert rsexecute.using_dask and rsexecute.n_workers == 2 and rsexecute.optimizing
    a, b = rsexecute.execute(pair, nout=2)(1)
    assert dask.is_dask_collection(a)
    assert rsexecute.compute((a, b)) == (1, 2)
    persisted = rsexecute.persist([rsexecute.execute(double)(4)])
    assert rsexecute.compute(persisted) == [8]
    assert rsexecute.scatter(5) == 5 and rsexecute.gather(5) == 5
    assert rsexecute.run(operator.add, 2, 3) == {"local": 5}
    optimized = rsexecute.optimize([a, b])
    assert rsexecute.compute(optimized) == [1, 2]


def test_pure_tasks_share_keys():
    rsexecute.set_client(scheduler="synchronous")
    assert (
        rsexecute.execute(double, pure=True)(3).key == rsexecute.execute(double, pure=True)(3).key
    )
    assert rsexecute.execute(double)(3).key != rsexecute.execute(double)(3).key


@pytest.mark.parametrize("split", [2, 3, 5])
@pytest.mark.parametrize("n", [1, 2, 7, 16])
def test_tree_sum_matches_python_sum_in_order(n, split):
    items = [str(i) for i in range(n)]  # string concatenation: order matters
    rsexecute.set_client(use_dask=False)
    assert sum_list_rsexecute(items, split=split) == "".join(items)
    rsexecute.set_client(scheduler="synchronous")
    graph = sum_list_rsexecute([rsexecute.execute(str)(i) for i in range(n)], split=split)
    assert rsexecute.compute(graph) == "".join(items)


def _item(i):
    return f"{i};"


def _join(a, b):
    return f"({a}{b})"


@given(n=st.integers(1, 40), split=st.integers(2, 5), group=st.integers(1, 12),
       block=st.integers(2, 12))  # fmt: skip
@settings(max_examples=30, deadline=None)
def test_tree_sum_made_on_demand_pairs_in_blocks(n, split, group, block):
    """sum_map_rsexecute combines each block of ``block`` items exactly as
    sum_list_rsexecute combines a list, then the blocks in order (the tree is written out
    in parentheses, so a different pairing fails); in serial mode and on Dask with subtrees
    of ``group`` items run as one task. Serially it holds O(log block) items, whatever n."""
    alive, peak = set(), [0]

    def make(i):
        alive.add(i)
        peak[0] = max(peak[0], len(alive))
        return _item(i)

    def join(a, b):  # an item is "dead" once combined into a partial result
        alive.difference_update(
            int(x) for x in (a + b).replace("(", "").replace(")", "").split(";") if x
        )
        return _join(a, b)

    rsexecute.set_client(use_dask=False)
    blocks = [
        sum_list_rsexecute([_item(i) for i in range(s, min(s + block, n))], func=_join, split=split)
        for s in range(0, n, block)
    ]
    expected = functools.reduce(_join, blocks)
    if n <= block:  # one block: the list's own tree
        assert expected == sum_list_rsexecute([_item(i) for i in range(n)], func=_join, split=split)
    args = [(i,) for i in range(n)]
    assert sum_map_rsexecute(make, args, func=join, split=split, block=block) == expected
    # within a block each level keeps at most split - 1 finished siblings waiting; the
    # blocks' running combination is one more
    depth = math.ceil(math.log(min(n, block), split)) if n > 1 else 0
    assert peak[0] <= depth * (split - 1) + 1 + (n > block)
    rsexecute.set_client(scheduler="synchronous")
    args = [(rsexecute.execute(int)(i),) for i in range(n)]  # deferred arguments
    graph = sum_map_rsexecute(_item, args, func=_join, split=split, group=group, block=block)
    assert rsexecute.compute(graph) == expected
    if group >= n and n <= block:  # the whole tree is one task (besides the n argument tasks)
        assert len(graph.__dask_graph__()) == n + 1


def test_tree_sum_default_blocks_by_mode():
    """By default serial mode combines pairs and then the running sum (few partial results
    alive), Dask one balanced tree (nothing waits for a running sum on the workers)."""
    n = 7
    rsexecute.set_client(use_dask=False)
    pairs = [_join(_item(i), _item(i + 1)) if i + 1 < n else _item(i) for i in range(0, n, 2)]
    assert sum_map_rsexecute(_item, [(i,) for i in range(n)], func=_join) == functools.reduce(
        _join, pairs
    )
    tree = sum_list_rsexecute([_item(i) for i in range(n)], func=_join)
    rsexecute.set_client(scheduler="synchronous")
    graph = sum_map_rsexecute(_item, [(i,) for i in range(n)], func=_join, group=2)
    assert rsexecute.compute(graph) == tree


def test_tree_sum_arguments():
    with pytest.raises(ValueError, match="at least one"):
        sum_list_rsexecute([])
    with pytest.raises(ValueError, match="split"):
        sum_list_rsexecute([1, 2], split=1)
    with pytest.raises(ValueError, match="at least one"):
        sum_map_rsexecute(str, [])
    with pytest.raises(ValueError, match="group"):
        sum_map_rsexecute(str, [(1,)], group=0)
    with pytest.raises(ValueError, match="block must be None or an integer >= 2"):
        sum_map_rsexecute(str, [(1,)], block=1)


def test_unknown_keyword_raises_type_error_naming_valid_ones():
    with pytest.raises(TypeError, match="did you mean 'n_workers'") as info:
        rsexecute.set_client(n_worker=2)
    message = str(info.value)
    for name in ("use_dask", "threads_per_worker", "memory_limit", "scheduler", "timeout"):
        assert name in message
    assert rsexecute.mode == "serial"


def test_bad_arguments():
    with pytest.raises(ValueError, match="'threads', 'synchronous', 'processes'"):
        rsexecute.set_client(scheduler="gpu")
    with pytest.raises(ValueError, match="alias"):
        rsexecute.set_client(n_workers=2, nworkers=3, scheduler="threads")
    with pytest.raises(ValueError, match="positive"):
        rsexecute.set_client(n_workers=0, scheduler="threads")
    with pytest.raises(TypeError, match="distributed.Client"):
        rsexecute.set_client(client="tcp://127.0.0.1:8786")
    with pytest.raises(TypeError, match="callable"):
        rsexecute.execute(42)


def test_nworkers_is_an_alias():
    rsexecute.set_client(scheduler="threads", nworkers=3)
    assert rsexecute.n_workers == 3


@pytest.mark.cluster
def test_close_does_not_close_an_adopted_client(local_client):
    rsexecute.set_client(client=local_client)
    assert rsexecute.client is local_client and rsexecute.n_workers == 2
    assert "adopted" in repr(rsexecute)
    rsexecute.close()
    assert rsexecute.client is None and rsexecute.mode == "serial"
    assert local_client.status == "running"
    assert local_client.submit(operator.add, 1, 2).result(timeout=10) == 3
    # nor does switching to another mode
    rsexecute.set_client(client=local_client)
    rsexecute.set_client(use_dask=False)
    assert local_client.status == "running"


@pytest.mark.cluster
def test_set_client_again_closes_what_it_started(monkeypatch):
    for var in ("UVFLOW_DASK_SCHEDULER", "RASCIL_DASK_SCHEDULER", "UVFLOW_DASK_SCHEDULER_FILE"):
        monkeypatch.delenv(var, raising=False)
    rsexecute.set_client(n_workers=1, processes=False, dashboard_address=":0")
    first = rsexecute.client
    assert "owned" in repr(rsexecute)
    rsexecute.set_client(client=first)  # re-adopting its own client keeps ownership
    assert first.status == "running" and "owned" in repr(rsexecute)
    rsexecute.set_client(scheduler="threads")
    assert first.status == "closed"
    assert rsexecute.client is None and rsexecute.mode == "local"


@pytest.mark.cluster
def test_distributed_scatter_gather_persist_run(local_client):
    rsexecute.set_client(client=local_client)
    [future] = rsexecute.scatter([10])
    graph = rsexecute.execute(double)(future)
    assert rsexecute.compute(graph, sync=True) == 20
    persisted = rsexecute.persist({"a": graph, "b": [graph]})
    assert dask.is_dask_collection(persisted["a"])
    assert rsexecute.compute(persisted, sync=True) == {"a": 20, "b": [20]}
    broadcast = rsexecute.scatter(3, broadcast=True)
    assert rsexecute.gather(broadcast) == 3
    results = rsexecute.run(operator.add, 1, 1)
    assert set(results) == set(local_client.nthreads()) and set(results.values()) == {2}
    assert isinstance(rsexecute.client, Client)


@pytest.mark.cluster
def test_scattering_the_same_data_repeatedly(local_client):
    """Benchmarks scatter the same inputs every round; each scatter must stay usable after
    the previous round's futures are dropped."""
    import numpy as np

    rsexecute.set_client(client=local_client)
    data = np.arange(100_000.0)
    for _ in range(5):
        [future] = rsexecute.scatter([data])
        assert rsexecute.compute(rsexecute.execute(np.sum)(future), sync=True) == data.sum()
        del future


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.integers(-1000, 1000), min_size=1, max_size=25),
    split=st.integers(2, 5),
    func=st.sampled_from([operator.add, operator.sub, max]),
)
def test_tree_reduce_serial_equals_dask(values, split, func):
    """The same tree in serial and Dask modes (even for a non-associative operator)."""
    serial, deferred = Executor(), Executor()
    deferred.set_client(scheduler="synchronous")
    expected = sum_list_rsexecute(values, func=func, split=split, executor=serial)
    graph = sum_list_rsexecute(
        [deferred.execute(int)(v) for v in values], func=func, split=split, executor=deferred
    )
    assert deferred.compute(graph) == expected
    if func is operator.add:
        assert expected == sum(values)


def test_optimize_can_be_switched_off():
    rsexecute.set_client(scheduler="threads", optimize=False)
    assert not rsexecute.optimizing
    graph = [rsexecute.execute(double)(i) for i in range(3)]
    assert rsexecute.optimize(graph) is graph
    assert rsexecute.compute(graph) == [0, 2, 4]


@pytest.mark.cluster
def test_memory_sampler_reports_peak_per_worker(local_client):
    """A 200 MB allocation on every worker shows in the sampled peaks (and serially here)."""
    import numpy as np

    from uvflow.execution import start_memory_sampler, stop_memory_sampler

    def allocate():
        a = np.ones(25_000_000)  # 200 MB, touched
        return float(a.sum())

    rsexecute.set_client(use_dask=False)
    rsexecute.run(start_memory_sampler)
    allocate()
    [local] = rsexecute.run(stop_memory_sampler).values()
    assert local["peak"] - local["base"] >= 150e6
    rsexecute.set_client(client=local_client)
    rsexecute.run(start_memory_sampler)
    local_client.run(allocate)
    peaks = rsexecute.run(stop_memory_sampler)
    assert len(peaks) == len(local_client.nthreads())
    assert all(p["peak"] - p["base"] >= 150e6 for p in peaks.values())


def _slow_value(x):  # long enough that a persisted graph of these is not done at once
    time.sleep(0.3)
    return x


@pytest.mark.cluster
def test_wait_blocks_until_persisted_results_are_done(local_client):
    """``wait`` on a cluster returns when every future of a persisted nesting is finished;
    in the other modes (already computed) at once."""
    from distributed import futures_of

    rsexecute.set_client(use_dask=False)
    rsexecute.wait([1, (2, {"a": 3})])  # nothing to wait for
    rsexecute.set_client(client=local_client)
    persisted = rsexecute.persist(
        [rsexecute.execute(_slow_value)(i) for i in range(4)]
        + [{"x": rsexecute.execute(_slow_value)(9)}]
    )
    futures = futures_of(persisted)  # persisted graphs hold their results' futures
    assert len(futures) == 5 and not all(f.done() for f in futures)
    rsexecute.wait(persisted)
    assert all(f.done() for f in futures)
    assert rsexecute.compute(persisted[:4], sync=True) == [0, 1, 2, 3]
