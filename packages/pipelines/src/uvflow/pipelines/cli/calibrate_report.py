"""The JSON report of ``uvflow calibrate`` (``<stem>-report.json``)."""

from __future__ import annotations

import numpy as np

from uvflow.calibration import combine_flux_scales
from uvflow.calibration.flagging import FLAG_REASONS

from .report import versions

__all__ = ["calibration_report", "flagged_fractions", "solution_summary"]


def flagged_fractions(summaries: list) -> dict:
    """Fractions of samples flagged before and after, and per reason, over ``summaries``
    (the per-scan summaries of :func:`uvflow.calibration.flag_obvious`)."""
    nvis = sum(s["nvis"] for s in summaries)
    keys = ("before", *FLAG_REASONS, "after")
    counts = {k: sum(s["counts"][k] for s in summaries) for k in keys}
    return {k: (counts[k] / nvis if nvis else 0.0) for k in keys} | {"nvis": int(nvis)}


def solution_summary(gt) -> dict:
    """Intervals, failed solutions (weight 0 on an antenna's diagonal) and the RMS misfit."""
    diag = np.diagonal(gt.weight, axis1=-2, axis2=-1)  # [ntime, nant, nchan, nrec]
    residual = np.diagonal(gt.residual, axis1=-2, axis2=-1)
    used = residual[residual > 0]
    return {"jones_type": gt.jones_type, "intervals": int(gt.ntimes),
            "frequency_solutions": int(gt.nchan), "solutions": int(diag.size),
            "failed": int(np.sum(diag <= 0)),
            "rms_residual_jy": float(np.sqrt(np.mean(used**2))) if used.size else None}  # fmt: skip


def _solutions(result: dict) -> dict:
    scale, transfer, flux_gt, phase_gt = result["fluxscale"]
    return {"B": solution_summary(result["bandpass"][0]), "G_flux": solution_summary(flux_gt),
            "G_phase": solution_summary(phase_gt), "G_transfer": solution_summary(transfer)}  # fmt: skip


def calibration_report(plan: dict, results: list, target_summaries: list, stages) -> dict:
    """The report: flux scale, standard, flagged fractions, solutions, stages.

    ``results`` holds one spectral window's results each (``plan['spws']``): the flux is
    their combination (a power law over the windows when there are several), with each
    window's own in ``spectral_windows``; flagged fractions are over all windows;
    ``solutions`` are per term, and per window (``spw<id>``) when there are several.
    """
    parts = plan["parts"]

    def summaries(key):
        return [s for r in results for _, s in r[key]]

    flags = {
        parts["bandpass-calibrator"].field_name + " (bandpass)":
            flagged_fractions([s for r in results for s in r["bandpass"][1]]),
        parts["flux-calibrator"].field_name: flagged_fractions(summaries("flux_gains")),
        parts["phase-calibrator"].field_name: flagged_fractions(summaries("phase_gains")),
        parts["target"].field_name: flagged_fractions(target_summaries),
    }  # fmt: skip
    scale = combine_flux_scales([r["fluxscale"][0] for r in results])
    fluxscale = scale.describe() | {"spectral_windows": {
        str(k): r["fluxscale"][0].describe() for k, r in zip(plan["spws"], results)}}  # fmt: skip
    if len(results) == 1:
        solutions = _solutions(results[0])
    else:
        solutions = {f"spw{k}": _solutions(r) for k, r in zip(plan["spws"], results)}
    standard = plan["standard"]
    nu = float(scale.frequency_hz)
    config = parts["target"].configuration
    return {
        "fluxscale": {parts["phase-calibrator"].field_name: fluxscale},
        "flux_standard": {"standard": "Perley-Butler 2017", "source": standard.name,
                          "frequency_hz": nu, "flux_jy": float(standard.flux_density(nu))},
        "fields": {role: {"id": int(p.field_id), "name": p.field_name}
                   for role, p in parts.items()},
        "spectral_windows": [int(k) for k in plan["spws"]],
        "refant": str(config.names[plan["refant"]]),
        "flagged_fraction": flags,
        "solutions": solutions,
        "stages": stages.records,
        "versions": versions(),
    }  # fmt: skip
