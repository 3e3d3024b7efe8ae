"""get_dask_client: where it looks for a scheduler, and how it fails."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest

from uvflow.execution import (
    ClusterConnectionError,
    ExecutionError,
    get_dask_client,
    read_scheduler_file,
    rsexecute,
)


def closed_port_address() -> str:
    """An address on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


@pytest.mark.cluster
def test_wrong_address_fails_within_timeout_naming_it():
    address = closed_port_address()
    start = time.monotonic()
    with pytest.raises(ClusterConnectionError, match=re.escape(address)) as info:
        get_dask_client(scheduler=address, timeout=3)
    elapsed = time.monotonic() - start
    assert elapsed < 3 + 4
    assert isinstance(info.value, ConnectionError) and isinstance(info.value, OSError)
    assert isinstance(info.value, ExecutionError)


@pytest.mark.cluster
def test_wrong_address_from_environment_through_set_client(monkeypatch):
    address = closed_port_address()
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER", address)
    start = time.monotonic()
    with pytest.raises(ClusterConnectionError, match=re.escape(address)) as info:
        rsexecute.set_client(timeout=2)
    assert time.monotonic() - start < 2 + 4
    assert "UVFLOW_DASK_SCHEDULER" in str(info.value)
    assert rsexecute.mode == "serial"  # nothing half-configured is left behind


def test_missing_scheduler_file_fails_within_timeout(tmp_path):
    path = tmp_path / "nowhere.json"
    start = time.monotonic()
    with pytest.raises(ClusterConnectionError, match=re.escape(str(path))):
        get_dask_client(scheduler_file=path, timeout=0.5)
    assert time.monotonic() - start < 0.5 + 2


def test_scheduler_file_without_address(tmp_path):
    path = tmp_path / "scheduler.json"
    path.write_text(json.dumps({"type": "Scheduler"}))
    with pytest.raises(ClusterConnectionError, match="holds no scheduler address"):
        read_scheduler_file(path, timeout=0.2)
    path.write_text(json.dumps({"address": "tcp://10.1.2.3:8786"}))
    assert read_scheduler_file(path, timeout=0.2) == "tcp://10.1.2.3:8786"


def test_scheduler_and_scheduler_file_together_are_refused(tmp_path):
    with pytest.raises(ValueError, match="either"):
        get_dask_client(scheduler="tcp://127.0.0.1:1", scheduler_file=tmp_path / "s.json")


def test_unknown_keyword_names_the_valid_ones():
    with pytest.raises(TypeError, match="did you mean 'n_workers'") as info:
        get_dask_client(n_worker=2)
    assert "scheduler_file" in str(info.value)


@pytest.mark.cluster
def test_local_cluster_is_owned_by_its_client(monkeypatch):
    for var in ("UVFLOW_DASK_SCHEDULER", "RASCIL_DASK_SCHEDULER", "UVFLOW_DASK_SCHEDULER_FILE"):
        monkeypatch.delenv(var, raising=False)
    client = get_dask_client(n_workers=1, processes=False, dashboard_address=":0", timeout=10)
    cluster = client.cluster
    assert len(client.nthreads()) == 1
    client.close()
    assert cluster.status.name == "closed"


@pytest.mark.cluster
def test_argument_beats_environment(external_cluster, monkeypatch):
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER", closed_port_address())
    client = get_dask_client(scheduler=external_cluster.address, timeout=10)
    try:
        assert client.scheduler.address == external_cluster.address
    finally:
        client.close()


def test_malformed_address_is_named():
    with pytest.raises(ValueError, match="'nonsense'.*tcp://"):
        get_dask_client(scheduler="nonsense", timeout=1)
