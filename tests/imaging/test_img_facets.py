"""Image facets: exact scatter/gather, partition of unity, WCS, and facet-parallel cleaning."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from hypothesis import given, settings
from hypothesis import strategies as st

from uvflow.datamodels import create_image
from uvflow.imaging import (
    clean_threshold,
    deconvolve_cube,
    deconvolve_facet,
    facet_layout,
    facet_round_threshold,
    facet_weight,
    image_gather_facets,
    image_residual,
    image_scatter_facets,
    psf_sidelobe_level,
)
from uvflow.imaging.deconvolution.conformance import point_source_dirty, synthetic_psf
from uvflow.imaging.errors import ImagingError

CENTRE = SkyCoord(ra=150.0, dec=20.0, unit="deg")


def random_image(ny, nx, seed=0, nchan=2):
    im = create_image((ny, nx), np.deg2rad(0.01), CENTRE, [1.0e8, 1.1e8][:nchan],
                      polarisation_frame="stokesIV")  # fmt: skip
    im.data[...] = np.random.default_rng(seed).normal(size=im.shape)
    return im


@st.composite
def layouts(draw):
    facets = draw(st.integers(1, 4))
    ny = draw(st.integers(facets, 70))
    nx = draw(st.integers(facets, 70))
    smallest = min(ny // facets, nx // facets)
    overlap = draw(st.integers(0, smallest // 2)) if facets > 1 else draw(st.integers(0, 5))
    taper = draw(st.sampled_from([None, "flat", "linear", "tukey"]))
    return ny, nx, facets, overlap, taper


@settings(max_examples=60, deadline=None)
@given(layout=layouts(), seed=st.integers(0, 100))
def test_scatter_gather_is_exact(layout, seed):
    ny, nx, facets, overlap, taper = layout
    im = random_image(ny, nx, seed)
    parts = image_scatter_facets(im, facets, overlap, taper)
    assert len(parts) == facets**2
    back = image_gather_facets(parts, im, overlap, taper)
    # weights summing to 1 (to one rounding) times the same pixels: 1e-12 is ~1e4 ulp
    assert np.abs(back.data - im.data).max() < 1e-12
    total = np.zeros((ny, nx))
    for i, (y0, y1, x0, x1) in enumerate(facet_layout(ny, nx, facets, overlap)):
        w = facet_weight(ny, nx, facets, i, overlap, taper)
        assert w.shape == (y1 - y0, x1 - x0) and np.all((w >= 0) & (w <= 1))
        total[y0:y1, x0:x1] += w
    assert np.abs(total - 1.0).max() < 1e-12


@settings(max_examples=30, deadline=None)
@given(layout=layouts())
def test_facets_are_views_with_shifted_wcs(layout):
    ny, nx, facets, overlap, taper = layout
    im = random_image(ny, nx, nchan=1)
    for f, (y0, y1, x0, x1) in zip(
        image_scatter_facets(im, facets, overlap, taper), facet_layout(ny, nx, facets, overlap)
    ):
        assert np.shares_memory(f.data, im.data)
        assert np.array_equal(f.data, im.data[..., y0:y1, x0:x1])
        # every facet pixel keeps its sky position
        a, b = (
            f.pixel_to_sky([0, f.nx - 1], [0, f.ny - 1]),
            im.pixel_to_sky([x0, x1 - 1], [y0, y1 - 1]),
        )
        assert np.all(a.separation(b).arcsec < 1e-6)


def test_central_tiles_cover_the_image_once():
    """With the flat taper each pixel belongs to exactly one facet's central tile."""
    owners = np.zeros((50, 61), int)
    for i, (y0, y1, x0, x1) in enumerate(facet_layout(50, 61, 3, 6)):
        owners[y0:y1, x0:x1] += facet_weight(50, 61, 3, i, 6, "flat").astype(int)
    assert np.all(owners == 1)
    # the layout: tiles cut at (k N) // facets, grown by the overlap inside the image
    assert facet_layout(50, 61, 3, 6)[4] == (16 - 6, 33 + 6, 20 - 6, 40 + 6)
    assert facet_layout(50, 61, 3, 6)[0] == (0, 16 + 6, 0, 20 + 6)


