"""Thermal noise: the radiometer equation, weights, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels.testing import random_configuration
from uvflow.simulation import SimulationError, add_noise, create_visibility, radiometer_sigma

SEFD = 420.0  # Jy
BANDWIDTH = 2.0e5  # Hz
TAU = 8.0  # s


@pytest.fixture(scope="module")
def big_vis():
    """45 baselines x 100 times x 112 channels x 2 correlations = 1.008e6 samples."""
    config = random_configuration(nant=10, radius=1000.0, seed=11)
    freq = 1.0e9 + BANDWIDTH * np.arange(112)
    ha = np.linspace(-0.5, 0.5, 100)
    return create_visibility(
        config, ha, freq, BANDWIDTH, SkyCoord(ra=30, dec=-40, unit="deg"),
        polarisation_frame="linearnp", integration_time=TAU,
    )  # fmt: skip


def test_noise_matches_radiometer_equation(big_vis):
    noisy = add_noise(big_vis, sefd=SEFD, seed=1)
    assert noisy.vis.size >= 1_000_000
    expect = SEFD / np.sqrt(2 * BANDWIDTH * TAU)  # TMS eq. 6.50, per real/imag component
    # With 1e6 samples the standard error of a standard deviation is 1/sqrt(2e6) = 0.07 %;
    # the 2 % bound is the acceptance criterion (a factor sqrt(2) mistake would be 41 %).
    for part in (noisy.vis.real, noisy.vis.imag):
        assert abs(part.std() / expect - 1) < 0.02
        assert abs(part.mean()) < 5 * expect / np.sqrt(part.size)  # zero mean, 5 sigma
    np.testing.assert_allclose(noisy.weight, 1 / expect**2, rtol=1e-12)
    assert not big_vis.vis.any()  # input untouched


def test_stokes_i_noise_and_per_antenna_sefd(big_vis):
    vis = big_vis.select(time=slice(0, 20))
    stokes = vis.replace(
        vis=vis.vis[..., :1].copy(), weight=vis.weight[..., :1].copy(),
        flags=vis.flags[..., :1].copy(), polarisation_frame="stokesI",
    )  # fmt: skip
    sefd = np.linspace(200.0, 800.0, vis.nants)
    noisy = add_noise(stokes, sefd=sefd, seed=2)
    sigma_corr = radiometer_sigma(sefd[vis.antenna1], sefd[vis.antenna2], BANDWIDTH, TAU)
    # I = (XX + YY) / 2 from dual-polarisation feeds: sigma_I = sigma_corr / sqrt(2), so the
    # weight is 2 / sigma_corr**2 (exact bookkeeping).
    np.testing.assert_allclose(noisy.weight[0, :, 0, 0], 2 / sigma_corr**2, rtol=1e-12)
    # Empirical check per baseline group: normalised noise has unit variance; 2 x 20 x 45 x 112
    # samples give a 0.3 % standard error, 2 % is generous.
    z = noisy.vis / (sigma_corr / np.sqrt(2))[None, :, None, None]
    assert abs(np.concatenate([z.real.ravel(), z.imag.ravel()]).std() - 1) < 0.02


def test_given_sigma_weights_and_flags(small_config, southern_field):
    vis = create_visibility(
        small_config, np.linspace(-1, 1, 5), 1e8, 1e6, southern_field, elevation_limit=None
    )
    flags = vis.flags.copy()
    flags[0] = True
    vis = vis.replace(flags=flags)
    noisy = add_noise(vis, sigma=0.5, seed=3)
    assert np.all(noisy.weight[0] == 0) and np.all(noisy.weight[1:] == 4.0)
    np.testing.assert_array_equal(noisy.flags, vis.flags)


def test_seeds(small_config, southern_field):
    vis = create_visibility(small_config, [0.0, 0.1], 1e8, 1e6, southern_field)
    a = add_noise(vis, sigma=1.0, seed=7)
    b = add_noise(vis, sigma=1.0, seed=7)
    c = add_noise(vis, sigma=1.0, seed=8)
    np.testing.assert_array_equal(a.vis, b.vis)
    assert not np.any(a.vis == c.vis)
    g = add_noise(vis, sigma=1.0, seed=np.random.default_rng(7))
    assert g.vis.shape == vis.vis.shape


def test_noise_bad_input(small_config, southern_field):
    vis = create_visibility(small_config, [0.0], 1e8, 1e6, southern_field)
    with pytest.raises(SimulationError, match="exactly one"):
        add_noise(vis, seed=1)
    with pytest.raises(SimulationError, match="exactly one"):
        add_noise(vis, sefd=1.0, sigma=1.0, seed=1)
    with pytest.raises(SimulationError, match="sefd must be"):
        add_noise(vis, sefd=-5.0, seed=1)
    with pytest.raises(SimulationError, match=r"\[nant=8\]"):
        add_noise(vis, sefd=np.ones(3), seed=1)
    with pytest.raises(SimulationError, match="sigma must be"):
        add_noise(vis, sigma=0.0, seed=1)
    with pytest.raises(TypeError, match="seed"):
        add_noise(vis, sigma=1.0, seed=1.5)
