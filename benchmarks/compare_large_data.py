"""The report's "Large data" section (issue 15) and its acceptance lines.

Reads ``extra_info['large_data']`` of ``benchmarks/pipelines/bench_large_data.py`` from the
pytest-benchmark documents that ``compare.py`` loads: per MS size the walls and peak memory
per process of ``uvflow image`` serially and on 2 workers and of WSClean on the same job.
``compare.py`` puts :func:`large_data_checks` into its Targets and :func:`large_data_lines`
into the report; ``compare.py DIR --large-data`` prints the section alone and exits 1 when
an acceptance line measured is not met (``nox -s large_data``).
"""

from __future__ import annotations

from report_cells import fmt, median, peak, verdict, walls

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


def _large_peaks(rec: dict) -> dict:
    """The largest peak of each kind of process over the rounds, MiB."""
    s, w, ws = rec.get("uvflow_serial", {}), rec.get("uvflow_w2", {}), rec.get("wsclean", {})
    return {
        "serial": peak(s.get("peak_client_mib")),
        "client": peak(w.get("peak_client_mib")),
        "worker": peak(w.get("peak_workers_mib")),
        "wsclean": peak(ws.get("peak_client_mib")),
        "wsclean_abs_mem": peak(rec.get("wsclean_abs_mem", {}).get("peak_client_mib")),
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
            pts = [(r.get("data_column_bytes", 0) / 1e9, median(r.get(key, {}).get("wall_s")))
                   for r in records]  # fmt: skip
            if any(y is None for _, y in pts):
                continue
            dev = _linear_deviation(pts)
            slope = (
                (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])
                if pts[-1][0] != pts[0][0]
                else 0.0
            )
            per_size = "/".join(f"{y:.0f}" for _, y in pts)
            parts.append(
                f"{label} {per_size} s ({slope:.0f} s per GB of DATA"
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
    t_w2, t_ws = median(w2.get("wall_s")), median(ws.get("wall_s"))
    missing = ws.get("missing")
    wall_ratio = t_w2 / t_ws if t_w2 and t_ws else None
    rows.append((
        f"{tag}, 2 workers: wall ≤ {goal['wall_vs_wsclean']}× WSClean's on the same job",
        missing or f"{fmt(wall_ratio, '.2f')}× ({fmt(t_w2, '.1f')} s against {fmt(t_ws, '.1f')} s)",
        verdict(None if wall_ratio is None else wall_ratio <= goal["wall_vs_wsclean"]),
    ))  # fmt: skip
    peak_ratio = max(procs) / p["wsclean"] if procs and p["wsclean"] else None
    limited = big.get("wsclean_abs_mem", {})
    also = ""
    if p["wsclean_abs_mem"] and procs:
        also = (f"; against WSClean -abs-mem {limited.get('abs_mem_gb', '?'):g} "
                f"({p['wsclean_abs_mem']:.0f} MiB, {walls(limited)} s): "
                f"{max(procs) / p['wsclean_abs_mem']:.2f}×")  # fmt: skip
    rows.append((
        f"{tag}, 2 workers: peak per process ≤ {goal['peak_vs_wsclean']}× WSClean's process",
        missing or f"{fmt(peak_ratio, '.2f')}× ({max(procs):.0f} MiB against {p['wsclean']:.0f} MiB"
        f"{also})" if peak_ratio is not None else (missing or "–"),
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
        "each process over the rounds (MiB; the client holds Dask's scheduler and nannies). "
        "WSClean loads as much data at once as the machine's memory holds; the last column "
        "is one run held to the same memory as a uvflow process (`-abs-mem`).",
        "",
        "| size | MS GB (DATA GB) | visibilities | chunks | uvflow serial s | serial peak | "
        "uvflow 2 workers s | client peak | worker peak | WSClean s | WSClean peak | "
        "2 workers / WSClean wall | worst process / WSClean peak | serial / 2 workers | "
        "WSClean -abs-mem s / peak |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        s, w, ws = r.get("uvflow_serial", {}), r.get("uvflow_w2", {}), r.get("wsclean", {})
        p = _large_peaks(r)
        t_s, t_w, t_ws = (median(x.get("wall_s")) for x in (s, w, ws))
        worst = max([v for v in (p["client"], p["worker"]) if v is not None], default=None)
        mode = {True: "resident", False: "streaming"}.get(w.get("resident"), "?")
        lines.append(
            f"| {r.get('size_factor')}× | {r.get('ms_bytes', 0) / 1e9:.2f} "
            f"({r.get('data_column_bytes', 0) / 1e9:.2f}) | {r.get('nvis', 0) / 1e6:.0f} M | "
            f"{w.get('chunks', '?')} ({mode}) | {walls(s)} | {fmt(p['serial'], '.0f')} | "
            f"{walls(w)} | {fmt(p['client'], '.0f')} | {fmt(p['worker'], '.0f')} | "
            f"{'missing' if ws.get('missing') else walls(ws)} | {fmt(p['wsclean'], '.0f')} | "
            f"{fmt(t_w / t_ws if t_w and t_ws else None, '.2f')} | "
            f"{fmt(worst / p['wsclean'] if worst and p['wsclean'] else None, '.2f')} | "
            f"{fmt(t_s / t_w if t_s and t_w else None, '.2f')} | "
            f"{walls(r.get('wsclean_abs_mem', {}))} / {fmt(p['wsclean_abs_mem'], '.0f')} |"
        )
    lines += [
        "",
        "CPU time of each run's process tree (user + system, median s) and the cores other "
        "processes kept busy meanwhile (median, max over the runs; 2 cores in all): a run "
        "slowed by others' work shows it here.",
        "",
        "| size | uvflow serial CPU s | uvflow 2 workers CPU s | WSClean CPU s | others' cores |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        kinds = [r.get(k, {}) for k in ("uvflow_serial", "uvflow_w2", "wsclean")]
        others = [v for k in kinds for v in k.get("others_cores") or []]
        cells = [fmt(median(k.get("cpu_s")), ".0f") for k in kinds]
        load = f"{median(others):.2f} (max {max(others):.2f})" if others else "–"
        lines.append(f"| {r.get('size_factor')}× | {' | '.join(cells)} | {load} |")
    missing = [r["wsclean"]["missing"] for r in records if r.get("wsclean", {}).get("missing")]
    if missing:
        lines += ["", f"{missing[0]}."]
    rows = large_data_checks(records)
    lines += [
        "",
        "| acceptance (issue 15) | measured | met |",
        "|---|---|---|",
        *(f"| {t.removeprefix('large data: ')} | {m} | {v} |" for t, m, v in rows),
        "",
    ]
    return lines
