"""Högbom CLEAN (real and complex) against exact noise-free skies and a naive reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import fftconvolve

from uvflow.imaging import deconvolve_cube
from uvflow.imaging.deconvolution.conformance import point_source_dirty, synthetic_psf
from uvflow.imaging.deconvolution.hogbom import hogbom

N = 128
PIXELS = [(20, 30), (40, 100), (64, 64), (90, 20), (100, 90), (110, 50), (30, 60), (75, 110)]
FLUXES = [10.0, 3.0, 1.0, 0.5, 0.3, 0.2, 0.1, 5.0]


@pytest.fixture(scope="module")
def psf2():
    """A 20-antenna, 12-sample track PSF at twice the image size (every sidelobe present)."""
    return synthetic_psf(2 * N, [1.0e8])


@pytest.fixture(scope="module")
def field(psf2):
    return point_source_dirty(N, psf2, PIXELS, FLUXES)


def naive_hogbom(dirty, psf, window, gain, stop, niter):
    """Textbook Högbom: full-image argmax and a shifted PSF every iteration (the oracle)."""
    res = dirty.astype(np.complex128 if np.iscomplexobj(dirty) else np.float64).copy()
    model = np.zeros_like(res)
    ny, nx = res.shape
    cy, cx = psf.shape[0] // 2, psf.shape[1] // 2
    w = np.ones(res.shape) if window is None else window
    for _ in range(niter):
        a = np.abs(res) * w
        y, x = np.unravel_index(np.argmax(a), a.shape)
        if a[y, x] < stop:
            break
        mval = gain * res[y, x] / psf[cy, cx]
        model[y, x] += mval
        for yy in range(max(0, y - cy), min(ny, y - cy + psf.shape[0])):
            res[yy, max(0, x - cx) : min(nx, x - cx + psf.shape[1])] -= (
                mval * psf[yy - y + cy, max(0, cx - x) : min(psf.shape[1], nx - x + cx)]
            )
    return model, res


def box_flux(plane, y, x):
    return plane[y - 1 : y + 2, x - 1 : x + 2].sum()


def test_point_sources_recovered(field, psf2):
    sky, dirty = field
    stop = 2e-5 * np.abs(dirty.data).max()
    model, residual = deconvolve_cube(dirty, psf2, niter=5000, gain=0.1, fractional_threshold=2e-5)
    m = model.data[0, 0]
    for (y, x), f in zip(PIXELS, FLUXES):
        # noise-free, sources on pixel centres, PSF with every sidelobe: CLEAN converges to
        # the sky; what is left is below the stop (2e-4 Jy), i.e. < 0.2 % of the faintest
        # source; 1 % is the requirement
        assert box_flux(m, y, x) == pytest.approx(f, rel=0.01)
    # positions: every component lies within one pixel of a true source
    comps = np.argwhere(m != 0)
    dist = np.min(np.abs(comps[:, None, :] - np.array(PIXELS)[None]).max(axis=2), axis=1)
    assert dist.max() <= 1
    assert np.abs(residual.data).max() < stop
    assert model.meta["BUNIT"] == "JY/PIXEL" and residual.meta["BUNIT"] == "JY/BEAM"


def test_residual_is_dirty_minus_model_convolved(field, psf2):
    """With a cut PSF the residual is exactly dirty - model ⊛ (cut PSF): the patch updates add up."""
    sky, dirty = field
    model, residual = deconvolve_cube(
        dirty, psf2, niter=300, psf_support=20, fractional_threshold=0
    )
    cut = psf2.data[0, 0, N - 20 : N + 21, N - 20 : N + 21]
    conv = fftconvolve(model.data[0, 0], cut, mode="full")[20 : 20 + N, 20 : 20 + N]
    # float64 rounding of 300 patch subtractions: ~1e-14 of the peak
    assert np.abs(residual.data[0, 0] - (dirty.data[0, 0] - conv)).max() < 1e-12 * 10
    assert model.meta["NITER"] == 300


def test_fast_search_equals_naive_reference():
    """Tile-maxima peak search and patch updates give the textbook algorithm's components."""
    rng = np.random.default_rng(3)
    dirty = rng.normal(size=(40, 56))
    psf = rng.normal(size=(31, 27)) * 0.1
    psf[15, 13] = 1.0
    window = (rng.uniform(size=dirty.shape) > 0.3) * rng.uniform(0.2, 1.0, dirty.shape)
    m, r, n = hogbom(dirty, psf, window, 0.3, 0.5, 400, 0.0)
    m0, r0 = naive_hogbom(dirty, psf, window, 0.3, 0.5, 400)
    # identical choices; sums in a different order: rounding only
    assert np.abs(m - m0).max() < 1e-12 and np.abs(r - r0).max() < 1e-12


def test_threshold_stop(field, psf2):
    """Stops at the first peak below max(threshold, fractional_threshold · initial peak)."""
    sky, dirty = field
    peak0 = np.abs(dirty.data).max()
    for threshold, frac in ((0.5, 0.0), (0.0, 0.05), (0.3, 0.05)):
        stop = max(threshold, frac * peak0)
        model, residual = deconvolve_cube(
            dirty, psf2, niter=10000, threshold=threshold, fractional_threshold=frac
        )
        n = model.meta["NITER"]
        assert np.abs(residual.data).max() < stop
        # one component fewer and the peak was still at or above the stop: not stopped early
        _, before = deconvolve_cube(
            dirty, psf2, niter=n - 1, threshold=threshold, fractional_threshold=frac
        )
        assert np.abs(before.data).max() >= stop


