"""``uvflow calibrate``: a raw observation calibrated from its calibrators.

The client reads the input's metadata only (fields, spectral windows, times, antennas);
every scan is a task reading its own rows where it runs
(:func:`uvflow.calibration.calibrate_observation_rsexecute_workflow`). One more task
writes the calibrated target to the output MeasurementSet. The products are written in a
temporary directory beside ``--out`` and moved into place at the end, so a failed run
leaves nothing behind and an existing output is replaced only with ``--overwrite``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from uvflow.calibration import (
    CalibrationError,
    ObservationSettings,
    calibrate_observation_rsexecute_workflow,
    combine_flux_scales,
    find_flux_standard,
    plot_gaintable,
    plot_gaintable_spectrum,
    scan_numbers,
    write_h5parm,
)
from uvflow.datamodels import write_ms
from uvflow.datamodels.io import ms_index, uvfits_index
from uvflow.execution import rsexecute

from .calibrate_report import calibration_report
from .errors import CLIError
from .image_options import input_kind
from .report import Stages

__all__ = ["run", "output_paths", "resolve_field", "scan_chunks"]

log = logging.getLogger(__name__)

STANDARDS = ("perley-butler 2017", "perley-butler2017", "pb2017", "perleybutler2017")
TARGET_CHUNK_BYTES = 256 << 20


def output_paths(out) -> dict[str, Path]:
    """``cal.ms`` → ``cal.ms``, ``cal-solutions.h5``, ``cal-report.json``, ``cal-*.png``."""
    p = Path(out)
    stem = p.with_suffix("") if p.suffix.lower() == ".ms" else p
    return {"ms": p, "solutions": stem.parent / f"{stem.name}-solutions.h5",
            "report": stem.parent / f"{stem.name}-report.json",
            "bandpass_png": stem.parent / f"{stem.name}-bandpass.png",
            "gains_png": stem.parent / f"{stem.name}-gains.png"}  # fmt: skip


def _solint(text: str) -> float | None:
    t = str(text).strip().lower()
    if t in ("scan", "inf"):
        return None
    for suffix, factor in (("min", 60.0), ("s", 1.0), ("h", 3600.0)):
        if t.endswith(suffix):
            t, scale = t[: -len(suffix)], factor
            break
    else:
        scale = 1.0
    try:
        value = float(t) * scale
    except ValueError:
        raise CLIError(f"--solint {text!r}: use 'scan' or seconds (60, 60s, 2min)") from None
    if not value > 0:
        raise CLIError(f"--solint must be > 0 seconds, got {text!r}")
    return value


def _check(args) -> dict:
    path, kind = Path(args.input), input_kind(args.input)
    if kind == "uvfits" and args.datacolumn != "DATA":
        raise CLIError("--datacolumn applies to MeasurementSets, not to UVFITS files")
    if args.flux_standard.strip().lower() not in STANDARDS:
        raise CLIError(f"--flux-standard {args.flux_standard!r} unknown; uvflow has "
                       "Perley-Butler 2017 (pb2017)")  # fmt: skip
    if args.quack < 0:
        raise CLIError(f"--quack must be >= 0 seconds, got {args.quack}")
    outputs = output_paths(args.out)
    if not outputs["ms"].parent.is_dir():
        raise CLIError(f"output directory {str(outputs['ms'].parent)!r} does not exist")
    if outputs["ms"].resolve() == path.resolve():
        raise CLIError("--out is the input: the input is never modified; choose another name")
    for key in ("ms", "solutions", "report"):
        if outputs[key].exists() and not args.overwrite:
            raise CLIError(f"{outputs[key]} exists; pass --overwrite to replace it")
    return {"kind": kind, "outputs": outputs, "solint": _solint(args.solint)}


def _index(args, kind) -> list:
    if kind == "ms":
        return ms_index(args.input, datacolumn=args.datacolumn)
    return uvfits_index(args.input)


def resolve_field(spec: str, fields: list, option: str) -> int:
    """The FIELD id named by ``spec``: a name (exact, then ignoring case), a FIELD id, or a
    unique name prefix of ``fields`` (``(id, name)`` pairs); a CLIError lists the fields
    otherwise."""
    fields = sorted(fields)
    s = str(spec).strip()
    for test in (lambda n: n == s, lambda n: n.lower() == s.lower()):
        hits = [i for i, n in fields if test(n)]
        if len(hits) == 1:
            return hits[0]
    if s.isdigit() and int(s) in {i for i, _ in fields}:
        return int(s)
    hits = [i for i, n in fields if n.lower().startswith(s.lower())]
    if len(hits) == 1:
        return hits[0]
    listing = ", ".join(f"{i} {n}" for i, n in fields)
    why = "names more than one field" if len(hits) > 1 else "is no field's name, prefix or id"
    raise CLIError(f"{option} {spec!r} {why}; the fields are: {listing}")


def _field_parts(parts, field_id: int, spw, option: str) -> dict:
    """The field's parts by spectral window id (only ``spw`` when given)."""
    mine = [p for p in parts if p.field_id == field_id]
    if not mine:
        raise CLIError(f"{option}: field {field_id} has no cross-correlation data: no scans to "
                       "calibrate with")  # fmt: skip
    if spw is not None:
        mine = [p for p in mine if str(p.spw_id) == str(spw)]
        if not mine:
            raise CLIError(f"{option}: the field has no data in spectral window {spw}")
    return {p.spw_id: p for p in mine}


