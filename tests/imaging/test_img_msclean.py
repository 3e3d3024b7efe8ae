"""Multi-scale CLEAN: point sources, extended emission, scale functions, windows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from uvflow.imaging import deconvolve_cube
from uvflow.imaging.deconvolution.conformance import point_source_dirty, synthetic_psf
from uvflow.imaging.deconvolution.hogbom import hogbom
from uvflow.imaging.deconvolution.msclean import msclean
from uvflow.imaging.deconvolution.scales import cross_scale_psf, scale_kernel, spheroidal

N = 128
PIXELS = [(20, 30), (40, 100), (64, 64), (90, 20), (100, 90), (110, 50), (30, 60), (75, 110)]
FLUXES = [10.0, 3.0, 1.0, 0.5, 0.3, 0.2, 0.1, 5.0]


@pytest.fixture(scope="module")
def psf2():
    return synthetic_psf(2 * N, [1.0e8])


@pytest.fixture(scope="module")
def extended(psf2):
    """Two points (2 + 1 Jy) and a Gaussian blob of 5 Jy, FWHM 12 pixels, centred (70, 55)."""
    sky, dirty = point_source_dirty(N, psf2, [(40, 40), (90, 100)], [2.0, 1.0])
    yy, xx = np.mgrid[:N, :N]
    blob = np.exp(-0.5 * ((yy - 70) ** 2 + (xx - 55) ** 2) / (12 / 2.3548) ** 2)
    blob *= 5.0 / blob.sum()
    conv = fftconvolve(blob, psf2.data[0, 0], mode="full")[N : 2 * N, N : 2 * N]
    return dirty.replace(data=dirty.data + conv), blob


def test_point_sources_recovered(psf2):
    _, dirty = point_source_dirty(N, psf2, PIXELS, FLUXES)
    model, residual = deconvolve_cube(
        dirty, psf2, algorithm="msclean", niter=5000, fractional_threshold=2e-5
    )
    m = model.data[0, 0]
    for (y, x), f in zip(PIXELS, FLUXES):
        # noise-free on pixel centres: point components win (the χ² criterion prefers scale
        # 0 for a point); left over is below the 2e-4 Jy stop, < 0.2 % of the faintest source
        assert m[y - 1 : y + 2, x - 1 : x + 2].sum() == pytest.approx(f, rel=0.01)
    comps = np.argwhere(m != 0)
    dist = np.min(np.abs(comps[:, None, :] - np.array(PIXELS)[None]).max(axis=2), axis=1)
    assert dist.max() <= 1
    # the residual the cycle tracked is the true one: it stopped below the threshold
    assert np.abs(residual.data).max() < 2e-5 * np.abs(dirty.data).max()


def test_extended_emission_beats_hogbom(extended, psf2):
    dirty, blob = extended
    out = {}
    for alg in ("hogbom", "msclean"):
        model, residual = deconvolve_cube(
            dirty, psf2, algorithm=alg, niter=1000, fractional_threshold=0.0
        )
        out[alg] = (model.data[0, 0], float(np.sqrt(np.mean(residual.data**2))))
    m, rms = out["msclean"]
    # measured: msclean rms 2.8e-4 Jy/beam against Högbom's 1.0e-3 after 1000 components
    assert rms < 0.5 * out["hogbom"][1]
    # total flux 8 Jy within 1 % (measured 0.4 % low; Högbom is 1.6 % low)
    assert m.sum() == pytest.approx(8.0, rel=0.01)
    # the blob's flux sits in the blob (within 2.5 FWHM of its centre): within 2 %
    yy, xx = np.mgrid[:N, :N]
    inside = np.hypot(yy - 70, xx - 55) < 30
    assert m[inside].sum() == pytest.approx(5.0, rel=0.02)
    # and the model is smooth there: a scale-blob model, not a bed of nails — its largest
    # pixel is within a factor 3 of the blob's peak (Högbom's is many times it)
    assert m[inside].max() < 3 * blob.max() < out["hogbom"][0][inside].max()


def test_scale_zero_only_is_hogbom(psf2):
    _, dirty = point_source_dirty(N, psf2, PIXELS, FLUXES)
    d, p = dirty.data[0, 0], psf2.data[0, 0]
    m1, r1, n1 = msclean(d, p, None, 0.1, 0.0, 400, (0,), 0.001, 0.6)
    m2, r2, n2 = hogbom(d, p, None, 0.1, 0.0, 400, 0.001)
    assert n1 == n2 and np.abs(m1 - m2).max() < 1e-12 and np.abs(r1 - r2).max() < 1e-12


def test_scale_kernels():
    # ψ(0) = 1 and ψ(1) = 0 for Schwab's m = 6, α = 1 function; continuous at ν = 0.75
    assert spheroidal(np.array([0.0]))[0] == pytest.approx(1.0, abs=1e-6)
    assert spheroidal(np.array([1.0]))[0] == pytest.approx(0.0, abs=5e-3)
    lo, hi = spheroidal(np.array([0.75 - 1e-9, 0.75]))
    assert lo == pytest.approx(hi, abs=1e-6)
    assert np.all(np.diff(spheroidal(np.linspace(0, 1, 50))) <= 0)
    assert np.array_equal(scale_kernel(0), np.ones((1, 1)))
    for s in (3, 10, 30):
        k = scale_kernel(s)
        h = k.shape[0] // 2
        assert k.shape == (2 * int(np.ceil(s / 2)) + 1,) * 2
        assert k.sum() == pytest.approx(1.0, abs=1e-12) and np.all(k >= 0)
        assert np.allclose(k, k.T) and np.allclose(k, k[::-1]) and k.argmax() == k.size // 2
        yy, xx = np.indices(k.shape)
        assert not np.any(k[np.hypot(yy - h, xx - h) >= s / 2])  # support: r < s/2


def test_cross_scale_psf_is_double_convolution(psf2):
    p = psf2.data[0, 0, N - 20 : N + 21, N - 24 : N + 25]  # odd and unequal sides
    ks = [scale_kernel(s) for s in (0, 3, 10)]
    stack, centre = cross_scale_psf(p, ks)
    H = 2 * 5
    assert centre == (20 + H, 24 + H)
    for s, ka in enumerate(ks):
        for q, kb in enumerate(ks):
            direct = fftconvolve(fftconvolve(p, ka, mode="full"), kb, mode="full")
            off = H - (ka.shape[0] // 2 + kb.shape[0] // 2)
            sub = stack[s, q, off : off + direct.shape[0], off : off + direct.shape[1]]
            # FFT rounding only; and nothing outside the double convolution's support
            assert np.abs(sub - direct).max() < 1e-12
            assert abs(stack[s, q].sum() - direct.sum()) < 1e-10


def test_components_respect_window_and_border(extended, psf2):
    dirty, _ = extended
    mask = np.zeros((N, N))
    mask[50:95, 35:80] = 1.0
    model, _ = deconvolve_cube(dirty, psf2, algorithm="msclean", niter=300, mask=mask)
    # blobs, not only their centres, stay inside the window (a blob may only be centred
    # where >= 90 % of it is inside; the rest of it lies just outside by < its radius)
    m = model.data[0, 0]
    assert m[mask > 0].sum() > 0.98 * m.sum()


def test_edge_emission_converges(psf2):
    """Extended emission at the image border: blobs never hang over the edge (a cut blob
    would make the tracked residual disagree with dirty - model ⊛ psf and stall the cycle)."""
    yy, xx = np.mgrid[:N, :N]
    blob = np.exp(-0.5 * ((yy - 4) ** 2 + (xx - 64) ** 2) / 4.0**2)
    blob[0, 3] += 0.5
    conv = fftconvolve(blob, psf2.data[0, 0], mode="full")[N : 2 * N, N : 2 * N]
    sky, dirty = point_source_dirty(N, psf2, [(64, 64)], [0.0])
    dirty = dirty.replace(data=conv[None, None])
    stop = 0.002 * np.abs(conv).max()
    model, residual = deconvolve_cube(
        dirty, psf2, algorithm="msclean", niter=5000, fractional_threshold=0.002
    )
    assert model.meta["NITER"] < 5000  # stopped by the threshold, not the iteration limit
    assert np.abs(residual.data).max() < stop
