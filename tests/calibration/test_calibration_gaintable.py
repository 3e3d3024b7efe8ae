"""Gain-table creation, channel lookup, products, QA and plots."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest

from uvflow.calibration import (
    CalibrationError,
    apply_gaintable,
    create_gaintable_from_visibility,
    multiply_gaintables,
    qa_gaintable,
    solution_channel_index,
    solve_gaintable,
)


def test_create_grids(h):
    vis = h.make_vis(
        nant=6, ntime=4, nchan=5, frame="linear", integration_time=10.0, contiguous=True
    )
    t = create_gaintable_from_visibility(vis)
    assert t.gain.shape == (4, 6, 1, 2, 2) and t.jones_type == "T"
    np.testing.assert_array_equal(t.gain[0, 0, 0], np.eye(2))
    np.testing.assert_array_equal(t.time, vis.time)
    np.testing.assert_allclose(t.frequency, [vis.frequency.mean()])
    b = create_gaintable_from_visibility(vis, timeslice=1e5, jones_type="B")
    assert b.gain.shape == (1, 6, 5, 2, 2)
    np.testing.assert_array_equal(b.frequency, vis.frequency)
    np.testing.assert_array_equal(b.meta["frequency_interval"], vis.channel_bandwidth)
    g = create_gaintable_from_visibility(
        vis, timeslice=20 * u.s, frequencyslice=5e6, jones_type="G"
    )
    assert (
        g.ntimes == 2 and g.nchan == 2
    )  # channels 2 MHz apart, 2 MHz wide: 5 MHz bins hold 2 and 3
    assert create_gaintable_from_visibility(h.make_vis(frame="stokesI")).nrec == 1
    assert (
        create_gaintable_from_visibility(h.make_vis(frame="circular")).receptor_frame.name
        == "circular"
    )


def test_channel_index(h):
    vis = h.make_vis(nant=4, ntime=1, nchan=4)
    b = create_gaintable_from_visibility(vis, jones_type="B")
    np.testing.assert_array_equal(solution_channel_index(b, vis.frequency), [0, 1, 2, 3])
    with pytest.raises(CalibrationError, match="do not cover"):
        solution_channel_index(b, [vis.frequency[-1] + 1.5e6])
    g = create_gaintable_from_visibility(vis, jones_type="G")
    np.testing.assert_array_equal(solution_channel_index(g, [1e6, 1e9]), [0, 0])


def test_multiply_gaintables(h, rng):
    vis = h.make_vis(nant=5, ntime=4, nchan=3, frame="linear")
    model = h.point_source_model(vis, h.UNPOLARISED)
    t = h.random_gains(create_gaintable_from_visibility(vis, jones_type="T"), rng, scalar=True)
    b = h.random_gains(create_gaintable_from_visibility(vis, timeslice=1e6, jones_type="B"), rng)
    tb = multiply_gaintables(t, b)
    assert tb.gain.shape == (4, 5, 3, 2, 2) and tb.jones_type == "TB"
    # Applying the product = applying B then T.
    two = apply_gaintable(apply_gaintable(model, b), t)
    np.testing.assert_allclose(apply_gaintable(model, tb).vis, two.vis, rtol=0, atol=1e-13)
    # weights: harmonic combination, 0 where either is 0
    t.weight[1] = 0
    tb = multiply_gaintables(t, b)
    assert np.all(tb.weight[1] == 0)
    np.testing.assert_allclose(tb.weight[0, :, :, 0, 0], 0.5)
    with pytest.raises(CalibrationError, match="antennas"):
        multiply_gaintables(t, create_gaintable_from_visibility(h.make_vis(nant=6)))


def test_qa_gaintable(h, rng):
    vis = h.make_vis(nant=6, ntime=3, nchan=1, frame="stokesI")
    model = h.point_source_model(vis, h.UNPOLARISED)
    gt = h.random_gains(
        create_gaintable_from_visibility(vis, jones_type="G"), rng, amp=0.2, phase=0.5
    )
    qa = qa_gaintable(gt)
    amp = np.abs(gt.gain[..., 0, 0])
    assert qa["nsolutions"] == 18 and qa["fraction_valid"] == 1.0
    assert qa["amplitude_max"] == pytest.approx(amp.max()) and qa[
        "amplitude_mean"
    ] == pytest.approx(amp.mean())
    assert 0 < qa["phase_max_abs_deg"] <= np.degrees(0.5)
    sol = solve_gaintable(apply_gaintable(model, gt), model, jones_type="G", phase_only=False)
    qa = qa_gaintable(sol)
    assert qa["converged_fraction"] == 1.0 and qa["iterations_max"] >= 2
    empty = gt.replace(weight=np.zeros_like(gt.weight))
    assert qa_gaintable(empty)["amplitude_mean"] is None


def test_plots_write_png(h, rng, tmp_path):
    pytest.importorskip("matplotlib")
    from uvflow.calibration import plot_gaintable, plot_gaintable_spectrum

    vis = h.make_vis(nant=4, ntime=5, nchan=3, frame="linear")
    gt = h.random_gains(create_gaintable_from_visibility(vis, jones_type="B"), rng)
    gt.weight[2, 1] = 0  # not drawn
    for func, name in ((plot_gaintable, "time.png"), (plot_gaintable_spectrum, "freq.png")):
        path = func(gt, tmp_path / name)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["freq.png", "time.png"]  # no temporaries
    with pytest.raises(CalibrationError, match="channel must be in 0..2"):
        plot_gaintable(gt, tmp_path / "x.png", channel=3)
    assert not (tmp_path / "x.png").exists()
