"""Noise-free recovery: data corrupted by known gains are solved and corrected back.

Why 1e-6: without noise the least-squares solution is exact; what remains is the StefCal
stopping rule (tol=1e-10 relative change per iteration here) times the contraction of the
iteration, far below 1e-6 of the data amplitude.
"""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.calibration import (
    apply_gaintable,
    create_gaintable_from_visibility,
    solve_gaintable,
)

TOL = 1e-6
SOLVE = dict(phase_only=False, normalise_gains=False, tol=1e-10, niter=500)


def _case(h, rng, nant, ntime, nchan, frame, jones_type, components, **gain_kw):
    vis = h.make_vis(nant=nant, ntime=ntime, nchan=nchan, frame=frame)
    model = h.point_source_model(vis, components)
    gt = create_gaintable_from_visibility(vis, jones_type=jones_type)
    truth = h.random_gains(gt, rng, **gain_kw)
    observed = apply_gaintable(model, truth)
    return model, gt, truth, observed


@pytest.mark.parametrize("nant, ntime, nchan", [(10, 4, 2), (40, 3, 2), (200, 1, 1)])
def test_T_scalar_all_correlations(h, rng, nant, ntime, nchan):
    model, gt, truth, observed = _case(
        h, rng, nant, ntime, nchan, "linear", "T", h.POLARISED, scalar=True
    )
    sol = solve_gaintable(observed, model, gt=gt, **SOLVE)
    assert sol.meta["converged"].all()
    assert np.isfinite(sol.gain).all() and np.isfinite(sol.weight).all()
    corrected = apply_gaintable(observed, sol, inverse=True)
    assert h.relative_error(corrected.vis, model.vis) < TOL
    # Same gain on both receptors, equal to the injected one up to the reference phase.
    assert h.relative_error(sol.gain, h.reference_to(truth.gain)) < TOL
    assert np.all(np.abs(np.angle(sol.gain[:, 0, :, [0, 1], [0, 1]])) < 1e-12)


@pytest.mark.parametrize("nant, ntime, nchan", [(10, 4, 2), (40, 3, 2), (200, 1, 1)])
def test_G_diagonal_four_correlations(h, rng, nant, ntime, nchan):
    # Unpolarised model: the parallel hands fix each receptor's gain up to its own
    # reference phase, and the corrected cross hands (model 0) must come back to 0.
    model, gt, truth, observed = _case(h, rng, nant, ntime, nchan, "linear", "G", h.UNPOLARISED)
    sol = solve_gaintable(observed, model, gt=gt, **SOLVE)
    assert sol.meta["converged"].all() and sol.meta["mode"] == "diagonal"
    corrected = apply_gaintable(observed, sol, inverse=True)
    assert h.relative_error(corrected.vis, model.vis) < TOL
    assert h.relative_error(sol.gain, h.reference_to(truth.gain)) < TOL


@pytest.mark.parametrize("frame", ["linearnp", "circular", "stokesI"])
def test_G_other_frames(h, rng, frame):
    model, gt, truth, observed = _case(h, rng, 12, 3, 2, frame, "G", h.UNPOLARISED)
    sol = solve_gaintable(observed, model, gt=gt, **SOLVE)
    corrected = apply_gaintable(observed, sol, inverse=True)
    assert h.relative_error(corrected.vis, model.vis) < TOL
    assert h.relative_error(sol.gain, h.reference_to(truth.gain)) < TOL


@pytest.mark.parametrize("nant, ntime, nchan", [(10, 3, 4), (40, 2, 3), (200, 1, 2)])
def test_B_per_channel(h, rng, nant, ntime, nchan):
    model, gt, truth, observed = _case(h, rng, nant, ntime, nchan, "linear", "B", h.UNPOLARISED)
    assert gt.nchan == nchan and gt.ntimes == ntime
    sol = solve_gaintable(observed, model, gt=gt, **SOLVE)
    corrected = apply_gaintable(observed, sol, inverse=True)
    assert h.relative_error(corrected.vis, model.vis) < TOL
    assert h.relative_error(sol.gain, h.reference_to(truth.gain)) < TOL


