"""benchmarks/compare.py turns pytest-benchmark JSON files into the serial-vs-Dask report.

Synthetic JSON with known numbers, so every derived column can be checked by hand:
a pipeline workload timed 10 s serially and 6 s on 2 Dask workers (speed-up 10/6,
efficiency 10/12, overhead (6 − 11/2)/6, per task (6 − 5.5)/50 s), and an imaging
group with a bare ducc0 benchmark (ratio 1.05).
"""

from __future__ import annotations

import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _compare():
    spec = importlib.util.spec_from_file_location(
        "uvflow_bench_compare", ROOT / "benchmarks" / "compare.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench(name, median, group=None, params=None, **extra):
    return {
        "name": name, "fullname": f"benchmarks/x.py::{name}", "group": group,
        "params": params, "stats": {"median": median}, "extra_info": extra,
    }  # fmt: skip


def _write(directory, mode, workers, benchmarks, package="pipelines"):
    """One package's file of a run (nox -s bench writes <mode>-w<workers>-<pkg>.json)."""
    doc = {
        "uvflow": {"mode": mode, "workers": workers, "machine": {"cpus": 2, "memory_gb": 24}},
        "benchmarks": benchmarks,
    }
    (directory / f"{mode}-w{workers}-{package}.json").write_text(json.dumps(doc))


def test_report_columns_from_known_numbers(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    _write(runs, "serial", 1, [_bench("test_pipeline", 10.0, peak_memory_mb=[900.0])])
    _write(runs, "serial", 1, package="imaging", benchmarks=[
        _bench("test_bare_invert", 2.0, group="invert", params={"n": 1}),
        _bench("test_uvflow_invert", 2.1, group="invert", params={"n": 1}, peak_memory_mb=[500.0]),
        _bench("test_uvflow_predict", 3.0, ratio=1.04, ratio_interleaved=1.02),
    ])  # fmt: skip
    _write(runs, "dask", 2, [
        _bench("test_pipeline", 6.0, peak_memory_mb=[400.0, 450.0], memory_increase_mb=[100.0, 120.0],
               tasks=50, task_seconds=11.0, speedup_same_process=1.7,
               wall_seconds=6.0, overhead_fraction=(6.0 - 5.5) / 6.0),
    ])  # fmt: skip
    compare = _compare()
    assert len(compare.load_runs(runs)[("serial", 1)]["benchmarks"]) == 4  # files merged
    assert compare.main([str(runs), "--out", str(tmp_path)]) == 0
    report = (tmp_path / "report.md").read_text()
    rows = {
        tuple(cell.strip() for cell in line.strip("|").split("|")[:2]): line
        for line in report.splitlines()
        if line.startswith("| `")
    }
    dask_row = rows[("`test_pipeline`", "dask-w2")].split("|")
    cells = [c.strip() for c in dask_row[1:-1]]
    assert cells[2:] == ["6", "1.67 (1.70)", "0.83", "8.3%", "10.00", "450 (+120)", "–"]
    serial_row = [c.strip() for c in rows[("`test_pipeline`", "serial-w1")].split("|")[1:-1]]
    assert serial_row[2:5] == ["10", "1.00", "1.00"] and serial_row[7] == "900"
    invert = [c.strip() for c in rows[("`test_uvflow_invert`", "serial-w1")].split("|")[1:-1]]
    assert invert[-1] == "1.05"
    predict = [c.strip() for c in rows[("`test_uvflow_predict`", "serial-w1")].split("|")[1:-1]]
    assert predict[-1] == "1.04 (1.02)"
    pytest.importorskip("matplotlib")
    assert (tmp_path / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_runs_is_an_error(tmp_path, capsys):
    assert _compare().main([str(tmp_path), "--out", str(tmp_path)]) == 1
    assert "no benchmark JSON files" in capsys.readouterr().err
    assert not (tmp_path / "report.md").exists()


def test_targets_section_judges_each_target(tmp_path):
    """Continuum 1.62× from interleaved rounds (met; 10 s serial session / 5.9 s = 1.69×
    when that is all there is); its overhead 4% (met), the
    ICAL overhead 7% (not met); invert 1.08× bare (met) and predict 1.2× (not met, judged on
    the interleaved ratio 1.2 although the other is 1.05); one workload without peak memory."""
    runs = tmp_path / "runs"
    runs.mkdir()
    pipe = "test_bench_pipeline[{}]"
    _write(runs, "serial", 1, [
        _bench(pipe.format("continuum"), 10.0, peak_memory_mb=[900.0]),
        _bench(pipe.format("ical"), 12.0, peak_memory_mb=[900.0]),
        _bench("test_uvflow_invert[1M]", 1.0, ratio=1.08, peak_memory_mb=[1.0]),
        _bench("test_uvflow_predict[1M]", 1.0, ratio=1.05, ratio_interleaved=1.2, peak_memory_mb=[1.0]),
        _bench("test_msclean", 1.0),
    ])  # fmt: skip
    _write(runs, "dask", 2, [
        _bench(pipe.format("continuum"), 5.9, overhead_fraction=0.04, peak_memory_mb=[1.0],
               speedup_same_process=1.62),
        _bench(pipe.format("ical"), 8.0, overhead_fraction=0.07, peak_memory_mb=[1.0]),
    ])  # fmt: skip
    compare = _compare()
    lines = compare.target_lines(compare.load_runs(runs))
    rows = {
        line.split("|")[1].strip(): line.split("|")[2:4]
        for line in lines
        if line.startswith("| ") and "---" not in line
    }
    verdicts = {k: v[1].strip() for k, v in rows.items() if k != "target"}
    assert verdicts == {
        "continuum, 2 workers ≥ 1.6× serial": "yes",
        "`test_bench_pipeline[continuum]` dask-w2: overhead < 5%": "yes",
        "`test_bench_pipeline[ical]` dask-w2: overhead < 5%": "**no**",
        "`test_uvflow_invert[1M]` ≤ 1.1× bare ducc0": "yes",
        "`test_uvflow_predict[1M]` ≤ 1.1× bare ducc0": "**no**",
        "peak memory per worker for every workload": "**no**",
    }
    # judged on the interleaved same-process speed-up, the across-session one beside it
    assert rows["continuum, 2 workers ≥ 1.6× serial"][0].strip() == (
        "1.62× (interleaved; 1.69× against the serial session)"
    )
    loaded = compare.load_runs(runs)
    del loaded[("dask", 2)]["benchmarks"][0]["extra_info"]["speedup_same_process"]
    assert any("| 1.69× | yes |" in line for line in compare.target_lines(loaded))
    loaded[("dask", 2)]["benchmarks"][0]["extra_info"]["speedup_same_process"] = 1.5
    assert any("| 1.50× (interleaved" in line and "| **no** |" in line
               for line in compare.target_lines(loaded))  # fmt: skip
    assert "`test_msclean` serial-w1" in rows["peak memory per worker for every workload"][0]
    assert "3 of 6 met." in lines
    # the per-pair speed-ups and per-round overheads, where recorded, as their range
    info = loaded[("dask", 2)]["benchmarks"][0]["extra_info"]
    info.update(speedup_pairs=[1.5, 1.38, 1.71], overhead_rounds=[0.031, 0.052, 0.044])
    spread = "\n".join(compare.target_lines(loaded))
    assert "| 1.50× (interleaved, pairs 1.38×–1.71×; 1.69× against the serial session) |" in spread
    assert "| 4.0% (rounds 3.1%–5.2%) | yes |" in spread


# --------------------------------------------------------------------------------------
# "WSClean side by side" (issue 16; benchmarks/compare_wsclean.py)
# --------------------------------------------------------------------------------------
def _side(walls, peaks, **extra):
    """One program's figures in a wsclean_job record: walls (s), the sum over its
    processes' peaks (MiB) per run."""
    return {"wall_s": walls, "peak_sum_mib": peaks, "peak_process_mib": peaks, **extra}


def _job(job, uv, ws, size="full", measured_at="2026-01-01T00:00:00", **extra):
    pairs = [round(u / w, 3) for u, w in zip(uv["wall_s"], ws.get("wall_s", []))]
    return {
        "job": job, "title": f"{job} title", "options": "-size 512 512", "size": size,
        "measured_at": measured_at, "nvis": 1_000_000, "rounds": len(uv["wall_s"]),
        "threads": 2, "cpus": 2, "loadavg_at_pairs": [1.0, 3.0, 2.0],
        "uvflow": uv, "wsclean": ws, "pair_wall_ratio": pairs, **extra,
    }  # fmt: skip


def _wsclean_runs(tmp_path, *records, package="wsclean"):
    runs = tmp_path / "runs"
    runs.mkdir(exist_ok=True)
    _write(runs, "serial", 1, package=package, benchmarks=[
        _bench(f"test_bench_wsclean_job[{r['job']}]", 1.0, wsclean_job=r, peak_memory_mb=[1.0])
        for r in records
    ])  # fmt: skip
    return runs


def _checks(compare, runs):
    """{acceptance line (without the section prefix): (measured, met)} from the Targets."""
    return {
        t.removeprefix("WSClean side by side: "): (m, v)
        for t, m, v in compare.compare_wsclean.wsclean_checks(compare.load_runs(runs))
    }


def test_wsclean_section_judges_each_job(tmp_path, capsys):
    """Clean job: medians 7.0 s against 6.5 s = 1.08× (over 1.0, under 1.2) with one
    interleaved pair at 6.8 / 7.0 = 0.97: accepted within the spread; its peak 420 / 310
    MiB = 1.35× (met); CPU medians 13.0 and 10.5 s. 3C273 job: 2.1 / 1.1 = 1.91× (not
    met). Exact figures: the cells are formatted from these numbers, nothing measured."""
    clean = _job("clean", _side([7.0, 7.2, 6.8], [400.0, 420.0, 410.0], others_cores=[0.5, 1.2],
                                cpu_s=[12.0, 13.0, 14.0]),
                 _side([6.0, 6.5, 7.0], [300.0, 310.0, 305.0], version="3.1.0",
                       cpu_s=[10.0, 11.0]))  # fmt: skip
    vla = _job("3c273", _side([2.0, 2.2, 2.1], [200.0, 210.0, 205.0]),
               _side([1.0, 1.1, 1.2], [90.0, 95.0, 99.0], version="3.1.0"))  # fmt: skip
    runs = _wsclean_runs(tmp_path, vla, clean)
    compare = _compare()
    checks = _checks(compare, runs)
    wall = checks["clean job: wall ≤ 1.0× WSClean's (≤ 1.2× within the measured spread)"]
    assert wall[0].startswith("1.08× (7.00 s against 6.50 s; pairs 0.97–1.17)")
    assert "accepted" in wall[0] and wall[1] == "yes"
    assert checks["clean job: peak memory ≤ 1.5× WSClean's"] == (
        "1.35× (420 MiB against 310 MiB)",
        "yes",
    )
    assert checks["3c273 job: wall ≤ 1.5× WSClean's"][1] == "**no**"
    assert compare.main([str(runs), "--out", str(tmp_path)]) == 0
    report = (tmp_path / "report.md").read_text()
    section = report[report.index("## WSClean side by side") : report.index("## All workloads")]
    rows = [line for line in section.splitlines() if line.startswith("| clean |")]
    assert rows and "| 7.00 (6.80–7.20) | 6.50 (6.00–7.00) | 1.08 (pairs 0.97–1.17) |" in rows[0]
    assert "| 1.08 (pairs 0.97–1.17) | 13.0 / 10.5 | 420 / 420 | 310 |" in rows[0]
    assert "| 1.35 | 2.0 (1.0–3.0); others 0.85 cores (max 1.20) |" in rows[0]
    assert section.index("| clean |") < section.index("| 3c273 |")  # the order of TARGETS
    assert "| WSClean side by side: 3c273 job: wall ≤ 1.5× WSClean's |" in report  # in Targets
    capsys.readouterr()
    assert compare.compare_wsclean.main([str(runs)]) == 1  # a line not met: nox fails
    assert "1 acceptance line(s) not met" in capsys.readouterr().out


@pytest.mark.parametrize(
    "uv_walls, ws_walls, met",
    [
        ([6.0, 6.4, 6.2], [6.5, 6.3, 6.4], "yes"),  # 0.97×: met outright
        ([7.0, 7.2, 7.1], [6.5, 6.4, 6.6], "**no**"),  # 1.09×, but every pair above 1.0
        ([8.0, 8.2, 6.0], [6.5, 6.5, 6.5], "**no**"),  # a pair at 0.92, but 1.23× > 1.2
    ],
)
def test_wsclean_clean_wall_spread_rule(tmp_path, uv_walls, ws_walls, met):
    """Over 1.0× the clean job passes only up to 1.2× and only when an interleaved pair
    had uvflow at or below WSClean (the two not told apart by the machine's drift)."""
    rec = _job("clean", _side(uv_walls, [1.0] * 3), _side(ws_walls, [1.0] * 3))
    line = "clean job: wall ≤ 1.0× WSClean's (≤ 1.2× within the measured spread)"
    assert _checks(_compare(), _wsclean_runs(tmp_path, rec))[line][1] == met


def test_wsclean_tiny_or_missing_is_not_judged(tmp_path, capsys):
    """A tiny run (CI's harness check) and a run without WSClean judge nothing (so the
    nox session passes), say why, and the newest record of a job is the one shown."""
    older = _job("clean", _side([9.0], [1.0]), _side([1.0], [1.0]), measured_at="2025")
    missing = _job("clean", _side([7.0], [400.0]), {"missing": "WSClean not installed (not root)"})
    tiny = _job("3c273", _side([3.0], [100.0]), _side([1.0], [50.0]), size="tiny")
    runs = _wsclean_runs(tmp_path, older, missing, tiny)
    _wsclean_runs(tmp_path, older, package="pipelines")  # the serial bench session's copy
    compare = _compare()
    checks = _checks(compare, runs)
    assert {v for _, v in checks.values()} == {"–"}
    assert checks["clean job: peak memory ≤ 1.5× WSClean's"][0] == (
        "WSClean not installed (not root)"
    )
    assert checks["3c273 job: wall ≤ 1.5× WSClean's"][0] == "tiny run: not judged"
    assert compare.compare_wsclean.main([str(runs)]) == 0
    out = capsys.readouterr().out
    assert "- WSClean not installed (not root): the WSClean columns are empty." in out
    assert "| clean | 1 M | 1 | ? | 7.00 | missing |" in out and "| 3c273 (tiny) |" in out


def test_wsclean_section_absent_without_its_benchmark(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    _write(runs, "serial", 1, [_bench("test_pipeline", 10.0, peak_memory_mb=[900.0])])
    compare = _compare()
    assert compare.compare_wsclean.wsclean_lines(compare.load_runs(runs)) == []
    assert compare.compare_wsclean.main([str(runs)]) == 1
    assert "no WSClean side-by-side benchmark" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# Large data (issue 15; benchmarks/compare_large_data.py): WSClean held to uvflow's memory
# --------------------------------------------------------------------------------------
def test_large_data_abs_mem_and_cpu_columns(tmp_path):
    """One size: 2 workers 60 s against WSClean's 50 s (1.20×, not met); the worst uvflow
    process 900 MiB against WSClean's 300 MiB (3.00×, not met) and against WSClean held to
    1 GB (-abs-mem: 450 MiB, 2.00×, shown beside it); CPU seconds and others' cores."""
    run = {"wall_s": [60.0, 62.0, 58.0], "peak_client_mib": [500.0], "cpu_s": [100.0, 110.0],
           "others_cores": [0.2, 0.6]}  # fmt: skip
    rec = {
        "size_factor": 1, "ms_bytes": 6e9, "data_column_bytes": 5e9, "nvis": 3e8,
        "budgets_mib": 3072.0, "memory_limit_mib": 1024.0, "memory_limit": "1GiB",
        "uvflow_serial": dict(run, peak_client_mib=[800.0]),
        "uvflow_w2": dict(run, peak_workers_mib=[[900.0, 850.0]], chunks=8, resident=False),
        "wsclean": {"wall_s": [50.0], "peak_client_mib": [300.0], "cpu_s": [90.0],
                    "others_cores": [1.4]},
        "wsclean_abs_mem": {"wall_s": [70.0], "peak_client_mib": [450.0], "abs_mem_gb": 1.0},
    }  # fmt: skip
    runs = tmp_path / "runs"
    runs.mkdir()
    _write(runs, "serial", 1, [_bench("test_bench_large_data[1x]", 60.0, large_data=rec)])
    compare = _compare()
    loaded = compare.load_runs(runs)
    checks = {t: (m, v) for t, m, v in compare.compare_large_data.large_data_checks([rec])}
    peak = checks["large data: 1×, 2 workers: peak per process ≤ 1.5× WSClean's process"]
    assert peak == ("3.00× (900 MiB against 300 MiB; against WSClean -abs-mem 1 "
                    "(450 MiB, 70.0 s): 2.00×)", "**no**")  # fmt: skip
    wall = checks["large data: 1×, 2 workers: wall ≤ 1.0× WSClean's on the same job"]
    assert wall == ("1.20× (60.0 s against 50.0 s)", "**no**")
    lines = compare.compare_large_data.large_data_lines(loaded)
    assert any(line.endswith("| 70.0 / 450 |") for line in lines)
    assert "| 1× | 105 | 105 | 90 | 0.60 (max 1.40) |" in lines
