"""apply_gaintable: convention, nearest-solution lookup, weights, flags, dtypes."""

from __future__ import annotations

import numpy as np

from uvflow.calibration import apply_gaintable, create_gaintable_from_visibility


def test_convention_g_i_v_g_j_conj(h, rng):
    vis = h.make_vis(nant=4, ntime=2, nchan=1, frame="linear")
    model = h.point_source_model(vis, h.POLARISED)
    gt = h.random_gains(create_gaintable_from_visibility(vis, jones_type="G"), rng, leakage=0.1)
    out = apply_gaintable(model, gt)
    t, b = 1, 2
    i, j = vis.antenna1[b], vis.antenna2[b]
    G_i, G_j = gt.gain[t, i, 0], gt.gain[t, j, 0]
    V = model.vis[t, b, 0].reshape(2, 2)  # [[XX, XY], [YX, YY]]
    np.testing.assert_allclose(out.vis[t, b, 0].reshape(2, 2), G_i @ V @ G_j.conj().T, rtol=1e-14)
    back = apply_gaintable(out, gt, inverse=True)
    np.testing.assert_allclose(back.vis, model.vis, rtol=0, atol=1e-13)
    # inputs are not modified
    assert not np.shares_memory(out.vis, model.vis)


def test_weights_scale_with_gain_amplitudes(h, rng):
    vis = h.make_vis(nant=5, ntime=2, nchan=2, frame="linear")
    vis = vis.replace(weight=rng.uniform(0.5, 2.0, vis.weight.shape))
    gt = h.random_gains(create_gaintable_from_visibility(vis, jones_type="B"), rng, amp=0.5)
    d = np.diagonal(gt.gain, axis1=-2, axis2=-1)  # [t, ant, chan, rec]
    p, q = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    gi = d[:, vis.antenna1][..., p]
    gj = d[:, vis.antenna2][..., q]
    factor = np.abs(gi) ** 2 * np.abs(gj) ** 2
    np.testing.assert_allclose(
        apply_gaintable(vis, gt, inverse=True).weight, vis.weight * factor, rtol=1e-13
    )
    np.testing.assert_allclose(apply_gaintable(vis, gt).weight, vis.weight / factor, rtol=1e-13)


def test_full_jones_weights_follow_noise_propagation(h, rng):
    """Monte Carlo: 4000 integrations of one baseline with independent noise of known
    variance per correlation, corrected by fixed 2×2 gains with 20% leakage; the empirical
    variance of each corrected correlation must match 1/weight' (4000 samples: 2.2%
    standard error on a variance; tolerance 10%)."""
    from uvflow.datamodels.testing import random_configuration, simple_visibility

    vis = simple_visibility(random_configuration(2), ntime=4000, polarisation_frame="linear")
    w = np.array([1.0, 4.0, 0.5, 2.0])
    sigma = 1 / np.sqrt(w)
    noise = (
        (rng.normal(size=vis.vis.shape) + 1j * rng.normal(size=vis.vis.shape)) * sigma / np.sqrt(2)
    )
    vis = vis.replace(vis=noise, weight=np.broadcast_to(w, vis.vis.shape).copy())
    gt = create_gaintable_from_visibility(vis, timeslice=1e9, jones_type="G")
    gt.gain[:] = [[1.1 * np.exp(0.3j), 0.2], [-0.15j, 0.8 * np.exp(-1j)]]
    out = apply_gaintable(vis, gt, inverse=True)
    measured = np.mean(np.abs(out.vis[:, 0, 0]) ** 2, axis=0)
    predicted = 1 / out.weight[0, 0, 0]
    np.testing.assert_allclose(measured, predicted, rtol=0.1)
    assert not np.allclose(predicted, 1 / w, rtol=0.1)  # the gains do change the variances


def test_nearest_solution_in_time_and_scalar_tables(h, rng):
    vis = h.make_vis(
        nant=4, ntime=6, nchan=1, frame="linear", integration_time=10.0, contiguous=True
    )
    model = h.point_source_model(vis, h.UNPOLARISED)
    gt = create_gaintable_from_visibility(vis.replace(polarisation_frame="stokesI", vis=vis.vis[..., :1],
        weight=vis.weight[..., :1], flags=vis.flags[..., :1]), timeslice=30.0)  # fmt: skip
    assert gt.nrec == 1 and gt.ntimes == 2
    gt = h.random_gains(gt, rng)
    out = apply_gaintable(model, gt)  # a one-receptor table acts as a scalar on every correlation
    for t in range(6):
        k = t // 3  # integrations 0-2 in the first 30 s interval, 3-5 in the second
        g = gt.gain[k, :, 0, 0, 0]
        expected = model.vis[t] * (g[vis.antenna1] * np.conj(g[vis.antenna2]))[:, None, None]
        np.testing.assert_allclose(out.vis[t], expected, rtol=1e-14)


def test_dtype_preserved_and_flags_kept(h, rng):
    vis = h.make_vis(nant=4, ntime=2, nchan=1, frame="linear")
    vis = vis.replace(vis=(vis.vis + 1).astype(np.complex64), weight=vis.weight.astype(np.float32))
    flags = vis.flags.copy()
    flags[0, 0] = True
    vis = vis.replace(flags=flags)
    gt = h.random_gains(create_gaintable_from_visibility(vis, jones_type="G"), rng)
    out = apply_gaintable(vis, gt, inverse=True)
    assert out.vis.dtype == np.complex64 and out.weight.dtype == np.float32
    np.testing.assert_array_equal(out.flags, flags)
