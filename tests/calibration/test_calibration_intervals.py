"""Solution intervals: per-integration solutions, and what a longer interval averages."""

from __future__ import annotations

import numpy as np

from uvflow.calibration import apply_gaintable, create_gaintable_from_visibility, solve_gaintable

SOLVE = dict(phase_only=False, normalise_gains=False, tol=1e-10, niter=500)


def test_auto_recovers_gains_varying_every_integration(h, rng):
    vis = h.make_vis(
        nant=12, ntime=12, nchan=2, frame="linear", integration_time=10.0, contiguous=True
    )
    model = h.point_source_model(vis, h.UNPOLARISED)
    gt = create_gaintable_from_visibility(vis, timeslice="auto", jones_type="G")
    assert gt.ntimes == vis.ntime
    truth = h.random_gains(gt, rng)  # independent gains every integration
    observed = apply_gaintable(model, truth)
    sol = solve_gaintable(observed, model, timeslice="auto", jones_type="G", **SOLVE)
    corrected = apply_gaintable(observed, sol, inverse=True)
    # Noise-free, exact model: 1e-6 is the solver tolerance's margin (see noise-free tests).
    assert h.relative_error(corrected.vis, model.vis) < 1e-6
    # One 60 s interval cannot follow them: the correction is then far from the model.
    coarse = solve_gaintable(observed, model, timeslice=60.0, jones_type="G", **SOLVE)
    assert coarse.ntimes == 2
    assert h.relative_error(apply_gaintable(observed, coarse, inverse=True).vis, model.vis) > 0.05


def test_60s_interval_solution_is_the_interval_mean(h, rng):
    """Gains with a linear phase drift ω_i τ within each 60 s interval (τ: time from the
    interval centre, 6 integrations of 10 s at τ = ±5, ±15, ±25 s).

    "Average" here is the mean complex gain over the interval's integrations,
    ḡ_i = g_i(t_c) ⟨exp(i ω_i τ)⟩. The least-squares constant gain fits
    g_i g_j* ≈ g_i(t_c) g_j(t_c)* ⟨exp(i(ω_i − ω_j) τ)⟩: the first-order terms cancel in
    both (symmetric τ), and they differ at second order, by at most
    ~2 ω_max² ⟨τ²⟩ relative — the tolerance used. The gain at the first integration
    differs from the mean at first order (ω τ ≈ 0.08), which the test also checks.
    """
    dt, nper, nint = 10.0, 6, 3
    vis = h.make_vis(nant=12, ntime=nper * nint, nchan=1, frame="stokesI", integration_time=dt,
                     contiguous=True)  # fmt: skip
    model = h.point_source_model(vis, h.UNPOLARISED)
    gt60 = create_gaintable_from_visibility(vis, timeslice=60.0, jones_type="G")
    assert gt60.ntimes == nint and np.allclose(gt60.interval, 60.0)
    per_int = create_gaintable_from_visibility(vis, timeslice="auto", jones_type="G")
    # τ of each integration from the centre of its 60 s solution interval
    k = np.repeat(np.arange(nint), nper)
    tau = vis.time - gt60.time[k]
    np.testing.assert_allclose(
        np.abs(tau).reshape(nint, nper), [[25, 15, 5, 5, 15, 25]] * nint, atol=1e-4
    )
    omega_max = 0.1 / 30.0
    omega = rng.uniform(-omega_max, omega_max, (nint, vis.nants))
    g_c = (1 + rng.uniform(-0.1, 0.1, (nint, vis.nants))) * np.exp(
        1j * rng.uniform(-1, 1, (nint, vis.nants))
    )
    g_t = g_c[k] * np.exp(1j * omega[k] * tau[:, None])  # [ntime, nant]
    truth = per_int.replace(gain=g_t[:, :, None, None, None].copy())
    observed = apply_gaintable(model, truth)
    sol = solve_gaintable(observed, model, timeslice=60.0, jones_type="G", **SOLVE)
    mean_gain = g_t.reshape(nint, nper, -1).mean(axis=1)  # ḡ_i per interval
    ref = lambda g: g * np.conj(g[:, :1]) / np.abs(g[:, :1])  # noqa: E731
    solved = sol.gain[:, :, 0, 0, 0]
    tol = 2 * omega_max**2 * np.mean(tau**2)  # ≈ 6.5e-3
    err_mean = np.max(np.abs(solved - ref(mean_gain)))
    err_first = np.max(np.abs(solved - ref(g_t[::nper])))
    assert err_mean < tol, (err_mean, tol)
    assert err_first > 5 * tol


def test_interval_edges_and_solution_times(h):
    vis = h.make_vis(
        nant=5, ntime=7, nchan=1, frame="stokesI", integration_time=10.0, contiguous=True
    )
    gt = create_gaintable_from_visibility(vis, timeslice=25.0)
    # Bins start at the first integration's start; mid-points at 5, 15, …, 65 s from there:
    # 3 bins of 25 s hold 2, 3 and 2 integrations (a mid-point on an edge opens the next bin).
    start = vis.time[0] - 5.0
    np.testing.assert_allclose(gt.time, start + 12.5 + 25.0 * np.arange(3))
    from uvflow.calibration import solution_time_index

    np.testing.assert_array_equal(solution_time_index(gt, vis.time), [0, 0, 1, 1, 1, 2, 2])
    # A time beyond every interval uses the nearest solution.
    np.testing.assert_array_equal(solution_time_index(gt, [start - 100, start + 1000]), [0, 2])
