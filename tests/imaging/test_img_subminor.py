"""Sub-minor loops (Högbom, complex Högbom, multi-scale, MS-MFS) against the plain minor cycle.

The plain cycle (``subminor=False``) is the reference: every iteration searches and updates
the whole image. A sub-minor loop cleans among selected pixels only and subtracts its
components from the full image at its end; it must make the plain cycle's components where
no unselected pixel can become the brightest during a loop (everything selected; isolated
point sources above the threshold), keep the residual ``dirty - model ⊛ psf`` exact, and
follow niter and the thresholds exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from uvflow.imaging import deconvolve_cube
from uvflow.imaging.deconvolution import mmclean as mmclean_module
from uvflow.imaging.deconvolution import subminor, subtract_components
from uvflow.imaging.deconvolution.clean_parameters import clean_threshold
from uvflow.imaging.deconvolution.conformance import point_source_dirty, synthetic_psf
from uvflow.imaging.deconvolution.hogbom import hogbom
from uvflow.imaging.deconvolution.mmclean import mmclean, moment_residuals, taylor_offsets
from uvflow.imaging.deconvolution.msclean import msclean
from uvflow.imaging.deconvolution.psf_support import far_sidelobe
from uvflow.imaging.deconvolution.scales import scale_kernel

N = 256
# isolated point sources (>= 40 pixels apart), 0.05-10 Jy, on pixel centres
PIXELS = [(30, 40), (60, 200), (128, 128), (180, 30), (200, 220), (230, 100), (90, 110), (40, 150)]
FLUXES = [10.0, 3.0, 1.0, 0.5, 0.3, 0.2, 0.05, 5.0]


@pytest.fixture(scope="module")
def psf2():
    return synthetic_psf(2 * N, [1.0e8])


@pytest.fixture(scope="module")
def points(psf2):
    _, dirty = point_source_dirty(N, psf2, PIXELS, FLUXES)
    return dirty.data[0, 0], psf2.data[0, 0]


@pytest.fixture
def loops(monkeypatch):
    """Counts the sub-minor loops run (and the components each made)."""
    made = []
    run = subminor._loop

    def counting(*args, **kwargs):
        picks, last = run(*args, **kwargs)
        made.append(len(picks))
        return picks, last

    monkeypatch.setattr(subminor, "_loop", counting)
    return made


def convolved(model, psf):
    """``model ⊛ psf`` on the model's grid (linear), psf peak at its centre pixel."""
    cy, cx = psf.shape[0] // 2, psf.shape[1] // 2
    full = fftconvolve(model, psf, mode="full")
    return full[cy : cy + model.shape[0], cx : cx + model.shape[1]]


def test_everything_selected_is_the_plain_cycle(loops):
    """A window of at most SELECTION_SIZE pixels is selected whole: one loop, the plain
    cycle's components bit for bit (the residual to rounding: it is updated at once)."""
    rng = np.random.default_rng(3)
    dirty = rng.normal(size=(40, 56))
    psf = rng.normal(size=(31, 27)) * 0.1
    psf[15, 13] = 1.0
    window = (rng.uniform(size=dirty.shape) > 0.3) * rng.uniform(0.2, 1.0, dirty.shape)
    for d in (dirty, dirty + 1j * rng.normal(size=dirty.shape)):  # real and complex Högbom
        loops.clear()
        m0, r0, n0 = hogbom(d, psf, window, 0.3, 0.5, 400, 0.0, subminor=False)
        m1, r1, n1 = hogbom(d, psf, window, 0.3, 0.5, 400, 0.0)
        assert loops == [n1] and n1 == n0
        assert np.array_equal(m1, m0) and np.abs(r1 - r0).max() < 1e-13
    m0, r0, n0 = msclean(dirty, psf, None, 0.2, 0.0, 300, (0, 3, 6), 0.01, subminor=False)
    m1, r1, n1 = msclean(dirty, psf, None, 0.2, 0.0, 300, (0, 3, 6), 0.01, selection_size=10**6)
    assert n1 == n0 and np.array_equal(m1, m0) and np.abs(r1 - r0).max() < 1e-13