def test_facet_errors():
    im = random_image(40, 40, nchan=1)
    with pytest.raises(ImagingError, match="overlap 11 too large"):
        image_scatter_facets(im, 2, 11)
    with pytest.raises(ImagingError, match="taper 'cosine' unknown"):
        image_scatter_facets(im, 2, 2, "cosine")
    with pytest.raises(ImagingError, match="facets .per axis. must be an integer >= 1"):
        image_scatter_facets(im, 0)
    parts = image_scatter_facets(im, 2, 4, "linear")
    with pytest.raises(ImagingError, match="expected facets\\*\\*2 facet images, got 3"):
        image_gather_facets(parts[:3], im, 4, "linear")
    with pytest.raises(ImagingError, match="scattered with overlap 4"):
        image_gather_facets(parts, im, 4, "tukey")
    with pytest.raises(ImagingError, match="facet 0 has shape"):
        image_gather_facets(image_scatter_facets(im, 2, 2, "linear"), im, 4, "linear")


# ---- facet-parallel minor cycle -------------------------------------------------------

N = 128
PIXELS = [(20, 30), (40, 100), (64, 64), (90, 20), (100, 90), (110, 50), (30, 60), (75, 110),
          (62, 40), (66, 90), (10, 66), (120, 62), (58, 70), (70, 58)]  # fmt: skip
FLUXES = [10.0, 3.0, 1.0, 0.5, 0.3, 0.2, 0.1, 5.0, 2.0, 4.0, 1.5, 0.7, 6.0, 3.0]


@pytest.fixture(scope="module")
def field():
    """14 sources, several on or near the facet borders at 64 (x and y)."""
    psf2 = synthetic_psf(2 * N, [1.0e8])
    _, dirty = point_source_dirty(N, psf2, PIXELS, FLUXES)
    return psf2, dirty


def facet_clean(dirty, psf, stop, facets, overlap, taper, max_rounds=20):
    """What a facet-parallel workflow does (serially here): rounds of scatter, clean every
    facet to a shared threshold, gather, exact image-plane residual."""
    sidelobe = psf_sidelobe_level(psf)
    model, residual, rounds = dirty.copy(zero=True), dirty, 0
    while np.abs(residual.data).max() >= stop and rounds < max_rounds:
        level = facet_round_threshold(residual, sidelobe, stop)
        parts = [
            deconvolve_facet(f, psf, threshold=level, niter=20000, gain=0.1)[0]
            for f in image_scatter_facets(residual, facets, overlap, taper)
        ]
        model.data += image_gather_facets(parts, dirty, overlap, taper).data
        residual = image_residual(dirty, model, psf)
        rounds += 1
    return model, residual, rounds


@pytest.mark.parametrize("frac", [0.1, 0.01])
@pytest.mark.parametrize("taper,overlap", [("linear", 16), ("tukey", 8), ("tukey", 32)])
def test_facet_deconvolution_matches_single(field, frac, taper, overlap):
    psf2, dirty = field
    stop = clean_threshold(dirty.data, None, 0.0, frac)
    single, _ = deconvolve_cube(dirty, psf2, niter=20000, threshold=stop, fractional_threshold=0)
    rms1 = float(np.sqrt(np.mean(image_residual(dirty, single, psf2).data ** 2)))
    model, residual, rounds = facet_clean(dirty, psf2, stop, 2, overlap, taper)
    rms = float(np.sqrt(np.mean(residual.data**2)))
    assert np.abs(residual.data).max() < stop and rounds < 20  # cleaned everywhere
    # The acceptance criterion: the facets' residual rms within 1 % of the single-facet one
    # (one-sided: cleaning deeper is allowed). Both stop at the same absolute threshold with
    # components found in a different order; measured ratios (frac 0.1 / 0.01): linear 16
    # 0.926 / 0.951, tukey 8 0.924 / 0.942, tukey 32 0.967 / 1.0095 (stable to 1e-9
    # perturbations of the dirty image). Deeper (fractional 1e-3, not tested) the ratio is
    # 1.4-1.6, still 5e-5 of the peak: CLEAN's non-unique component placement near bright
    # pairs, settled differently by rounds.
    assert rms <= 1.01 * rms1
    # the model is the sky's: every source's flux in its 3x3 box within 2 threshold units
    for (y, x), f in zip(PIXELS, FLUXES):
        assert model.data[0, 0, y - 1 : y + 2, x - 1 : x + 2].sum() == pytest.approx(
            f, abs=2 * stop
        )


