"""Smooth random fields: sums of random Fourier modes (random Fourier features).

``f(x) = rms · sqrt(2/K) · Σ_k cos(k_k · x + θ_k)`` with wave vectors ``k_k ~ N(0, I)``
in coordinates scaled by the correlation lengths and phases ``θ_k ~ U(0, 2π)``. Over
realisations, f has mean 0, variance rms² and covariance
``rms² exp(-|Δx|² / 2)`` (a Gaussian kernel, correlation length 1 in the scaled units) as K
grows; every realisation is smooth (infinitely differentiable) and can be evaluated at
any points, regularly spaced or not.
"""

from __future__ import annotations

import numpy as np

__all__ = ["random_fourier_field"]


def random_fourier_field(
    rng: np.random.Generator, coords: np.ndarray, rms: float, nfields: int = 1, nmodes: int = 32
) -> np.ndarray:
    """Evaluate ``nfields`` independent fields at ``coords``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws, in this order: wave vectors [nfields, nmodes, ndim], then phases
        [nfields, nmodes].
    coords : numpy.ndarray of float64, shape [npoint, ndim]
        Positions already divided by the correlation lengths.
    rms : float
    nfields, nmodes : int

    Returns
    -------
    numpy.ndarray of float64, shape [npoint, nfields]
    """
    coords = np.asarray(coords, dtype=float)
    k = rng.standard_normal((nfields, nmodes, coords.shape[1]))
    theta = rng.uniform(0.0, 2.0 * np.pi, (nfields, nmodes))
    arg = np.einsum("pd,fkd->pfk", coords, k) + theta[None]
    return rms * np.sqrt(2.0 / nmodes) * np.cos(arg).sum(axis=-1)
