"""Visibility weights in the gain solve: honoured exactly, and optimal with thermal noise.

The solver minimises ``Σ w |V − G M G^H|²``; these tests check that ``w`` really enters
it (a corrupt baseline of negligible weight does not move the solution; weights that vary
a lot do not upset convergence) and that weighting by 1/σ² gives the smaller errors that
least-squares theory predicts when σ varies per baseline.
"""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.calibration import apply_gaintable, create_gaintable_from_visibility, solve_gaintable

SOLVE = dict(phase_only=False, normalise_gains=False, tol=1e-10, niter=1000)
TOL = 1e-6  # the noise-free standard of test_calibration_solve_noisefree (solver tolerance)

# (jones type, crosspol, components, gain options): T scalar, G diagonal, G full 2×2
CASES = {
    "T-scalar": ("T", False, "POLARISED", dict(scalar=True)),
    "G-diagonal": ("G", False, "UNPOLARISED", {}),
    "G-full": ("G", True, "POLARISED", dict(leakage=0.05)),
}


def _noise_free(h, rng, case, nant=16, ntime=2, nchan=2):
    jones, crosspol, comps, gain_kw = CASES[case]
    vis = h.make_vis(nant=nant, ntime=ntime, nchan=nchan, frame="linear")
    model = h.point_source_model(vis, getattr(h, comps))
    gt = create_gaintable_from_visibility(vis, jones_type=jones)
    truth = h.random_gains(gt, rng, **gain_kw)
    return vis, model, gt, truth, apply_gaintable(model, truth), crosspol


@pytest.mark.parametrize("case", list(CASES))
def test_a_corrupt_baseline_of_negligible_weight_does_not_move_the_solution(h, rng, case):
    """Baseline 0's data are replaced by junk 10× the signal, with weight 1e-12 (the other
    baselines weight 1). Its pull on a gain is ~1e-12 · 10 / (nant − 1) relative, so the
    solution must equal the injected gains to the usual 1e-6; if the solver ignored the
    weights the junk would shift the gains by ~10/(nant − 1) ≈ 0.7 (checked below with
    unit weights, so the test can fail)."""
    vis, model, gt, truth, observed, crosspol = _noise_free(h, rng, case)
    bad = vis.antenna1 != vis.antenna2
    b = int(np.flatnonzero(bad)[0])
    junk = observed.vis.copy()
    shape = junk[:, b].shape
    junk[:, b] = 10.0 * (rng.normal(size=shape) + 1j * rng.normal(size=shape))
    weight = np.ones(vis.vis.shape)
    weight[:, b] = 1e-12
    corrupted = observed.replace(vis=junk, weight=weight)
    sol = solve_gaintable(corrupted, model, gt=gt, crosspol=crosspol, **SOLVE)
    assert sol.meta["converged"].all()
    expected = h.reference_to(truth.gain, common=crosspol)
    assert h.relative_error(sol.gain, expected) < TOL
    corrected = apply_gaintable(observed, sol, inverse=True)  # the uncorrupted data
    assert h.relative_error(corrected.vis, model.vis) < TOL
    # Control: the same data with unit weights everywhere are visibly pulled off.
    unweighted = solve_gaintable(
        corrupted.replace(weight=np.ones(vis.vis.shape)), model, gt=gt, crosspol=crosspol,
        **SOLVE,
    )  # fmt: skip
    assert h.relative_error(unweighted.gain, expected) > 1e-2


@pytest.mark.parametrize("case", list(CASES))
def test_randomly_varying_weights_give_the_exact_solution(h, rng, case):
    """Noise-free data fit exactly for any positive weights, so weights drawn log-uniformly
    over six decades (per sample and correlation) must still give the injected gains to
    1e-6: the weights change the conditioning of the iteration, not the answer."""
    vis, model, gt, truth, observed, crosspol = _noise_free(h, rng, case)
    weight = 10.0 ** rng.uniform(-3, 3, vis.vis.shape)
    sol = solve_gaintable(observed.replace(weight=weight), model, gt=gt, crosspol=crosspol,
                          **SOLVE)  # fmt: skip
    assert sol.meta["converged"].all()
    assert h.relative_error(sol.gain, h.reference_to(truth.gain, common=crosspol)) < TOL
    corrected = apply_gaintable(observed, sol, inverse=True)
    assert h.relative_error(corrected.vis, model.vis) < TOL


