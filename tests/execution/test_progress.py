"""compute(progress=True): without a terminal, periodic "n/N tasks done" log lines."""

from __future__ import annotations

import logging
import re
import time

import pytest

from uvflow.execution import rsexecute, sum_list_rsexecute
from uvflow.execution.progress import is_terminal


def nap(i):
    time.sleep(0.3)
    return i


def counts(text):
    return [(int(a), int(b)) for a, b in re.findall(r"(\d+)/(\d+) tasks done", text)]


@pytest.fixture
def quick_progress(monkeypatch, caplog):
    monkeypatch.setattr(rsexecute, "progress_interval", 0.2)
    caplog.set_level(logging.INFO, logger="uvflow.execution")
    assert not is_terminal()  # pytest captures stdout


@pytest.mark.cluster
def test_cluster_progress_is_logged(local_client, quick_progress, caplog):
    rsexecute.set_client(client=local_client)
    graph = sum_list_rsexecute([rsexecute.execute(nap)(i) for i in range(6)])
    assert rsexecute.compute(graph, sync=True, progress=True) == 15
    seen = counts(caplog.text)
    assert seen[-1] == (11, 11)  # 6 naps + 5 additions
    assert "computing 11 tasks" in caplog.text  # the same count, shared dependencies once
    assert any(done < total for done, total in seen)  # lines while it ran
    assert "finished in" in caplog.text
    assert "dashboard: http" in caplog.text


def test_local_progress_is_logged(quick_progress, caplog):
    rsexecute.set_client(scheduler="threads", n_workers=2)
    graph = sum_list_rsexecute([rsexecute.execute(nap)(i) for i in range(4)])
    assert rsexecute.compute(graph, progress=True) == 6
    seen = counts(caplog.text)
    assert seen[-1] == (7, 7)
    assert any(done < total for done, total in seen)


def test_serial_progress_is_a_no_op(quick_progress, caplog):
    rsexecute.set_client(use_dask=False)
    assert rsexecute.compute(3, progress=True) == 3
    assert counts(caplog.text) == []


@pytest.mark.cluster
def test_cluster_progress_on_a_terminal_draws_a_bar(local_client, monkeypatch, capsys):
    """On a terminal the distributed text bar is drawn on stdout (not log lines)."""
    import uvflow.execution.progress as progress_module

    monkeypatch.setattr(progress_module, "is_terminal", lambda stream=None: True)
    rsexecute.set_client(client=local_client)
    graph = sum_list_rsexecute([rsexecute.execute(nap)(i) for i in range(3)])
    assert rsexecute.compute(graph, sync=True, progress=True) == 3
    out = capsys.readouterr().out
    assert "100% Completed" in out and "[" in out  # distributed's TextProgressBar
    assert counts(out) == []


def test_local_progress_on_a_terminal_draws_a_bar(monkeypatch, capsys):
    """The local schedulers use dask.diagnostics.ProgressBar on a terminal."""
    import uvflow.execution.progress as progress_module

    monkeypatch.setattr(progress_module, "is_terminal", lambda stream=None: True)
    rsexecute.set_client(scheduler="threads", n_workers=2)
    graph = sum_list_rsexecute([rsexecute.execute(nap)(i) for i in range(3)])
    assert rsexecute.compute(graph, progress=True) == 3
    out = capsys.readouterr().out
    assert "100% Completed" in out
