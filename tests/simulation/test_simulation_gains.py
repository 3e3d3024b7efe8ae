"""Random gain tables and smooth random fields."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import GainTable
from uvflow.simulation import SimulationError, make_rng, simulate_gaintable, spawn_seeds
from uvflow.simulation.random_fields import random_fourier_field


def unit_table(ntime=200, nant=30, nchan=4, receptors="linear", jones_type="G", dt=60.0):
    nrec = 1 if receptors == "stokesI" else 2
    shape = (ntime, nant, nchan, nrec, nrec)
    gain = np.zeros(shape, dtype=complex)
    gain[..., np.arange(nrec), np.arange(nrec)] = 1.0
    return GainTable(
        gain=gain, weight=np.ones(shape), residual=np.zeros((ntime, nchan, nrec, nrec)),
        time=5e9 + dt * np.arange(ntime), interval=np.full(ntime, dt),
        frequency=1e8 + 1e6 * np.arange(nchan), receptor_frame=receptors,
        phasecentre=SkyCoord(ra=0, dec=-30, unit="deg"), jones_type=jones_type,
    )  # fmt: skip


def test_white_gains_statistics_and_structure():
    gt = unit_table(jones_type="G")
    sim = simulate_gaintable(gt, phase_error=0.2, amplitude_error=0.05, seed=1)
    g = sim.gain
    assert np.all(g[..., 0, 1] == 0) and np.all(g[..., 1, 0] == 0)  # diagonal Jones
    # 'G': the same across channels, independent per receptor
    np.testing.assert_array_equal(g[:, :, 0], g[:, :, 3])
    assert not np.allclose(g[..., 0, 0], g[..., 1, 1])
    phase, amp = np.angle(g[:, :, 0, 0, 0]), np.abs(g[:, :, 0, 0, 0])
    # 6000 draws: the standard deviation is known to ~1 %; 5 % bounds
    assert phase.std() == pytest.approx(0.2, rel=0.05)
    assert (amp - 1).std() == pytest.approx(0.05, rel=0.05)
    assert np.all(gt.gain[..., 0, 0] == 1)  # input unchanged
    t = simulate_gaintable(unit_table(jones_type="T"), phase_error=0.2, seed=1).gain
    np.testing.assert_array_equal(t[..., 0, 0], t[..., 1, 1])
    b = simulate_gaintable(unit_table(jones_type="B"), phase_error=0.2, seed=1).gain
    assert not np.allclose(b[:, :, 0], b[:, :, 1])


def test_smooth_gains():
    gt = unit_table(ntime=400, nant=40, nchan=1, jones_type="T", dt=30.0)
    smooth = simulate_gaintable(gt, phase_error=0.3, smooth_in_time=True, timescale=1800.0, seed=4)
    white = simulate_gaintable(gt, phase_error=0.3, seed=4)
    ps, pw = (np.angle(x.gain[:, :, 0, 0, 0]) for x in (smooth, white))
    # Correlation time 1800 s sampled every 30 s: neighbours correlate at exp(-(30/1800)^2/2)
    # ~ 1; white draws do not. The rms over 40 antennas x 3.3 h is ~0.3 within ~30 %.
    lag1 = lambda p: np.corrcoef(p[:-1].ravel(), p[1:].ravel())[0, 1]  # noqa: E731
    assert lag1(ps) > 0.99 and abs(lag1(pw)) < 0.05
    assert 0.2 < ps.std() < 0.4


def test_gain_seeds_and_errors():
    gt = unit_table(ntime=5, nant=4)
    a = simulate_gaintable(gt, phase_error=0.1, seed=9).gain
    np.testing.assert_array_equal(a, simulate_gaintable(gt, phase_error=0.1, seed=9).gain)
    assert not np.allclose(a, simulate_gaintable(gt, phase_error=0.1, seed=10).gain)
    with pytest.raises(SimulationError, match="phase_error"):
        simulate_gaintable(gt, phase_error=-1.0, seed=1)
    with pytest.raises(SimulationError, match="GainTable"):
        simulate_gaintable("table", seed=1)


def test_random_fourier_field_variance_and_smoothness():
    rng = make_rng(0)
    x = np.linspace(0, 25, 1001)[:, None]
    f = random_fourier_field(rng, x, rms=2.0, nfields=300, nmodes=32)
    # over 300 independent fields the variance at each point is rms^2 (to ~10 %)
    assert np.mean(f.var(axis=1)) == pytest.approx(4.0, rel=0.1)
    # correlation at one correlation length: exp(-1/2) = 0.61 for the Gaussian kernel
    lag = 40  # 40 samples = 1.0 unit
    c = np.mean(f[:-lag] * f[lag:]) / np.mean(f * f)
    assert c == pytest.approx(np.exp(-0.5), abs=0.06)


def test_spawned_seeds_are_reproducible():
    a = [make_rng(s).standard_normal(3) for s in spawn_seeds(5, 4)]
    b = [make_rng(s).standard_normal(3) for s in spawn_seeds(5, 4)]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])


def test_simulated_table_from_calibration_corrupts_and_corrects(small_config, southern_field):
    from uvflow.calibration import apply_gaintable, create_gaintable_from_visibility
    from uvflow.simulation import create_visibility

    vis = create_visibility(small_config, np.linspace(-1, 1, 6), [1e8, 1.1e8], 1e6,
                            southern_field, polarisation_frame="linear")  # fmt: skip
    model = vis.replace(vis=np.ones_like(vis.vis))
    gt = create_gaintable_from_visibility(vis, jones_type="G")
    sim = simulate_gaintable(gt, phase_error=0.3, amplitude_error=0.1, seed=12)
    assert sim.gain.shape == gt.gain.shape and sim.jones_type == "G"
    corrupted = apply_gaintable(model, sim)
    g = sim.gain[:, :, 0]  # one frequency interval for 'G'
    xx = g[:, vis.antenna1, 0, 0] * np.conj(g[:, vis.antenna2, 0, 0])
    np.testing.assert_allclose(corrupted.vis[:, :, 0, 0], xx, rtol=1e-12)
    back = apply_gaintable(corrupted, sim, inverse=True)
    np.testing.assert_allclose(back.vis, model.vis, rtol=1e-12)
