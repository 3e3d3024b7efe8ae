"""Gain errors with thermal noise follow the least-squares prediction.

Derivation (scalar gains, point source of flux S at the phase centre, N antennas, true
gains of unit amplitude, complex noise with independent real and imaginary parts of
standard deviation σ per visibility, K samples per baseline in a solution interval).
Linearising ``g_i = g_i⁰ (1 + a_i + i b_i)`` gives, per baseline,
``Re n_ij / S = a_i + a_j`` and ``Im n_ij / S = b_i − b_j`` with noise variance σ²/(K S²).

- Amplitude: the normal matrix of ``a`` is ``(N−2) I + J`` (J all ones), whose inverse has
  diagonal ``(2N−3) / ((N−2)(2N−2))``, so ``var(a_i) = σ²/(K S²) · (2N−3)/((N−2)(2N−2))``.
- Phase relative to the reference antenna (``b_ref = 0``): the normal matrix is the
  complete-graph Laplacian ``N I − J``; with the reference row removed its inverse is
  ``(I + J)/N``, so ``var(b_i) = 2σ²/(N K S²)`` for i ≠ ref.

The solver's weight is ``Σ_j w |M_ij|² |g_j|² = (N−1) K S² w``; with ``w = 1/(2σ²)`` (the
inverse variance of a complex sample) it predicts ``E|δg_i|² ≈ 1/weight``, i.e. a
per-component variance ``1/(2 weight) = σ²/((N−1) K S²)`` ≈ the amplitude formula.

The acceptance is a factor of 1.5: with 23 × 120 = 2760 samples the empirical variance
has a relative standard error of about sqrt(2/2760) ≈ 3%, and σ/S ≤ 0.1 keeps the
non-linear terms (relative size ~σ²/S²) below 1%.
"""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.calibration import apply_gaintable, create_gaintable_from_visibility, solve_gaintable

NANT, NTIME, FLUX = 24, 120, 2.0


@pytest.fixture(scope="module")
def setup(h):
    vis = h.make_vis(nant=NANT, ntime=NTIME, nchan=1, frame="stokesI")
    model = h.point_source_model(vis, [(0.0, 0.0, (FLUX, 0, 0, 0))])
    gt = create_gaintable_from_visibility(vis, jones_type="T")  # one solution per integration
    rng = np.random.default_rng(7)
    truth = h.random_gains(gt, rng, amp=0.0)  # unit amplitudes, random phases
    return model, gt, truth, apply_gaintable(model, truth)


@pytest.mark.parametrize("sigma", [0.05, 0.2])
def test_gain_error_matches_least_squares_prediction(h, setup, sigma):
    model, gt, truth, clean = setup
    rng = np.random.default_rng(int(sigma * 1000))
    noise = sigma * (rng.normal(size=clean.vis.shape) + 1j * rng.normal(size=clean.vis.shape))
    noisy = clean.replace(
        vis=clean.vis + noise, weight=np.full(clean.vis.shape, 1 / (2 * sigma**2))
    )
    sol = solve_gaintable(noisy, model, gt=gt, phase_only=False, normalise_gains=False)
    assert np.isfinite(sol.gain).all()
    ratio = sol.gain[..., 0, 0] / h.reference_to(truth.gain)[..., 0, 0]  # 1 + a + i b
    others = np.arange(NANT) != 0
    a = np.log(np.abs(ratio[:, others]))
    b = np.angle(ratio[:, others])
    K, N = 1, NANT
    var_a = sigma**2 / (K * FLUX**2) * (2 * N - 3) / ((N - 2) * (2 * N - 2))
    var_b = 2 * sigma**2 / (N * K * FLUX**2)
    for measured, expected in ((np.mean(a**2), var_a), (np.mean(b**2), var_b)):
        assert expected / 1.5 < measured < expected * 1.5, (measured, expected)
    # The solution weights predict the same per-component variance.
    w = sol.weight[:, others, 0, 0, 0]
    predicted = np.mean(1 / (2 * w))
    assert predicted / 1.5 < np.mean(a**2) < predicted * 1.5
    # Residual: the RMS misfit is the noise, sqrt(E|n|²) = sqrt(2) σ (fit removes ~N of
    # N(N−1)/2 degrees of freedom per interval, a 9% effect for N=24).
    rms = sol.residual[:, 0, 0, 0]
    assert np.sqrt(2) * sigma * 0.8 < np.median(rms) < np.sqrt(2) * sigma * 1.1
