"""Serial vs Dask, side by side: reads the pytest-benchmark JSON files written by
``nox -s bench(...)`` and writes ``benchmarks/report.md`` and ``benchmarks/scaling.png``.

Usage: ``python benchmarks/compare.py .benchmarks/runs [--out benchmarks]``

Per workload (a benchmark's name and parameters) and run (mode, workers) it reports the
median time, the speed-up over the serial run and the parallel efficiency (speed-up /
workers), the Dask overhead (wall − Σ task time / workers, from the task stream: as a
fraction of wall and per task), the peak memory per worker, and — for benchmarks in a
group that also has a ``bare`` benchmark (a bare ducc0 call on the same arrays) — the
ratio to it.

The large-data workload (``benchmarks/pipelines/bench_large_data.py``, issue 15) gets its
own section, "Large data": per MS size the wall time and peak memory per process of
``uvflow image`` serially and on 2 workers and of WSClean on the same job, and the
acceptance lines of issue 15 (also in Targets). ``--large-data`` prints only those and
exits 1 when one is not met (``nox -s large_data``).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections import defaultdict


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


def fmt(x, spec=".3g", none="–"):
    return none if x is None else format(x, spec)


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

    def verdict(ok: bool) -> str:
        return "yes" if ok else "**no**"

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
    rows += large_data_checks(large_data_records(runs))
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


# --------------------------------------------------------------------------------------
# Large data (issue 15): benchmarks/pipelines/bench_large_data.py
# --------------------------------------------------------------------------------------
LARGE_TARGETS = {
    "ms_over_budgets": 2.5,  # the largest MS over the sum of every process's budget
    "image_rtol": 1e-6,  # images of different chunkings / serial vs Dask, of the peak
    "flat_memory": 0.10,  # peak per process across data sizes: max / min − 1
    "linear_wall": 0.10,  # every size's wall within this of the straight line through all
    "wall_vs_wsclean": 1.0,  # uvflow on 2 workers over WSClean's wall
    "peak_vs_wsclean": 1.5,  # uvflow's largest process over WSClean's process
}


def large_data_records(runs: dict) -> list[dict]:
    """``extra_info['large_data']`` of every large-data benchmark, smallest MS first."""
    out = [
        b["extra_info"]["large_data"]
        for doc in runs.values()
        for b in doc.get("benchmarks", [])
        if isinstance(b.get("extra_info", {}).get("large_data"), dict)
    ]
    return sorted(out, key=lambda r: (r.get("ms_bytes", 0), r.get("size_factor", 0)))


def _median(values) -> float | None:
    values = [v for v in values or [] if v is not None]
    if not values:
        return None
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2])


def _walls(run: dict) -> str:
    """``median (min–max)`` of a run's walls, seconds."""
    walls = run.get("wall_s") or []
    if not walls:
        return "–"
    text = f"{_median(walls):.1f}"
    return text + (f" ({min(walls):.1f}–{max(walls):.1f})" if len(walls) > 1 else "")


def _peak(values) -> float | None:
    flat = [v for x in values or [] for v in (x if isinstance(x, list) else [x]) if v]
    return max(flat) if flat else None


def _large_peaks(rec: dict) -> dict:
    """The largest peak of each kind of process over the rounds, MiB."""
    s, w, ws = rec.get("uvflow_serial", {}), rec.get("uvflow_w2", {}), rec.get("wsclean", {})
    return {
        "serial": _peak(s.get("peak_client_mib")),
        "client": _peak(w.get("peak_client_mib")),
        "worker": _peak(w.get("peak_workers_mib")),
        "wsclean": _peak(ws.get("peak_client_mib")),
    }