@pytest.mark.parametrize("selection_size", [subminor.SELECTION_SIZE, 2000, 300])
def test_isolated_point_sources_same_components(points, loops, selection_size):
    """Isolated point sources above the threshold: whatever the selection's size (here from
    a quarter of the 256² image down to 300 pixels), the sub-minor loops make the plain
    cycle's components, in several loops."""
    dirty, psf = points
    m0, r0, n0 = hogbom(dirty, psf, None, 0.1, 0.0, 3000, 1e-3, subminor=False)
    m1, r1, n1 = hogbom(dirty, psf, None, 0.1, 0.0, 3000, 1e-3, selection_size=selection_size)
    assert len(loops) > 1 and sum(loops) == n1 == n0
    # the same components; float64 sums in another order (the FFT or patch updates): rounding
    assert np.abs(m1 - m0).max() < 1e-12 and np.abs(r1 - r0).max() < 1e-12
    assert set(map(tuple, np.argwhere(m1 != 0))) == set(PIXELS)


def test_isolated_points_multiscale_and_complex(points, loops):
    """The same holds for multi-scale CLEAN (the pairs of all scales selected together) and
    for complex Högbom of polarised point sources."""
    dirty, psf = points
    m0, r0, n0 = msclean(dirty, psf, None, 0.1, 0.0, 2000, (0, 3, 10), 1e-3, subminor=False)
    m1, r1, n1 = msclean(dirty, psf, None, 0.1, 0.0, 2000, (0, 3, 10), 1e-3)
    assert len(loops) > 1 and n1 == n0
    assert np.abs(m1 - m0).max() < 1e-12 and np.abs(r1 - r0).max() < 1e-12
    angle = np.exp(1j * np.linspace(0, 3, len(PIXELS)))
    _, q = point_source_dirty(N, synthetic_psf(2 * N, [1.0e8]), PIXELS, FLUXES * angle.real)
    _, u = point_source_dirty(N, synthetic_psf(2 * N, [1.0e8]), PIXELS, FLUXES * angle.imag)
    p = q.data[0, 0] + 1j * u.data[0, 0]
    loops.clear()
    m0, r0, n0 = hogbom(p, psf, None, 0.1, 0.0, 3000, 1e-3, subminor=False)
    m1, r1, n1 = hogbom(p, psf, None, 0.1, 0.0, 3000, 1e-3, selection_size=500)
    assert len(loops) > 1 and n1 == n0
    assert np.abs(m1 - m0).max() < 1e-12 and np.abs(r1 - r0).max() < 1e-12


@pytest.fixture(scope="module")
def spectral():
    """Power-law point sources (α from -1 to 0.5) on 5 channels, ±20 % about 100 MHz."""
    n, freq = 128, np.linspace(0.8e8, 1.2e8, 5)
    pixels = [(20, 30), (40, 100), (64, 64), (90, 20), (100, 90), (110, 50), (30, 60)]
    s0 = np.array([10.0, 3.0, 1.0, 5.0, 2.0, 0.3, 0.1])
    alpha = np.array([-1.0, 0.5, -0.7, 0.0, -0.3, -1.0, 0.5])
    psf = synthetic_psf(2 * n, freq)
    fluxes = s0[:, None] * (freq[None, :] / freq.mean()) ** alpha[:, None]
    _, dirty = point_source_dirty(n, psf, pixels, fluxes)
    return dirty.data[:, 0], psf.data[:, 0], taylor_offsets(freq)


