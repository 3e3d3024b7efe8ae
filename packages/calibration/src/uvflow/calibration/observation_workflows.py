"""Calibrating an observation from its calibrators, as graphs (rsexecute).

The steps an astronomer takes with CASA or DP3 on a raw observation, each a workflow here:

1. :func:`bandpass_rsexecute_workflow`: one task per bandpass-calibrator scan (initial
   phases, then the sufficient statistics of a per-channel solve), one task adding them
   and solving the normalised bandpass;
2. :func:`calibrator_gains_rsexecute_workflow`: one task per calibrator scan solving its
   complex gains with the bandpass applied;
3. :func:`fluxscale_rsexecute_workflow`: the phase calibrator's flux bootstrapped from the
   gains' amplitudes, and its gains rescaled to that flux: the transfer gains;
4. :func:`apply_to_target_rsexecute_workflow`: one task per target chunk correcting it
   by the bandpass and the transfer gains interpolated to its times.

Scans are given as Visibility or visibility sources (read inside their tasks, where they
run: issue 15's worker-side reads); only gain tables, statistics and flag summaries travel
between tasks. :func:`calibrate_observation_rsexecute_workflow` chains the four. The
kernels are :mod:`uvflow.calibration.observation_kernels`.
"""

from __future__ import annotations

from uvflow.execution import rsexecute

from .errors import CalibrationError
from .flux_bootstrap import bootstrap_flux, scale_gaintable_flux
from .gain_interpolation import concatenate_gaintables
from .observation_kernels import (
    ObservationSettings,
    bandpass_statistics,
    calibrate_target,
    scan_gains,
    solve_bandpass,
)

__all__ = [
    "apply_to_target_rsexecute_workflow",
    "bandpass_rsexecute_workflow",
    "calibrate_observation_rsexecute_workflow",
    "calibrator_gains_rsexecute_workflow",
    "fluxscale_rsexecute_workflow",
]


def bandpass_rsexecute_workflow(scans, flux, span, settings: ObservationSettings):
    """The normalised bandpass from the bandpass calibrator's scans.

    Parameters
    ----------
    scans : list of Visibility or visibility sources (or graphs)
    flux : FluxStandard or float
        The calibrator's model flux density (a standard, or Jy).
    span : (float, float)
        First and last time of the scans, MJD seconds.
    settings : ObservationSettings

    Returns
    -------
    graph of (GainTable, list of dict)
        The 'B' table [1, nant, nchan, nrec, nrec] and the scans' flag summaries.
    """
    if not scans:
        raise CalibrationError("the bandpass calibrator has no scans")
    parts = [rsexecute.execute(bandpass_statistics, name="bandpass_statistics")(
        s, flux, span, settings) for s in scans]  # fmt: skip
    return rsexecute.execute(_solve_bandpass, name="solve_bandpass")(settings, *parts)


def _solve_bandpass(settings, *parts):
    return solve_bandpass(list(parts), settings)


def calibrator_gains_rsexecute_workflow(scans, flux, bandpass, settings: ObservationSettings):
    """Per scan, the calibrator's complex gains against its model (bandpass applied).

    Returns
    -------
    list of graphs of (GainTable, dict)
        One per scan: the 'G' table (not normalised) and the flag summary.
    """
    return [rsexecute.execute(scan_gains, name="scan_gains", nout=2)(s, flux, bandpass, settings)
            for s in scans]  # fmt: skip


def _fluxscale(flux_results: list, phase_results: list):
    flux_gt = concatenate_gaintables([r[0] for r in flux_results])
    phase_gt = concatenate_gaintables([r[0] for r in phase_results])
    scale = bootstrap_flux(flux_gt, phase_gt)
    return scale, scale_gaintable_flux(phase_gt, scale), flux_gt, phase_gt


