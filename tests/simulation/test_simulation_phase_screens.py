"""Direction-dependent phase screens: one smooth random GainTable per direction."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.calibration import apply_gaintable
from uvflow.datamodels.testing import random_configuration
from uvflow.simulation import SimulationError, create_phase_screen_gaintables, create_visibility


@pytest.fixture(scope="module")
def vis():
    config = random_configuration(nant=40, radius=20000.0, seed=8)
    return create_visibility(
        config, np.linspace(-1.5, 1.5, 40), [1.0e8, 1.5e8], 1e6,
        SkyCoord(ra=45, dec=-45, unit="deg"), polarisation_frame="linear",
    )  # fmt: skip


def test_one_smooth_table_per_direction(vis):
    dirs = [SkyCoord(ra=45 + d, dec=-45, unit="deg") for d in (0.0, 1.0, 2.0)]
    gts = create_phase_screen_gaintables(
        vis, dirs, amplitude=0.5, scale=5000.0, timescale=3600.0, seed=3, jones_type="G"
    )
    assert len(gts) == 3
    for gt, d in zip(gts, dirs):
        assert gt.phasecentre.separation(d).rad < 1e-12
        assert gt.gain.shape == (vis.ntime, vis.nants, 1, 2, 2)
        np.testing.assert_allclose(np.abs(gt.gain[..., 0, 0]), 1.0, rtol=1e-14)
        assert np.all(gt.gain[..., 0, 1] == 0)
    phases = [np.angle(gt.gain[:, :, 0, 0, 0]) for gt in gts]
    # Smooth over the array: antenna pairs closer than scale/2 differ far less than pairs
    # farther apart than 2 scale (for a Gaussian covariance, E|dphi|^2 = 2 rms^2 (1 - rho)).
    enu = vis.configuration.enu()[:, :2]
    dist = np.hypot(*(enu[:, None] - enu[None]).transpose(2, 0, 1))
    i, j = np.triu_indices(vis.nants, 1)
    near, far = dist[i, j] < 2500.0, dist[i, j] > 10000.0
    assert near.sum() >= 5 and far.sum() >= 50
    dphi = np.angle(np.exp(1j * (phases[0][:, i] - phases[0][:, j])))
    assert np.sqrt(np.mean(dphi[:, near] ** 2)) < 0.5 * np.sqrt(np.mean(dphi[:, far] ** 2))
    # Smooth in time: 4.6 min steps against a 1 h correlation time
    assert np.corrcoef(phases[0][:-1].ravel(), phases[0][1:].ravel())[0, 1] > 0.95
    # Independent screens per direction
    assert abs(np.corrcoef(phases[0].ravel(), phases[1].ravel())[0, 1]) < 0.5
    again = create_phase_screen_gaintables(
        vis, dirs, amplitude=0.5, scale=5000.0, timescale=3600.0, seed=3, jones_type="G"
    )
    np.testing.assert_array_equal(again[2].gain, gts[2].gain)


def test_dispersive_screen_and_application(vis):
    (gt,) = create_phase_screen_gaintables(
        vis, SkyCoord(ra=45, dec=-45, unit="deg"), amplitude=0.3, reference_frequency=1.0e8,
        jones_type="B", seed=5,
    )  # fmt: skip
    ph = np.angle(gt.gain[..., 0, 0])  # [ntime, nant, nchan]
    # phase ~ 1/frequency: the 150 MHz phases are 2/3 of the 100 MHz ones (|phase| < pi)
    ok = np.abs(ph[..., 0]) < 3.0
    np.testing.assert_allclose(ph[..., 1][ok], ph[..., 0][ok] / 1.5, atol=1e-12)
    model = vis.replace(vis=np.ones_like(vis.vis))
    corrupted = apply_gaintable(model, gt)
    # V_ij -> g_i V_ij g_j^H = exp(i (phi_i - phi_j)) on XX
    expect = np.exp(1j * (ph[:, vis.antenna1] - ph[:, vis.antenna2]))
    np.testing.assert_allclose(corrupted.vis[..., 0], expect, atol=1e-12)


def test_phase_screen_bad_input(vis):
    pc = SkyCoord(ra=45, dec=-45, unit="deg")
    with pytest.raises(SimulationError, match="no directions"):
        create_phase_screen_gaintables(vis, [], seed=1)
    with pytest.raises(SimulationError, match="scale must be"):
        create_phase_screen_gaintables(vis, pc, scale=0.0, seed=1)
    with pytest.raises(SimulationError, match="configuration"):
        create_phase_screen_gaintables(vis.replace(configuration=None), pc, seed=1)