@pytest.mark.parametrize("route", ["fft", "patches"])
@pytest.mark.parametrize("findpeak", ["RASCIL", "Algorithm1", "CASA"])
def test_mmclean_same_components(spectral, loops, monkeypatch, findpeak, route):
    """MS-MFS CLEAN: the selected (scale, pixel) pairs carry every moment's residual; whole
    selection = the plain cycle bit for bit; loops over a few thousand pairs of 3 x 128²
    make its components to rounding (isolated power-law point sources), the loops'
    components subtracted from every (scale, moment) plane by FFT or by patches."""
    monkeypatch.setattr(subtract_components, "_DIRECT_COST", 1e9 if route == "fft" else 0.0)
    d, b, t = spectral
    args = (d, b, t, None, 0.1, 0.0, 1500, (0, 3, 10), 1e-3, 2, findpeak)
    a0, n0 = mmclean(*args, subminor=False)
    a1, n1 = mmclean(*args, selection_size=10**6)
    assert n1 == n0 and loops == [n1] and np.array_equal(a1, a0)
    loops.clear()
    a2, n2 = mmclean(*args, selection_size=2000)
    assert n2 == n0 and len(loops) > 1 and np.abs(a2 - a0).max() < 1e-12


def test_mmclean_one_moment(spectral, loops):
    """One Taylor term with scales: the component is the principal solution ``gain · R / H_s``
    (not ``gain · R``: H_s, the scale's PSF peak, is not 1); the whole selection is the
    plain cycle bit for bit."""
    d, b, t = spectral
    args = (d, b, t, None, 0.1, 0.0, 600, (0, 3, 10), 1e-3, 1)
    a0, n0 = mmclean(*args, subminor=False)
    a1, n1 = mmclean(*args, selection_size=10**6)
    assert n1 == n0 == 600 and loops == [n1] and np.array_equal(a1, a0)


def test_mmclean_stops_and_counts_exactly(spectral):
    """The moment-0 residual (smallest scale) ends below the stop; one component fewer
    leaves it at or above; niter counts components (float32 in, float32 out)."""
    d, b, t = spectral
    stop = 1e-2 * np.abs(d.mean(0)).max()
    a, n = mmclean(d, b, t, None, 0.1, 0.0, 10**5, (0, 3), 1e-2, 2, selection_size=2000)
    assert n < 10**5 and np.abs(moment_residuals(d, b, t, a)[0]).max() < stop
    a, _ = mmclean(d, b, t, None, 0.1, 0.0, n - 1, (0, 3), 1e-2, 2, selection_size=2000)
    assert np.abs(moment_residuals(d, b, t, a)[0]).max() >= stop
    a32, n32 = mmclean(d.astype(np.float32), b.astype(np.float32), t, None, 0.1, 0.0, 200,
                       (0, 3), 0.0, 2, selection_size=2000)  # fmt: skip
    assert a32.dtype == np.float32 and n32 == 200


@pytest.mark.parametrize("route", ["fft", "patches"])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_mmclean_residual_identity(spectral, monkeypatch, route, dtype, tol):
    """MS-MFS: the (scale, moment) planes the loops leave are exact — the scale-0 planes are
    the moment residuals ``D_m - Σ_k a_k ⊛ B_{m+k}`` and the others those smoothed by their
    blob (away from the edges, where the image's cut enters), to rounding (float64 1e-12,
    float32 2e-6 of the dirty peak: a few ulps of the sums), by FFT or by patches."""
    monkeypatch.setattr(subtract_components, "_DIRECT_COST", 1e9 if route == "fft" else 0.0)
    kept, run = [], mmclean_module.subminor_clean

    def keeping(values, *args, **kwargs):
        counts = run(values, *args, **kwargs)
        kept.append(values)
        return counts

    monkeypatch.setattr(mmclean_module, "subminor_clean", keeping)
    d, b, t = spectral
    d = (d + np.random.default_rng(5).normal(scale=0.01, size=d.shape)).astype(dtype)
    a, n = mmclean(d, b.astype(dtype), t, None, 0.1, 0.0, 800, (0, 4), 0.0, 2,
                   selection_size=2000)  # fmt: skip
    assert n == 800 and a.dtype == dtype and len(kept) == 1
    ref = moment_residuals(d.astype(np.float64), b, t, a.astype(np.float64))  # [2, ny, nx]
    values, peak = kept[0], np.abs(d).max()  # rounding grows with what was subtracted
    assert np.abs(values[0] - ref).max() < tol * peak
    h = scale_kernel(4).shape[0] // 2  # the blob reaches h pixels: beyond, no cut enters
    inner = (slice(None), slice(h, -h), slice(h, -h))
    smoothed = np.stack([convolved(r, scale_kernel(4)) for r in ref])
    assert np.abs(values[1][inner] - smoothed[inner]).max() < tol * peak