NANT, NTIME = 24, 120


def _design(vis, nant):
    """Linearised model of one interval (see test_calibration_noise): per baseline,
    Re n/S = a_i + a_j (amplitudes) and Im n/S = b_i − b_j (phases, b_0 = 0)."""
    nb = vis.nbaseline
    rows = np.arange(nb)
    amp = np.zeros((nb, nant))
    amp[rows, vis.antenna1] = amp[rows, vis.antenna2] = 1.0
    phase = np.zeros((nb, nant))
    phase[rows, vis.antenna1], phase[rows, vis.antenna2] = 1.0, -1.0
    return amp, phase[:, 1:]


def _predicted_variance(design, var):
    """Mean parameter variance of weighted (w = 1/var) and unweighted least squares."""
    weighted = np.linalg.inv(design.T @ (design / var[:, None]))
    pinv = np.linalg.pinv(design)
    unweighted = (pinv * var[None, :]) @ pinv.T
    return np.mean(np.diag(weighted)), np.mean(np.diag(unweighted))


def test_inverse_variance_weights_beat_unit_weights(h):
    """σ varies per baseline (log-uniform over 0.01 … 0.2, a factor 20) on a 1 Jy point
    source, T solved per integration (24 antennas, 120 integrations). Least squares on
    the linearised problem predicts the mean squared gain error of each estimator:
    weighted ``(AᵀΣ⁻¹A)⁻¹``, unweighted ``A⁺ Σ A⁺ᵀ``. Both measured errors must match their
    predictions within a factor 1.5 (as in test_calibration_noise: 23 × 120 samples give a
    few % statistical error, σ ≤ 0.2 keeps non-linear terms below ~4 %), and weighting by
    1/σ² must win by the predicted margin (about 10×; asserted > 4×)."""
    vis = h.make_vis(nant=NANT, ntime=NTIME, nchan=1, frame="stokesI")
    model = h.point_source_model(vis, [(0.0, 0.0, (1.0, 0, 0, 0))])
    gt = create_gaintable_from_visibility(vis, jones_type="T")
    rng = np.random.default_rng(5)
    truth = h.random_gains(gt, rng, amp=0.0)
    clean = apply_gaintable(model, truth)
    sigma = np.exp(rng.uniform(np.log(0.01), np.log(0.2), vis.nbaseline))
    shape = clean.vis.shape
    noise = sigma[None, :, None, None] * (rng.normal(size=shape) + 1j * rng.normal(size=shape))
    noisy = clean.replace(vis=clean.vis + noise)
    inverse_variance = np.broadcast_to(1.0 / sigma[None, :, None, None] ** 2, shape).copy()
    ref = h.reference_to(truth.gain)[..., 0, 0]
    measured = {}
    for name, weight in (("weighted", inverse_variance), ("unit", np.ones(shape))):
        sol = solve_gaintable(noisy.replace(weight=weight), model, gt=gt, phase_only=False,
                              normalise_gains=False)  # fmt: skip
        ratio = sol.gain[..., 0, 0] / ref  # 1 + a + i b
        measured[name] = (
            np.mean(np.log(np.abs(ratio)) ** 2), np.mean(np.angle(ratio[:, 1:]) ** 2)
        )  # fmt: skip
    amp, phase = _design(vis, NANT)
    for k, design in enumerate((amp, phase)):  # Re and Im of n/S each have variance σ²
        pred_w, pred_u = _predicted_variance(design, sigma**2)
        got_w, got_u = measured["weighted"][k], measured["unit"][k]
        assert pred_w / 1.5 < got_w < pred_w * 1.5, (k, got_w, pred_w)
        assert pred_u / 1.5 < got_u < pred_u * 1.5, (k, got_u, pred_u)
        assert pred_u > 8 * pred_w  # the design: weighting matters here
        assert got_u > 4 * got_w