def _linear_deviation(points: list[tuple[float, float]]) -> float | None:
    """Largest |wall − line| / wall over the points, the line fitted to all (least squares);
    None for fewer than three points (two always lie on a line)."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    a = my - b * mx
    return max(abs(y - (a + b * x)) / y for x, y in points)


def large_data_checks(records: list[dict]) -> list[tuple[str, str, str]]:
    """The acceptance lines of issue 15 from the large-data records: (line, measured, met).

    ``met`` is ``yes``, ``**no**`` or ``–`` (not measured: e.g. one size only, or no
    WSClean). Judged on the largest MS where one size is enough.
    """
    if not records:
        return []
    goal = LARGE_TARGETS
    rows = []
    big = records[-1]
    limit = big.get("memory_limit_mib", 1024.0)
    tag = f"{big.get('size_factor', '?')}×"

    def verdict(ok) -> str:
        return "–" if ok is None else ("yes" if ok else "**no**")

    budgets = big.get("budgets_mib")
    ratio = big.get("ms_bytes", 0) / (budgets * 2**20) if budgets else None
    rows.append((
        f"MS ≥ {goal['ms_over_budgets']}× the sum of the processes' budgets",
        f"{big.get('ms_bytes', 0) / 1e9:.2f} GB (DATA {big.get('data_column_bytes', 0) / 1e9:.2f} GB) = {fmt(ratio, '.2f')}× {fmt(budgets, '.0f')} MiB "
        f"({big.get('workers', 2)} workers and the client, {big.get('memory_limit', '?')} each)",
        verdict(None if ratio is None else ratio >= goal["ms_over_budgets"]),
    ))  # fmt: skip
    p = _large_peaks(big)
    procs = [v for v in (p["client"], p["worker"]) if v is not None]
    rows.append((
        f"{tag}, 2 workers: every process below its budget ({limit:.0f} MiB)",
        f"client {fmt(p['client'], '.0f')} MiB, workers ≤ {fmt(p['worker'], '.0f')} MiB",
        verdict(bool(procs) and max(procs) < limit if procs else None),
    ))  # fmt: skip
    checks = big.get("image_checks", {})
    half = checks.get("half_task_vs_w2")
    task = big.get("uvflow_w2_half_task", {})
    rows.append((
        f"{tag}: image = a smaller-chunked run's to {goal['image_rtol']:g} of the peak",
        "–" if half is None else
        f"{half['relative']:.2g} of the peak ({task.get('chunks', '?')} chunks with --task-memory "
        f"{task.get('task_memory', '?')} against {big.get('uvflow_w2', {}).get('chunks', '?')})",
        verdict(None if half is None else half["relative"] <= goal["image_rtol"]),
    ))  # fmt: skip
    sw = checks.get("serial_vs_w2")
    rows.append((
        f"{tag}: serial image = 2-worker image (bit for bit or {goal['image_rtol']:g})",
        "–" if sw is None else ("bit for bit" if sw.get("identical") else
                                f"{sw['relative']:.2g} of the peak"),
        verdict(None if sw is None else sw.get("identical") or sw["relative"] <= goal["image_rtol"]),
    ))  # fmt: skip
    rows.append((
        f"{tag}, serial: peak RSS within --memory-limit ({limit:.0f} MiB)",
        f"{fmt(p['serial'], '.0f')} MiB",
        verdict(None if p["serial"] is None else p["serial"] <= limit),
    ))  # fmt: skip
    sizes = [r.get("size_factor") for r in records]
    if len(records) >= 2:
        parts, worst = [], 0.0
        for kind, label in (("serial", "serial"), ("client", "client"), ("worker", "worker")):
            vals = [_large_peaks(r)[kind] for r in records]
            if None in vals:
                continue
            spread = max(vals) / min(vals) - 1
            worst = max(worst, spread)
            parts.append(f"{label} {'/'.join(f'{v:.0f}' for v in vals)} MiB (+{100 * spread:.0f}%)")
        rows.append((
            f"memory flat with data size ({'/'.join(f'{s}×' for s in sizes)}): peak per process "
            f"within {100 * goal['flat_memory']:.0f}%",
            "; ".join(parts) or "–",
            verdict(worst <= goal["flat_memory"] if parts else None),
        ))  # fmt: skip
        parts, worst = [], None
        for key, label in (
            ("uvflow_serial", "serial"),
            ("uvflow_w2", "2 workers"),
            ("wsclean", "WSClean"),
        ):
            pts = [(r.get("data_column_bytes", 0) / 1e9, _median(r.get(key, {}).get("wall_s")))
                   for r in records]  # fmt: skip
            if any(y is None for _, y in pts):
                continue
            dev = _linear_deviation(pts)
            slope = (
                (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])
                if pts[-1][0] != pts[0][0]
                else 0.0
            )
            walls = "/".join(f"{y:.0f}" for _, y in pts)
            parts.append(
                f"{label} {walls} s ({slope:.0f} s per GB of DATA"
                + ("" if dev is None else f", off the line ≤ {100 * dev:.0f}%")
                + ")"
            )
            if dev is not None and key != "wsclean":
                worst = dev if worst is None else max(worst, dev)
        rows.append((
            f"wall grows linearly with data size (each size within {100 * goal['linear_wall']:.0f}% "
            "of the straight line through all)",
            "; ".join(parts) or "–",
            verdict(None if worst is None else worst <= goal["linear_wall"]),
        ))  # fmt: skip
    w2, ws = big.get("uvflow_w2", {}), big.get("wsclean", {})
    t_w2, t_ws = _median(w2.get("wall_s")), _median(ws.get("wall_s"))
    missing = ws.get("missing")
    wall_ratio = t_w2 / t_ws if t_w2 and t_ws else None
    rows.append((
        f"{tag}, 2 workers: wall ≤ {goal['wall_vs_wsclean']}× WSClean's on the same job",
        missing or f"{fmt(wall_ratio, '.2f')}× ({fmt(t_w2, '.1f')} s against {fmt(t_ws, '.1f')} s)",
        verdict(None if wall_ratio is None else wall_ratio <= goal["wall_vs_wsclean"]),
    ))  # fmt: skip
    peak_ratio = max(procs) / p["wsclean"] if procs and p["wsclean"] else None
    rows.append((
        f"{tag}, 2 workers: peak per process ≤ {goal['peak_vs_wsclean']}× WSClean's process",
        missing or f"{fmt(peak_ratio, '.2f')}× ({max(procs):.0f} MiB against {p['wsclean']:.0f} MiB)"
        if peak_ratio is not None else (missing or "–"),
        verdict(None if peak_ratio is None else peak_ratio <= goal["peak_vs_wsclean"]),
    ))  # fmt: skip
    return [(f"large data: {t}", m, v) for t, m, v in rows]


def large_data_lines(runs: dict) -> list[str]:
    """The "Large data" section: one row per MS size, then the acceptance lines."""
    records = large_data_records(runs)
    if not records:
        return []
    first = records[0]
    lines = [
        "## Large data (issue 15)",
        "",
        f"`uvflow image --mode invert --niter 0 --size {first.get('npixel')} --scale "
        f"{first.get('scale_arcsec')}asec --weight natural --memory-limit {first.get('memory_limit')}`"
        f" serially and on {first.get('workers', 2)} workers, and WSClean (`-niter 0 -make-psf -j "
        f"{first.get('workers', 2)} -use-wgridder`) on the same MS; {first.get('nant')} antennas × "
        f"{first.get('nchan')} channels × 2 correlations. Walls in seconds, median (range) of "
        f"{first.get('rounds', '?')} interleaved rounds; peaks are the largest resident set of "
        "each process over the rounds (MiB; the client holds Dask's scheduler and nannies).",
        "",
        "| size | MS GB (DATA GB) | visibilities | chunks | uvflow serial s | serial peak | "
        "uvflow 2 workers s | client peak | worker peak | WSClean s | WSClean peak | "
        "2 workers / WSClean wall | worst process / WSClean peak | serial / 2 workers |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        s, w, ws = r.get("uvflow_serial", {}), r.get("uvflow_w2", {}), r.get("wsclean", {})
        p = _large_peaks(r)
        t_s, t_w, t_ws = (_median(x.get("wall_s")) for x in (s, w, ws))
        worst = max([v for v in (p["client"], p["worker"]) if v is not None], default=None)
        mode = {True: "resident", False: "streaming"}.get(w.get("resident"), "?")
        lines.append(
            f"| {r.get('size_factor')}× | {r.get('ms_bytes', 0) / 1e9:.2f} "
            f"({r.get('data_column_bytes', 0) / 1e9:.2f}) | {r.get('nvis', 0) / 1e6:.0f} M | "
            f"{w.get('chunks', '?')} ({mode}) | {_walls(s)} | {fmt(p['serial'], '.0f')} | "
            f"{_walls(w)} | {fmt(p['client'], '.0f')} | {fmt(p['worker'], '.0f')} | "
            f"{'missing' if ws.get('missing') else _walls(ws)} | {fmt(p['wsclean'], '.0f')} | "
            f"{fmt(t_w / t_ws if t_w and t_ws else None, '.2f')} | "
            f"{fmt(worst / p['wsclean'] if worst and p['wsclean'] else None, '.2f')} | "
            f"{fmt(t_s / t_w if t_s and t_w else None, '.2f')} |"
        )
    missing = [r["wsclean"]["missing"] for r in records if r.get("wsclean", {}).get("missing")]
    if missing:
        lines += ["", f"WSClean: {missing[0]}."]
    rows = large_data_checks(records)
    lines += [
        "",
        "| acceptance (issue 15) | measured | met |",
        "|---|---|---|",
        *(f"| {t.removeprefix('large data: ')} | {m} | {v} |" for t, m, v in rows),
        "",
    ]
    return lines


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
        *large_data_lines(runs),
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
        lines = large_data_lines(runs)
        if not lines:
            print(f"no large-data benchmark in {a.runs}", file=sys.stderr)
            return 1
        print("\n".join(lines))
        failed = [t for t, _, v in large_data_checks(large_data_records(runs)) if v == "**no**"]
        print(
            f"{len(failed)} acceptance line(s) not met" if failed else "every line measured is met"
        )
        return 1 if failed else 0
    report = write_report(runs, a.out)
    plot = write_plot(runs, a.out)
    print(report.read_text())
    print(f"wrote {report}" + (f" and {plot}" if plot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