@pytest.mark.parametrize("route", ["fft", "patches"])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_residual_identity(points, monkeypatch, route, dtype, tol):
    """residual = dirty - model ⊛ psf (the PSF as given: whole, or cut to a support) to
    rounding, whichever way the loops' components are subtracted; float32 in and out."""
    monkeypatch.setattr(subtract_components, "_DIRECT_COST", 1e9 if route == "fft" else 0.0)
    dirty, psf = points
    rng = np.random.default_rng(1)
    dirty = (dirty + rng.normal(scale=0.01, size=dirty.shape)).astype(dtype)
    for cut in (psf, psf[N - 40 : N + 41, N - 30 : N + 31]):
        m, r, n = hogbom(dirty, cut, None, 0.1, 0.0, 1500, 0.0, selection_size=1000)
        assert n == 1500 and m.dtype == r.dtype == dtype
        ref = dirty.astype(np.float64) - convolved(m.astype(np.float64), cut.astype(np.float64))
        assert np.abs(r - ref).max() < tol * np.abs(dirty).max()
        m, r, n = msclean(dirty, cut, None, 0.1, 0.0, 300, (0, 4), 0.0, selection_size=2000)
        assert n == 300 and m.dtype == r.dtype == dtype
        ref = dirty.astype(np.float64) - convolved(m.astype(np.float64), cut.astype(np.float64))
        assert np.abs(r - ref).max() < tol * np.abs(dirty).max()


def test_niter_counts_components_exactly(points, loops):
    """Stopped by niter: exactly niter components, over several loops; a run with one
    component fewer is the same run less its last component."""
    dirty, psf = points
    noisy = dirty + np.random.default_rng(2).normal(scale=0.02, size=dirty.shape)
    runs = {}
    for niter in (700, 701):
        loops.clear()
        runs[niter] = hogbom(noisy, psf, None, 0.1, 0.0, niter, 0.0, selection_size=500)
        assert runs[niter][2] == niter == sum(loops) and len(loops) > 1
    (m0, _, _), (m1, _, _) = runs[700], runs[701]
    assert np.count_nonzero(m1 != m0) == 1