def test_one_round_with_a_high_threshold(field):
    """The classic parallel minor cycle: one round at a threshold above the sidelobes."""
    psf2, dirty = field
    stop = clean_threshold(dirty.data, None, 0.0, 0.1)  # 1 Jy: above every sidelobe here
    assert psf_sidelobe_level(psf2) * np.abs(dirty.data).max() < stop
    parts = [
        deconvolve_facet(f, psf2, threshold=stop, niter=5000)[0]
        for f in image_scatter_facets(dirty, 2, 16, "tukey")
    ]
    model = image_gather_facets(parts, dirty, 16, "tukey")
    residual = image_residual(dirty, model, psf2)
    single, _ = deconvolve_cube(dirty, psf2, niter=5000, threshold=stop, fractional_threshold=0)
    rms1 = float(np.sqrt(np.mean(image_residual(dirty, single, psf2).data ** 2)))
    rms = float(np.sqrt(np.mean(residual.data**2)))
    # within 1 % of the single minor cycle's rms (measured 0.988 of it)
    assert rms <= 1.01 * rms1
    # the sources around the facets' common corner (64, 64) are cleaned as deeply as by
    # the single minor cycle (to within one threshold unit: 1 Jy)
    box = (0, 0, slice(56, 73), slice(56, 73))
    assert model.data[box].sum() == pytest.approx(single.data[box].sum(), abs=stop)
    assert model.data[box].sum() > 7.0


@pytest.mark.parametrize("algorithm", ["hogbom", "msclean", "mmclean"])
def test_facet_kernel_runs_every_algorithm(algorithm):
    """deconvolve_facet on a spectral cube: facet-shaped results that gather to the image."""
    psf = synthetic_psf(2 * 48, [0.9e8, 1.0e8, 1.1e8])
    _, dirty = point_source_dirty(48, psf, [(12, 14), (30, 33), (24, 23)], [1.0, 2.0, 0.5])
    level = 0.25  # above sidelobe x peak (0.19 Jy): one round is the classic parallel cycle
    assert psf_sidelobe_level(psf) * np.abs(dirty.data).max() < level
    own = {"hogbom": {}, "msclean": {"scales": (0, 3)}, "mmclean": {"scales": (0, 3), "nmoment": 2}}
    kw = dict(algorithm=algorithm, niter=500, **own[algorithm])
    models = []
    for f in image_scatter_facets(dirty, 2, 6, "tukey"):
        m, r = deconvolve_facet(f, psf, threshold=level, **kw)
        assert m.shape == f.shape and r.shape == f.shape and m.meta["FACET"] == f.meta["FACET"]
        models.append(m)
    model = image_gather_facets(models, dirty, 6, "tukey")
    single, _ = deconvolve_cube(dirty, psf, threshold=level, fractional_threshold=0.0, **kw)
    # the same flux per channel as one minor cycle over the whole image (measured within
    # 0.06 Jy): both leave up to one threshold (0.25 Jy) per source uncleaned, the facets in
    # slightly different amounts; 0.15 Jy bounds it
    total, total1 = model.data[:, 0].sum(axis=(-2, -1)), single.data[:, 0].sum(axis=(-2, -1))
    assert total == pytest.approx(total1, abs=0.15)
    assert np.all(total > 2.5)
