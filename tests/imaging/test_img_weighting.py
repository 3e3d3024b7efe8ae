"""Imaging weights: natural, uniform, robust (against a by-hand density), tapers, the grid split."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from uvflow.datamodels import SPEED_OF_LIGHT, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.imaging import (
    ImagingError,
    apply_grid_weights,
    grid_weights,
    invert,
    invert_dft,
    sum_grid_weights,
    taper_visibility_gaussian,
    taper_visibility_tukey,
    weight_visibility,
)


@pytest.fixture(scope="module")
def vis():
    config = random_configuration(nant=12, radius=1000.0, seed=4)
    v = simple_visibility(config, ntime=6, frequency=[1.0e8, 1.1e8], hour_angle_span=np.pi / 2)
    rng = np.random.default_rng(0)
    flags = rng.random(v.vis.shape) < 0.1
    return v.replace(weight=rng.uniform(0.5, 2.0, v.vis.shape), flags=flags)


@pytest.fixture(scope="module")
def image(vis):
    return create_image(
        64, np.deg2rad(0.05), vis.phasecentre, frequency=1.05e8, channel_bandwidth=2e7
    )


def _density_by_hand(vis, image):
    """W per cell, from a plain loop: each unflagged sample at (u, v) and at (-u, -v)."""
    n = image.nx
    du = 1.0 / (n * image.cellsize)
    cells = {}
    dens = defaultdict(float)
    for t in range(vis.ntime):
        for b in range(vis.nbaseline):
            for c in range(vis.nchan):
                k = vis.frequency[c] / SPEED_OF_LIGHT
                iu = int(np.rint(vis.uvw[t, b, 0] * k / du))
                iv = int(np.rint(vis.uvw[t, b, 1] * k / du))
                w = 0.0 if vis.flags[t, b, c, 0] else vis.weight[t, b, c, 0]
                on = abs(iu) < n // 2 and abs(iv) < n // 2
                cells[t, b, c] = (iu, iv) if on else None
                if on:
                    dens[iu, iv] += w
                    dens[-iu, -iv] += w
    return cells, dens


def test_natural_keeps_the_weights(vis, image):
    out = weight_visibility(vis, image, "natural")
    assert out is not vis and out.weight is vis.weight


def test_uniform_and_robust_against_a_by_hand_density(vis, image):
    cells, dens = _density_by_hand(vis, image)
    total = sum(dens.values())
    f2 = {
        r: (5 * 10.0**-r) ** 2 / (sum(d * d for d in dens.values()) / total)
        for r in (-1.0, 0.0, 1.5)
    }
    uni = weight_visibility(vis, image, "uniform").weight
    rob = {r: weight_visibility(vis, image, "robust", robustness=r).weight for r in f2}
    for (t, b, c), cell in cells.items():
        w = 0.0 if vis.flags[t, b, c, 0] else vis.weight[t, b, c, 0]
        density = dens[cell] if cell is not None else w  # off the grid: its own weight
        expected_uniform = w / density if density > 0 else 0.0
        assert uni[t, b, c, 0] == pytest.approx(expected_uniform, rel=1e-12, abs=0)
        for r, f in f2.items():
            assert rob[r][t, b, c, 0] == pytest.approx(w / (1 + density * f), rel=1e-12, abs=0)


def test_robust_spans_uniform_to_natural(vis, image):
    nat = np.where(vis.flags, 0, vis.weight)
    uni = weight_visibility(vis, image, "uniform").weight
    lo = weight_visibility(vis, image, "robust", robustness=-5.0).weight
    hi = weight_visibility(vis, image, "robust", robustness=5.0).weight
    on = nat > 0

    def spread(a, b):  # how far a is from being proportional to b
        r = a[on] / b[on]
        return float(np.std(r) / np.mean(r))

    assert spread(lo, uni) < 1e-3 < spread(nat, uni)  # R = -5: uniform up to a constant
    assert spread(hi, nat) < 1e-3  # R = +5: natural up to a constant


@pytest.mark.parametrize("weighting", ["natural", "uniform", "robust"])
def test_psf_peak_is_one_at_centre(vis, image, weighting):
    weighted = weight_visibility(vis, image, weighting, robustness=0.5)
    psf, sumwt = invert(weighted, image, dopsf=True, epsilon=1e-12)
    # normalised by Σw, the centre is Σw/Σw: ducc0 at epsilon 1e-12 (measured 2e-13)
    assert abs(psf.data[0, 0, 32, 32] - 1.0) <= 1e-12
    assert np.argmax(psf.data) == 32 * 64 + 32
    assert sumwt[0, 0] == pytest.approx(np.sum(weighted.flagged_weight), rel=1e-12)
    exact, _ = invert_dft(weighted, image, dopsf=True)
    assert abs(exact.data[0, 0, 32, 32] - 1.0) <= 1e-14


def _main_lobe(v, image):
    """Pixels of the PSF above one half (of the peak, 1)."""
    psf, _ = invert(v, image, dopsf=True)
    return int(np.sum(psf.data[0, 0] > 0.5))


@pytest.fixture(scope="module")
def fine(vis):
    """128 x 128 of 0.01 degree: ~8 pixels across the synthesised beam."""
    return create_image(
        128, np.deg2rad(0.01), vis.phasecentre, frequency=1.05e8, channel_bandwidth=2e7
    )


def test_uniform_narrows_the_psf(vis, fine):
    # uniform weighting lifts the sparse outer uv cells against the crowded inner ones
    assert _main_lobe(weight_visibility(vis, fine, "uniform"), fine) < _main_lobe(vis, fine)


def test_shared_grid_over_frequency_windows(vis, image):
    """Windows weighted with the sum of their grids = the whole band weighted at once."""
    lo, hi = vis.select(channel=slice(0, 1)), vis.select(channel=slice(1, 2))
    total = sum_grid_weights([grid_weights(lo, image), grid_weights(hi, image)])
    np.testing.assert_allclose(total.data, grid_weights(vis, image).data, rtol=1e-14)
    for r in (0.0, 1.0):
        parts = [apply_grid_weights(w, total, "robust", r) for w in (lo, hi)]
        whole = weight_visibility(vis, image, "robust", robustness=r)
        np.testing.assert_allclose(parts[0].weight, whole.weight[:, :, :1], rtol=1e-14)
        np.testing.assert_allclose(parts[1].weight, whole.weight[:, :, 1:], rtol=1e-14)


def test_grid_weights_layout(vis, image):
    grid = grid_weights(vis, image)
    assert grid.data.shape == (1, 1, 64, 64) and grid.polarisation_frame == vis.polarisation_frame
    d = grid.data[0, 0]
    # every sample counted at (u, v) and (-u, -v): the grid is point-symmetric about (32, 32)
    np.testing.assert_array_equal(d[1:, 1:], d[1:, 1:][::-1, ::-1])
    cells, dens = _density_by_hand(vis, image)
    assert d.sum() == pytest.approx(sum(dens.values()), rel=1e-12)


def test_gaussian_taper_formula_and_psf_width(vis, fine):
    beam = np.deg2rad(0.6)
    tapered = taper_visibility_gaussian(vis, beam)
    r = np.hypot(vis.uvw[..., 0], vis.uvw[..., 1])[..., None] * vis.frequency / SPEED_OF_LIGHT
    expected = vis.weight * np.exp(-(np.pi**2) * beam**2 / (4 * np.log(2)) * r**2)[..., None]
    # exponents reach ~100: their rounding (1e-16 relative) is 1e-14 of the result
    np.testing.assert_allclose(tapered.weight, expected, rtol=1e-12)
    assert taper_visibility_gaussian(vis, "0.6deg").weight == pytest.approx(
        tapered.weight, rel=1e-12
    )
    small = taper_visibility_gaussian(vis, np.deg2rad(0.15))
    # the main lobe is the PSF convolved with the taper's Gaussian: wider, and about the
    # taper's own beam when that dominates (area of a 0.15-degree FWHM Gaussian's half-power
    # region: π (0.075 / 0.01)² = 177 pixels)
    plain = _main_lobe(vis, fine)
    assert plain < _main_lobe(small, fine)
    assert 0.6 * 177 < _main_lobe(small, fine) < 1.6 * 177


def test_tukey_taper():
    config = random_configuration(nant=10, radius=1000.0, seed=2)
    v = simple_visibility(config, ntime=4, frequency=[1e8])
    r = np.hypot(v.uvw[..., 0], v.uvw[..., 1]) * 1e8 / SPEED_OF_LIGHT
    inner, outer = np.percentile(r, [30, 70])
    w = taper_visibility_tukey(v, (inner, outer)).weight[..., 0, 0]
    assert np.all(w[r <= inner] == 1) and np.all(w[r >= outer] == 0)
    mid = (r > inner) & (r < outer)
    expected = 0.5 * (1 + np.cos(np.pi * (r[mid] - inner) / (outer - inner)))
    np.testing.assert_allclose(w[mid], expected, rtol=0, atol=1e-15)  # 1 + cos cancels: absolute


def test_weighting_errors(vis, image):
    with pytest.raises(
        ValueError, match=r"weighting 'briggs2' unknown; use natural, uniform or robust"
    ):
        weight_visibility(vis, image, "briggs2")
    with pytest.raises(ImagingError, match="robustness"):
        weight_visibility(vis, image, "robust", robustness=np.nan)
    with pytest.raises(ImagingError, match="tukey_range"):
        taper_visibility_tukey(vis, (2.0, 1.0))
    with pytest.raises(ImagingError, match="tukey_range"):
        taper_visibility_tukey(vis, 3.0)
    with pytest.raises(ImagingError, match="beam must be > 0"):
        taper_visibility_gaussian(vis, 0.0)
    lin = simple_visibility(
        vis.configuration, ntime=2, frequency=[1e8], polarisation_frame="linear"
    )
    with pytest.raises(ImagingError, match="grid the same polarisation frame"):
        apply_grid_weights(lin, grid_weights(vis, image), "uniform")
    other = create_image(
        32, np.deg2rad(0.05), vis.phasecentre, frequency=1.05e8, channel_bandwidth=2e7
    )
    with pytest.raises(ImagingError, match="weight grids differ"):
        sum_grid_weights([grid_weights(vis, image), grid_weights(vis, other)])


@pytest.mark.parametrize("weighting", ["uniform", "robust"])
def test_all_flagged_gives_zero_weights_and_an_empty_image(vis, image, weighting):
    """All data flagged: the documented empty result, not an error — every imaging weight 0
    (finite: no 0/0), and invert then gives its zero image with sumwt 0. In a workflow a
    fully flagged window adds nothing to the shared grid: the other window is weighted as
    if alone."""
    from uvflow.execution import rsexecute
    from uvflow.imaging.workflows import weight_list_rsexecute_workflow

    flagged = vis.replace(flags=np.ones(vis.vis.shape, bool))
    assert not np.any(grid_weights(flagged, image).data)
    out = weight_visibility(flagged, image, weighting=weighting, robustness=0.5)
    assert np.all(out.weight == 0) and out.weight.shape == vis.weight.shape
    dirty, sumwt = invert(out, image, epsilon=1e-8)
    assert np.all(dirty.data == 0) and np.all(sumwt == 0)
    rsexecute.set_client(use_dask=False)
    both = weight_list_rsexecute_workflow(
        [flagged, vis], image, weighting=weighting, robustness=0.5
    )
    alone = weight_visibility(vis, image, weighting=weighting, robustness=0.5)
    assert np.all(both[0].weight == 0)
    np.testing.assert_array_equal(both[1].weight, alone.weight)


def _uvw_axes(direction):
    """Rows u (east), v (north), w (towards ``direction``): ICRS unit vectors, by hand."""
    w = np.asarray(direction.icrs.cartesian.xyz.value, dtype=float)
    u = np.cross([0.0, 0.0, 1.0], w)
    u /= np.linalg.norm(u)
    return np.stack([u, np.cross(w, u), w])


@pytest.mark.parametrize("weighting", ["uniform", "robust"])
def test_weights_of_an_off_centre_image_use_its_frame(vis, weighting):
    """An image centred 5° from the phase centre is gridded in the uvw frame of its centre
    (the gridder rotates uvw): the density cells must be those too. Reference: the data
    re-phased by hand to the image centre (uvw rotated with axes built here from astropy's
    unit vector) and imaged on-centre. The weights agree to rounding (the same cells;
    without the rotation up to ~3 cells apart: w ~600 wavelengths x sin 5° x 3.2° field),
    and so do the PSFs (the gridder grids the same uvw and weights: ≤ 1e-10 of the peak,
    ducc0's rounding); the PSF peaks at 1 in the centre pixel."""
    from astropy.coordinates import SkyCoord

    from uvflow.imaging import psf_sidelobe_level

    pc = vis.phasecentre
    centre = SkyCoord(ra=pc.ra.deg + 5.0, dec=pc.dec.deg + 1.0, unit="deg")
    off = create_image(64, np.deg2rad(0.05), centre, frequency=1.05e8, channel_bandwidth=2e7)
    rotation = _uvw_axes(centre) @ _uvw_axes(pc).T
    rephased = vis.replace(uvw=vis.uvw @ rotation.T, phasecentre=centre)
    weighted = weight_visibility(vis, off, weighting=weighting, robustness=0.0)
    reference = weight_visibility(rephased, off, weighting=weighting, robustness=0.0)
    np.testing.assert_allclose(weighted.weight, reference.weight, rtol=1e-12, atol=0)
    # the test has teeth: the phase centre's cells give other weights
    unrotated = weight_visibility(vis.replace(phasecentre=centre), off, weighting=weighting)
    assert np.abs(unrotated.weight - reference.weight).max() > 0.1 * reference.weight.max()
    psf, _ = invert(weighted, off, dopsf=True, epsilon=1e-10)
    psf_ref, _ = invert(reference, off, dopsf=True, epsilon=1e-10)
    assert psf.data[0, 0, 32, 32] == pytest.approx(1.0, abs=1e-10)
    assert np.abs(psf.data - psf_ref.data).max() <= 1e-10
    assert psf_sidelobe_level(psf) == pytest.approx(psf_sidelobe_level(psf_ref), abs=1e-10)
