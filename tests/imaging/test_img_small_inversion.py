"""Small inversion: exact interpolation, exact transpose, DFT agreement, and its w-term guard."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import SkyComponent, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.imaging import ducc0_gridder, invert, invert_dft, predict, predict_dft
from uvflow.imaging import small_inversion as si
from uvflow.imaging.layout import uvw_rows
from uvflow.imaging.pixel_geometry import ImageGeometry, image_geometry

# As in test_img_gridding: ducc0 is accurate to ~epsilon relative (L2), small inversion adds at
# most epsilon/10 by construction (ducc0 itself is asked for 0.8 epsilon): 2 epsilon.
DFT_FACTOR = 2.0


def _plan(vis, image, epsilon, do_wgridding=True, fraction=None):
    geom = image_geometry(image, vis.phasecentre)
    uvw, _ = geom.gridding_uvw(uvw_rows(vis))
    return si.plan_small_inversion(uvw, vis.frequency, geom, epsilon, do_wgridding, 2e-13, fraction)


@pytest.fixture
def forced(monkeypatch):
    """Use small inversion whenever the coarse grid is smaller at all (not only when it pays)."""
    monkeypatch.setattr(si, "MAX_AREA_FRACTION", 1.0)
    monkeypatch.setattr(si, "MAX_AREA_FRACTION_2D", 1.0)


def test_to_coarse_is_the_exact_transpose_of_to_fine():
    geom = ImageGeometry(96, 80, 1e-3, 1.2e-3, 0.0, 0.0)
    rng = np.random.default_rng(0)
    uvw = rng.uniform(-60, 60, size=(50, 3))  # ≤ 60 wavelengths at c Hz: Nyquist/8
    plan = si.plan_small_inversion(uvw, np.array([299792458.0]), geom, 1e-8, True, 2e-13, 10.0)
    assert plan is not None and plan.x.nc != 96
    for _ in range(3):
        a = rng.normal(size=(plan.y.nc, plan.x.nc))
        b = rng.normal(size=(80, 96))
        lhs = np.sum(plan.to_fine(a) * b)
        rhs = np.sum(a * plan.to_coarse(b))
        # the same FFTs run backwards: equal to rounding of ~1e4 terms of size ~1
        assert abs(lhs - rhs) <= 1e-12 * np.linalg.norm(a) * np.linalg.norm(b)


@pytest.mark.parametrize("epsilon", [1e-5, 1e-8, 1e-12])
def test_interpolation_reproduces_band_limited_images(epsilon):
    """Tones up to the band edge, sampled on the coarse grid, come out right on the fine one."""
    n, cell, band = 256, 1e-3, 150.0  # Nyquist would allow 500 wavelengths: 3.3x oversampled
    geom = ImageGeometry(n, n, cell, cell, 0.0, 0.0)
    uvw = np.array([[band, band, 0.0]])
    plan = si.plan_small_inversion(uvw, np.array([299792458.0]), geom, epsilon, False, 2e-13, 1.0)
    assert plan.x.nc < n
    rng = np.random.default_rng(1)
    freqs = rng.uniform(-band, band, size=(2, 40))
    amps = rng.normal(size=40)

    def image(nx, ny, dx, dy):  # [y, x]
        y = (np.arange(ny) - ny // 2)[:, None, None] * dy
        x = (np.arange(nx) - nx // 2)[None, :, None] * dx
        return np.sum(amps * np.cos(2 * np.pi * (freqs[0] * x + freqs[1] * y) + 0.3), axis=-1)

    coarse = image(plan.x.nc, plan.y.nc, plan.x.coarse_cell, plan.y.coarse_cell)
    fine = plan.to_fine(coarse)
    exact = image(n, n, cell, cell)
    # the window's leakage is below epsilon/10 per unit tone amplitude by construction
    assert np.max(np.abs(fine - exact)) <= 0.1 * epsilon * np.sum(np.abs(amps))


@pytest.fixture(scope="module")
def oversampled(wide_vis):
    """256 × 256 over 3 degrees (pixels 3.3x finer than Nyquist) and its exact dirty image."""
    image = create_image(
        256, np.deg2rad(3.0 / 256), wide_vis.phasecentre, frequency=1.025e8, channel_bandwidth=1e7
    )
    comps = [
        SkyComponent(direction=image.pixel_to_sky(x, y), frequency=[1.025e8], flux=[[1.0 + i]])
        for i, (x, y) in enumerate([(3, 250), (200, 20), (128, 128), (90, 170)])
    ]
    data = predict_dft(wide_vis, comps)
    return image, data, invert_dft(data, image)[0]


@pytest.mark.parametrize("epsilon", [1e-5, 1e-8, 1e-12])
def test_on_by_default_and_as_accurate_as_without(wide_vis, oversampled, rel, epsilon):
    image, data, ref = oversampled
    plan = _plan(wide_vis, image, epsilon)
    assert plan is not None  # the default rule engages here: coarse 108..150 for 256
    with_si, _ = invert(data, image, epsilon=epsilon)
    without, _ = invert(data, image, epsilon=epsilon, small_inversion=False)
    assert rel(with_si.data, ref.data) <= DFT_FACTOR * epsilon
    assert rel(without.data, ref.data) <= DFT_FACTOR * epsilon
    model = image.copy()
    model.data[0, 0, [250, 20, 128, 170], [3, 200, 128, 90]] = [1.0, 2.0, 3.0, 4.0]
    exact = predict_dft(wide_vis, model).vis
    assert rel(predict(wide_vis, model, epsilon=epsilon).vis, exact) <= DFT_FACTOR * epsilon


def _case_images(pc):
    """(name, context, image) for the forced-accuracy sweep: 128 x 128 over 1 degree."""
    plain = create_image(128, np.deg2rad(1.0 / 128), pc, frequency=1.05e8, channel_bandwidth=2e7)
    facet = plain.copy()
    facet.wcs.wcs.crpix = [65 + 90, 65 - 60, 1, 1]  # CRVAL at the phase centre, grid shifted
    off = SkyCoord(ra=pc.ra.deg + 4.0, dec=pc.dec.deg - 2.0, unit="deg")
    rotated = create_image(128, np.deg2rad(1.0 / 128), off, frequency=1.05e8, channel_bandwidth=2e7)
    return [("plain", plain), ("facet", facet), ("rotated", rotated)]


@pytest.fixture(scope="module")
def sweep(wide_vis, zerow_vis):
    """Each case with its exact dirty image and exact model visibilities (DFT, computed once)."""
    cases = [("2d", zerow_vis, name, im) for name, im in _case_images(zerow_vis.phasecentre)[:2]]
    cases += [("ng", wide_vis, name, im) for name, im in _case_images(wide_vis.phasecentre)]
    out = []
    for context, vis, name, image in cases:
        comps = [
            SkyComponent(direction=image.pixel_to_sky(x, y), frequency=[1.05e8], flux=[[1.0]])
            for x, y in [(4, 120), (100, 9), (64, 64)]
        ]
        data = predict_dft(vis, comps)
        model = image.copy()
        model.data[0, 0, [120, 9, 64], [4, 100, 64]] = 1.0
        exact = (invert_dft(data, image)[0].data, predict_dft(vis, model).vis)
        out.append((context, vis, name, image, data, model, exact))
    return out


@pytest.mark.parametrize("epsilon", [1e-5, 1e-8, 1e-12])
def test_forced_small_inversion_matches_dft_across_cases(forced, sweep, rel, epsilon):
    """2d on w = 0 data, ng on wide-field data; centred, facet (CRPIX) and rotated images."""
    for context, vis, name, image, data, model, (ref_dirty, ref_vis) in sweep:
        assert _plan(vis, image, epsilon, context == "ng") is not None, (context, name)
        dirty, _ = invert(data, image, context=context, epsilon=epsilon)
        assert rel(dirty.data, ref_dirty) <= DFT_FACTOR * epsilon, (context, name)
        pred = predict(vis, model, context=context, epsilon=epsilon)
        assert rel(pred.vis, ref_vis) <= DFT_FACTOR * epsilon, (context, name)


def test_forced_small_inversion_predicts_a_dense_noise_model(forced, wide_vis, rel):
    """Every pixel non-zero with random sign, so the visibilities cancel heavily.

    The interpolation error of each pixel's exponential is ≤ epsilon/10; summed with random
    signs it grows like the visibilities themselves (√npixels), so the relative error stays
    ~epsilon/10 on top of ducc0's.
    """
    image = create_image(
        128, np.deg2rad(1.0 / 128), wide_vis.phasecentre, frequency=1.05e8, channel_bandwidth=2e7
    )
    model = image.copy()
    model.data[...] = np.random.default_rng(6).normal(size=model.data.shape)
    exact = predict_dft(wide_vis, model).vis
    for epsilon in (1e-5, 1e-8):
        assert _plan(wide_vis, image, epsilon) is not None
        assert rel(predict(wide_vis, model, epsilon=epsilon).vis, exact) <= DFT_FACTOR * epsilon


def test_the_w_term_guard_is_needed(forced, monkeypatch, rel):
    """A 40-degree field: the w-term widens the image's band by ~40%.

    Planning the coarse grid from the uv coverage alone (as if there were no w-term) breaks
    the accuracy by orders of magnitude; the real plan, which counts w, stays within epsilon.
    """
    config = random_configuration(nant=20, radius=100.0, seed=3)
    vis = simple_visibility(
        config, ntime=6, frequency=[1.0e8, 1.05e8], channel_bandwidth=5e6, hour_angle_span=np.pi / 2
    )
    image = create_image(
        256, np.deg2rad(40.0 / 256), vis.phasecentre, frequency=1.025e8, channel_bandwidth=1e7
    )
    rng = np.random.default_rng(1)
    comps = [
        SkyComponent(
            direction=image.pixel_to_sky(int(x), int(y)), frequency=[1.025e8], flux=[[1.0]]
        )
        for x, y in rng.integers(2, 254, size=(6, 2))
    ]
    data = predict_dft(vis, comps)
    ref, _ = invert_dft(data, image)
    epsilon = 1e-8
    plan_w, plan_no_w = (
        _plan(vis, image, epsilon, True, 1.0),
        _plan(vis, image, epsilon, False, 1.0),
    )
    assert (
        plan_w.x.coarse_cell < 0.8 * plan_no_w.x.coarse_cell
    )  # counting w needs finer coarse cells
    guarded, _ = invert(data, image, epsilon=epsilon)
    assert rel(guarded.data, ref.data) <= DFT_FACTOR * epsilon

    def without_w(uvw, freq, geom, eps, do_wgridding, floor, fraction=None):
        return si.plan_small_inversion(uvw, freq, geom, eps, False, floor, fraction)

    monkeypatch.setattr(ducc0_gridder, "plan_small_inversion", without_w)
    unguarded, _ = invert(data, image, epsilon=epsilon)
    assert rel(unguarded.data, ref.data) > 20 * epsilon  # measured 4.7e-7: 47 epsilon


def test_switched_off_it_is_never_planned(wide_vis, oversampled, monkeypatch):
    image, data, _ = oversampled

    def fail(*args, **kwargs):
        raise AssertionError("small inversion planned although switched off")

    monkeypatch.setattr(ducc0_gridder, "plan_small_inversion", fail)
    invert(data, image, small_inversion=False)
    predict(wide_vis, image, small_inversion=False)
    with pytest.raises(AssertionError, match="switched off"):
        invert(data, image)


def test_quadrature_is_numpys_gauss_legendre():
    """The flat windows' quadrature (ducc0's Gauss–Legendre rule, fast) is numpy's
    ``leggauss`` to rounding: both are the exact rule; measured 4e-16 and 6e-15."""
    from numpy.polynomial.legendre import leggauss

    from uvflow.imaging.small_inversion import _quadrature

    for n in (16, 256):
        nodes, weights = _quadrature(n)
        ref_nodes, ref_weights = leggauss(n)
        assert np.allclose(nodes, ref_nodes, rtol=0, atol=1e-13)
        assert np.allclose(weights, ref_weights, rtol=0, atol=1e-13)
