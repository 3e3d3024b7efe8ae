"""Fixtures for the uvflow.execution tests: real Dask clusters on 127.0.0.1, no mocks.

- ``workflow``: a small chained workflow (three ``execute`` steps and a tree sum),
  built with whatever mode ``rsexecute`` is in, and its expected value.
- ``local_client``: one ``LocalCluster`` of 2 worker processes for the session; tests
  adopt it with ``rsexecute.set_client(client=local_client)``.
- ``external_cluster``: ``dask scheduler`` and two ``dask worker`` processes started
  from this Python, found through a scheduler file; killed at the end even on failure.

Every test ends with ``rsexecute`` closed (back to serial) and uvflow's log handlers
removed. Dask pickles the test functions by reference (``tests.execution.<module>``),
so the directory holding ``tests/`` is put on the path of every worker process: on
``sys.path`` here (spawned LocalCluster workers inherit it) and in ``PYTHONPATH`` of
the external processes.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from distributed import Client

from uvflow.execution import close_logging, read_scheduler_file, rsexecute, sum_list_rsexecute

# the directory whose "tests" package (namespace) holds this module
TESTS_ROOT = str(Path(__file__).resolve().parents[__name__.count(".")])
if TESTS_ROOT not in sys.path:
    sys.path.append(TESTS_ROOT)

N_ITEMS = 8


def make_value(i):
    return i + 1


def scale(x, factor):
    return x * factor


def offset(x, i):
    return x - i


def build_workflow(n=N_ITEMS):
    """Three chained execute steps per item, then a tree sum: sum(3 (i + 1) - i)."""
    values = [rsexecute.execute(make_value)(i) for i in range(n)]
    scaled = [rsexecute.execute(scale)(v, 3) for v in values]
    shifted = [rsexecute.execute(offset)(s, i) for i, s in enumerate(scaled)]
    return sum_list_rsexecute(shifted)


@dataclass
class Workflow:
    build: object = build_workflow
    expected: int = sum(3 * (i + 1) - i for i in range(N_ITEMS))
    functions: tuple = ("make_value", "scale", "offset", "add")
    calls: dict = field(
        default_factory=lambda: {
            "make_value": N_ITEMS,
            "scale": N_ITEMS,
            "offset": N_ITEMS,
            "add": N_ITEMS - 1,
        }
    )


@pytest.fixture
def workflow():
    return Workflow()


@pytest.fixture(autouse=True)
def _reset_rsexecute():
    """rsexecute back to serial and uvflow logging restored after every test."""
    uvflow_logger = logging.getLogger("uvflow")
    level = uvflow_logger.level
    yield
    rsexecute.close()
    close_logging()
    uvflow_logger.setLevel(level)


@pytest.fixture(scope="session")
def local_client():
    """A LocalCluster of 2 single-threaded worker processes, shared by the session."""
    client = Client(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
        timeout=60,
    )
    try:
        yield client
    finally:
        client.close()


@dataclass
class ExternalCluster:
    address: str
    scheduler_file: str
    directory: str
    processes: list


def _start(args, directory, name):
    pythonpath = os.environ.get("PYTHONPATH", "")
    with open(os.path.join(directory, f"{name}.log"), "w") as log:  # the child keeps its copy
        return subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: nanny and worker are stopped together
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [TESTS_ROOT, pythonpath])),
            },
        )


def _stop(processes):
    for proc in reversed(processes):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 15
    for proc in reversed(processes):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


@pytest.fixture(scope="session")
def external_cluster(tmp_path_factory):
    """``dask scheduler`` + 2 ``dask worker`` processes (nanny, 1 thread each) on 127.0.0.1."""
    directory = str(tmp_path_factory.mktemp("dask-cluster"))
    scheduler_file = os.path.join(directory, "scheduler.json")
    processes = []
    try:
        processes.append(
            _start(
                [
                    "distributed.cli.dask_scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    scheduler_file,
                ],
                directory,
                "scheduler",
            )
        )
        address = read_scheduler_file(scheduler_file, timeout=60)
        for i in range(2):
            processes.append(
                _start(
                    [
                        "distributed.cli.dask_worker",
                        address,
                        "--host",
                        "127.0.0.1",
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--name",
                        f"w{i}",
                        "--no-dashboard",
                        "--memory-limit",
                        "0",
                        "--local-directory",
                        directory,
                    ],
                    directory,
                    f"worker{i}",
                )
            )
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
        yield ExternalCluster(address, scheduler_file, directory, processes)
    finally:
        _stop(processes)
