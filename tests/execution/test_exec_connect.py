"""Connecting to a scheduler fails fast when nothing listens, and waits otherwise (issue 17).

A refused connection (ECONNREFUSED: no process listens at that port) cannot succeed by
waiting, so :func:`get_dask_client` says so at once instead of retrying for the whole
timeout; a port that accepts the connection but does not answer fails after the timeout. ``use_environment=False`` ignores ``$UVFLOW_DASK_SCHEDULER``,
and ``n_workers`` given while the environment names a scheduler is reported.
"""

from __future__ import annotations

import logging
import re
import socket
import time

import pytest

from uvflow.execution import ClusterConnectionError, get_dask_client

pytestmark = pytest.mark.cluster


def closed_port_address() -> str:
    """An address on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


def test_refused_connection_fails_at_once():
    address = closed_port_address()
    start = time.monotonic()
    with pytest.raises(ClusterConnectionError, match=re.escape(address)) as info:
        get_dask_client(scheduler=address, timeout=30)
    # a few seconds at most (the probe itself is immediate on loopback), not the 30 s
    assert time.monotonic() - start < 5
    assert "the connection was refused" in str(info.value)
    assert "(from scheduler argument)" in str(info.value)


def test_silent_listener_keeps_the_timeout():
    """A socket that accepts connections (the kernel completes them: listen() without
    accept()) but never speaks Dask's protocol: the timeout is waited, then an error says
    so (Dask's own connect waits for the scheduler's greeting without a bound: it hung)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(ClusterConnectionError, match=re.escape(address)) as info:
            get_dask_client(scheduler=address, timeout=2)
        elapsed = time.monotonic() - start
    assert 1.5 <= elapsed < 2 + 6
    assert "it accepted the connection but sent nothing within 2 s" in str(info.value)


def test_environment_refused_names_the_variable(monkeypatch, caplog):
    """n_workers cannot apply to an existing scheduler: the warning says it is ignored."""
    address = closed_port_address()
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER", address)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="uvflow.execution.client"):
        with pytest.raises(ClusterConnectionError, match=r"\$UVFLOW_DASK_SCHEDULER"):
            get_dask_client(n_workers=2, timeout=30)
    assert time.monotonic() - start < 5
    assert f"n_workers=2 ignored: connecting to the scheduler at {address}" in caplog.text


def test_use_environment_false_starts_a_local_cluster(monkeypatch):
    address = closed_port_address()
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER", address)
    client = get_dask_client(n_workers=1, processes=False, dashboard_address=":0", timeout=20,
                             use_environment=False)  # fmt: skip
    try:
        assert client.scheduler.address != address
        assert len(client.nthreads()) == 1
    finally:
        client.close()
