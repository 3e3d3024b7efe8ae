"""The same workflow gives the same answer serially, on local schedulers and on clusters."""

from __future__ import annotations

import pytest
from distributed import Future

from uvflow.execution import get_dask_client, rsexecute


def test_serial(workflow):
    rsexecute.set_client(use_dask=False)
    graph = workflow.build()
    assert graph == workflow.expected  # computed while it was built
    assert rsexecute.compute(graph, sync=True) == workflow.expected


@pytest.mark.parametrize("scheduler", ["threads", "synchronous", "processes"])
def test_local_schedulers(workflow, scheduler):
    rsexecute.set_client(scheduler=scheduler, n_workers=2)
    assert rsexecute.mode == "local"
    graph = workflow.build()
    assert not isinstance(graph, int)  # deferred
    assert rsexecute.compute(graph) == workflow.expected
    assert rsexecute.compute(graph, sync=True) == workflow.expected
    assert rsexecute.client is None


@pytest.mark.cluster
def test_local_cluster_of_two_processes(workflow):
    rsexecute.set_client(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = rsexecute.client
    assert rsexecute.mode == "distributed" and rsexecute.n_workers == 2
    assert client.cluster is not None
    graph = workflow.build()
    future = rsexecute.compute(graph, sync=False)
    assert isinstance(future, Future)
    assert rsexecute.gather(future) == workflow.expected
    assert rsexecute.compute(graph, sync=True) == workflow.expected
    rsexecute.close()  # it started the cluster: it closes it
    assert client.status == "closed"
    assert rsexecute.mode == "serial" and rsexecute.client is None


@pytest.mark.cluster
def test_external_cluster_from_environment(workflow, external_cluster, monkeypatch):
    monkeypatch.delenv("UVFLOW_DASK_SCHEDULER_FILE", raising=False)
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER", external_cluster.address)
    rsexecute.set_client(timeout=10)
    assert rsexecute.client.scheduler.address == external_cluster.address
    assert rsexecute.n_workers == 2
    assert rsexecute.compute(workflow.build(), sync=True) == workflow.expected


@pytest.mark.cluster
def test_external_cluster_from_rascil_environment(workflow, external_cluster, monkeypatch):
    monkeypatch.delenv("UVFLOW_DASK_SCHEDULER", raising=False)
    monkeypatch.delenv("UVFLOW_DASK_SCHEDULER_FILE", raising=False)
    monkeypatch.setenv("RASCIL_DASK_SCHEDULER", external_cluster.address)
    client = get_dask_client(timeout=10)
    try:
        assert client.scheduler.address == external_cluster.address
    finally:
        client.close()


@pytest.mark.cluster
def test_external_cluster_from_scheduler_file(workflow, external_cluster, monkeypatch):
    for var in ("UVFLOW_DASK_SCHEDULER", "RASCIL_DASK_SCHEDULER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER_FILE", external_cluster.scheduler_file)
    rsexecute.set_client(timeout=10)
    assert rsexecute.client.scheduler.address == external_cluster.address
    assert rsexecute.compute(workflow.build(), sync=True) == workflow.expected
    rsexecute.close()

    # the argument, with the client adopted: close() leaves it open for its owner
    monkeypatch.delenv("UVFLOW_DASK_SCHEDULER_FILE")
    client = get_dask_client(scheduler_file=external_cluster.scheduler_file, timeout=10)
    try:
        rsexecute.set_client(client=client)
        assert rsexecute.compute(workflow.build(), sync=True) == workflow.expected
        rsexecute.close()
        assert client.status == "running"
        assert client.submit(sum, [1, 2]).result(timeout=10) == 3
    finally:
        client.close()


@pytest.mark.cluster
def test_nested_structures_keep_their_shape(workflow, local_client):
    rsexecute.set_client(client=local_client)
    graph = workflow.build()
    value = {"total": graph, "parts": [graph, (graph, 7)], "plain": "x"}
    futures = rsexecute.compute(value, sync=False)
    assert isinstance(futures["total"], Future)
    assert isinstance(futures["parts"][1], tuple) and isinstance(futures["parts"][1][0], Future)
    expected = {
        "total": workflow.expected,
        "parts": [workflow.expected, (workflow.expected, 7)],
        "plain": "x",
    }
    assert rsexecute.gather(futures) == expected
    assert rsexecute.compute(value, sync=True) == expected
    rsexecute.set_client(scheduler="threads")  # the same graphs on a local scheduler
    assert rsexecute.compute(value) == expected


@pytest.mark.cluster
def test_local_cluster_options_reach_the_workers(workflow, monkeypatch):
    """threads_per_worker and memory_limit are those of the LocalCluster's workers, and
    the dashboard address is logged when the cluster starts.

    (A handler of our own: under pytest, a starting LocalCluster raises the level of
    pytest's capture handlers to WARNING while it lives, so caplog would miss the line.)
    """
    import logging

    class Records(logging.Handler):
        def __init__(self):
            super().__init__(logging.INFO)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    for var in ("UVFLOW_DASK_SCHEDULER", "RASCIL_DASK_SCHEDULER", "UVFLOW_DASK_SCHEDULER_FILE"):
        monkeypatch.delenv(var, raising=False)
    records = Records()
    log = logging.getLogger("uvflow.execution")
    monkeypatch.setattr(log, "level", logging.INFO)
    log.addHandler(records)
    try:
        rsexecute.set_client(
            n_workers=2, threads_per_worker=2, memory_limit="1GiB", dashboard_address=":0"
        )
    finally:
        log.removeHandler(records)
    client = rsexecute.client
    assert sorted(client.nthreads().values()) == [2, 2]
    limits = {w["memory_limit"] for w in client.scheduler_info()["workers"].values()}
    assert limits == {2**30}
    assert any("dashboard: http" in m for m in records.messages), records.messages
    assert rsexecute.compute(workflow.build(), sync=True) == workflow.expected


def _malloc_trim_threshold():
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


@pytest.mark.cluster
def test_local_cluster_workers_keep_glibc_malloc_thresholds(monkeypatch):
    """Worker processes of a LocalCluster made by get_dask_client do not get distributed's
    MALLOC_TRIM_THRESHOLD_=65536 (it made the kernels' large temporaries ~20 % slower),
    while a cluster made directly with distributed does (so the test can fail)."""
    from distributed import Client

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    for var in ("UVFLOW_DASK_SCHEDULER", "RASCIL_DASK_SCHEDULER", "UVFLOW_DASK_SCHEDULER_FILE"):
        monkeypatch.delenv(var, raising=False)
    client = get_dask_client(n_workers=1, dashboard_address=":0", timeout=30)
    try:
        assert set(client.run(_malloc_trim_threshold).values()) == {None}
    finally:
        client.close()
    with Client(n_workers=1, dashboard_address=":0", timeout=30) as plain:
        assert set(plain.run(_malloc_trim_threshold).values()) == {"65536"}
