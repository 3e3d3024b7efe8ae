"""The exact DFT: the measurement equation's sign and geometry, Gaussians, polarisation, chunks."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import SPEED_OF_LIGHT, SkyComponent, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.imaging import FrequencyMismatchError, ImagingError, invert_dft, predict_dft
from uvflow.imaging.pixel_geometry import direction_cosines


@pytest.fixture(scope="module")
def vis():
    config = random_configuration(nant=8, radius=1500.0, seed=11)
    return simple_visibility(config, ntime=4, frequency=[1.0e8, 1.2e8], hour_angle_span=1.0)


def test_measurement_equation_by_hand(vis):
    """V = S exp(+2πi ν/c (u l + v m + w (n - 1))) with l east, m north (DESIGN §3)."""
    pc = vis.phasecentre
    d = SkyCoord(ra=pc.ra.deg + 1.5, dec=pc.dec.deg - 0.7, unit="deg")
    comp = SkyComponent(direction=d, frequency=[1.0e8], flux=[[2.5]])
    out = predict_dft(vis, comp).vis
    ra, dec, ra0, dec0 = d.ra.rad, d.dec.rad, pc.ra.rad, pc.dec.rad
    l = np.cos(dec) * np.sin(ra - ra0)  # noqa: E741
    m = np.sin(dec) * np.cos(dec0) - np.cos(dec) * np.sin(dec0) * np.cos(ra - ra0)
    n = np.sqrt(1 - l * l - m * m)
    assert l > 0  # east (larger RA) is +l
    u, v, w = (vis.uvw[..., i][..., None] for i in range(3))
    k = vis.frequency / SPEED_OF_LIGHT
    expected = 2.5 * np.exp(2j * np.pi * k * (u * l + v * m + w * (n - 1)))
    # the same formula evaluated in another order: rounding of phases ~1e3 turns (1e-13)
    np.testing.assert_allclose(out[..., 0], expected, rtol=0, atol=1e-11)


def test_unit_source_at_phase_centre_is_one(vis):
    comp = SkyComponent(direction=vis.phasecentre, frequency=[1e8], flux=[[1.0]])
    np.testing.assert_array_equal(predict_dft(vis, comp).vis, 1.0)


def test_image_pixel_equals_component_at_its_wcs_direction(vis):
    image = create_image(
        64, np.deg2rad(0.1), vis.phasecentre, frequency=1.1e8, channel_bandwidth=4e7
    )
    image.wcs.wcs.crpix = [20.0, 45.0, 1, 1]
    model = image.copy()
    model.data[0, 0, 7, 51] = 1.5
    comp = SkyComponent(direction=image.pixel_to_sky(51, 7), frequency=[1.1e8], flux=[[1.5]])
    # two routes to the direction (WCS → SkyCoord → l, m vs the pixel grid): 1e-12
    np.testing.assert_allclose(predict_dft(vis, model).vis, predict_dft(vis, comp).vis, atol=1e-12)


def _gaussian_image(image, l0, m0, flux, bmaj, bmin, bpa):
    """The Gaussian sampled at pixel centres, Jy/pixel (unit integral × flux × pixel area)."""
    from uvflow.imaging.pixel_geometry import image_geometry

    geom = image_geometry(image, image.phasecentre)
    l, m = np.meshgrid(geom.pixel_l() - l0, geom.pixel_m() - m0)  # noqa: E741
    a = l * np.sin(bpa) + m * np.cos(bpa)  # along the major axis
    b = l * np.cos(bpa) - m * np.sin(bpa)
    g = np.exp(-4 * np.log(2) * ((a / bmaj) ** 2 + (b / bmin) ** 2))
    return flux * g / (np.pi * bmaj * bmin / (4 * np.log(2))) * geom.cell_x * geom.cell_y


@pytest.mark.parametrize("bpa_deg", [0.0, 35.0, 90.0])
def test_gaussian_component_equals_a_finely_sampled_gaussian_image(bpa_deg):
    """On w = 0 data the Gaussian's visibilities are the DFT of its finely sampled image.

    With 8+ pixels per FWHM the sampled Gaussian's aliases sit at |u| = 1/cell where its
    transform is exp(-π² 64 / (4 ln 2)) ~ 1e-100, and 128 pixels reach 16 FWHM (e^-700):
    what is left is rounding, asserted 1e-10 relative.
    """
    config = random_configuration(nant=8, radius=1500.0, seed=11)
    vis = simple_visibility(config, ntime=3, frequency=[1.0e8], zerow=True)
    cell = np.deg2rad(0.005)
    image = create_image(128, cell, vis.phasecentre, frequency=1.0e8)
    bmaj, bmin, bpa = 16 * cell, 8 * cell, np.deg2rad(bpa_deg)
    l0, m0 = 3.3 * cell, -2.6 * cell  # off the pixel grid
    geom_dir = image.pixel_to_sky(64 - 3.3, 64 - 2.6)
    comp = SkyComponent(
        direction=geom_dir, frequency=[1e8], flux=[[2.0]], shape="gaussian",
        params={"bmaj": bmaj, "bmin": bmin, "bpa": bpa},
    )  # fmt: skip
    lc, mc, _ = direction_cosines(geom_dir, vis.phasecentre)
    np.testing.assert_allclose([lc, mc], [l0, m0], atol=1e-15)
    model = image.copy()
    model.data[0, 0] = _gaussian_image(image, l0, m0, 2.0, bmaj, bmin, bpa)
    from_image = predict_dft(vis, model).vis
    from_comp = predict_dft(vis, comp).vis
    assert np.linalg.norm(from_comp - from_image) <= 1e-10 * np.linalg.norm(from_image)
    # resolved: the amplitudes fall well below the point-source value
    assert np.min(np.abs(from_comp)) < 1.0


def test_gaussian_major_axis_points_at_its_position_angle(vis):
    """bpa = 0: elongated north-south, so resolved more along v than along u."""
    g = SkyComponent(
        direction=vis.phasecentre, frequency=[1e8], flux=[[1.0]], shape="gaussian",
        params={"bmaj": 1e-3, "bmin": 1e-4, "bpa": 0.0},
    )  # fmt: skip
    amp = np.abs(predict_dft(vis, g).vis[..., 0, 0]).ravel()
    u, v = (np.abs(vis.uvw[..., i]).ravel() * 1e8 / SPEED_OF_LIGHT for i in (0, 1))
    expected = np.exp(-(np.pi**2 / (4 * np.log(2))) * ((1e-3 * v) ** 2 + (1e-4 * u) ** 2))
    np.testing.assert_allclose(amp, expected, rtol=1e-12)


def test_polarised_component_into_linear_feeds():
    config = random_configuration(nant=5, radius=500.0, seed=1)
    lin = simple_visibility(config, ntime=2, frequency=[1e8], polarisation_frame="linear")
    comp = SkyComponent(
        direction=lin.phasecentre, frequency=[1e8], flux=[[1.0, 0.2, 0.3, 0.1]],
        polarisation_frame="stokesIQUV",
    )  # fmt: skip
    out = predict_dft(lin, comp).vis
    # XX = I + Q, XY = U + iV, YX = U - iV, YY = I - Q (IAU/IEEE)
    np.testing.assert_allclose(out[0, 0, 0], [1.2, 0.3 + 0.1j, 0.3 - 0.1j, 0.8], atol=1e-15)


def test_invert_dft_is_the_adjoint_of_predict_dft(vis):
    rng = np.random.default_rng(3)
    image = create_image(
        32, np.deg2rad(0.05), vis.phasecentre, frequency=1.1e8, channel_bandwidth=4e7
    )
    x = image.copy()
    x.data[...] = rng.normal(size=x.data.shape)
    v = vis.replace(vis=rng.normal(size=vis.vis.shape) + 1j * rng.normal(size=vis.vis.shape))
    lhs = np.vdot(predict_dft(vis, x).vis, v.vis).real
    dirty, sumwt = invert_dft(v, image, normalise=False)
    rhs = np.sum(x.data * dirty.data)
    # the same phases summed in another order: rounding relative to the terms
    assert abs(lhs - rhs) <= 1e-12 * np.linalg.norm(x.data) * np.linalg.norm(dirty.data)
    assert sumwt[0, 0] == vis.nvis


def test_chunks_do_not_change_results(vis):
    image = create_image(
        48, np.deg2rad(0.05), vis.phasecentre, frequency=[1.0e8, 1.2e8], channel_bandwidth=2e7
    )
    model = image.copy()
    model.data[:, 0, 10:14, 30:33] = 1.0
    data = predict_dft(vis, model)
    small = predict_dft(vis, model, chunk=7)
    np.testing.assert_allclose(small.vis, data.vis, rtol=0, atol=1e-13)
    a, _ = invert_dft(data, image)
    b, _ = invert_dft(data, image, chunk=1000)
    np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-13)


def test_components_as_list_single_or_empty(vis):
    c1 = SkyComponent(direction=vis.phasecentre, frequency=[1e8], flux=[[1.0]])
    c2 = SkyComponent(
        direction=SkyCoord(ra=15.2, dec=-45.1, unit="deg"),
        frequency=vis.frequency,
        flux=[[1.0], [3.0]],
    )
    both = predict_dft(vis, [c1, c2]).vis
    np.testing.assert_allclose(
        both, predict_dft(vis, c1).vis + predict_dft(vis, c2).vis, atol=1e-14
    )
    assert np.all(predict_dft(vis, []).vis == 0)


def test_component_errors(vis):
    wrong = SkyComponent(
        direction=vis.phasecentre, frequency=[1e8, 1.1e8, 1.3e8], flux=np.ones((3, 1))
    )
    with pytest.raises(FrequencyMismatchError, match="mismatched frequencies: component"):
        predict_dft(vis, wrong)
    pc = vis.phasecentre
    behind = SkyComponent(
        direction=SkyCoord(ra=pc.ra.deg + 180, dec=-pc.dec.deg, unit="deg"),
        frequency=[1e8],
        flux=[[1.0]],
    )
    with pytest.raises(ImagingError, match="behind"):
        predict_dft(vis, behind)
    with pytest.raises(TypeError, match="SkyComponents"):
        predict_dft(vis, [1.0])
    with pytest.raises(ImagingError, match="chunk"):
        invert_dft(vis, create_image(32, 1e-3, pc, frequency=1.1e8, channel_bandwidth=4e7), chunk=0)


@pytest.mark.parametrize("dopsf", [False, True])
def test_all_flagged_gives_zero_image_and_zero_sumwt(vis, dopsf, caplog):
    """The documented empty result, as invert gives it: zero image, sumwt 0, a warning —
    even with NaN in the flagged data (never read)."""
    import logging

    image = create_image(32, np.deg2rad(0.05), vis.phasecentre, frequency=1.1e8,
                         channel_bandwidth=4e7, polarisation_frame="stokesI")  # fmt: skip
    flagged = vis.replace(
        vis=np.full(vis.vis.shape, np.nan + 0j), flags=np.ones(vis.vis.shape, bool)
    )
    with caplog.at_level(logging.WARNING, logger="uvflow.imaging"):
        dirty, sumwt = invert_dft(flagged, image, dopsf=dopsf)
    assert dirty.shape == image.shape and np.all(dirty.data == 0)
    assert sumwt.shape == (1, 1) and np.all(sumwt == 0)
    assert "every visibility is flagged" in caplog.text
