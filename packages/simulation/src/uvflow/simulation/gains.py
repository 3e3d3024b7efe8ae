"""Random antenna gains: ``simulate_gaintable``."""

from __future__ import annotations

import logging

import numpy as np

from uvflow.datamodels import GainTable

from .errors import SimulationError
from .random_fields import random_fourier_field
from .seeding import SeedLike, make_rng

__all__ = ["simulate_gaintable"]

log = logging.getLogger(__name__)


def _independent_shape(gt: GainTable) -> tuple[int, int, int]:
    """(nant, nchan, nrec) of independent draws for the table's Jones type."""
    if gt.jones_type == "T":
        return gt.nants, 1, 1
    if gt.jones_type == "G":
        return gt.nants, 1, gt.nrec
    return gt.nants, gt.nchan, gt.nrec


def _draw(rng, gt, rms, smooth, timescale) -> np.ndarray:
    """Zero-mean draws of standard deviation ``rms``, broadcastable to [ntime, nant, nchan, nrec]."""
    nant, nchan, nrec = _independent_shape(gt)
    nseries = nant * nchan * nrec
    if rms == 0:
        return np.zeros((1, nant, nchan, nrec))
    if not smooth:
        return rng.normal(0.0, rms, (gt.ntimes, nant, nchan, nrec))
    t = (gt.time - gt.time[0])[:, None] / timescale
    values = random_fourier_field(rng, t, rms, nfields=nseries)
    return values.reshape(gt.ntimes, nant, nchan, nrec)


def simulate_gaintable(
    gt: GainTable,
    phase_error: float = 0.1,
    amplitude_error: float = 0.0,
    smooth_in_time: bool = False,
    seed: SeedLike = None,
    timescale: float | None = None,
) -> GainTable:
    """A copy of ``gt`` with random diagonal gains ``(1 + δa) exp(i δφ)``.

    The table's gains are replaced (not multiplied); off-diagonal terms are 0. Independent
    values per antenna and time for Jones type ``'T'`` (shared by the receptors and
    channels), per antenna, receptor and time for ``'G'``, and per channel too for ``'B'``
    (and any other type).

    Parameters
    ----------
    gt : GainTable
        gain [ntime, nant, nchan, nrec, nrec] (e.g. from
        ``uvflow.calibration.create_gaintable_from_visibility``).
    phase_error : float
        Standard deviation of δφ, radians.
    amplitude_error : float
        Standard deviation of δa (amplitudes 1 + δa; keep it well below 1).
    smooth_in_time : bool
        False: independent draws per solution interval. True: for each antenna (receptor,
        channel) a smooth random function of time (random Fourier modes with a Gaussian
        covariance of correlation time ``timescale``) of the same standard deviation.
    seed : int, SeedSequence, Generator or None
        Phases are drawn before amplitudes.
    timescale : float, optional
        Seconds; default a third of the table's time span (or its interval for one time).

    Returns
    -------
    GainTable
    """
    if not isinstance(gt, GainTable):
        raise SimulationError(f"gt must be a GainTable, got {type(gt).__name__}")
    for name, value in (("phase_error", phase_error), ("amplitude_error", amplitude_error)):
        if not (np.isfinite(value) and value >= 0):
            raise SimulationError(f"{name} must be finite and >= 0, got {value}")
    if timescale is None:
        span = float(gt.time.max() - gt.time.min()) if gt.ntimes > 1 else 0.0
        timescale = span / 3.0 if span > 0 else float(max(gt.interval.max(), 1.0))
    if not timescale > 0:
        raise SimulationError(f"timescale must be > 0 s, got {timescale}")
    rng = make_rng(seed)
    phase = _draw(rng, gt, phase_error, smooth_in_time, timescale)
    amp = 1.0 + _draw(rng, gt, amplitude_error, smooth_in_time, timescale)
    diag = np.broadcast_to(amp * np.exp(1j * phase), (gt.ntimes, gt.nants, gt.nchan, gt.nrec))
    gain = np.zeros(gt.gain.shape, dtype=np.result_type(gt.gain.dtype, np.complex128))
    idx = np.arange(gt.nrec)
    gain[..., idx, idx] = diag
    log.debug("simulated %s gains: phase rms %.3g rad, amplitude rms %.3g", gt.jones_type,
              phase_error, amplitude_error)  # fmt: skip
    return gt.replace(gain=gain, residual=np.zeros_like(gt.residual))
