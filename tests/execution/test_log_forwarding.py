"""Records logged in tasks reach this process's handlers once, in every execution mode.

``rsexecute.set_client`` forwards the ``uvflow`` records of other processes (cluster
workers, the ``processes`` scheduler's pool) here; records logged in this process (serial,
threads, synchronous, a LocalCluster of threads) are not forwarded. The records are
caught with pytest's ``caplog`` (a handler on the root logger), as the ``uvflow``
command's stderr handler would get them.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter

import pytest
from distributed import Client

from uvflow.execution import close_logging, init_logging, rsexecute
from uvflow.execution.log_forwarding import (
    LogForwardingPlugin,
    forwarding_level,
    handle_forwarded_record,
    record_to_dict,
)
from uvflow.execution.logging_setup import FORWARDING_MARK

LOGGER = "uvflow.test.forwarding"
N = 4


def log_lines(i):
    """One INFO and one DEBUG record; returns the pid."""
    log = logging.getLogger(LOGGER)
    log.info("task %d says hello", i)
    log.debug("task %d whispers", i)
    return os.getpid()


def log_failure():
    try:
        raise RuntimeError("deliberate")
    except RuntimeError:
        logging.getLogger(LOGGER).exception("task failed")
    return os.getpid()


def forwarding_plugins(dask_worker):
    return [name for name in dask_worker.plugins if name.startswith("uvflow-forward-logs")]


def records(caplog, message=""):
    return [r for r in caplog.records if r.name == LOGGER and message in r.getMessage()]


def wait_for_records(caplog, count, timeout=10.0):
    """The forwarded records, once ``count`` are here (they may trail the results)."""
    deadline = time.monotonic() + timeout
    while len(records(caplog)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)  # a duplicate would arrive with the others
    return records(caplog)


def run_tasks(n=N):
    return rsexecute.compute([rsexecute.execute(log_lines)(i) for i in range(n)], sync=True)


def said(recs):
    return Counter(r.getMessage() for r in recs)


EXPECTED = Counter(f"task {i} says hello" for i in range(N))


@pytest.fixture
def info(caplog):
    caplog.set_level(logging.INFO, logger="uvflow")
    return caplog


@pytest.mark.cluster
def test_local_cluster_records_arrive_once_with_the_worker(local_client, info):
    rsexecute.set_client(client=local_client)
    pids = run_tasks()
    recs = wait_for_records(info, N)
    assert said(recs) == EXPECTED  # each once, and no DEBUG record (below the level)
    names = {str(n) for n in local_client.run(lambda dask_worker: dask_worker.name).values()}
    assert {r.worker for r in recs} <= names
    assert {r.process for r in recs} == set(pids) and os.getpid() not in pids
    assert all(r.levelname == "INFO" for r in recs)
    assert {(os.path.basename(r.pathname), r.funcName) for r in recs} == {
        ("test_log_forwarding.py", "log_lines")
    }
    assert all(abs(r.created - time.time()) < 60 for r in recs)


@pytest.mark.cluster
def test_exceptions_arrive_with_their_traceback(local_client, info):
    rsexecute.set_client(client=local_client)
    rsexecute.compute(rsexecute.execute(log_failure)(), sync=True)
    (rec,) = wait_for_records(info, 1)
    assert rec.levelno == logging.ERROR and rec.getMessage() == "task failed"
    assert "RuntimeError: deliberate" in rec.exc_text
    assert "RuntimeError: deliberate" in info.text  # the handler's formatter shows it


@pytest.mark.parametrize("scheduler", [None, "threads", "synchronous", "processes"])
def test_local_modes_give_the_same_records_once(info, scheduler):
    if scheduler is None:
        rsexecute.set_client(use_dask=False)
    else:
        rsexecute.set_client(scheduler=scheduler, n_workers=2)
    pids = run_tasks()
    recs = wait_for_records(info, N, timeout=2)
    assert said(recs) == EXPECTED
    if scheduler == "processes":  # forwarded from the pool's processes
        assert os.getpid() not in pids and {r.process for r in recs} == set(pids)
        assert all(r.worker for r in recs)
    else:  # logged here: not forwarded
        assert set(pids) == {os.getpid()} and not any(hasattr(r, "worker") for r in recs)


@pytest.mark.cluster
def test_local_cluster_of_threads_is_not_forwarded(info):
    # silence_logs=False: a LocalCluster otherwise raises the level of the StreamHandlers
    # on "distributed" while it runs, and pytest's capture handler is one of them
    with Client(n_workers=2, processes=False, dashboard_address=":0", silence_logs=False) as c:
        rsexecute.set_client(client=c)
        assert set(run_tasks()) == {os.getpid()}
        recs = wait_for_records(info, N, timeout=2)
        assert said(recs) == EXPECTED and not any(hasattr(r, "worker") for r in recs)
        uvflow_handlers = logging.getLogger("uvflow").handlers
        assert not any(getattr(h, FORWARDING_MARK, False) for h in uvflow_handlers)
        rsexecute.close()


@pytest.mark.cluster
def test_levels(local_client, info):
    info.set_level(logging.DEBUG, logger="uvflow")
    rsexecute.set_client(client=local_client, forward_logs="INFO")  # not DEBUG here
    run_tasks()
    assert said(wait_for_records(info, N)) == EXPECTED
    info.clear()
    rsexecute.set_client(client=local_client)  # the level of "uvflow" here: DEBUG
    run_tasks()
    recs = wait_for_records(info, 2 * N)
    assert Counter(r.levelname for r in recs) == {"INFO": N, "DEBUG": N}
    info.clear()
    rsexecute.set_client(client=local_client, forward_logs=False)
    run_tasks()
    assert wait_for_records(info, 1, timeout=1) == []


def test_forwarding_level_and_bad_values():
    assert forwarding_level(None) is None and forwarding_level(False) is None
    assert forwarding_level("debug") == logging.DEBUG == forwarding_level(logging.DEBUG)
    logger = logging.getLogger("uvflow")
    logger.setLevel(logging.ERROR)  # the conftest restores it
    assert forwarding_level(True) == logging.ERROR
    rsexecute.set_client(scheduler="threads")
    with pytest.raises(ValueError, match="DEBUG, INFO"):
        rsexecute.set_client(scheduler="synchronous", forward_logs="LOUD")
    assert rsexecute.mode == "local"  # nothing was changed
    with pytest.raises(TypeError, match="forward_logs"):
        rsexecute.set_client(forward_logs=[10])


def test_records_travel_as_plain_values(info):
    class Opaque:  # an argument that could not be sent: formatted before it travels
        def __str__(self):
            return "opaque"

    record = logging.getLogger(LOGGER).makeRecord(
        LOGGER, logging.WARNING, "f.py", 3, "see %s", (Opaque(),), None
    )
    attrs = record_to_dict(record, "w7")
    assert attrs["msg"] == "see opaque" and attrs["args"] is None and attrs["worker"] == "w7"
    assert all(isinstance(v, (str, int, float, type(None))) for v in attrs.values())
    handle_forwarded_record(attrs)
    (rec,) = records(info)
    assert (rec.getMessage(), rec.worker, rec.lineno) == ("see opaque", "w7", 3)
    info.clear()
    handle_forwarded_record({**attrs, "levelno": logging.DEBUG, "levelname": "DEBUG"})
    assert records(info) == []  # this process's level applies


def test_plugin_does_nothing_in_the_process_that_made_it():
    plugin = LogForwardingPlugin("topic", logging.INFO)
    before = list(logging.getLogger("uvflow").handlers)
    plugin.setup(worker=None)
    assert logging.getLogger("uvflow").handlers == before
    plugin.teardown(worker=None)


@pytest.mark.cluster
def test_close_stops_forwarding(local_client, info):
    rsexecute.set_client(client=local_client)
    assert all(rsexecute.run(forwarding_plugins).values())
    rsexecute.close()
    assert not any(local_client.run(forwarding_plugins).values())
    local_client.submit(log_lines, 0, pure=False).result()
    assert wait_for_records(info, 1, timeout=1) == []


@pytest.mark.cluster
def test_external_scheduler_and_a_restarted_worker(external_cluster, monkeypatch, info):
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER", external_cluster.address)
    rsexecute.set_client(timeout=10)
    client = rsexecute.client
    client.wait_for_workers(2, timeout=60)
    run_tasks()
    recs = wait_for_records(info, N)
    assert said(recs) == EXPECTED and {r.worker for r in recs} <= {"w0", "w1"}

    info.clear()
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    client.restart_workers([victim])  # the nanny starts a new worker process
    client.wait_for_workers(2, timeout=60)
    new = {a: p for a, p in client.run(os.getpid).items() if p not in pids.values()}
    assert len(new) == 1
    (address,) = new
    client.submit(log_lines, 7, workers=[address], pure=False).result()
    (rec,) = wait_for_records(info, 1)
    assert rec.getMessage() == "task 7 says hello" and rec.process == new[address]

    scheduler_plugins = client.run_on_scheduler(
        lambda dask_scheduler: list(dask_scheduler.worker_plugins)
    )
    assert any(name.startswith("uvflow-forward-logs") for name in scheduler_plugins)
    rsexecute.close()  # an owned client: the plugin goes with it
    with Client(external_cluster.address, timeout=10) as other:
        left = other.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins))
    assert not any(name.startswith("uvflow-forward-logs") for name in left)


@pytest.mark.cluster
def test_worker_log_files_and_forwarding_together(tmp_path, local_client, info):
    rsexecute.set_client(client=local_client)
    logfile = tmp_path / "run.log"
    rsexecute.run(init_logging, logfile=str(logfile), level="WARNING")
    try:
        run_tasks()
        rsexecute.compute(rsexecute.execute(log_failure)(), sync=True)
    finally:
        rsexecute.run(close_logging)
    recs = wait_for_records(info, N + 1)
    assert said(recs) == EXPECTED + Counter(["task failed"])  # INFO still forwarded
    text = logfile.read_text()
    assert "task failed" in text and "says hello" not in text  # the file keeps WARNING