@pytest.mark.parametrize("nant", [10, 30])
def test_G_full_jones_crosspol(h, rng, nant):
    # Full 2×2 gains with 5% leakage on a polarised model (see conftest.POLARISED): only a
    # common phase is free, fixed by the reference antenna's XX gain.
    model, gt, truth, observed = _case(h, rng, nant, 2, 2, "linear", "G", h.POLARISED, leakage=0.05)
    sol = solve_gaintable(observed, model, gt=gt, crosspol=True, **SOLVE)
    assert sol.meta["mode"] == "full" and sol.meta["converged"].all()
    corrected = apply_gaintable(observed, sol, inverse=True)
    assert h.relative_error(corrected.vis, model.vis) < TOL
    assert h.relative_error(sol.gain, h.reference_to(truth.gain, common=True)) < TOL


def test_phase_only_recovers_phase_corruption(h, rng):
    model, gt, truth, observed = _case(
        h, rng, 16, 3, 2, "linear", "T", h.POLARISED, amp=0.0, scalar=True
    )
    sol = solve_gaintable(observed, model, gt=gt, phase_only=True, tol=1e-10)
    np.testing.assert_allclose(np.abs(np.diagonal(sol.gain, axis1=-2, axis2=-1)), 1.0, atol=1e-14)
    corrected = apply_gaintable(observed, sol, inverse=True)
    assert h.relative_error(corrected.vis, model.vis) < TOL


def test_phase_only_with_amplitude_errors_keeps_unit_amplitudes(h, rng):
    model, gt, truth, observed = _case(h, rng, 16, 3, 1, "stokesI", "T", h.UNPOLARISED)
    sol = solve_gaintable(observed, model, gt=gt, phase_only=True)
    np.testing.assert_allclose(np.abs(sol.gain[..., 0, 0]), 1.0, atol=1e-14)
    # The phases are still those injected (amplitude errors of 10% bias them only weakly).
    dphi = np.angle(sol.gain[..., 0, 0] * np.conj(h.reference_to(truth.gain)[..., 0, 0]))
    assert np.max(np.abs(dphi)) < 0.05


def test_normalise_gains_mean_amplitude_one(h, rng):
    model, gt, truth, observed = _case(h, rng, 12, 3, 2, "linear", "G", h.UNPOLARISED, amp=0.3)
    sol = solve_gaintable(observed, model, gt=gt, phase_only=False, normalise_gains=True, tol=1e-10)
    amp = np.abs(np.diagonal(sol.gain, axis1=-2, axis2=-1))  # [ntime, nant, nchan, nrec]
    np.testing.assert_allclose(amp.mean(axis=(1, 3)), 1.0, rtol=1e-12)
    # = injected gains divided by their mean amplitude per interval
    true_amp = np.abs(np.diagonal(truth.gain, axis1=-2, axis2=-1)).mean(axis=(1, 3))
    expected = h.reference_to(truth.gain) / true_amp[:, None, :, None, None]
    assert h.relative_error(sol.gain, expected) < TOL


def test_refant_choice(h, rng):
    model, gt, truth, observed = _case(h, rng, 12, 2, 1, "linear", "G", h.UNPOLARISED)
    sol = solve_gaintable(observed, model, gt=gt, refant=5, **SOLVE)
    assert h.relative_error(sol.gain, h.reference_to(truth.gain, refant=5)) < TOL
    assert np.max(np.abs(np.angle(np.diagonal(sol.gain[:, 5], axis1=-2, axis2=-1)))) < 1e-12


def test_default_model_is_unit_point_source(h, rng):
    """modelvis=None means 1 Jy unpolarised at the phase centre: XX = YY = 1, XY = YX = 0."""
    model, gt, truth, observed = _case(
        h, rng, 10, 2, 1, "linear", "G", [(0.0, 0.0, (1.0, 0, 0, 0))]
    )
    np.testing.assert_allclose(model.vis[..., [0, 3]], 1.0)
    a = solve_gaintable(observed, None, gt=gt, **SOLVE)
    b = solve_gaintable(observed, model, gt=gt, **SOLVE)
    np.testing.assert_allclose(a.gain, b.gain, rtol=0, atol=1e-12)