@pytest.mark.parametrize("threshold,frac", [(0.05, 0.0), (0.0, 0.01), (0.2, 0.01)])
def test_stops_at_the_threshold_exactly(points, threshold, frac):
    """Stopped by a threshold: the residual peak (window-weighted) is below the stop, and
    one component fewer leaves it at or above it (no early stop, nothing past it)."""
    dirty, psf = points
    window = np.ones_like(dirty)
    window[:, : N // 2] = 0.5
    stop = clean_threshold(dirty, window, threshold, frac)
    for kw in (dict(selection_size=500), dict()):
        m, r, n = hogbom(dirty, psf, window, 0.1, threshold, 100000, frac, **kw)
        assert np.abs(r * window).max() < stop
        _, before, _ = hogbom(dirty, psf, window, 0.1, threshold, n - 1, frac, **kw)
        assert np.abs(before * window).max() >= stop
    m, r, n = msclean(dirty, psf, None, 0.1, threshold, 100000, (0, 3), frac, 0.6)
    stop = clean_threshold(dirty, None, threshold, frac)
    assert n < 100000 and np.abs(r).max() < stop
    _, before, _ = msclean(dirty, psf, None, 0.1, threshold, n - 1, (0, 3), frac, 0.6)
    assert np.abs(before).max() >= stop


def test_window_and_borders(points):
    """Components only where the window is > 0; multi-scale blobs wholly inside the image."""
    dirty, psf = points
    window = np.zeros_like(dirty)
    window[20:150, 100:240] = 1.0
    m, _, n = hogbom(dirty, psf, window, 0.1, 0.0, 2000, 1e-3, selection_size=300)
    assert n > 0 and not np.any(m[window == 0])
    # extended emission at the border: blobs are centred where they fit (a cut blob would
    # make the model and the residual disagree and stall the cycle); it converges
    yy, xx = np.mgrid[:N, :N]
    blob = convolved(np.exp(-0.5 * ((yy - 4) ** 2 + (xx - 128) ** 2) / 5.0**2), psf)
    m, r, n = msclean(blob, psf, None, 0.1, 0.0, 20000, (0, 8, 16), 0.005, selection_size=2000)
    assert n < 20000 and np.abs(r).max() < 0.005 * np.abs(blob).max()
    assert np.abs(r - (blob - convolved(m, psf))).max() < 1e-12


def test_deconvolve_cube_float32_matches_float64(points, psf2):
    """Single precision: float32 images stay float32 through the cycle, and find the same
    sources with the same fluxes as in double precision (to 1e-4 of the peak)."""
    _, dirty = point_source_dirty(N, psf2, PIXELS, FLUXES)
    d32 = dirty.replace(data=dirty.data.astype(np.float32))
    for alg in ("hogbom", "msclean"):
        m64, r64 = deconvolve_cube(
            dirty, psf2, algorithm=alg, niter=2000, fractional_threshold=1e-3
        )
        m32, r32 = deconvolve_cube(d32, psf2, algorithm=alg, niter=2000, fractional_threshold=1e-3)
        assert m32.data.dtype == r32.data.dtype == np.float32
        for y, x in PIXELS:
            box = (slice(None), slice(None), slice(y - 1, y + 2), slice(x - 1, x + 2))
            assert m32.data[box].sum() == pytest.approx(m64.data[box].sum(), abs=1e-4 * 10)
        assert np.abs(r32.data - r64.data).max() < 1e-4 * 10


def test_pathological_psf_stays_close_to_plain():
    """A PSF of 10 % random sidelobes everywhere, gain 0.3 (Högbom itself barely converges):
    loops that let unselected pixels outgrow their picks are cut short (the loop ends on
    the sidelobes its components may have added; after an overrun the next loops are
    shorter), so the residual peak stays within 10 % of the plain cycle's."""
    rng = np.random.default_rng(3)
    dirty = rng.normal(size=(40, 56))
    psf = rng.normal(size=(31, 27)) * 0.1
    psf[15, 13] = 1.0
    for niter in (100, 200, 400):
        _, r0, _ = hogbom(dirty, psf, None, 0.3, 0.5, niter, 0.0, subminor=False)
        for size in (50, 200, 500):
            _, r1, n1 = hogbom(dirty, psf, None, 0.3, 0.5, niter, 0.0, selection_size=size)
            assert np.abs(r1).max() < 1.1 * np.abs(r0).max()


def test_far_sidelobe():
    """The largest |psf| beyond the main lobe (where |psf| first drops below 0.2 of peak)."""
    psf = np.zeros((41, 41))
    psf[20, 20] = 1.0
    psf[20, 21] = psf[19, 20] = 0.5  # main lobe
    psf[5, 30] = -0.07
    psf[38, 2] = 0.04
    assert far_sidelobe(psf) == pytest.approx(0.07)
    assert far_sidelobe(synthetic_psf(128, [1.0e8]).data[0, 0]) < 0.2
