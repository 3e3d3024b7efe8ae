"""Bad input: a clear error, or a documented result (weight 0) — never NaN gains."""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.calibration import (
    CalibrationError,
    SolverNotFoundError,
    apply_gaintable,
    create_gaintable_from_visibility,
    get_solver,
    solve_gaintable,
)
from uvflow.datamodels import PolarisationError

SOLVE = dict(phase_only=False, normalise_gains=False, tol=1e-10)


def _finite(gt):
    for arr in (gt.gain, gt.weight, gt.residual):
        assert np.all(np.isfinite(arr))


@pytest.fixture
def case(h, rng):
    vis = h.make_vis(nant=8, ntime=3, nchan=2, frame="linear")
    model = h.point_source_model(vis, h.UNPOLARISED)
    gt = create_gaintable_from_visibility(vis, jones_type="G")
    truth = h.random_gains(gt, rng)
    return vis, model, gt, truth, apply_gaintable(model, truth)


def test_all_flagged_gives_unit_gains_weight_zero(case):
    _, model, gt, _, observed = case
    flagged = observed.replace(flags=np.ones_like(observed.flags))
    sol = solve_gaintable(flagged, model, gt=gt, **SOLVE)
    _finite(sol)
    np.testing.assert_array_equal(sol.gain, gt.gain)  # identity
    assert np.all(sol.weight == 0) and np.all(sol.residual == 0)
    # Applying a table without solutions flags the data and leaves the values as they were.
    out = apply_gaintable(observed, sol, inverse=True)
    assert out.flags.all()
    np.testing.assert_array_equal(out.vis, observed.vis)


def test_zero_weights_equal_flags(case):
    _, model, gt, _, observed = case
    sol = solve_gaintable(
        observed.replace(weight=np.zeros_like(observed.weight)), model, gt=gt, **SOLVE
    )
    _finite(sol)
    assert np.all(sol.weight == 0)


def test_zero_model_gives_weight_zero(case):
    _, model, gt, _, observed = case
    sol = solve_gaintable(observed, model.copy(zero=True), gt=gt, **SOLVE)
    _finite(sol)
    assert np.all(sol.weight == 0)
    np.testing.assert_array_equal(sol.gain, gt.gain)


def test_zero_data_gives_weight_zero(case):
    _, model, gt, _, observed = case
    sol = solve_gaintable(observed.copy(zero=True), model, gt=gt, **SOLVE)
    _finite(sol)
    assert np.all(sol.weight == 0)


def test_one_antenna_and_one_interval_without_data(h, case):
    _, model, gt, truth, observed = case
    flags = observed.flags.copy()
    dead = (observed.antenna1 == 3) | (observed.antenna2 == 3)
    flags[:, dead] = True
    flags[1] = True  # the whole second integration
    sol = solve_gaintable(observed.replace(flags=flags), model, gt=gt, **SOLVE)
    _finite(sol)
    assert np.all(sol.weight[:, 3] == 0) and np.all(sol.gain[:, 3] == gt.gain[:, 3])
    assert np.all(sol.weight[1] == 0)
    good = [0, 2]
    others = np.arange(8) != 3
    assert np.all(np.diagonal(sol.weight[good][:, others], axis1=-2, axis2=-1) > 0)
    # The others are still solved exactly.
    expected = h.reference_to(truth.gain)[good][:, others]
    assert h.relative_error(sol.gain[good][:, others], expected) < 1e-6
    corrected = apply_gaintable(observed, sol, inverse=True)
    assert corrected.flags[:, dead].all() and corrected.flags[1].all()
    keep = ~corrected.flags
    assert np.max(np.abs(corrected.vis - model.vis)[keep]) < 1e-6 * np.max(np.abs(model.vis))


def test_one_receptor_without_data(case):
    _, model, gt, _, observed = case
    flags = observed.flags.copy()
    flags[..., 3] = True  # all YY
    sol = solve_gaintable(observed.replace(flags=flags), model, gt=gt, **SOLVE)
    _finite(sol)
    assert np.all(sol.weight[..., 1, 1] == 0) and np.all(sol.gain[..., 1, 1] == 1)
    assert np.all(sol.weight[..., 0, 0] > 0)