def test_residual_and_weights(h, rng):
    model, gt, truth, observed = _case(h, rng, 10, 2, 2, "linear", "G", h.UNPOLARISED)
    sol = solve_gaintable(observed, model, gt=gt, **SOLVE)
    # Noise-free: the fit is exact, residual ≪ data (the statistics-based RMS resolves
    # ~1e-7 of the signal: sqrt of double-precision cancellation in Σ|V|² − ...).
    assert sol.residual.max() < 1e-6
    unsolved = apply_gaintable(observed, gt, inverse=True)  # unit gains: misfit large
    bad = solve_gaintable(unsolved, model, gt=gt, niter=1, phase_only=True, tol=1e-12)
    assert bad.residual.max() > 1e-2
    # Inverse-variance weights Σ_j w_ij |M_ij|² |g_j|² (on the diagonal only).
    assert np.all(np.diagonal(sol.weight, axis1=-2, axis2=-1) > 0)
    assert np.all(sol.weight[..., 0, 1] == 0) and np.all(sol.weight[..., 1, 0] == 0)


def test_G_full_jones_crosspol_100_antennas(h, rng):
    """Full 2×2 gains at 100 antennas, one solution interval (fast: one 800 × 800 Tmat),
    to the 1e-6 standard above."""
    model, gt, truth, observed = _case(h, rng, 100, 1, 1, "linear", "G", h.POLARISED, leakage=0.05)
    sol = solve_gaintable(observed, model, gt=gt, crosspol=True, **SOLVE)
    assert sol.meta["mode"] == "full" and sol.meta["converged"].all()
    corrected = apply_gaintable(observed, sol, inverse=True)
    assert h.relative_error(corrected.vis, model.vis) < TOL
    assert h.relative_error(sol.gain, h.reference_to(truth.gain, common=True)) < TOL


def test_full_jones_memory_is_bounded_by_batching(h, rng, monkeypatch):
    """The full 2×2 solve's dense matrices cost 1280·nant² bytes per problem (0.33 MB at 16
    antennas). With a budget of two problems, 8 intervals are solved in batches of two:
    the traced peak (the statistics exist before tracing starts) stays a few problems'
    worth (< 6 problems; measured ~3), where one batch of everything needs > 8 (measured
    ~2 × 8: the matrices and the copies made when converged problems leave the batch).
    The answer equals the unbatched one to 1e-12 (each problem iterates the same; only
    BLAS summation order may differ) and the injected gains to the 1e-6 standard."""
    import tracemalloc

    from uvflow.calibration import (
        gaintable_statistics,
        solve_gaintable_from_statistics,
        stefcal_batches,
    )
    from uvflow.calibration.stefcal_batches import full_solve_batch

    nant, nint = 16, 8
    model, gt, truth, observed = _case(h, rng, nant, nint, 1, "linear", "G", h.POLARISED,
                                       leakage=0.05)  # fmt: skip
    gt, stats = gaintable_statistics(observed, model, gt, crosspol=True)
    one = 1280 * nant * nant
    assert full_solve_batch(nant, nint, budget=2 * one) == 2
    assert full_solve_batch(256, 100) == 6  # 84 MB a problem in the default 512 MiB

    def peak_of_solve():
        tracemalloc.start()
        try:
            sol = solve_gaintable_from_statistics(
                stats, gt, phase_only=False, normalise_gains=False, tol=1e-10, niter=500
            )
            return sol, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    monkeypatch.setattr(stefcal_batches, "FULL_SOLVE_MEMORY", 2 * one)
    batched, batched_peak = peak_of_solve()
    monkeypatch.setattr(stefcal_batches, "FULL_SOLVE_MEMORY", 10**12)
    whole, whole_peak = peak_of_solve()
    assert whole_peak > nint * one, (whole_peak / one, nint)
    assert batched_peak < 6 * one, (batched_peak / one, 6)
    assert h.relative_error(batched.gain, whole.gain) < 1e-12
    np.testing.assert_array_equal(batched.meta["iterations"], whole.meta["iterations"])
    assert h.relative_error(batched.gain, h.reference_to(truth.gain, common=True)) < TOL
