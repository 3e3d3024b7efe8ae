"""calibrate_list_rsexecute_workflow: correctness, global vs per-window, serial ≡ Dask."""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.calibration import (
    apply_gaintable,
    create_calibration_controls,
    create_gaintable_from_visibility,
    solve_calibrate_chain,
)
from uvflow.calibration.calibration_workflows import calibrate_list_rsexecute_workflow
from uvflow.execution import rsexecute

NWIN, NCHAN_WIN = 3, 2


@pytest.fixture(scope="module")
def windows(h):
    """Three 2-channel windows of one observation corrupted by T (per 30 s integration),
    G (per 60 s, constant amplitudes) and B (per channel); one off-centre point source, so
    a one-pass chain is exact (see test_calibration_chain._tgb)."""
    rng = np.random.default_rng(11)
    vis = h.make_vis(nant=8, ntime=6, nchan=NWIN * NCHAN_WIN, frame="linear", integration_time=30.0,
                     contiguous=True)  # fmt: skip
    model = h.point_source_model(vis, [(0.01, 0.02, (2.0, 0, 0, 0))])
    Tt = h.random_gains(
        create_gaintable_from_visibility(vis, jones_type="T"), rng, amp=0.0, scalar=True
    )
    Gt = h.random_gains(
        create_gaintable_from_visibility(vis, timeslice=60.0, jones_type="G"),
        rng,
        phase=0.3,
        amp=0.0,
    )
    r = np.arange(2)
    Gt.gain[..., r, r] *= 1 + rng.uniform(-0.1, 0.1, (1, vis.nants, 1, 2))
    Bt = h.random_gains(
        create_gaintable_from_visibility(vis, timeslice=1e5, jones_type="B"), rng, phase=0.5
    )
    observed = apply_gaintable(apply_gaintable(apply_gaintable(model, Bt), Gt), Tt)
    split = [slice(w * NCHAN_WIN, (w + 1) * NCHAN_WIN) for w in range(NWIN)]
    return (
        [observed.select(channel=s) for s in split],
        [model.select(channel=s) for s in split],
        observed,
        model,
    )


def _controls():
    c = create_calibration_controls()
    for t in "TGB":
        c[t].update(tol=1e-10, niter=1000)
    for t in "GB":
        c[t]["normalise_gains"] = False
    return c


def _run(vis_list, model_list, context, global_solution):
    calibrated, gts = calibrate_list_rsexecute_workflow(
        vis_list, model_list, calibration_context=context, controls=_controls(),
        global_solution=global_solution,
    )  # fmt: skip
    return rsexecute.compute((calibrated, gts), sync=True)


@pytest.fixture(scope="module")
def serial_results(windows):
    rsexecute.set_client(use_dask=False)
    vis_list, model_list, _, _ = windows
    return {glob: _run(vis_list, model_list, "TGB", glob) for glob in (True, False)}


@pytest.mark.parametrize("global_solution", [True, False])
def test_workflow_recovers_model(h, windows, serial_results, global_solution):
    _, model_list, _, _ = windows
    calibrated, gts = serial_results[global_solution]
    assert len(calibrated) == NWIN and len(gts) == NWIN
    for cal, model in zip(calibrated, model_list):
        # exact, noise-free, separable corruption: the solver-tolerance margin as elsewhere
        assert h.relative_error(cal.vis, model.vis) < 1e-6
    if global_solution:  # one T and one G table shared by all windows, B per window
        assert all(g["T"] is gts[0]["T"] and g["G"] is gts[0]["G"] for g in gts)
        assert gts[0]["T"].nchan == 1 and gts[0]["T"].meta["windows"] == NWIN
        assert [g["B"].nchan for g in gts] == [NCHAN_WIN] * NWIN
    else:
        assert gts[0]["T"] is not gts[1]["T"]


def test_global_solution_equals_solving_all_channels_at_once(h, windows, serial_results):
    """Adding per-window statistics is the same least-squares problem as one solve over
    all channels: agreement to rounding (1e-10; iterations stop at tol 1e-10 for both)."""
    _, _, observed, model = windows
    _, gts = serial_results[True]
    whole = solve_calibrate_chain(observed, model, None, "TG", _controls())
    for term in "TG":
        assert h.relative_error(gts[0][term].gain, whole[term].gain) < 1e-9
    np.testing.assert_allclose(gts[0]["T"].frequency, [observed.frequency.mean()])


@pytest.mark.cluster
@pytest.mark.slow
def test_serial_equals_dask(windows, serial_results):
    vis_list, model_list, _, _ = windows
    rsexecute.set_client(use_dask=True, n_workers=2, threads_per_worker=1, dashboard_address=None)
    try:
        assert rsexecute.using_dask
        dask_results = {glob: _run(vis_list, model_list, "TGB", glob) for glob in (True, False)}
    finally:
        rsexecute.close()
        rsexecute.set_client(use_dask=False)
    for glob in (True, False):
        (cal_s, gts_s), (cal_d, gts_d) = serial_results[glob], dask_results[glob]
        # Same kernels on the same inputs, statistics added in window order: identical up
        # to floating-point summation order inside BLAS (1e-12 relative).
        for a, b in zip(cal_d, cal_s):
            assert np.max(np.abs(a.vis - b.vis)) <= 1e-12 * np.max(np.abs(b.vis))
            np.testing.assert_array_equal(a.flags, b.flags)
        for ga, gb in zip(gts_d, gts_s):
            assert set(ga) == set(gb) == {"T", "G", "B"}
            for term in ga:
                assert np.max(np.abs(ga[term].gain - gb[term].gain)) <= 1e-12 * np.max(
                    np.abs(gb[term].gain)
                )


def test_workflow_errors(windows):
    vis_list, model_list, _, _ = windows
    rsexecute.set_client(use_dask=False)
    with pytest.raises(TypeError, match="valid keywords: vis_list, model_vislist, gt_list"):
        calibrate_list_rsexecute_workflow(vis_list, model_list, calibration_contxt="T")
    with pytest.raises(ValueError, match="model_vislist has 2 windows"):
        calibrate_list_rsexecute_workflow(vis_list, model_list[:2])
    with pytest.raises(ValueError, match="no Jones solver 'X'"):
        calibrate_list_rsexecute_workflow(vis_list, model_list, calibration_context="TX")
    c = create_calibration_controls()
    c["G"]["frequencyslice"] = 1e6
    with pytest.raises(ValueError, match="one frequency solution per window"):
        calibrate_list_rsexecute_workflow(vis_list, model_list, calibration_context="G", controls=c)
