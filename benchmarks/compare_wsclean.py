"""The report's "WSClean side by side" section (issue 16, item 10) and its acceptance lines.

Reads ``extra_info['wsclean_job']`` of ``benchmarks/pipelines/bench_wsclean_jobs.py`` from
the pytest-benchmark documents that ``compare.py`` loads: per job, the walls and peak
memory of ``uvflow image`` and of WSClean run back to back in alternation. ``compare.py``
puts :func:`wsclean_checks` into its Targets and :func:`wsclean_lines` into the report;
``python benchmarks/compare_wsclean.py DIR`` prints the section alone and exits 1 when an
acceptance line measured is not met (``nox -s wsclean_jobs``).

The acceptance lines (issue 16), judged on full-size runs only (tiny runs are harness
checks), each from the same run's interleaved pairs:

- clean job: uvflow's wall ≤ 1.0× WSClean's (median over median). Up to 1.2× is accepted
  when the run-to-run spread measured covers the excess: at least one interleaved pair
  had uvflow at or below WSClean (a pair ratio ≤ 1.0), i.e. the two are not told apart
  by this machine's noise (±15 % drift over minutes on this machine kind).
- clean job: uvflow's peak memory ≤ 1.5× WSClean's. uvflow's figure is the sum over its
  processes alive at one time (its whole footprint: with Dask workers, theirs too; run
  serially, its one process), WSClean's its one process; each the largest over the runs.
- 3C273 job: uvflow's wall ≤ 1.5× WSClean's (median over median).
"""

from __future__ import annotations

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # however this file is loaded
from report_cells import fmt, median, peak, print_section, verdict, walls

__all__ = ["TARGETS", "figures", "main", "wsclean_checks", "wsclean_lines", "wsclean_records"]

TARGETS = {
    # job -> ratio of uvflow to WSClean: wall (median over median), the wall accepted
    # within the measured spread, peak memory (uvflow's sum over processes / WSClean's)
    "clean": {"wall": 1.0, "wall_accepted": 1.2, "peak": 1.5},
    "3c273": {"wall": 1.5},
}


def wsclean_records(runs: dict) -> list[dict]:
    """The newest record of each job and size, in the order clean, 3c273."""
    newest: dict[tuple, dict] = {}
    for doc in runs.values():
        for b in doc.get("benchmarks", []):
            rec = b.get("extra_info", {}).get("wsclean_job")
            if not isinstance(rec, dict):
                continue
            key = (rec.get("job"), rec.get("size"))
            if key not in newest or rec.get("measured_at", "") > newest[key].get("measured_at", ""):
                newest[key] = rec
    order = {name: i for i, name in enumerate(TARGETS)}
    return sorted(newest.values(), key=lambda r: (order.get(r.get("job"), 99), r.get("size")))


def figures(rec: dict) -> dict:
    """The numbers a job is judged on: walls (median), peaks (largest over the runs), ratios."""
    uv, ws = rec.get("uvflow", {}), rec.get("wsclean", {})
    t_uv, t_ws = median(uv.get("wall_s")), median(ws.get("wall_s"))
    p_uv, p_ws = peak(uv.get("peak_sum_mib")), peak(ws.get("peak_sum_mib"))
    pairs = rec.get("pair_wall_ratio") or []
    return {
        "wall_uvflow": t_uv, "wall_wsclean": t_ws,
        "wall_ratio": t_uv / t_ws if t_uv and t_ws else None,
        "pairs": pairs,
        "peak_uvflow_process": peak(uv.get("peak_process_mib")), "peak_uvflow": p_uv,
        "peak_wsclean": p_ws, "peak_ratio": p_uv / p_ws if p_uv and p_ws else None,
    }  # fmt: skip


def _pairs_text(pairs) -> str:
    return f"pairs {min(pairs):.2f}–{max(pairs):.2f}" if len(pairs) > 1 else ""


def wsclean_checks(runs: dict) -> list[tuple[str, str, str]]:
    """The acceptance lines of issue 16 item 10: (line, measured, met); met is ``yes``,
    ``**no**`` or ``–`` (not measured: no WSClean, or a tiny run)."""
    rows = []
    for rec in wsclean_records(runs):
        job, goal = rec.get("job"), TARGETS.get(rec.get("job"), {})
        f = figures(rec)
        missing = rec.get("wsclean", {}).get("missing")
        tiny = rec.get("size") == "tiny"
        judged = not (missing or tiny)
        note = missing or "tiny run: not judged"
        if "wall" in goal:
            ratio, accepted = f["wall_ratio"], goal.get("wall_accepted")
            ok = None if ratio is None or not judged else ratio <= goal["wall"]
            within = False
            if ok is False and accepted and ratio <= accepted and f["pairs"]:
                ok = within = min(f["pairs"]) <= goal["wall"]
            line = f"{job} job: wall ≤ {goal['wall']}× WSClean's" + (
                f" (≤ {accepted}× within the measured spread)" if accepted else ""
            )
            spread = _pairs_text(f["pairs"])
            measured = note if not judged else (
                f"{fmt(ratio, '.2f')}× ({fmt(f['wall_uvflow'], '.2f')} s against "
                f"{fmt(f['wall_wsclean'], '.2f')} s{'; ' + spread if spread else ''})"
                + ("; accepted: a pair at or below 1.0, within the spread" if within else "")
            )  # fmt: skip
            rows.append((line, measured, verdict(ok)))
        if "peak" in goal:
            ratio = f["peak_ratio"]
            rows.append((
                f"{job} job: peak memory ≤ {goal['peak']}× WSClean's",
                note if not judged else
                f"{fmt(ratio, '.2f')}× ({fmt(f['peak_uvflow'], '.0f')} MiB against "
                f"{fmt(f['peak_wsclean'], '.0f')} MiB)",
                verdict(None if ratio is None or not judged else ratio <= goal["peak"]),
            ))  # fmt: skip
    return [(f"WSClean side by side: {t}", m, v) for t, m, v in rows]