def scan_chunks(part, max_nbytes: int | None = None) -> tuple[list, list]:
    """The part's scans as chunks (read where loaded), and whether each starts a scan.

    Scans are runs of integrations without a gap of more than twice the integration time
    (:func:`uvflow.calibration.scan_numbers`); a scan larger than ``max_nbytes`` is cut
    into consecutive chunks.
    """
    scans = scan_numbers(part.times, part.integration_time)
    chunks, starts = [], []
    for k in np.unique(scans):
        idx = np.flatnonzero(scans == k)
        pieces = part.chunks(times=idx, max_nbytes=max_nbytes) if max_nbytes else [part.chunk(idx)]
        chunks += pieces
        starts += [True] + [False] * (len(pieces) - 1)
    return chunks, starts


def _refant(spec, parts) -> int:
    config = parts[0].configuration
    names = [str(n) for n in config.names]
    if spec is None:
        counts = np.zeros(config.nants, np.int64)
        for p in parts:
            rows = np.bincount(p.b_index, minlength=p.antenna1.size)
            np.add.at(counts, p.antenna1, rows)
            np.add.at(counts, p.antenna2, rows)
        return int(np.argmax(counts))
    if spec in names:
        return names.index(spec)
    if str(spec).isdigit() and int(spec) < config.nants:
        return int(spec)
    raise CLIError(f"--refant {spec!r} is no antenna of {config.name}; the antennas are: "
                   + ", ".join(names))  # fmt: skip


def _write_target(path: str, *pairs):
    """Write the calibrated target chunks (one task: one writer for the table)."""
    write_ms([v for v, _ in pairs], path, datacolumn="DATA")
    return [s for _, s in pairs]


def _fields(args, kind, parts) -> list:
    """Every field of the input as ``(id, name)``: the MS's FIELD table (fields without data
    included), or the UVFITS sources that have data."""
    if kind == "ms":
        from uvflow.datamodels.io import read_ms_metadata

        return [(i, str(name)) for i, (name, _) in enumerate(read_ms_metadata(args.input).fields)]
    return sorted({(p.field_id, p.field_name) for p in parts})


def _plan(args, o) -> dict:
    parts = _index(args, o["kind"])
    if not parts:
        raise CLIError(f"{args.input} holds no cross-correlation data")
    fields = _fields(args, o["kind"], parts)
    ids = {role: resolve_field(getattr(args, role.replace("-", "_")), fields, f"--{role}")
           for role in ("flux-calibrator", "phase-calibrator", "target")}  # fmt: skip
    ids["bandpass-calibrator"] = (ids["flux-calibrator"] if args.bandpass_calibrator is None
                                  else resolve_field(args.bandpass_calibrator, fields,
                                                     "--bandpass-calibrator"))  # fmt: skip
    chosen = {role: _field_parts(parts, i, args.spw, f"--{role}") for role, i in ids.items()}
    spws = sorted(chosen["target"])
    for role, by_spw in chosen.items():
        missing = [k for k in spws if k not in by_spw]
        if missing:
            raise CLIError(f"--{role} has no data in spectral window(s) "
                           f"{', '.join(map(str, missing))} of the target; choose with --spw")  # fmt: skip
    windows = [{role: chosen[role][k] for role in chosen} for k in spws]
    flux = windows[0]["flux-calibrator"]
    try:
        standard = find_flux_standard(flux.field_name, flux.phasecentre)
    except CalibrationError as exc:
        raise CLIError(f"--flux-calibrator {flux.field_name!r}: {exc}") from None
    calibrators = [w[r] for w in windows for r in ("flux-calibrator", "phase-calibrator")]
    bp_flux = standard if ids["bandpass-calibrator"] == ids["flux-calibrator"] else 1.0
    return {"parts": windows[0], "windows": windows, "spws": spws, "standard": standard,
            "refant": _refant(args.refant, calibrators), "bandpass_flux": bp_flux}  # fmt: skip