def fluxscale_rsexecute_workflow(flux_gains: list, phase_gains: list):
    """The phase calibrator's bootstrapped flux and the transfer gains.

    Parameters
    ----------
    flux_gains, phase_gains : list of graphs of (GainTable, dict)
        From :func:`calibrator_gains_rsexecute_workflow` on each calibrator.

    Returns
    -------
    graph of (FluxScale, GainTable, GainTable, GainTable)
        The flux, the transfer gains (the phase calibrator's, scaled to its flux), and the
        two calibrators' gains as solved (joined in time).
    """
    return rsexecute.execute(_fluxscale_tuple, name="fluxscale", nout=4)(
        len(flux_gains), *flux_gains, *phase_gains)  # fmt: skip


def _fluxscale_tuple(nflux, *results):
    return _fluxscale(list(results[:nflux]), list(results[nflux:]))


def apply_to_target_rsexecute_workflow(chunks, bandpass, gains, settings: ObservationSettings,
                                       starts_scan=None) -> list:  # fmt: skip
    """The target's chunks corrected by the bandpass and interpolated gains.

    Parameters
    ----------
    chunks : list of Visibility or visibility sources (or graphs)
    bandpass, gains : GainTable (graphs)
    settings : ObservationSettings
    starts_scan : list of bool, optional
        Whether each chunk starts a scan (``quack`` flags only there); default all.

    Returns
    -------
    list of graphs of (Visibility, dict)
    """
    starts = [True] * len(chunks) if starts_scan is None else list(starts_scan)
    return [rsexecute.execute(calibrate_target, name="calibrate_target", nout=2)(
        c, bandpass, gains, settings, s) for c, s in zip(chunks, starts)]  # fmt: skip


def calibrate_observation_rsexecute_workflow(
    flux_scans, phase_scans, target_chunks, flux, settings: ObservationSettings,
    bandpass_scans=None, bandpass_flux=None, span=None, starts_scan=None,
) -> dict:  # fmt: skip
    """The whole calibration: bandpass, calibrator gains, flux bootstrap, target corrected.

    Parameters
    ----------
    flux_scans, phase_scans : list of Visibility or sources (or graphs)
        The flux and phase calibrators' scans.
    target_chunks : list of Visibility or sources (or graphs)
    flux : FluxStandard
        The flux calibrator's standard.
    settings : ObservationSettings
    bandpass_scans : list, optional
        Default the flux calibrator's scans.
    bandpass_flux : FluxStandard or float, optional
        The bandpass calibrator's model (default ``flux``; 1 Jy for another source).
    span : (float, float)
        First and last time of the bandpass scans (required).
    starts_scan : list of bool, optional
        Per target chunk (see :func:`apply_to_target_rsexecute_workflow`).

    Returns
    -------
    dict of graphs
        ``bandpass`` (GainTable, summaries), ``flux_gains``/``phase_gains`` (lists of
        (GainTable, summary)), ``fluxscale`` (FluxScale, transfer, flux, phase tables),
        ``target`` (list of (Visibility, summary)).
    """
    if not phase_scans:
        raise CalibrationError("the phase calibrator has no scans: the gains cannot be transferred")
    if not flux_scans:
        raise CalibrationError("the flux calibrator has no scans: the flux scale is unknown")
    if span is None:
        raise CalibrationError("span (first and last time of the bandpass scans) is required")
    bp_scans = flux_scans if bandpass_scans is None else bandpass_scans
    bp_flux = flux if bandpass_flux is None else bandpass_flux
    bandpass = bandpass_rsexecute_workflow(bp_scans, bp_flux, span, settings)
    table = rsexecute.execute(_first, name="bandpass_table")(bandpass)
    flux_gains = calibrator_gains_rsexecute_workflow(flux_scans, flux, table, settings)
    phase_gains = calibrator_gains_rsexecute_workflow(phase_scans, 1.0, table, settings)
    scale = fluxscale_rsexecute_workflow(flux_gains, phase_gains)
    transfer = rsexecute.execute(_second, name="transfer_gains")(scale)
    target = apply_to_target_rsexecute_workflow(target_chunks, table, transfer, settings,
                                                starts_scan)  # fmt: skip
    return {"bandpass": bandpass, "flux_gains": flux_gains, "phase_gains": phase_gains,
            "fluxscale": scale, "target": target}  # fmt: skip


def _first(pair):
    return pair[0]


def _second(values):
    return values[1]
