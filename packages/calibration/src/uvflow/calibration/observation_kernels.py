"""The tasks of calibrating an observation from its calibrators (no Dask here).

Each function is one task of :mod:`uvflow.calibration.observation_workflows`: it loads one
scan (a Visibility, or a visibility source read where the task runs), flags the obvious
(:func:`~uvflow.calibration.flag_obvious`), and does one step:

1. :func:`bandpass_statistics`: on a bandpass-calibrator scan, a phase-only solve per
   integration on the central channels (so that the phases are steady over the scan),
   applied, then the sufficient statistics of a per-channel ('B') solve with one interval
   over all bandpass scans;
2. :func:`solve_bandpass`: the statistics of all those scans added and solved; the
   bandpass normalised (:func:`normalise_bandpass`);
3. :func:`scan_gains`: on a flux- or phase-calibrator scan, the bandpass applied, then
   complex gains ('G', one per scan or per ``solint``) against the field's model, not
   normalised (they carry the model's flux scale, :mod:`.flux_bootstrap`);
4. :func:`calibrate_target`: a target chunk corrected by the bandpass and by the
   transfer gains interpolated to its times.

The model of a calibrator is an unpolarised point source at its phase centre of flux
density ``S(ν)`` (the standard's spectrum for the flux calibrator, 1 Jy for the others).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from uvflow.datamodels import GainTable, Visibility, load_visibility

from .apply import apply_gaintable
from .errors import CalibrationError
from .flagging import flag_obvious
from .flux_standards import FluxStandard
from .gain_interpolation import correct_with_solutions
from .gain_solve import gaintable_statistics, solve_gaintable, solve_gaintable_from_statistics
from .gaintable_create import create_gaintable_from_visibility
from .jones import jones_diagonal, unit_model
from .statistics import combine_statistics

__all__ = [
    "ObservationSettings",
    "bandpass_statistics",
    "calibrate_target",
    "model_visibility",
    "normalise_bandpass",
    "scan_gains",
    "solve_bandpass",
]


@dataclass(frozen=True)
class ObservationSettings:
    """How an observation is calibrated from its calibrators.

    Parameters
    ----------
    refant : int
        Reference antenna (index): its gains have phase 0.
    solint : float, optional
        Gain solution interval, seconds; None: one solution per scan.
    quack : float
        Seconds flagged at the start of every scan.
    flag_antennas, flag_baselines : tuple
        Antennas (names or indices) and baselines (``'A&B'`` or index pairs) to flag.
    central_fraction : float
        Share of the channels (around the centre) the initial phase solve uses.
    niter, tol : int, float
        StefCal iterations and tolerance.
    """

    refant: int = 0
    solint: float | None = None
    quack: float = 0.0
    flag_antennas: tuple = ()
    flag_baselines: tuple = ()
    central_fraction: float = 0.25
    niter: int = 200
    tol: float = 1e-8

    def __post_init__(self) -> None:
        if not 0 < self.central_fraction <= 1:
            raise CalibrationError(
                f"central_fraction must be in (0, 1], got {self.central_fraction}"
            )
        if self.solint is not None and not (np.isfinite(self.solint) and self.solint > 0):
            raise CalibrationError(f"solint must be > 0 seconds or None, got {self.solint}")
        if not (np.isfinite(self.quack) and self.quack >= 0):
            raise CalibrationError(f"quack must be >= 0 seconds, got {self.quack}")


def model_visibility(vis: Visibility, flux: FluxStandard | float) -> Visibility:
    """A point source of flux density ``flux`` (a standard's spectrum, or Jy) at the phase
    centre, unpolarised, on ``vis``'s samples: ``vis[ntime, nbaseline, nchan, npol]``
    complex128 (parallel hands ``S(ν)``, cross hands 0)."""
    spectrum = (flux.flux_density(vis.frequency) if isinstance(flux, FluxStandard)
                else np.full(vis.nchan, float(flux)))  # fmt: skip
    model = spectrum[None, None, :, None] * unit_model(vis.polarisation_frame)[None, None, None, :]
    return vis.replace(vis=np.broadcast_to(model, vis.vis.shape).astype(np.complex128))


def _flagged(source, settings: ObservationSettings, quack: bool = True):
    """The loaded data and their flag summary (``quack``: the chunk starts a scan)."""
    vis = load_visibility(source)
    return flag_obvious(vis, quack_seconds=settings.quack if quack else 0.0,
                        antennas=settings.flag_antennas, baselines=settings.flag_baselines)  # fmt: skip


def _central(vis: Visibility, fraction: float) -> Visibility:
    n = max(1, int(round(vis.nchan * fraction)))
    lo = (vis.nchan - n) // 2
    return vis.select(channel=slice(lo, lo + n))


def _check_refant(vis: Visibility, refant: int) -> None:
    mine = (vis.antenna1 == refant) | (vis.antenna2 == refant)
    usable = ~vis.flags[:, mine] & (vis.weight[:, mine] > 0)
    if not usable.any():
        names = vis.configuration.names if vis.configuration is not None else None
        name = names[refant] if names is not None and refant < len(names) else refant
        raise CalibrationError(
            f"the reference antenna {name} has no unflagged data in scan {vis.source!r} at "
            f"{vis.time[0]:.0f} s; choose another with --refant"
        )


def bandpass_statistics(source, flux, span, settings: ObservationSettings):
    """Statistics of the bandpass solve from one bandpass-calibrator scan.

    Parameters
    ----------
    source : Visibility or VisibilitySource
    flux : FluxStandard or float
        The field's model flux (see :func:`model_visibility`).
    span : (float, float)
        First and last time (MJD seconds) of all bandpass scans: the one solution interval.
    settings : ObservationSettings

    Returns
    -------
    (GainTable, GainStatistics, dict)
        The unit 'B' table [1, nant, nchan, nrec, nrec], the statistics, the flag summary.
    """
    vis, summary = _flagged(source, settings)
    _check_refant(vis, settings.refant)
    model = model_visibility(vis, flux)
    g0 = solve_gaintable(_central(vis, settings.central_fraction),
                         _central(model, settings.central_fraction), phase_only=True,
                         niter=settings.niter, tol=settings.tol, refant=settings.refant,
                         jones_type="G")  # fmt: skip
    corrected = apply_gaintable(vis, g0, inverse=True)
    table = create_gaintable_from_visibility(vis, jones_type="B")
    table = table.replace(gain=table.gain[:1], weight=table.weight[:1],
                          residual=table.residual[:1], time=np.array([0.5 * (span[0] + span[1])]),
                          interval=np.array([span[1] - span[0] + 2 * vis.integration_time.max()]))  # fmt: skip
    table, stats = gaintable_statistics(corrected, model, gt=table)
    return table, stats, summary


def normalise_bandpass(gt: GainTable) -> GainTable:
    """The bandpass divided, per antenna and receptor, by its complex mean over the
    channels with solutions (so its mean is 1: the frequency-independent part is left to
    the gains, as CASA's ``solnorm``)."""
    diag = jones_diagonal(gt.gain)  # [nt, nant, nchan, nrec]
    valid = jones_diagonal(gt.weight) > 0
    mean = np.where(valid, diag, 0).sum(axis=2) / np.maximum(valid.sum(axis=2), 1)
    mean = np.where(np.abs(mean) > 0, mean, 1.0)  # [nt, nant, nrec]
    nrec = gt.gain.shape[-1]
    scale = np.ones(gt.gain.shape, complex)
    idx = np.arange(nrec)
    scale[..., idx, idx] = (1.0 / mean)[:, :, None, :]
    return gt.replace(
        gain=gt.gain * scale, weight=gt.weight * np.abs(mean[:, :, None, :, None]) ** 2
    )


def solve_bandpass(results: list, settings: ObservationSettings) -> tuple[GainTable, dict]:
    """The bandpass from the :func:`bandpass_statistics` of every bandpass scan.

    Returns
    -------
    (GainTable, list of dict)
        The normalised 'B' table [1, nant, nchan, nrec, nrec], and the scans' flag
        summaries.
    """
    table = results[0][0]
    stats = combine_statistics([r[1] for r in results])
    gt = solve_gaintable_from_statistics(stats, table, phase_only=False, niter=settings.niter,
                                         tol=settings.tol, normalise_gains=False,
                                         refant=settings.refant)  # fmt: skip
    return normalise_bandpass(gt), [r[2] for r in results]


def scan_gains(source, flux, bandpass: GainTable, settings: ObservationSettings):
    """Gains ('G') of one calibrator scan against its model, the bandpass applied.

    Returns
    -------
    (GainTable, dict)
        Not normalised: ``gain[nsol, nant, 1, nrec, nrec]`` (one solution per scan, or per
        ``solint``), and the scan's flag summary.
    """
    vis, summary = _flagged(source, settings)
    _check_refant(vis, settings.refant)
    corrected = apply_gaintable(vis, bandpass, inverse=True)
    span = vis.time.max() - vis.time.min() + vis.integration_time.max()
    solint = span * 1.0001 if settings.solint is None else settings.solint
    gt = solve_gaintable(corrected, model_visibility(corrected, flux), phase_only=False,
                         niter=settings.niter, tol=settings.tol, normalise_gains=False,
                         refant=settings.refant, timeslice=solint, jones_type="G")  # fmt: skip
    return gt, summary


def calibrate_target(source, bandpass: GainTable, gains: GainTable,
                     settings: ObservationSettings, starts_scan: bool = True):  # fmt: skip
    """A target chunk corrected by the bandpass and the transfer gains at its times
    (``starts_scan``: the chunk is the start of a scan, where ``quack`` flags).

    Returns
    -------
    (Visibility, dict)
        The corrected chunk (samples without a valid solution flagged), its flag summary.
    """
    vis, summary = _flagged(source, settings, starts_scan)
    return correct_with_solutions(vis, (bandpass, gains)), summary
