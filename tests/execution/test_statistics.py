"""init_statistics / save_statistics in every mode: files, per-function table, JSON."""

from __future__ import annotations

import json
import logging

import pytest

from uvflow.execution import rsexecute
from uvflow.execution.statistics import TaskRecord, format_statistics, summarise_records


def check_saved(stats, tmp_path, name, workflow, mode):
    files = stats["files"]
    for kind in ("task_stream", "profile", "statistics"):
        assert files[kind] == str(
            tmp_path / f"{name}_{kind}.{'json' if kind == 'statistics' else 'html'}"
        )
    html = (tmp_path / f"{name}_task_stream.html").read_text()
    assert "bokeh" in html.lower()
    assert (tmp_path / f"{name}_profile.html").stat().st_size > 0
    saved = json.loads((tmp_path / f"{name}_statistics.json").read_text())
    assert saved == stats
    assert saved["mode"] == mode
    for function in workflow.functions:
        assert function in saved["functions"], saved["functions"]
        assert saved["functions"][function]["calls"] >= workflow.calls[function]
    assert saved["n_tasks"] >= sum(workflow.calls.values())
    assert saved["cpu_time"] >= 0 and saved["wall_time"] >= 0
    assert abs(sum(f["percent"] for f in saved["functions"].values()) - 100) < 1e-6
    return saved


def test_serial_mode_times_executed_functions(tmp_path, workflow, caplog):
    rsexecute.set_client(use_dask=False)
    rsexecute.init_statistics()
    assert rsexecute.compute(workflow.build()) == workflow.expected
    with caplog.at_level(logging.INFO, logger="uvflow.execution"):
        stats = rsexecute.save_statistics("serial", directory=tmp_path)
    saved = check_saved(stats, tmp_path, "serial", workflow, "serial")
    assert {f: v["calls"] for f, v in saved["functions"].items()} == workflow.calls
    assert "Speed-up" in caplog.text and "make_value" in caplog.text


def test_serial_mode_without_init_statistics_refuses(tmp_path):
    rsexecute.set_client(use_dask=False)
    with pytest.raises(RuntimeError, match="init_statistics"):
        rsexecute.save_statistics("never", directory=tmp_path)


def test_local_scheduler(tmp_path, workflow):
    rsexecute.set_client(scheduler="threads", n_workers=2)  # starts recording
    assert rsexecute.compute(workflow.build()) == workflow.expected
    stats = rsexecute.save_statistics("threads", directory=tmp_path)
    saved = check_saved(stats, tmp_path, "threads", workflow, "local")
    assert {f: v["calls"] for f, v in saved["functions"].items()} == workflow.calls
    assert saved["n_workers"] == 2


@pytest.mark.cluster
def test_cluster(tmp_path, workflow, local_client):
    rsexecute.set_client(client=local_client, verbose=True)
    rsexecute.init_statistics()
    assert rsexecute.compute(workflow.build(), sync=True) == workflow.expected
    stats = rsexecute.save_statistics("cluster", directory=tmp_path)
    saved = check_saved(stats, tmp_path, "cluster", workflow, "distributed")
    assert saved["n_workers"] == 2
    assert "Dask Profile" in (tmp_path / "cluster_profile.html").read_text()
    # saving again reports the same tasks, not twice as many
    again = rsexecute.save_statistics("cluster2", directory=tmp_path)
    assert again["n_tasks"] == saved["n_tasks"]


def test_summary_arithmetic():
    records = [
        TaskRecord("a", 0.0, 2.0, "w1"),
        TaskRecord("a", 1.0, 2.0, "w2"),
        TaskRecord("b", 2.0, 4.0, "w1"),
    ]
    stats = summarise_records(records, since=-1.0, until=5.0)
    assert stats["functions"] == {
        "a": {"seconds": 3.0, "percent": 60.0, "calls": 2},
        "b": {"seconds": 2.0, "percent": 40.0, "calls": 1},
    }
    assert stats["cpu_time"] == 5.0 and stats["wall_time"] == 4.0 and stats["elapsed"] == 6.0
    assert stats["speedup"] == 1.25 and stats["n_lanes"] == 2
    assert "Speed-up (CPU / wall): 1.25" in format_statistics(stats)
    empty = summarise_records([], since=0.0, until=1.0)
    assert empty["speedup"] is None and empty["functions"] == {}
