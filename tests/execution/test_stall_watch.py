"""A computation that cannot progress fails in bounded time with a message (issue 15).

Two real stalls on real clusters (no mocks): a cluster with no worker at all, and a worker
paused at its memory limit by the result of a task it holds (spilling off, so nothing
can release it). ``uvflow.stall-timeout`` is set to 2 s; without the watch both waits
never return (Dask waits for workers or memory without limit), so the test's own
``timeout`` of the gather would be what ends them. The state detection is also checked on
the scheduler's records directly.
"""

from __future__ import annotations

import logging
import time

import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster

from uvflow.execution import ClusterStalledError, rsexecute
from uvflow.execution.stall_watch import DEFAULT_STALL_TIMEOUT, cluster_stall, stall_timeout


def test_states_from_worker_records():
    running = {"status": "running", "memory_limit": 2**30, "metrics": {"memory": 2**28}}
    paused = {"status": "paused", "memory_limit": 2**30, "metrics": {"memory": 900 * 2**20}}
    assert cluster_stall({"a": running, "b": paused}) is None
    assert "no worker is connected" in cluster_stall({})
    msg = cluster_stall({"tcp://b": paused, "tcp://a": dict(paused, metrics={})})
    assert msg.startswith("all 2 workers are paused at their memory limit")
    assert "tcp://a: ? of 1024 MiB, tcp://b: 900 of 1024 MiB" in msg


def test_timeout_from_dask_config():
    assert stall_timeout() == DEFAULT_STALL_TIMEOUT
    with dask.config.set({"uvflow.stall-timeout": "0"}):
        assert stall_timeout() is None
    with dask.config.set({"uvflow.stall-timeout": 12}):
        assert stall_timeout() == 12.0
    with dask.config.set({"uvflow.stall-timeout": "soon"}):
        with pytest.raises(ValueError, match="uvflow.stall-timeout must be a number of seconds"):
            stall_timeout()


def _square(x):
    return x * x


@pytest.mark.cluster
@pytest.mark.parametrize("progress", [False, True], ids=["gather", "progress_log"])
def test_no_worker_fails_in_bounded_time(progress):
    with (
        LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster,
        Client(cluster) as client,
        dask.config.set({"uvflow.stall-timeout": 2}),
    ):
        rsexecute.set_client(client=client)
        graph = rsexecute.execute(_square)(3)
        t0 = time.monotonic()
        with pytest.raises(ClusterStalledError, match="no worker is connected"):
            rsexecute.compute(graph, sync=True, progress=progress)
        assert time.monotonic() - t0 < 30


def _held(nbytes):
    a = np.ones(nbytes, np.uint8)  # touched: resident
    return a


def _size(a):
    return a.size


@pytest.mark.cluster
def test_paused_worker_fails_in_bounded_time():
    memory = {
        "distributed.worker.memory.target": False,
        "distributed.worker.memory.spill": False,
        "distributed.worker.memory.pause": 0.5,
        "distributed.worker.memory.terminate": False,
        "uvflow.stall-timeout": 2,
    }
    with (
        dask.config.set(memory),
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, memory_limit="400MiB",
            dashboard_address=":0", silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        rsexecute.set_client(client=client)
        held = rsexecute.execute(_held)(300 * 2**20)  # the worker pauses once it holds this
        graph = [rsexecute.execute(_size)(held), rsexecute.execute(_square)(2)]
        t0 = time.monotonic()
        with pytest.raises(ClusterStalledError) as info:
            rsexecute.compute(graph, sync=True)
        assert time.monotonic() - t0 < 60
        msg = str(info.value)
        assert "all 1 workers are paused at their memory limit" in msg
        assert "of 400 MiB" in msg and "--memory-limit" in msg
