"""Thermal noise from the radiometer equation, and weights consistent with it.

Conventions
-----------
For the correlation of antennas i and j (one receptor of each, e.g. XX) with system
equivalent flux densities S_i, S_j (Jy), channel bandwidth Δν (Hz), integration time τ (s)
and correlator efficiency η, the noise on the **real part and on the imaginary part** of
the visibility are independent Gaussians, each with standard deviation
(Thompson, Moran & Swenson, 3rd ed., eq. 6.50 with S = 2kT/A_e)::

    σ_ij = sqrt(S_i S_j) / (η sqrt(2 Δν τ))

so the complex noise has E|n|² = 2σ². Stokes products formed from two correlations (e.g.
I = (XX + YY)/2, U = (XY + YX)/2) have σ/√2 per component; a ``stokesI`` visibility is taken
to come from dual-polarisation feeds (σ_I = σ_ij/√2).

Weights: ``weight = 1/σ²`` of the product as stored, σ being the per-component (real or
imaginary) standard deviation; flagged samples get weight 0. This is the MeasurementSet
convention (WEIGHT = 1/SIGMA², SIGMA the rms of the real or imaginary part).
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.datamodels import PolarisationFrame, Visibility, correlation_weights

from .errors import SimulationError
from .seeding import SeedLike, make_rng

__all__ = ["radiometer_sigma", "visibility_sigma", "add_noise"]

log = logging.getLogger(__name__)


def radiometer_sigma(sefd_i, sefd_j, bandwidth, integration_time, efficiency: float = 1.0):
    """Per-component noise σ = sqrt(S_i S_j) / (η sqrt(2 Δν τ)) in Jy (broadcasts).

    Parameters
    ----------
    sefd_i, sefd_j : float or numpy.ndarray of float64, any shape (broadcast together)
        SEFDs of the two antennas, Jy.
    bandwidth : float or numpy.ndarray of float64, any shape (broadcast)
        Hz.
    integration_time : float or numpy.ndarray of float64, any shape (broadcast)
        Seconds.
    efficiency : float
        Correlator efficiency η in (0, 1].

    Returns
    -------
    numpy.ndarray of float64, the broadcast shape of the arguments
        Jy, the standard deviation of the real (and of the imaginary) part.
    """
    return np.sqrt(np.asarray(sefd_i, float) * np.asarray(sefd_j, float)) / (
        efficiency
        * np.sqrt(2.0 * np.asarray(bandwidth, float) * np.asarray(integration_time, float))
    )


def _correlation_frame(frame: PolarisationFrame) -> PolarisationFrame:
    """The correlation frame whose products make ``frame``'s (for the noise bookkeeping)."""
    if not frame.is_stokes:
        return frame
    return PolarisationFrame("linearnp" if frame.name == "stokesI" else "linear")


def visibility_sigma(vis: Visibility, sefd, efficiency: float = 1.0) -> np.ndarray:
    """Radiometer-equation σ per real/imaginary component of every sample.

    Parameters
    ----------
    vis : Visibility
    sefd : float or numpy.ndarray of float, shape [nant] or [nant, nchan]
        Jy per antenna (and channel); the same for every receptor.
    efficiency : float

    Returns
    -------
    numpy.ndarray of float64, shape [ntime, nbaseline, nchan, npol]
    """
    if not 0 < efficiency <= 1:
        raise SimulationError(f"efficiency must be in (0, 1], got {efficiency}")
    s = np.asarray(sefd, dtype=float)
    nant, nchan = vis.nants, vis.nchan
    if s.ndim == 0:
        s = np.full((nant, nchan), float(s))
    elif s.shape == (nant,):
        s = np.repeat(s[:, None], nchan, axis=1)
    elif s.shape != (nant, nchan):
        raise SimulationError(
            f"sefd must be a scalar, [nant={nant}] or [nant={nant}, nchan={nchan}], got shape {s.shape}"
        )
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise SimulationError("sefd must be finite and > 0 Jy")
    s1 = s[vis.antenna1][None, :, :]
    s2 = s[vis.antenna2][None, :, :]
    sigma = radiometer_sigma(
        s1,
        s2,
        vis.channel_bandwidth[None, None, :],
        vis.integration_time[:, None, None],
        efficiency,
    )  # [ntime, nbaseline, nchan]
    corr = _correlation_frame(vis.polarisation_frame)
    w_corr = np.broadcast_to((1.0 / sigma**2)[..., None], sigma.shape + (corr.npol,))
    w, _ = correlation_weights(
        w_corr, np.zeros(w_corr.shape, dtype=bool), corr, vis.polarisation_frame
    )
    return 1.0 / np.sqrt(w)


def add_noise(
    vis: Visibility,
    sefd=None,
    sigma=None,
    seed: SeedLike = None,
    efficiency: float = 1.0,
) -> Visibility:
    """A copy of ``vis`` with Gaussian thermal noise added and weights set to 1/σ².

    Give exactly one of ``sefd`` (radiometer equation, see the module notes) or ``sigma``.

    Parameters
    ----------
    vis : Visibility
    sefd : float or numpy.ndarray of float, shape [nant] or [nant, nchan], optional
        System equivalent flux density per antenna (and channel), Jy.
    sigma : float or numpy.ndarray of float64, optional
        Standard deviation of the real part (and of the imaginary part) of the noise on each
        sample as stored (in ``vis.polarisation_frame``), Jy; any shape that broadcasts to
        [ntime, nbaseline, nchan, npol].
    seed : int, SeedSequence, Generator or None
        See :mod:`uvflow.simulation.seeding`. The draws do not depend on the flags.
    efficiency : float
        Correlator efficiency η (only with ``sefd``).

    Returns
    -------
    Visibility
        New ``vis`` (same dtype), ``weight = 1/σ²`` (0 where flagged); flags unchanged.
    """
    if (sefd is None) == (sigma is None):
        raise SimulationError("give exactly one of sefd= (Jy) or sigma= (Jy per component)")
    if sefd is not None:
        sig = visibility_sigma(vis, sefd, efficiency)
    else:
        sig = np.asarray(sigma, dtype=float)
        if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
            raise SimulationError("sigma must be finite and > 0 Jy")
        try:
            sig = np.broadcast_to(sig, vis.vis.shape)
        except ValueError as exc:
            raise SimulationError(
                f"sigma of shape {sig.shape} does not broadcast to the visibilities {vis.vis.shape}"
            ) from exc
    rng = make_rng(seed)
    noise = rng.standard_normal(vis.vis.shape + (2,), dtype=np.float64)
    noisy = vis.vis + (sig * (noise[..., 0] + 1j * noise[..., 1])).astype(vis.vis.dtype)
    weight = np.where(vis.flags, 0.0, 1.0 / sig**2).astype(vis.weight.dtype)
    log.debug("added noise: median sigma %.4g Jy per component", float(np.median(sig)))
    return vis.replace(vis=noisy, weight=weight)