def test_windows_and_masks(field, psf2):
    sky, dirty = field
    model, _ = deconvolve_cube(dirty, psf2, niter=500, window_shape="quarter")
    outside = np.ones((N, N), bool)
    outside[N // 4 : 3 * N // 4, N // 4 : 3 * N // 4] = False
    assert not np.any(model.data[0, 0][outside])
    # the one source inside the quarter gets the brightest component (its flux is not
    # checked: sidelobes of the 10 Jy source outside the window lie on it, uncleanable)
    iy, ix = np.unravel_index(np.argmax(model.data[0, 0]), (N, N))
    assert max(abs(iy - 64), abs(ix - 64)) <= 1
    model, _ = deconvolve_cube(dirty, psf2, niter=500, window_shape="no_edge", window_edge=25)
    assert not np.any(model.data[0, 0, :25]) and not np.any(model.data[0, 0, :, -25:])
    mask = np.zeros((N, N), bool)
    mask[15:26, 25:36] = True  # only the 10 Jy source at (20, 30)
    model, _ = deconvolve_cube(dirty, psf2, niter=500, mask=mask, fractional_threshold=0.001)
    assert np.count_nonzero(model.data) >= 1 and not np.any(model.data[0, 0][~mask])
    iy, ix = np.unravel_index(np.argmax(np.abs(model.data[0, 0])), (N, N))
    assert max(abs(iy - 20), abs(ix - 30)) <= 1
    # the other sources' sidelobes on it are uncleanable here: ~5 % of its flux
    assert box_flux(model.data[0, 0], 20, 30) == pytest.approx(10.0, rel=0.1)


def test_planes_are_independent(psf2):
    """Each (channel, pol) plane is cleaned on its own: a cube equals its planes one by one."""
    psf = synthetic_psf(2 * 64, [1.0e8, 1.1e8], polarisation_frame="stokesIV")
    fl = np.array([[[2.0, 0.2], [1.8, 0.1]], [[1.0, -0.3], [1.2, -0.2]]])  # [src, chan, pol]
    _, dirty = point_source_dirty(64, psf, [(20, 30), (40, 44)], fl)
    model, residual = deconvolve_cube(dirty, psf, niter=200, fractional_threshold=0.01)
    for c in range(2):
        for p in range(2):
            m, r, _ = hogbom(dirty.data[c, p], psf.data[c, p], None, 0.1, 0.0, 200, 0.01)
            assert np.array_equal(model.data[c, p], m) and np.array_equal(residual.data[c, p], r)


def test_float32_kept_and_inputs_untouched(field, psf2):
    sky, dirty = field
    d32 = dirty.replace(data=dirty.data.astype(np.float32))
    before = d32.data.copy()
    model, residual = deconvolve_cube(d32, psf2, niter=50)
    assert model.data.dtype == np.float32 and residual.data.dtype == np.float32
    assert np.array_equal(d32.data, before)
    assert model.wcs.to_header() == dirty.wcs.to_header()


def test_hogbom_complex_recovers_polarisation():
    """Complex Högbom on Q + iU: complex components equal the injected P = Q + iU."""
    n = 96
    psf = synthetic_psf(2 * n, [1.0e8], polarisation_frame="stokesIQUV")
    pixels = [(30, 30), (60, 70), (40, 75)]
    stokes = np.array([[4.0, 1.0, 0.5, 0.1], [2.0, -0.4, 0.6, 0.0], [1.0, 0.2, -0.3, -0.05]])
    _, dirty = point_source_dirty(n, psf, pixels, stokes[:, None, :])
    model, residual = deconvolve_cube(
        dirty, psf, algorithm="hogbom-complex", niter=3000, fractional_threshold=1e-4
    )
    for (y, x), s in zip(pixels, stokes):
        p = box_flux(model.data[0, 1], y, x) + 1j * box_flux(model.data[0, 2], y, x)
        # |P| within 1 % and the angle within 0.5 degree (noise-free, cleaned to 1e-4 of peak)
        assert abs(p) == pytest.approx(abs(s[1] + 1j * s[2]), rel=0.01)
        assert np.angle(p / (s[1] + 1j * s[2]), deg=True) == pytest.approx(0.0, abs=0.5)
        assert box_flux(model.data[0, 0], y, x) == pytest.approx(s[0], rel=0.01)
    # the complex path is the naive complex algorithm (peak on |P|)
    pdirty = dirty.data[0, 1] + 1j * dirty.data[0, 2]
    stop = 1e-4 * np.abs(pdirty).max()
    m0, r0 = naive_hogbom(pdirty, psf.data[0, 1], None, 0.1, stop, 3000)
    assert np.abs(model.data[0, 1] + 1j * model.data[0, 2] - m0).max() < 1e-10


@settings(max_examples=15, deadline=None)
@given(
    gain=st.floats(0.05, 1.5),
    seed=st.integers(0, 1000),
    support=st.integers(3, 40),
)
def test_residual_identity_property(gain, seed, support):
    """For any gain, sky and PSF support: residual = dirty - model ⊛ psf, and |model| stays bounded."""
    rng = np.random.default_rng(seed)
    dirty = rng.normal(size=(32, 40))
    psf = np.exp(-0.5 * (np.add.outer(np.arange(-support, support + 1) ** 2,
                                      np.arange(-support, support + 1) ** 2)) / 4.0)  # fmt: skip
    m, r, _ = hogbom(dirty, psf, None, gain, 0.0, 100, 0.0)
    conv = fftconvolve(m, psf, mode="full")[support : support + 32, support : support + 40]
    assert np.abs(r - (dirty - conv)).max() < 1e-10