def _load(rec: dict) -> str:
    loads = rec.get("loadavg_at_pairs") or []
    text = f"{median(loads):.1f} ({min(loads):.1f}–{max(loads):.1f})" if loads else "–"
    others = [v for k in ("uvflow", "wsclean") for v in rec.get(k, {}).get("others_cores") or []]
    if others:
        text += f"; others {median(others):.2f} cores (max {max(others):.2f})"
    return text


def _execution(uv: dict) -> str:
    ex = uv.get("execution") or {}
    if not ex:
        return "?"
    return (
        "serial"
        if ex.get("mode") == "serial"
        else f"{ex.get('mode')}, {ex.get('n_workers')} workers"
    )


def wsclean_lines(runs: dict) -> list[str]:
    """The "WSClean side by side" section: one row per job, what each program did, then
    the acceptance lines."""
    records = wsclean_records(runs)
    if not records:
        return []
    versions = sorted(
        {r["wsclean"]["version"] for r in records if r.get("wsclean", {}).get("version")}
    )
    first = records[0]
    lines = [
        "## WSClean side by side (issue 16)",
        "",
        f"`uvflow image` and WSClean {', '.join(versions) or '(missing)'} on the same MS with the "
        f"same options, both `-j {first.get('threads', 2)}` (uvflow with its default execution), "
        "run back to back in alternation, each run's process tree sampled from /proc "
        "(`benchmarks/pipelines/bench_wsclean_jobs.py`): walls median (min–max) in s over the "
        "pairs after a warm-up pair; the wall ratio is median over median, with the range of "
        "each interleaved pair's own ratio. Peaks in MiB, the largest over the runs: uvflow's "
        "largest process / the sum over its processes alive at one time (its Dask workers, if "
        "any); WSClean is one process. CPU: each program's process tree, user + system, median s "
        "(less exposed to others' load than the wall, though not immune: threads that wait "
        "for one another spin longer on a busy machine). Load: the 1-minute load average at "
        f"the pairs on {first.get('cpus', '?')} cores, and the cores other processes kept "
        "busy during the runs (median, max).",
        "",
        "| job | visibilities | pairs | uvflow execution | uvflow s | WSClean s | wall ratio | "
        "CPU s uvflow / WSClean | uvflow peak (process / sum) | WSClean peak | peak ratio | "
        "load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        uv, ws = r.get("uvflow", {}), r.get("wsclean", {})
        f = figures(r)
        spread = _pairs_text(f["pairs"])
        lines.append(
            f"| {r.get('job')}{' (tiny)' if r.get('size') == 'tiny' else ''} | "
            f"{r.get('nvis', 0) / 1e6:.3g} M | {r.get('rounds', '?')} | {_execution(uv)} | "
            f"{walls(uv, '.2f')} | {'missing' if ws.get('missing') else walls(ws, '.2f')} | "
            f"{fmt(f['wall_ratio'], '.2f')}{f' ({spread})' if spread else ''} | "
            f"{fmt(median(uv.get('cpu_s')), '.1f')} / {fmt(median(ws.get('cpu_s')), '.1f')} | "
            f"{fmt(f['peak_uvflow_process'], '.0f')} / {fmt(f['peak_uvflow'], '.0f')} | "
            f"{fmt(f['peak_wsclean'], '.0f')} | {fmt(f['peak_ratio'], '.2f')} | {_load(r)} |"
        )
    lines.append("")
    for r in records:
        uv, ws = r.get("uvflow", {}), r.get("wsclean", {})
        did = (f"uvflow {uv.get('components', '?')} components in {uv.get('minor_cycles', '?')} "
               f"minor cycle(s)")  # fmt: skip
        if not ws.get("missing"):
            did += (f", WSClean {fmt(ws.get('components'), 'd')} components in "
                    f"{fmt(ws.get('major_cycles'), 'd')} major iteration(s)")  # fmt: skip
        lines.append(f"- {r.get('job')}: {r.get('title')}; `{r.get('options')}`; {did}.")
    missing = {r["wsclean"]["missing"] for r in records if r.get("wsclean", {}).get("missing")}
    if missing:
        lines.append(f"- {'; '.join(sorted(missing))}: the WSClean columns are empty.")
    lines += [
        "",
        "| acceptance (issue 16) | measured | met |",
        "|---|---|---|",
        *(f"| {t.removeprefix('WSClean side by side: ')} | {m} | {v} |"
          for t, m, v in wsclean_checks(runs)),
        "",
    ]  # fmt: skip
    return lines


def main(argv=None) -> int:
    """Print the section from a directory of pytest-benchmark JSON files; 1 if a line fails."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", type=pathlib.Path, help="directory of pytest-benchmark JSON files")
    a = p.parse_args(argv)
    from compare import load_runs  # beside this file (imported here: compare imports us)

    runs = load_runs(a.runs)
    return print_section(wsclean_lines(runs), wsclean_checks(runs), "WSClean side-by-side")


if __name__ == "__main__":
    sys.exit(main())
