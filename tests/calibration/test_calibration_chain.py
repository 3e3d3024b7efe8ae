"""Calibration chains: controls, a TGB corruption recovered by a TGB chain, first_selfcal."""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.calibration import (
    CalibrationError,
    ControlsError,
    SolverNotFoundError,
    apply_calibration_chain,
    apply_gaintable,
    create_calibration_controls,
    create_gaintable_from_visibility,
    multiply_gaintables,
    solve_calibrate_chain,
    validate_controls,
)


def test_controls_are_rasciL_like():
    c = create_calibration_controls()
    assert set(c) == {"T", "G", "B"}
    assert c["T"]["shape"] == "scalar" and c["T"]["phase_only"] and c["T"]["timeslice"] == "auto"
    assert c["G"]["shape"] == "vector" and not c["G"]["phase_only"] and c["G"]["timeslice"] == 60.0
    assert c["B"]["shape"] == "vector" and not c["B"]["phase_only"] and c["B"]["timeslice"] == 1e5
    assert all(c[t]["first_selfcal"] == 0 for t in "TGB")
    c["T"]["timeslice"] = 1.0
    assert create_calibration_controls()["T"]["timeslice"] == "auto"  # a new dict each call


def _tgb(h, rng):
    """Observed = T G B model with: T phases new every 30 s integration; G amplitudes fixed
    per antenna and phases new every 60 s; B amplitude and phase per channel, constant.

    The model is one unpolarised point source (off centre), so |M_ij| is constant in
    time. With that and G's amplitudes constant in time, each term's least-squares fit on
    the data corrected by the terms before it differs from the truth only by factors
    constant over the later terms' intervals, which those terms absorb: the one-pass chain
    is then exact. (When the fit weights |M_ij|² |G|² change within an interval, T and G
    absorb time-varying parts of B that a time-constant B cannot undo; self-calibration
    iterations, not one chain pass, deal with that.)
    """
    vis = h.make_vis(
        nant=10, ntime=8, nchan=4, frame="linear", integration_time=30.0, contiguous=True
    )
    model = h.point_source_model(vis, [(0.02, -0.01, (1.5, 0, 0, 0))])
    T = create_gaintable_from_visibility(vis, timeslice="auto", jones_type="T")
    G = create_gaintable_from_visibility(vis, timeslice=60.0, jones_type="G")
    B = create_gaintable_from_visibility(vis, timeslice=1e5, jones_type="B")
    assert (T.ntimes, G.ntimes, B.ntimes, B.nchan) == (8, 4, 1, 4)
    Tt = h.random_gains(T, rng, phase=1.0, amp=0.0, scalar=True)
    Gt = h.random_gains(G, rng, phase=0.3, amp=0.0)
    amp = 1 + rng.uniform(-0.1, 0.1, (1, vis.nants, 1, 2))
    r = np.arange(2)
    Gt.gain[..., r, r] *= amp
    Bt = h.random_gains(B, rng, phase=0.5, amp=0.1)
    observed = apply_gaintable(apply_gaintable(apply_gaintable(model, Bt), Gt), Tt)
    return vis, model, observed, (Tt, Gt, Bt)


def _controls():
    c = create_calibration_controls()
    for t in "GB":
        c[t]["normalise_gains"] = False  # keep the absolute amplitude scale
    for t in "TGB":
        c[t]["tol"] = 1e-10
        c[t]["niter"] = 1000
    return c


