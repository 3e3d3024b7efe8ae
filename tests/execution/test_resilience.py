"""A worker process killed in the middle of a computation does not change its result."""

from __future__ import annotations

import os
import signal
import time

import pytest

from uvflow.execution import rsexecute, sum_list_rsexecute

N_TASKS = 20


def slow_square(i):
    time.sleep(1.0)
    return i * i


@pytest.mark.cluster
@pytest.mark.slow
def test_computation_survives_a_killed_worker(external_cluster, monkeypatch):
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER", external_cluster.address)
    rsexecute.set_client(timeout=10)
    client = rsexecute.client
    client.wait_for_workers(2, timeout=60)
    pids = rsexecute.run(os.getpid)  # worker address -> pid of the worker (not its nanny)
    assert len(pids) == 2

    graph = sum_list_rsexecute([rsexecute.execute(slow_square)(i) for i in range(N_TASKS)])
    future = rsexecute.compute(graph, sync=False)
    time.sleep(2.5)  # both workers busy, a few results already held by each
    assert not future.done()
    victim = sorted(pids.values())[0]
    os.kill(victim, signal.SIGKILL)

    assert future.result(timeout=120) == sum(i * i for i in range(N_TASKS))

    # the nanny restarts the worker: the cluster is whole again for the next tests
    client.wait_for_workers(2, timeout=60)
    deadline = time.monotonic() + 30
    while True:
        new_pids = rsexecute.run(os.getpid, on_error="ignore")
        if len(new_pids) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert victim not in new_pids.values()
