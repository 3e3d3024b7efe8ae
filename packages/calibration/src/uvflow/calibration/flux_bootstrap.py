"""Flux bootstrapping: a phase calibrator's flux density from the ratio of gain amplitudes.

Gains solved with amplitudes free and not normalised (``normalise_gains=False``) carry
the flux scale of their model: on the flux calibrator (model at its standard flux) they are
the true gains, ``|g_F| = |g_true|``; on the phase calibrator (model 1 Jy) they are
``|g_P| = |g_true| sqrt(S)``. Both calibrators must be compared at the same time, and the
phase calibrator is observed often (between every target scan) while the flux calibrator
is observed once or twice; so the phase calibrator's gains are interpolated to each flux
calibrator solution (linearly in amplitude between its scans, the nearest outside them:
:func:`~uvflow.calibration.interpolate_gaintable`), where

``r = (|g_P(t_F)| / |g_F(t_F)|)²``

per antenna and receptor. The flux is the mean of ``r`` over antennas, receptors and flux
calibrator solutions, and its uncertainty the standard error of that mean (their scatter:
gain drifts between the scans and noise). Interpolating the other way (the flux
calibrator's gains to the phase calibrator's scans, CASA ``fluxscale``'s averaging) would
carry the gains' drift over the whole observation into the flux. With several frequency
solutions the flux is given per solution and a power law ``S(ν) = S_0 (ν/ν_0)^α`` is
fitted (ν_0 the mean frequency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from uvflow.datamodels import GainTable

from .errors import CalibrationError
from .gain_interpolation import interpolate_gaintable
from .jones import jones_diagonal

__all__ = ["FluxScale", "bootstrap_flux", "combine_flux_scales", "scale_gaintable_flux"]


@dataclass(frozen=True)
class FluxScale:
    """A bootstrapped flux density.

    Attributes
    ----------
    flux_jy, error_jy : float
        At ``frequency_hz`` (the fit's reference frequency with several frequency
        solutions).
    frequency_hz : float
    spectral_index : float or None
        The fitted α (None with one frequency solution).
    per_frequency : list of dict
        ``{'frequency_hz', 'flux_jy', 'error_jy', 'nsamples'}`` per frequency solution
        (``nsamples``: antennas × receptors × flux-calibrator solutions used).
    """

    flux_jy: float
    error_jy: float
    frequency_hz: float
    spectral_index: float | None
    per_frequency: list

    def describe(self) -> dict:
        """JSON-able."""
        return {"flux_jy": self.flux_jy, "error_jy": self.error_jy,
                "frequency_hz": self.frequency_hz, "spectral_index": self.spectral_index,
                "per_frequency": self.per_frequency}  # fmt: skip


def bootstrap_flux(flux_gains: GainTable, phase_gains: GainTable) -> FluxScale:
    """The phase calibrator's flux density from the two calibrators' gains.

    Parameters
    ----------
    flux_gains : GainTable
        Solved on the flux calibrator against its standard model, not normalised.
    phase_gains : GainTable
        Solved on the phase calibrator against a 1 Jy model, not normalised; the same
        antennas, receptors and frequency solutions.

    Returns
    -------
    FluxScale

    Raises
    ------
    CalibrationError
        Tables that do not match, or no antenna with data on both calibrators.
    """
    if flux_gains.gain.shape[1:] != phase_gains.gain.shape[1:]:
        raise CalibrationError(
            f"the flux and phase calibrators' gain tables differ in shape "
            f"({list(flux_gains.gain.shape[1:])} vs {list(phase_gains.gain.shape[1:])})"
        )
    phase_at = interpolate_gaintable(phase_gains, flux_gains.time, flux_gains.interval)
    gp, gf = np.abs(jones_diagonal(phase_at.gain)), np.abs(jones_diagonal(flux_gains.gain))
    valid = (jones_diagonal(phase_at.weight) > 0) & (jones_diagonal(flux_gains.weight) > 0)
    valid &= gf > 0
    ratio2 = (gp / np.where(gf > 0, gf, 1.0)) ** 2  # [ntime_F, nant, nchan, nrec]
    per = []
    for c, nu in enumerate(phase_gains.frequency):
        r = ratio2[:, :, c][valid[:, :, c]]
        if r.size == 0:
            continue
        error = float(r.std(ddof=1) / np.sqrt(r.size)) if r.size > 1 else float("nan")
        per.append({"frequency_hz": float(nu), "flux_jy": float(r.mean()), "error_jy": error,
                    "nsamples": int(r.size)})  # fmt: skip
    if not per:
        raise CalibrationError(
            "no antenna has gains on both the flux and the phase calibrator: the flux cannot "
            "be bootstrapped"
        )
    return _power_law(per)


def combine_flux_scales(scales) -> FluxScale:
    """One flux scale from several (e.g. one per spectral window): their frequency
    solutions together, a power law fitted when there are several.

    Parameters
    ----------
    scales : sequence of FluxScale

    Returns
    -------
    FluxScale
    """
    per = [p for s in scales for p in s.per_frequency]
    if not per:
        raise CalibrationError("no flux scales to combine")
    return _power_law(per)


def _power_law(per: list) -> FluxScale:
    """The one frequency solution's flux, or with several a weighted fit of
    log S = log S0 + α log(ν/ν0), ν0 the mean frequency."""
    if len(per) == 1:
        p = per[0]
        return FluxScale(p["flux_jy"], p["error_jy"], p["frequency_hz"], None, per)
    nu = np.array([p["frequency_hz"] for p in per])
    flux = np.array([p["flux_jy"] for p in per])
    err = np.array([p["error_jy"] for p in per])
    nu0 = float(nu.mean())
    x, y = np.log(nu / nu0), np.log(flux)
    sigma = np.where(np.isfinite(err) & (err > 0), err / flux, np.nanmedian(err / flux))
    if not np.all(np.isfinite(sigma)) or np.any(sigma <= 0):
        sigma = np.ones_like(x)
    w = 1.0 / sigma**2
    a = np.array([[w.sum(), (w * x).sum()], [(w * x).sum(), (w * x * x).sum()]])
    b = np.array([(w * y).sum(), (w * x * y).sum()])
    (logs0, alpha), cov = np.linalg.solve(a, b), np.linalg.inv(a)
    s0 = float(np.exp(logs0))
    return FluxScale(s0, float(s0 * np.sqrt(cov[0, 0])), nu0, float(alpha), per)


def scale_gaintable_flux(gt: GainTable, scale: FluxScale) -> GainTable:
    """Gains solved against a 1 Jy model turned into gains for the bootstrapped flux:
    divided by ``sqrt(S(ν))`` at each frequency solution (the fitted power law, or the
    one flux)."""
    alpha = 0.0 if scale.spectral_index is None else scale.spectral_index
    flux = scale.flux_jy * (gt.frequency / scale.frequency_hz) ** alpha  # [nchan]
    factor = 1.0 / np.sqrt(flux)
    return gt.replace(gain=gt.gain * factor[None, None, :, None, None],
                      weight=gt.weight * flux[None, None, :, None, None])  # fmt: skip
