"""init_logging run on every worker: records from tasks reach the log file(s)."""

from __future__ import annotations

import logging
import os
import re
import time

import pytest

from uvflow.execution import close_logging, init_logging, rsexecute


def log_from_task(i):
    """Logs which worker and process ran it; returns the pid."""
    try:
        from distributed import get_worker

        worker = get_worker().name
    except ValueError:
        worker = "local"
    time.sleep(0.2)
    logging.getLogger("uvflow.test").info("task %d ran on worker %s pid %d", i, worker, os.getpid())
    return os.getpid()


def say_hello():
    logging.getLogger("uvflow.test").info("hello from pid %d", os.getpid())
    return os.getpid()


def task_lines(text):
    return re.findall(r"task (\d+) ran on worker (\S+) pid (\d+)", text)


def test_serial_mode_runs_it_here(tmp_path):
    logfile = tmp_path / "logs" / "run.log"
    result = rsexecute.run(init_logging, logfile=str(logfile))
    assert result == {"local": str(logfile)}
    rsexecute.run(init_logging, logfile=str(logfile))  # idempotent: still one handler
    pids = [rsexecute.execute(log_from_task)(i) for i in range(3)]
    assert pids == [os.getpid()] * 3
    logging.getLogger("uvflow.test").debug("not at INFO")
    close_logging()
    text = logfile.read_text()
    assert [i for i, _, _ in task_lines(text)] == ["0", "1", "2"]  # each line once
    assert f"[local pid={os.getpid()}] uvflow.test: task 0" in text
    assert "not at INFO" not in text


def test_per_worker_and_levels_locally(tmp_path):
    path = init_logging(logfile=tmp_path / "run.log", level="DEBUG", per_worker=True)
    assert path == str(tmp_path / "run-local.log")
    logging.getLogger("uvflow.test").debug("debug line")
    assert close_logging() == 1
    assert "debug line" in (tmp_path / "run-local.log").read_text()
    with pytest.raises(ValueError, match="DEBUG, INFO"):
        init_logging(logfile=tmp_path / "x.log", level="LOUD")
    with pytest.raises(TypeError, match="per_worker"):
        init_logging(logfile=tmp_path / "x.log", perworker=True)


@pytest.mark.cluster
def test_every_worker_appends_to_one_file(tmp_path, external_cluster, monkeypatch):
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER", external_cluster.address)
    rsexecute.set_client(timeout=10)
    rsexecute.client.wait_for_workers(2, timeout=60)
    logfile = tmp_path / "run.log"
    paths = rsexecute.run(init_logging, logfile=str(logfile))
    assert len(paths) == 2 and set(paths.values()) == {str(logfile)}
    worker_pids = set(rsexecute.run(os.getpid).values())
    try:
        pids = rsexecute.compute([rsexecute.execute(log_from_task)(i) for i in range(8)], sync=True)
    finally:
        rsexecute.run(close_logging)
    lines = task_lines(logfile.read_text())
    assert sorted(int(i) for i, _, _ in lines) == list(range(8))
    assert {int(pid) for _, _, pid in lines} == set(pids) == worker_pids
    assert {w for _, w, _ in lines} == {"w0", "w1"}


@pytest.mark.cluster
def test_one_file_per_worker(tmp_path, local_client):
    rsexecute.set_client(client=local_client)
    paths = rsexecute.run(init_logging, logfile=str(tmp_path / "run.log"), per_worker=True)
    names = {str(w) for w in local_client.run(lambda dask_worker: dask_worker.name).values()}
    assert sorted(paths.values()) == sorted(str(tmp_path / f"run-{n}.log") for n in names)
    try:
        said = rsexecute.run(say_hello)
    finally:
        rsexecute.run(close_logging)
    for address, path in paths.items():
        assert f"hello from pid {said[address]}" in open(path).read()
