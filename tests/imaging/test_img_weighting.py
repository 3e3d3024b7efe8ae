"""Imaging weights as WSClean defines them: the cells, conjugates, channels, factors, rank
filter, uv range and taper by hand; tapers; the grid shared by windows.

Against WSClean itself: test_img_weighting_wsclean.py.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from uvflow.datamodels import SPEED_OF_LIGHT, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.imaging import (
    ImagingError,
    WeightingSettings,
    apply_grid_weights,
    grid_weights,
    invert,
    invert_dft,
    sum_grid_weights,
    taper_visibility_gaussian,
    taper_visibility_tukey,
    weight_visibility,
)
from uvflow.imaging.weighting_wsclean import half_grid_cells, rank_filter, weight_grid_shape


@pytest.fixture(scope="module")
def vis():
    config = random_configuration(nant=12, radius=1000.0, seed=4)
    v = simple_visibility(config, ntime=6, frequency=[1.0e8, 1.1e8], hour_angle_span=np.pi / 2)
    rng = np.random.default_rng(0)
    flags = rng.random(v.vis.shape) < 0.1
    return v.replace(weight=rng.uniform(0.5, 2.0, v.vis.shape), flags=flags)


@pytest.fixture(scope="module")
def image(vis):
    """64 x 64 of 0.05 degree: the longest baselines (667 wavelengths) lie beyond the grid's
    1/(2 cell) = 573 wavelengths."""
    return create_image(
        64, np.deg2rad(0.05), vis.phasecentre, frequency=1.05e8, channel_bandwidth=2e7
    )


@pytest.fixture(scope="module")
def fine(vis):
    """128 x 128 of 0.01 degree: ~8 pixels across the synthesised beam."""
    return create_image(
        128, np.deg2rad(0.01), vis.phasecentre, frequency=1.05e8, channel_bandwidth=2e7
    )


def _reference(vis, image, weighting, robustness=0.0, level=3.0, size=16, taper=None,
               minuv=0.0, maxuv=0.0):  # fmt: skip
    """WSClean 3.1's ImageWeights in plain loops: the weight of every sample [t, b, c]."""
    cell = image.cellsize
    padded = math.ceil(image.nx * 1.2)
    width = padded + (4 - padded % 4) % 4  # square image: height == width
    dens = defaultdict(float)
    cells = {}
    for t in range(vis.ntime):
        for b in range(vis.nbaseline):
            for c in range(vis.nchan):
                lam = SPEED_OF_LIGHT / vis.frequency[c]
                u, v = vis.uvw[t, b, 0] / lam, vis.uvw[t, b, 1] / lam
                if v < 0:
                    u, v = -u, -v
                x = math.floor(u * width * cell + width // 2)
                y = math.floor(v * width * cell)
                w = 0.0 if vis.flags[t, b, c, 0] else vis.weight[t, b, c, 0]
                cells[t, b, c] = (x, y) if 0 <= x < width and y < width // 2 else None
                if cells[t, b, c]:
                    dens[x, y] += w
    total = sum(dens.values())
    s2 = (5 * 10.0**-robustness) ** 2 / (sum(d * d for d in dens.values()) / total)

    def factor(x, y):  # FinishGridding
        d = dens.get((x, y), 0.0)
        if weighting == "uniform":
            return 1 / d if d else 0.0
        return 1 / (1 + d * s2) if weighting == "robust" else 1.0

    def filtered(x, y):  # RankFilter: the window's mean of the unfiltered non-zero factors
        f = factor(x, y)
        if level < 1 or f == 0:
            return f
        d = size // 2
        around = [factor(i, j) for i in range(max(x - d, 0), min(x + d, width))
                  for j in range(max(y - d, 0), min(y + d, width // 2))]  # fmt: skip
        around = [a for a in around if a != 0]
        mean = sum(around) / len(around)
        return min(f, level * mean)

    out = np.zeros(vis.weight.shape[:3])
    for (t, b, c), cell_xy in cells.items():
        if cell_xy is None:
            continue
        x, y = cell_xy
        f = filtered(x, y)
        cu, cv = (x - width // 2) / (width * cell), y / (width * cell)
        if taper is not None:
            f *= math.exp(-(math.pi**2) * taper**2 * (cu * cu + cv * cv) / (4 * math.log(2)))
        if (minuv and cu * cu + cv * cv < minuv**2) or (maxuv and cu * cu + cv * cv > maxuv**2):
            f = 0.0
        out[t, b, c] = (0.0 if vis.flags[t, b, c, 0] else vis.weight[t, b, c, 0]) * f
    return out


def test_natural_keeps_the_weights(vis, image):
    out = weight_visibility(vis, image, "natural")
    assert out is not vis and out.weight is vis.weight


@pytest.mark.parametrize(
    "weighting, options",
    [
        ("uniform", {}),
        ("uniform", {"rank_filter": 0}),
        ("uniform", {"rank_filter": 1.2, "rank_filter_size": 5}),
        ("robust", {"robustness": -1.0}),
        ("robust", {"robustness": 0.5, "rank_filter": 1.5, "rank_filter_size": 7}),
        ("robust", {"robustness": 1.5}),
        ("natural", {"taper": np.deg2rad(0.2), "minuv_l": 50.0, "maxuv_l": 400.0}),
        ("uniform", {"taper": np.deg2rad(0.3), "minuv_l": 80.0}),
    ],
)
def test_weights_against_wsclean_in_plain_loops(vis, image, weighting, options):
    """Every cell, factor, rank-filter cap, taper and uv limit as WSClean's loops give them
    (a sample off the grid, beyond 573 wavelengths, gets 0)."""
    o = dict(options)
    r = o.pop("robustness", 0.0)
    out = weight_visibility(vis, image, weighting, r, **o).weight[..., 0]
    expected = _reference(vis, image, weighting, r, o.get("rank_filter", 3.0),
                          o.get("rank_filter_size", 16), o.get("taper"), o.get("minuv_l", 0.0),
                          o.get("maxuv_l", 0.0))  # fmt: skip
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=0)
    assert np.count_nonzero(expected) > 0.5 * expected.size


def test_the_rank_filter_caps_some_weights(vis, fine):
    """On 0.01-degree cells the default filter (3, 16 cells) caps a few uniform weights, as
    WSClean's loops do; 0 turns it off."""
    on = weight_visibility(vis, fine, "uniform").weight
    off = weight_visibility(vis, fine, "uniform", rank_filter=0).weight
    capped = on < off * (1 - 1e-12)
    assert 0 < np.count_nonzero(capped) < 0.05 * capped.size
    assert np.all(on <= off * (1 + 1e-12))
    np.testing.assert_allclose(on[..., 0], _reference(vis, fine, "uniform"), rtol=1e-12, atol=0)


def test_weight_grid_shape_as_wsclean():
    """ceil(n · padding), rounded up to a multiple of 4, then / super_weight rounded, even."""
    assert weight_grid_shape(256, 256) == (308, 308)  # 307.2 -> 308
    assert weight_grid_shape(200, 100) == (240, 120)
    assert weight_grid_shape(34, 62) == (44, 76)  # 40.8 -> 41 -> 44, 74.4 -> 75 -> 76
    assert weight_grid_shape(64, 32, padding=1.0) == (64, 32)
    assert weight_grid_shape(128, 128, super_weight=2.5) == (62, 62)  # 156 / 2.5 = 62.4
    assert weight_grid_shape(100, 100, padding=1.0, super_weight=8.0) == (14, 14)  # 12.5 -> 13


def test_cells_floor_on_the_half_plane():
    """floor, not round; v < 0 counts at (-u, -v); the row v = 0 keeps both signs of u; the
    grid spans u in [-W/2, W/2) du, v in [0, H/2) dv."""
    cell, width, height = 1e-3, 10, 8
    cell_y = cell * width / height  # du = dv = 100 wavelengths
    du, dv = 1 / (width * cell), 1 / (height * cell_y)
    u = np.array([0.0, -1e-9, 0.99, 1.0, 2.5, -2.5, -0.5, 0.5, 4.99, 5.0, -5.0, 1.0, 1.0]) * du
    v = np.array([0.0, 0.0, 0.0, 0.0, 1.5, -1.5, 0.0, -1e-9, 0.0, 0.0, 0.0, 3.99, 4.0]) * dv
    x = np.array([5, 4, 5, 6, 7, 7, 4, 4, 9, -1, 0, 6, -1])
    y = np.array([0, 0, 0, 0, 1, 1, 0, 0, 0, -1, 0, 3, -1])
    expected = np.where(x >= 0, y * width + x, -1)
    np.testing.assert_array_equal(half_grid_cells(u, v, cell, cell_y, width, height), expected)


def _tiny(uv_du, weights, flags, frequency=(1e8,)):
    """Three baselines × two times with the given (u, v) (in cells of the 64-pixel image
    below), data weights and flags; and that image (0.05-degree pixels, grid 80 x 80)."""
    image = create_image(64, np.deg2rad(0.05), simple_visibility().phasecentre,
                         frequency=float(np.mean(frequency)), channel_bandwidth=2e8)  # fmt: skip
    vis = simple_visibility(random_configuration(nant=3), ntime=2, frequency=list(frequency))
    du = 1 / (80 * image.cellsize)
    lam = SPEED_OF_LIGHT / frequency[0]
    uvw = np.zeros((2, 3, 3))
    uvw[..., :2] = np.asarray(uv_du, float).reshape(2, 3, 2) * du * lam
    shape = vis.vis.shape
    return vis.replace(
        uvw=uvw,
        weight=np.asarray(weights, float).reshape(2, 3, 1, 1) * np.ones(shape),
        flags=np.asarray(flags, bool).reshape(2, 3, 1, 1) & np.ones(shape, bool),
    ), image


def test_uniform_and_briggs_by_hand():
    """Times × baselines: A (2.5, 3.5) w 1, C (2.6, 3.9) w 3 flagged, D (-0.5, 0) w 4;
    B (-2.4, -3.2) w 2 (A's cell, by its conjugate), F (40.5, 1) w 5 (off the grid),
    E (0.5, 0) w 6 (D's conjugate, but the row v = 0 is not folded: its own cell).
    Cells: (42, 3) holds 1 + 2, (39, 0) 4, (40, 0) 6."""
    vis, image = _tiny(
        [[(2.5, 3.5), (2.6, 3.9), (-0.5, 0.0)], [(-2.4, -3.2), (40.5, 1.0), (0.5, 0.0)]],
        [[1, 3, 4], [2, 5, 6]], [[False, True, False], [False, False, False]],
    )  # fmt: skip
    grid = grid_weights(vis, image)
    assert grid.data.shape == (1, 1, 40, 80)
    dens = grid.data[0, 0]
    assert (dens[3, 42], dens[0, 39], dens[0, 40]) == (3.0, 4.0, 6.0)
    assert dens.sum() == 13.0
    uni = weight_visibility(vis, image, "uniform", rank_filter=0).weight[..., 0, 0]
    np.testing.assert_allclose(uni, [[1 / 3, 0, 1], [2 / 3, 0, 1]], rtol=1e-15)
    for r in (-2.0, 0.0, 1.0):
        s2 = (5 * 10**-r) ** 2 / ((9 + 16 + 36) / 13)
        rob = weight_visibility(vis, image, "robust", r, rank_filter=0).weight[..., 0, 0]
        expected = [
            [1 / (1 + 3 * s2), 0, 4 / (1 + 4 * s2)],
            [2 / (1 + 3 * s2), 0, 6 / (1 + 6 * s2)],
        ]
        np.testing.assert_allclose(rob, expected, rtol=1e-14)


def test_channels_are_their_own_uv_points():
    """Each channel is a sample at its own (u, v) = uvw ν / c: channel 2 (2ν) of a baseline
    shares a cell with channel 1 of a baseline twice as long."""
    vis, image = _tiny(
        [[(3.2, 2.2), (6.4, 4.4), (10.1, 1.1)], [(20.3, 2.2), (0.3, 9.3), (0.4, 9.6)]],
        np.ones((2, 3)), np.zeros((2, 3)), frequency=(1e8, 2e8),
    )  # fmt: skip
    # channel 1: cells (x, y) (43, 2), (46, 4), (50, 1); (60, 2), (40, 9), (40, 9)
    # channel 2: (46, 4), (52, 8), (60, 2); (80, 4) off the grid, (40, 18), (40, 19)
    uni = weight_visibility(vis, image, "uniform", rank_filter=0).weight[..., 0]
    np.testing.assert_allclose(
        uni,
        [[[1, 1 / 2], [1 / 2, 1], [1, 1 / 2]], [[1 / 2, 0], [1 / 2, 1], [1 / 2, 1]]],
        rtol=1e-15,
    )


def test_rank_filter_by_hand():
    """Cap at level × the mean of the non-zero factors in rows [y-d, y+d), columns
    [x-d, x+d) (d = size // 2, clipped), from the unfiltered factors."""
    f = np.array([[10.0, 1.0, 1.0, 1.0, 0.0, 1.0, 9.0, 1.0]])
    out = rank_filter(f, 2.0, size=4)  # d = 2
    # x=0: [0, 2) -> 10, 1: mean 5.5, cap 11 -> kept; x=6: [4, 8) -> 1, 9, 1 (0 left out):
    # mean 11/3, cap 7.33 -> capped; x=1: [0, 3): 12/3 = 4 -> kept; x=4 stays 0
    np.testing.assert_allclose(out, [[10.0, 1.0, 1.0, 1.0, 0.0, 1.0, 22 / 3, 1.0]], rtol=1e-15)
    out = rank_filter(f, 1.0, size=4)
    np.testing.assert_allclose(out[0, [0, 6]], [5.5, 11 / 3], rtol=1e-15)
    assert out[0, 4] == 0 and out[0, 7] == 1.0  # x=7: [5, 8) -> 1, 9, 1: 11/3 > 1
    np.testing.assert_array_equal(rank_filter(f, 0.0), f)  # < 1: off
    np.testing.assert_array_equal(rank_filter(f, 3.0, size=1), f)  # an empty window
    two_d = np.ones((3, 3))
    two_d[1, 1] = 5.0
    # rows and columns [0, 3) for size 4 at (1, 1): mean 13/9, level 2 -> 26/9
    assert rank_filter(two_d, 2.0, size=4)[1, 1] == pytest.approx(26 / 9, rel=1e-15)


def test_uv_range_and_taper_at_the_cell_corner():
    """Cells, not samples, are cut and tapered, at their corner ((x - W/2) du, y dv): the
    sample at (3.9, 0) du lies in the cell whose corner is 3 du, cut by minuv 3.5 du."""
    vis, image = _tiny(
        [[(3.9, 0.0), (4.1, 0.0), (0.2, 2.3)], [(0.0, 30.2), (0.1, 29.9), (1.3, 1.4)]],
        np.ones((2, 3)), np.zeros((2, 3)),
    )  # fmt: skip
    du = 1 / (80 * image.cellsize)
    w = weight_visibility(vis, image, "natural", minuv_l=3.5 * du, maxuv_l=29.95 * du).weight
    np.testing.assert_array_equal(w[..., 0, 0], [[0, 1, 0], [0, 1, 0]])
    fwhm = np.deg2rad(0.5)
    w = weight_visibility(vis, image, "natural", taper=fwhm).weight[..., 0, 0]
    corners = np.array([[3, 4, 2], [30, 29, np.hypot(1, 1)]]) * du
    np.testing.assert_allclose(
        w, np.exp(-(np.pi**2) * fwhm**2 * corners**2 / (4 * np.log(2))), rtol=1e-13
    )


def test_robust_spans_uniform_to_natural(vis, image):
    uni = weight_visibility(vis, image, "uniform", rank_filter=0).weight
    nat = np.where(uni > 0, vis.weight, 0)  # on the grid and unflagged
    lo = weight_visibility(vis, image, "robust", robustness=-5.0, rank_filter=0).weight
    hi = weight_visibility(vis, image, "robust", robustness=5.0, rank_filter=0).weight
    on = uni > 0

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
    """The half plane of the padded image's grid (64 -> 80 cells): H/2 x W, summing the
    unflagged weights of the samples on it; the cell sizes travel in meta."""
    grid = grid_weights(vis, image)
    assert grid.data.shape == (1, 1, 40, 80) and grid.polarisation_frame == vis.polarisation_frame
    assert grid.meta["WGTCELLX"] == pytest.approx(image.cellsize, rel=1e-15)
    expected = _reference(vis, image, "natural", level=0)  # on the grid: the data weight
    assert grid.data.sum() == pytest.approx(expected.sum(), rel=1e-12)
    padded = grid_weights(vis, image, padding=1.5, super_weight=2.0)
    assert padded.data.shape == (1, 1, 24, 48)  # 96 / 2


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
    with pytest.raises(ImagingError, match="weight grids differ"):
        sum_grid_weights([grid_weights(vis, image), grid_weights(vis, image, padding=1.3)])
    with pytest.raises(ImagingError, match="make it with grid_weights"):
        apply_grid_weights(vis, image, "uniform")
    with pytest.raises(ImagingError, match="padding must be >= 1"):
        grid_weights(vis, image, padding=0.9)
    bad = [
        ({"rank_filter": 0.5}, r"rank_filter must be 0 \(off\) or >= 1, got 0.5"),
        ({"rank_filter": -1.0}, "rank_filter must be 0"),
        ({"rank_filter_size": 0}, "rank_filter_size must be an integer >= 1, got 0"),
        ({"rank_filter_size": 2.5}, "rank_filter_size must be an integer"),
        ({"minuv_l": -1.0}, "must be >= 0"),
        ({"maxuv_l": np.inf}, "must be >= 0"),
        ({"minuv_l": 100.0, "maxuv_l": 50.0}, r"minuv_l \(100.0\) must be below maxuv_l"),
        ({"taper": 0.0}, "taper must be > 0"),
        ({"rank_level": 2.0}, "unknown weighting options"),
    ]
    for options, message in bad:
        with pytest.raises(ImagingError, match=message):
            weight_visibility(vis, image, "uniform", **options)


def test_weighting_settings():
    """WSClean's defaults and options; needs_grid for all but plain natural weighting; apply
    is apply_grid_weights with them."""
    s = WeightingSettings("briggs", -0.5)
    assert (s.weighting, s.rank_filter, s.rank_filter_size, s.minuv_l, s.maxuv_l) == (
        "robust", 3.0, 16, 0.0, 0.0)  # fmt: skip
    assert s.needs_grid and s.changes_weights
    plain = WeightingSettings("natural")
    assert not plain.needs_grid and not plain.changes_weights
    for limited in ({"minuv_l": 10}, {"maxuv_l": 1e4}, {"taper": "20asec"}):
        assert WeightingSettings("natural", **limited).needs_grid
    assert WeightingSettings("natural", taper="20asec").taper == pytest.approx(
        np.deg2rad(20 / 3600), rel=1e-12)  # fmt: skip
    assert s.describe()["rank_filter"] == 3.0
    assert WeightingSettings(**s.describe()) == s
    with pytest.raises(ImagingError, match="rank_filter must be 0"):
        WeightingSettings("uniform", rank_filter=0.5)
    with pytest.raises(ImagingError, match="minuv_l must be a number"):
        WeightingSettings("uniform", minuv_l="10")
    with pytest.raises(ImagingError, match="needs the gridded weights"):
        s.apply(simple_visibility(), None)


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
