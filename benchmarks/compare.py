"""Serial vs Dask, side by side: reads the pytest-benchmark JSON files written by
``nox -s bench(...)`` and writes ``benchmarks/report.md`` and ``benchmarks/scaling.png``.

Usage: ``python benchmarks/compare.py .benchmarks/runs [--out benchmarks]``

Per workload (a benchmark's name and parameters) and run (mode, workers) it reports the
median time, the speed-up over the serial run and the parallel efficiency (speed-up /
workers), the Dask overhead (wall − Σ task time / workers, from the task stream: as a
fraction of wall and per task), the peak memory per worker, and — for benchmarks in a
group that also has a ``bare`` benchmark (a bare ducc0 call on the same arrays) — the
ratio to it.

Two workloads that run WSClean beside uvflow get their own sections, each with its
acceptance lines (also in Targets): "Large data" (issue 15, ``compare_large_data.py``;
``--large-data`` prints only that section and exits 1 when a line is not met: ``nox -s
large_data``) and "WSClean side by side" (issue 16, ``compare_wsclean.py``; ``python
benchmarks/compare_wsclean.py DIR`` does the same for it: ``nox -s wsclean_jobs``).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections import defaultdict

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # however this file is loaded
import compare_large_data  # the "Large data" section
import compare_wsclean  # the "WSClean side by side" section
from report_cells import fmt, print_section, verdict


def load_runs(directory: pathlib.Path) -> dict[tuple[str, int], dict]:
    """(mode, workers) -> one pytest-benchmark document: the files of a run (one per
    benchmark package, ``<mode>-w<workers>-<pkg>.json``) merged."""
    runs: dict[tuple[str, int], dict] = {}
    for path in sorted(directory.glob("*.json")):
        with open(path) as f:
            doc = json.load(f)
        meta = doc.get("uvflow", {})
        key = (meta.get("mode", path.stem.split("-")[0]), int(meta.get("workers", 1)))
        if key in runs:
            runs[key]["benchmarks"] = runs[key].get("benchmarks", []) + doc.get("benchmarks", [])
        else:
            runs[key] = doc
    return runs


def _run_label(key: tuple[str, int]) -> str:
    return f"{key[0]}-w{key[1]}"


def collect(runs: dict) -> dict[str, dict[tuple[str, int], dict]]:
    """workload name -> run key -> benchmark record."""
    table: dict[str, dict] = defaultdict(dict)
    for key, doc in runs.items():
        for b in doc.get("benchmarks", []):
            table[b["fullname"]][key] = b
    return table


def bare_ratios(runs: dict) -> dict[tuple[str, tuple[str, int]], float]:
    """(workload, run) -> median(workload) / median(bare benchmark in the same group and params)."""
    out = {}
    for key, doc in runs.items():
        groups = defaultdict(list)
        for b in doc.get("benchmarks", []):
            groups[(b.get("group"), json.dumps(b.get("params"), sort_keys=True))].append(b)
        for members in groups.values():
            bare = [b for b in members if "bare" in b["name"]]
            if not bare or members[0].get("group") is None:
                continue
            ref = bare[0]["stats"]["median"]
            for b in members:
                if b is not bare[0]:
                    out[(b["fullname"], key)] = b["stats"]["median"] / ref
    return out


def overhead_per_task(info: dict, workers: int) -> float | None:
    """Dask overhead per task in ms: (wall − Σ task time / workers) / tasks."""
    tasks, busy, wall = (info.get(k) for k in ("tasks", "task_seconds", "wall_seconds"))
    if not tasks or busy is None or wall is None:
        return None
    return 1e3 * max(0.0, wall - busy / max(workers, 1)) / tasks


def bare_cell(group_ratio: float | None, info: dict) -> str:
    """The × bare ducc0 cell: the benchmark's own ``ratio`` (minimum over minimum, and in
    parentheses from interleaved calls) or else the ratio of medians within its group."""
    ratio = info.get("ratio", group_ratio)
    cell = fmt(ratio, ".2f")
    if info.get("ratio_interleaved") is not None:
        cell += f" ({info['ratio_interleaved']:.2f})"
    return cell


TARGETS = {
    "continuum_speedup_w2": 1.6,  # continuum pipeline, 8 windows, 2 workers, over serial
    "pipeline_overhead": 0.05,  # Dask overhead as a fraction of wall, pipeline workloads
    "bare_ratio": 1.10,  # uvflow invert/predict time / bare ducc0 time
}


def _is_pipeline(name: str) -> bool:
    return "bench_pipeline" in name


def _spread(values, what: str, fmt: str, before: str = ", ", after: str = "") -> str:
    """`` <what> a–b`` (the range of per-round figures), or nothing for fewer than two."""
    if not values or len(values) < 2:
        return ""
    return f"{before}{what} {fmt.format(min(values))}–{fmt.format(max(values))}{after}"


def target_lines(runs: dict) -> list[str]:
    """The speed targets of the suite, each with the measured number and whether it is met.

    - continuum pipeline on 2 Dask workers at least ``TARGETS['continuum_speedup_w2']`` ×
      faster than serial, judged on the speed-up from serial and Dask rounds interleaved in
      one process where the benchmark records it (``speedup_same_process``: the serial
      session ran minutes earlier, and this machine kind's speed drifts by ±15 % over
      minutes), else on the speed-up against the serial session; both are shown;
    - Dask overhead below ``TARGETS['pipeline_overhead']`` of wall time for every pipeline
      workload and Dask run;
    - uvflow invert/predict at most ``TARGETS['bare_ratio']`` × a bare ducc0 call (judged
      on the interleaved ratio where recorded: it is the one least exposed to drift);
    - a peak memory per worker for every workload.
    """
    table = collect(runs)
    ratios = bare_ratios(runs)
    rows = []

    for name in sorted(n for n in table if _is_pipeline(n) and "continuum" in n):
        serial, dask2 = table[name].get(("serial", 1)), table[name].get(("dask", 2))
        if not (serial and dask2):
            continue
        across = serial["stats"]["median"] / dask2["stats"]["median"]
        info = dask2.get("extra_info", {})
        same = info.get("speedup_same_process")
        judged = across if same is None else same
        measured = f"{judged:.2f}×" + (
            "" if same is None else
            f" (interleaved{_spread(info.get('speedup_pairs'), 'pairs', '{:.2f}×')}; "
            f"{across:.2f}× against the serial session)"
        )  # fmt: skip
        goal = TARGETS["continuum_speedup_w2"]
        rows.append((f"continuum, 2 workers ≥ {goal}× serial", measured, verdict(judged >= goal)))
    for name in sorted(n for n in table if _is_pipeline(n)):
        for key in sorted(k for k in table[name] if k[0] == "dask"):
            info = table[name][key].get("extra_info", {})
            ovh = info.get("overhead_fraction")
            if ovh is None:
                continue
            goal = TARGETS["pipeline_overhead"]
            per_round = [100 * v for v in info.get("overhead_rounds") or []]
            rows.append((
                f"`{name.split('::')[-1]}` {_run_label(key)}: overhead < {100 * goal:.0f}%",
                f"{100 * ovh:.1f}%{_spread(per_round, 'rounds', '{:.1f}%', ' (', ')')}",
                verdict(ovh < goal),
            ))  # fmt: skip
    for name in sorted(n for n in table if "uvflow_invert" in n or "uvflow_predict" in n):
        for key, b in sorted(table[name].items()):
            info = b.get("extra_info", {})
            ratio = info.get("ratio_interleaved", info.get("ratio", ratios.get((name, key))))
            if ratio is None:
                continue
            goal = TARGETS["bare_ratio"]
            rows.append((
                f"`{name.split('::')[-1]}` ≤ {goal}× bare ducc0", f"{ratio:.2f}×", verdict(ratio <= goal)
            ))  # fmt: skip
    rows += compare_large_data.large_data_checks(compare_large_data.large_data_records(runs))
    rows += compare_wsclean.wsclean_checks(runs)
    missing = sorted(
        f"`{name.split('::')[-1]}` {_run_label(key)}"
        for name in table
        for key, b in table[name].items()
        if not b.get("extra_info", {}).get("peak_memory_mb")
    )
    rows.append((
        "peak memory per worker for every workload",
        "all reported" if not missing else "missing: " + ", ".join(missing),
        verdict(not missing),
    ))  # fmt: skip
    met = sum(r[2] == "yes" for r in rows)
    judged = sum(r[2] != "–" for r in rows)
    return [
        "## Targets",
        "",
        f"{met} of {judged} met.",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *(f"| {t} | {m} | {v} |" for t, m, v in rows),
        "",
    ]


def write_report(runs: dict, out: pathlib.Path) -> pathlib.Path:
    table = collect(runs)
    ratios = bare_ratios(runs)
    keys = sorted(runs, key=lambda k: (k[0] != "serial", k[1]))
    machine = next(iter(runs.values())).get("uvflow", {}).get("machine", {}) if runs else {}
    lines = [
        "# uvflow benchmark report",
        "",
        f"Machine: {machine.get('cpus', '?')} cores, {machine.get('memory_gb', '?')} GiB, "
        f"{machine.get('platform', '?')}, Python {machine.get('python', '?')}.",
        f"Runs: {', '.join(_run_label(k) for k in keys)}. Times are medians in seconds; speed-up is "
        "serial-w1 time / this run's time (in parentheses: against serial runs interleaved with "
        "the Dask rounds in the same process, where the benchmark records them); efficiency is speed-up / workers; overhead is "
        "(wall − Σ task time / workers) / wall from the Dask task stream; memory is the peak "
        "resident set per worker process (MB), in parentheses what the workload added to it; × bare ducc0 is the ratio to a bare ducc0 call "
        "on the same arrays (fastest round over fastest round; in parentheses from calls "
        "interleaved with the bare ones).",
        "",
        *target_lines(runs),
        *compare_large_data.large_data_lines(runs),
        *compare_wsclean.wsclean_lines(runs),
        "## All workloads",
        "",
        "| workload | run | median s | speed-up | efficiency | overhead | overhead ms / task | peak MB / worker (+ added) | × bare ducc0 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(table):
        serial = table[name].get(("serial", 1))
        t_serial = serial["stats"]["median"] if serial else None
        for key in keys:
            b = table[name].get(key)
            if b is None:
                continue
            t = b["stats"]["median"]
            info = b.get("extra_info", {})
            speedup = t_serial / t if t_serial else None
            same = info.get("speedup_same_process")
            eff = speedup / key[1] if speedup else None
            ovh = info.get("overhead_fraction")
            per_task = overhead_per_task(info, key[1])
            mem = info.get("peak_memory_mb")
            added = info.get("memory_increase_mb")
            mem_s = fmt(max(mem), ".0f") if mem else "–"
            if mem and added:
                mem_s += f" (+{max(added):.0f})"
            lines.append(
                f"| `{name.split('::')[-1]}` | {_run_label(key)} | {t:.4g} | {fmt(speedup, '.2f')}"
                f"{'' if same is None else f' ({same:.2f})'} | "
                f"{fmt(eff, '.2f')} | {fmt(None if ovh is None else 100 * ovh, '.1f')}{'%' if ovh is not None else ''} | "
                f"{fmt(per_task, '.2f')} | {mem_s} | {bare_cell(ratios.get((name, key)), info)} |"
            )
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_plot(runs: dict, out: pathlib.Path) -> pathlib.Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot", file=sys.stderr)
        return None
    table = collect(runs)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    for name in sorted(table):
        serial = table[name].get(("serial", 1))
        if not serial:
            continue
        pts = sorted(
            (k[1], serial["stats"]["median"] / b["stats"]["median"])
            for k, b in table[name].items()
            if k[0] == "dask"
        )
        if not pts:
            continue
        w, s = zip(*pts)
        label = name.split("::")[-1][:48]
        ax1.plot(w, s, marker="o", label=label)
        ax2.plot(w, [si / wi for si, wi in zip(s, w)], marker="o", label=label)
    for ax, title in ((ax1, "speed-up over serial"), (ax2, "parallel efficiency")):
        ax.set_xlabel("Dask workers (1 thread each)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    ax1.plot([1, 4], [1, 4], "k--", lw=0.8, label="ideal")
    ax2.axhline(1.0, color="k", ls="--", lw=0.8)
    ax1.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    path = out / "scaling.png"
    fig.savefig(path, dpi=120)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", type=pathlib.Path, help="directory of <mode>-w<workers>.json files")
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path(__file__).parent)
    p.add_argument(
        "--large-data",
        action="store_true",
        help="print only the large-data table and acceptance lines (no files written); "
        "exit 1 if a line is not met",
    )
    a = p.parse_args(argv)
    runs = load_runs(a.runs)
    if not runs:
        print(f"no benchmark JSON files in {a.runs}: run `nox -s bench` first", file=sys.stderr)
        return 1
    if a.large_data:
        records = compare_large_data.large_data_records(runs)
        return print_section(compare_large_data.large_data_lines(runs),
                             compare_large_data.large_data_checks(records), "large-data")  # fmt: skip
    report = write_report(runs, a.out)
    plot = write_plot(runs, a.out)
    print(report.read_text())
    print(f"wrote {report}" + (f" and {plot}" if plot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