def test_TGB_chain_recovers_TGB_corruption(h, rng):
    vis, model, observed, (Tt, Gt, Bt) = _tgb(h, rng)
    controls = _controls()
    gts = solve_calibrate_chain(observed, model, None, "TGB", controls)
    assert set(gts) == {"T", "G", "B"}
    assert gts["T"].ntimes == 8 and gts["G"].ntimes == 4 and gts["B"].nchan == 4
    corrected = apply_calibration_chain(observed, gts, "TGB", controls)
    # Noise-free and exactly separable (see _tgb): 1e-6 as in the single-term tests.
    assert h.relative_error(corrected.vis, model.vis) < 1e-6
    # The product T·G·B equals the injected product up to one phase per receptor, time and
    # channel common to all antennas (the reference phase).
    solved = multiply_gaintables(multiply_gaintables(gts["T"], gts["G"]), gts["B"])
    true = multiply_gaintables(multiply_gaintables(Tt, Gt), Bt)
    assert solved.jones_type == "TGB" and solved.gain.shape == (8, 10, 4, 2, 2)
    assert h.relative_error(solved.gain, h.reference_to(true.gain)) < 1e-6
    # Uncalibrated data are far from the model: the test can fail.
    assert h.relative_error(observed.vis, model.vis) > 0.5


def test_first_selfcal_skips_terms(h, rng):
    vis, model, observed, _ = _tgb(h, rng)
    controls = _controls()
    controls["G"]["first_selfcal"] = 1
    gts0 = solve_calibrate_chain(observed, model, None, "TGB", controls, iteration=0)
    # G not solved at iteration 0: a unit table (gain 1, weight 1), not applied.
    np.testing.assert_array_equal(
        gts0["G"].gain, create_gaintable_from_visibility(vis, timeslice=60.0, jones_type="G").gain
    )
    assert "iterations" not in gts0["G"].meta and "iterations" in gts0["B"].meta
    only_tb = apply_gaintable(
        apply_gaintable(observed, gts0["T"], inverse=True), gts0["B"], inverse=True
    )
    np.testing.assert_array_equal(
        apply_calibration_chain(observed, gts0, "TGB", controls, iteration=0).vis, only_tb.vis
    )
    # B alone cannot absorb G's 60 s phase changes: not calibrated yet.
    assert h.relative_error(only_tb.vis, model.vis) > 1e-2
    gts1 = solve_calibrate_chain(observed, model, gts0, "TGB", controls, iteration=1)
    assert "iterations" in gts1["G"].meta
    corrected = apply_calibration_chain(observed, gts1, "TGB", controls, iteration=1)
    assert h.relative_error(corrected.vis, model.vis) < 1e-6


def test_chain_errors(h):
    vis = h.make_vis(nant=5, ntime=2, nchan=1, frame="linear")
    with pytest.raises(SolverNotFoundError, match="installed: B, G, T"):
        solve_calibrate_chain(vis, None, None, "TQ")
    with pytest.raises(CalibrationError, match="repeats"):
        solve_calibrate_chain(vis, None, None, "TT")
    with pytest.raises(CalibrationError, match="empty"):
        apply_calibration_chain(vis, {}, "")
    with pytest.raises(TypeError, match="valid keywords: shape, timeslice"):
        solve_calibrate_chain(vis, None, None, "G", {"G": {"timeslise": 10}})
    with pytest.raises(CalibrationError, match="shape 'vector' unknown; use scalar"):
        solve_calibrate_chain(vis, None, None, "T", {"T": {"shape": "vector"}})
    # controls for a term no solver provides are an error, not ignored (solve and apply)
    with pytest.raises(ControlsError, match=r"calibration term\) .* 'g'; valid keywords: B, G, T"):
        solve_calibrate_chain(vis, None, None, "G", {"g": {"timeslice": 10.0}})
    with pytest.raises(ControlsError, match=r"calibration term\) .* 'Q'"):
        apply_calibration_chain(vis, {}, "G", {"Q": {}})
    # a misspelt key of a term outside the context is caught too (before: ignored)
    with pytest.raises(ControlsError, match=r"'timeslise'.*did you mean 'timeslice'"):
        apply_calibration_chain(vis, {}, "G", {"B": {"timeslise": 1.0}})
    validate_controls(create_calibration_controls())  # the defaults are valid
    validate_controls(None)
