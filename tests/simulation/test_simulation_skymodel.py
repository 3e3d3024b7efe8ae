"""Sky components, component images, primary beams and Voronoi partitions."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from scipy import stats

from uvflow.datamodels import SPEED_OF_LIGHT, create_image
from uvflow.simulation import (
    SimulationError,
    apply_beam_to_skycomponent,
    beam_pattern,
    component_flux_at,
    create_pb,
    create_random_skycomponents,
    create_skycomponent,
    create_test_image,
    partition_skymodel_by_voronoi,
    skycomponents_to_image,
    skycoord_to_lmn,
)

PC = SkyCoord(ra=150.0, dec=-30.0, unit="deg")
CELL = 1e-4  # rad


@pytest.fixture
def image():
    return create_image(64, CELL, PC, [1.0e8, 1.1e8], channel_bandwidth=1e7)


def test_skycomponent_spectrum_and_polarisation():
    c = create_skycomponent(PC, 2.0, [1e8, 2e8], reference_frequency=1e8, spectral_index=-0.7,
                            polarisation_frame="linear")  # fmt: skip
    # unpolarised I = 2 Jy in linear products: XX = YY = I, XY = YX = 0
    np.testing.assert_allclose(c.flux[0], [2.0, 0.0, 0.0, 2.0])
    np.testing.assert_allclose(c.flux[1, 0], 2.0 * 2**-0.7, rtol=1e-14)
    pol = create_skycomponent(PC, [1.0, 0.1, 0.2, 0.05], 1e8, polarisation_frame="stokesIQUV")
    lin = component_flux_at(pol, [1e8], "linear")
    np.testing.assert_allclose(lin[0], [1.1, 0.2 + 0.05j, 0.2 - 0.05j, 0.9], atol=1e-15)
    # power-law interpolation between channels is exact for a power-law source
    np.testing.assert_allclose(component_flux_at(c, [1.5e8], "stokesI")[0, 0], 2.0 * 1.5**-0.7)
    with pytest.raises(SimulationError, match="reference_frequency"):
        create_skycomponent(PC, 1.0, 1e8, spectral_index=-0.7)
    with pytest.raises(SimulationError, match="frequencies must be"):
        create_skycomponent(PC, 1.0, [1e8, -1.0])
    with pytest.raises(SimulationError, match="bmaj"):
        create_skycomponent(PC, 1.0, 1e8, shape="gaussian", params={"bmaj": 1e-4})
    with pytest.raises(SimulationError, match="shape 'disk' unknown"):
        create_skycomponent(PC, 1.0, 1e8, shape="disk")


def test_random_components_follow_the_source_count():
    fov = np.deg2rad(2.0)
    kw = dict(flux_limits=(0.01, 10.0), slope=1.8, nsources=1500)
    comps = create_random_skycomponents(PC, fov, 1e8, seed=42, **kw)
    again = create_random_skycomponents(PC, fov, 1e8, seed=42, **kw)
    other = create_random_skycomponents(PC, fov, 1e8, seed=43, **kw)
    flux = np.array([c.flux[0, 0] for c in comps])
    assert np.array_equal(flux, [c.flux[0, 0] for c in again])
    assert not np.array_equal(flux, [c.flux[0, 0] for c in other])
    assert np.all(np.diff(flux) <= 0) and flux.min() >= 0.01 and flux.max() <= 10.0

    # The fluxes are a sample of dN/dS ~ S^-1.8 on [0.01, 10]: a KS test against that CDF
    # (fixed seed, so not flaky) must not reject it; against slope 2.5 it must.
    def cdf(s, g):
        a = 1 - g
        return (s**a - 0.01**a) / (10.0**a - 0.01**a)

    assert stats.kstest(flux, lambda s: cdf(s, 1.8)).pvalue > 0.01
    assert stats.kstest(flux, lambda s: cdf(s, 2.5)).pvalue < 1e-6
    lmn = np.array([skycoord_to_lmn(c.direction, PC) for c in comps])
    assert np.abs(lmn[:, :2]).max() <= fov / 2 + 1e-12
    n = create_random_skycomponents(PC, fov, 1e8, source_density=1e6, seed=1)
    assert abs(len(n) - 1e6 * fov**2) < 5 * np.sqrt(1e6 * fov**2)  # Poisson, 5 sigma


def test_point_components_land_on_their_wcs_pixel(image):
    direction = image.pixel_to_sky(20.3, 40.7)
    comp = create_skycomponent(direction, 3.0, [1.0e8, 1.1e8])
    x, y = image.sky_to_pixel(direction)
    near = skycomponents_to_image(image, [comp])
    assert near.data.sum() == pytest.approx(6.0)  # 3 Jy in each of two channels
    assert near.data[0, 0, int(np.round(y)), int(np.round(x))] == pytest.approx(3.0)
    assert near.meta["BUNIT"] == "JY/PIXEL" and not image.data.any()
    yy, xx = np.indices((image.ny, image.nx))
    for method in ("bilinear", "lanczos"):
        w = skycomponents_to_image(image, comp, insert_method=method).data[0, 0]
        assert w.sum() == pytest.approx(3.0, rel=1e-12)  # flux conserved
        # bilinear keeps the centroid exactly; Lanczos-3 to ~0.02 pixel
        tol = 1e-9 if method == "bilinear" else 0.03
        assert abs((w * xx).sum() / 3.0 - x) < tol and abs((w * yy).sum() / 3.0 - y) < tol
    with pytest.raises(SimulationError, match="insert_method"):
        skycomponents_to_image(image, comp, insert_method="cubic")


def test_gaussian_components_are_integrated_over_pixels(image):
    bmaj, bmin, bpa = 8 * CELL, 3 * CELL, np.deg2rad(30.0)
    direction = image.pixel_to_sky(31.4, 30.2)
    g = create_skycomponent(direction, 2.0, [1.0e8], shape="gaussian",
                            params={"bmaj": bmaj, "bmin": bmin, "bpa": bpa})  # fmt: skip
    w = skycomponents_to_image(image, g).data[0, 0]
    assert w.sum() == pytest.approx(2.0, rel=1e-6)  # the integral of the Gaussian
    yy, xx = np.indices(w.shape)
    x0, y0 = (w * xx).sum() / 2, (w * yy).sum() / 2
    assert abs(x0 - 31.4) < 1e-6 and abs(y0 - 30.2) < 1e-6
    # Second moments: the Gaussian's covariance in pixels (major axis at PA 30 deg east of
    # north, x to the west) plus 1/12 pixel^2 from integrating over the pixel box.
    s = 1 / np.sqrt(8 * np.log(2)) / CELL
    a = np.array([-np.sin(bpa), np.cos(bpa)])
    b = np.array([a[1], -a[0]])
    cov = (bmaj * s) ** 2 * np.outer(a, a) + (bmin * s) ** 2 * np.outer(b, b) + np.eye(2) / 12
    dx, dy = xx - x0, yy - y0
    got = np.array([[(w * dx * dx).sum(), (w * dx * dy).sum()],
                    [(w * dx * dy).sum(), (w * dy * dy).sum()]]) / 2  # fmt: skip
    np.testing.assert_allclose(got, cov, rtol=0, atol=0.02)


def test_test_image_is_its_components():
    """create_test_image is skycomponents_to_image of its random components, pixel by pixel
    (the same insertion code, so bit-identical), and that image is the sum of the
    components' own images, each point source's flux on its WCS pixel."""
    freq = [1.0e8, 1.2e8]
    img = create_test_image(PC, freq, npixel=64, cellsize=CELL, nsources=10, seed=3)
    comps = create_random_skycomponents(
        PC, 0.8 * 64 * CELL, freq, nsources=10, flux_limits=(0.05, 2.0), slope=2.5,
        gaussian_fraction=0.3, gaussian_size=(2 * CELL, 10 * CELL), seed=3,
    )  # fmt: skip
    template = create_image(64, CELL, PC, freq)
    expected = skycomponents_to_image(template, comps)
    assert img.shape == expected.shape == (2, 1, 64, 64)
    np.testing.assert_array_equal(img.data, expected.data)
    assert img.wcs.to_header_string() == expected.wcs.to_header_string()
    assert {c.shape for c in comps} == {"point", "gaussian"}  # both kinds are exercised
    singles = [skycomponents_to_image(template, [c]).data for c in comps]
    # linear in the components: rounding of the sums only
    np.testing.assert_allclose(img.data, np.sum(singles, axis=0), rtol=0, atol=1e-14)
    for c, single in zip(comps, singles):
        if c.shape == "point":
            x, y = template.sky_to_pixel(c.direction)
            np.testing.assert_allclose(
                single[:, 0, int(np.round(y)), int(np.round(x))], c.flux[:, 0], rtol=1e-15
            )
        # Gaussians: their integral (minus what falls off the 64-pixel image: < 1 %)
        np.testing.assert_allclose(single.sum(axis=(1, 2, 3)), c.flux[:, 0], rtol=1e-2)


def test_primary_beam_shapes():
    img = create_image(129, np.deg2rad(1 / 60), PC, [1.4e9])
    lam = SPEED_OF_LIGHT / 1.4e9
    for beam in ("airy", "gaussian"):
        pb = create_pb(img, "MEERKAT", beam=beam)
        assert pb.data[0, 0, 64, 64] == pytest.approx(1.0)
        row = pb.data[0, 0, 64, 64:]
        rho = np.sin(np.arange(row.size) * img.cellsize)
        half = np.interp(0.5, row[::-1][row[::-1] > 0.05], rho[::-1][row[::-1] > 0.05])
        # half-power diameter 1.029 lambda/D for both models (they share the main lobe)
        assert 2 * half == pytest.approx(1.029 * lam / 13.5, rel=2e-3)
    first_null = 1.21967 * lam / 13.5  # first zero of J1(x) at x = 3.83171 = 1.21967 pi
    assert beam_pattern(first_null, 1.4e9, 13.5, "airy") < 1e-10
    assert beam_pattern(0.95 * first_null, 1.4e9, 13.5, "airy") > 1e-4
    # the image is the pattern evaluated at each pixel's sin(offset)
    pb = create_pb(img, diameter=13.5)
    offset = img.pixel_to_sky(100, 64).separation(PC).rad
    assert pb.data[0, 0, 64, 100] == pytest.approx(beam_pattern(np.sin(offset), 1.4e9, 13.5))
    with pytest.raises(SimulationError, match="telescope 'HUBBLE' unknown"):
        create_pb(img, "HUBBLE")


def test_apply_beam_to_components():
    img = create_image(65, np.deg2rad(2 / 60), PC, [1.4e9])
    pb = create_pb(img, diameter=13.5)
    comps = [create_skycomponent(img.pixel_to_sky(x, 32.0), 1.0, [1.4e9]) for x in (32, 40, 47)]
    att = apply_beam_to_skycomponent(comps, pb)
    for c, a, x in zip(comps, att, (32, 40, 47)):
        assert a.flux[0, 0] == pytest.approx(pb.data[0, 0, 32, x], rel=1e-9)
        assert c.flux[0, 0] == 1.0  # inputs unchanged
    back = apply_beam_to_skycomponent(att, pb, inverse=True)
    np.testing.assert_allclose([b.flux[0, 0] for b in back], 1.0, rtol=1e-12)
    far = create_skycomponent(SkyCoord(ra=150.0, dec=-10.0, unit="deg"), 1.0, [1.4e9])
    assert apply_beam_to_skycomponent([far], pb)[0].flux[0, 0] == 0.0


def test_voronoi_partition(image):
    centres = [image.pixel_to_sky(16, 16), image.pixel_to_sky(48, 20), image.pixel_to_sky(30, 50)]
    pix = [(10, 12), (50, 25), (33, 55), (20, 20), (47, 16)]
    comps = [create_skycomponent(image.pixel_to_sky(x, y), 1.0, [1e8, 1.1e8]) for x, y in pix]
    model = skycomponents_to_image(image, comps)
    parts = partition_skymodel_by_voronoi(comps, centres, model)
    assert len(parts) == 3
    masks = np.array([p.mask.data[0, 0] for p in parts])
    np.testing.assert_array_equal(masks.sum(axis=0), 1.0)  # the regions tile the image
    # each component goes to its nearest centre (in pixels here: the field is small)
    cpix = np.array([(16, 16), (48, 20), (30, 50)])
    for p_idx, (x, y) in enumerate(pix):
        owner = np.argmin(np.hypot(cpix[:, 0] - x, cpix[:, 1] - y))
        assert comps[p_idx].name == "" and any(
            c.direction.separation(comps[p_idx].direction).rad < 1e-12
            for c in parts[owner].components
        )
        assert masks[owner, y, x] == 1.0
    assert sum(len(p.components) for p in parts) == len(comps)
    np.testing.assert_allclose(sum(p.image.data for p in parts), model.data)
    with pytest.raises(SimulationError, match="no directions"):
        partition_skymodel_by_voronoi(comps, [], model)