def _window_graph(window: dict, plan: dict, settings):
    """One spectral window's calibration graph (bandpass, gains, flux, target)."""
    scans = {r: scan_chunks(p)[0] for r, p in window.items() if r != "target"}
    target, starts = scan_chunks(window["target"], TARGET_CHUNK_BYTES)
    bp = window["bandpass-calibrator"]
    return calibrate_observation_rsexecute_workflow(
        scans["flux-calibrator"], scans["phase-calibrator"], target, plan["standard"],
        settings, bandpass_scans=scans["bandpass-calibrator"],
        bandpass_flux=plan["bandpass_flux"], span=(float(bp.times.min()), float(bp.times.max())),
        starts_scan=starts,
    )  # fmt: skip


def run(args) -> int:
    o = _check(args)
    stages = Stages()
    outputs = o["outputs"]
    tmp = Path(tempfile.mkdtemp(prefix=f".{outputs['ms'].name}.uvflow-tmp-",
                                dir=outputs["ms"].parent))  # fmt: skip
    try:
        from .session import execution

        with execution(args):
            with stages("index"):
                plan = _plan(args, o)
            settings = ObservationSettings(
                refant=plan["refant"], solint=o["solint"], quack=args.quack,
                flag_antennas=tuple(args.flag_antennas), flag_baselines=tuple(args.flag_baselines),
            )  # fmt: skip
            with stages("calibrate"):
                try:
                    graphs = [_window_graph(w, plan, settings) for w in plan["windows"]]
                    written = rsexecute.execute(_write_target, name="write_target")(
                        str(tmp / outputs["ms"].name), *[t for g in graphs for t in g["target"]]
                    )
                    graphs = [{k: v for k, v in g.items() if k != "target"} for g in graphs]
                    results, summaries = rsexecute.compute((graphs, written), sync=True)
                except CalibrationError as exc:
                    raise CLIError(str(exc)) from None
            with stages("write"):
                _products(args, tmp, outputs, results, plan["spws"])
            report = calibration_report(plan, results, summaries, stages)
            (tmp / outputs["report"].name).write_text(json.dumps(report, indent=1) + "\n")
        _move(tmp, outputs, args.overwrite)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    scale = combine_flux_scales([r["fluxscale"][0] for r in results])
    print(f"{plan['parts']['phase-calibrator'].field_name}: {scale.flux_jy:.4f} ± "
          f"{scale.error_jy:.4f} Jy at {scale.frequency_hz / 1e9:.4f} GHz; wrote {outputs['ms']}")  # fmt: skip
    return 0


def _products(args, tmp, outputs, results: list, spws: list) -> None:
    """The solutions (H5parm) and, with ``--plot``, their plots, in ``tmp``: per spectral
    window its bandpass, then its transfer gains (``uvflow image --apply-solutions``
    applies to each window the tables that cover its channels, in this order); the
    calibrators' own solutions are summarised in the report."""
    tables = {}
    for k, r in zip(spws, results):
        suffix = "" if len(spws) == 1 else f"_spw{k}"
        tables[f"bandpass{suffix}"] = r["bandpass"][0]
        tables[f"gains{suffix}"] = r["fluxscale"][1]
    write_h5parm(tmp / outputs["solutions"].name, tables,
                 history=f"uvflow calibrate {args.input}")  # fmt: skip
    if args.plot:
        first = results[0]
        plot_gaintable_spectrum(first["bandpass"][0], tmp / outputs["bandpass_png"].name,
                                title=f"bandpass (spectral window {spws[0]})")  # fmt: skip
        plot_gaintable(first["fluxscale"][1], tmp / outputs["gains_png"].name,
                       title=f"transfer gains (spectral window {spws[0]})")  # fmt: skip


def _move(tmp: Path, outputs: dict, overwrite: bool) -> None:
    for dst in outputs.values():
        src = tmp / dst.name
        if not src.exists():
            continue
        if dst.exists():
            if not overwrite:
                raise CLIError(f"{dst} appeared during the run; pass --overwrite to replace it")
            if dst.is_dir() and not dst.is_symlink():
                shutil.rmtree(dst)
        os.replace(src, dst)
        log.info("wrote %s", dst)