def test_flagged_nan_is_ignored_unflagged_nan_is_an_error(h, case):
    _, model, gt, truth, observed = case
    vis = observed.vis.copy()
    vis[0, 0, 0, 0] = np.nan
    weight = observed.weight.copy()
    weight[0, 1, 0, 0] = np.nan
    flags = observed.flags.copy()
    flags[0, 0, 0, 0] = flags[0, 1, 0, 0] = True
    sol = solve_gaintable(
        observed.replace(vis=vis, weight=weight, flags=flags), model, gt=gt, **SOLVE
    )
    _finite(sol)
    assert h.relative_error(sol.gain, h.reference_to(truth.gain)) < 1e-6
    with pytest.raises(CalibrationError, match="NaN/inf in unflagged samples"):
        solve_gaintable(observed.replace(vis=vis), model, gt=gt, **SOLVE)
    with pytest.raises(CalibrationError, match="weights contain NaN"):
        solve_gaintable(observed.replace(weight=weight), model, gt=gt, **SOLVE)


def test_negative_weights(case):
    _, model, gt, _, observed = case
    w = observed.weight.copy()
    w[0, 0, 0, 0] = -1
    with pytest.raises(CalibrationError, match="weights must be >= 0"):
        solve_gaintable(observed.replace(weight=w), model, gt=gt)


def test_channel_mismatch(h, case):
    vis, model, _, _, observed = case
    b = create_gaintable_from_visibility(vis, jones_type="B")
    other = h.make_vis(nant=8, ntime=3, nchan=2, frame="linear", f0=1.3e8)
    with pytest.raises(CalibrationError, match="do not cover 2 visibility channel"):
        apply_gaintable(other, b)
    with pytest.raises(CalibrationError, match="do not cover"):
        solve_gaintable(other, None, gt=b)
    # A frequency-independent G table applies to any channel.
    g = create_gaintable_from_visibility(vis, jones_type="G")
    assert apply_gaintable(other, g).vis.shape == other.vis.shape


def test_table_visibility_mismatches(h, case):
    vis, model, gt, _, observed = case
    small = create_gaintable_from_visibility(h.make_vis(nant=5, ntime=3, nchan=2), jones_type="G")
    with pytest.raises(CalibrationError, match="5 antennas but the visibilities use antenna 7"):
        apply_gaintable(vis, small)
    with pytest.raises(CalibrationError, match="gain table has 5 antennas"):
        solve_gaintable(vis, None, gt=small)
    circ = h.make_vis(nant=8, ntime=3, nchan=2, frame="circular")
    with pytest.raises(CalibrationError, match="receptors linear"):
        apply_gaintable(circ, gt)
    with pytest.raises(CalibrationError, match="modelvis has shape"):
        solve_gaintable(vis, model.select(time=slice(0, 2)), gt=gt)
    with pytest.raises(CalibrationError, match="either gt"):
        solve_gaintable(vis, None, gt=gt, timeslice=10.0)
    leak = gt.copy()
    leak.gain[..., 0, 1] = 0.1
    np_vis = h.make_vis(nant=8, ntime=3, nchan=2, frame="linearnp")
    with pytest.raises(CalibrationError, match="needs all four correlations"):
        apply_gaintable(np_vis, leak)


def test_unknown_jones_type_and_options(case):
    vis, model, gt, _, observed = case
    with pytest.raises(
        CalibrationError, match="jones_type 'Q' unknown; the built-in types are T, G, B"
    ):
        create_gaintable_from_visibility(vis, jones_type="Q")
    with pytest.raises(SolverNotFoundError, match="solver .* 'Q' unknown; installed: B, G, T"):
        get_solver("Q")
    for kw, msg in [
        (dict(niter=0), "niter must be an integer >= 1"),
        (dict(tol=-1.0), "tol must be a positive"),
        (dict(refant=8), r"refant must be an antenna index in 0..7"),
        (dict(crosspol=True), "phase_only applies to scalar and diagonal"),
    ]:
        with pytest.raises(CalibrationError, match=msg):
            solve_gaintable(observed, model, gt=gt, **kw)
    for ts in (-5.0, "fast", 0):
        with pytest.raises(CalibrationError, match="timeslice"):
            create_gaintable_from_visibility(vis, timeslice=ts)
    with pytest.raises(CalibrationError, match="frequencyslice must be positive"):
        create_gaintable_from_visibility(vis, frequencyslice=-1.0)


def test_frames_that_cannot_be_calibrated(h):
    iquv = h.make_vis(nant=5, ntime=2, nchan=1, frame="stokesIQUV")
    with pytest.raises(
        CalibrationError, match="cannot calibrate visibilities in polarisation frame 'stokesIQUV'"
    ):
        create_gaintable_from_visibility(iquv)
    npv = h.make_vis(nant=5, ntime=2, nchan=1, frame="linearnp")
    with pytest.raises(CalibrationError, match="crosspol=True needs all four correlations"):
        solve_gaintable(npv, None, jones_type="G", crosspol=True, phase_only=False)
    assert issubclass(CalibrationError, ValueError) and issubclass(PolarisationError, ValueError)
