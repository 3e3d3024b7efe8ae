"""Minor-cycle speed: Högbom, multi-scale and MS-MFS CLEAN on a 1024 x 1024 image.

Data: a noisy field of 300 point sources (0.01-10 Jy, log-uniform) and 20 Gaussian blobs
on a 1024 x 1024 image, convolved with a PSF of twice the size made from the uv coverage
of 40 antennas over 6 hours (:func:`~uvflow.imaging.deconvolution.conformance.synthetic_psf`),
plus Gaussian noise of 1 mJy/beam so that every run makes exactly ``niter`` components
(thresholds 0). float64, one thread (run with OMP_NUM_THREADS=1).

- ``test_hogbom[support128]``: 1000 components with a PSF patch of half-width 128 pixels
  (257 x 257). **The ≤ 0.5 s Högbom target applies to this case only**
  (``extra_info['target_seconds']``, ``['meets_target']`` from the minimum round). It is
  how the established imagers run the minor cycle: RASCIL's ``psf_support`` and WSClean's
  minor cycle subtract a PSF patch around each component and leave the far sidelobes to
  the next major cycle, which subtracts the model from the visibilities exactly.
- ``test_hogbom[full]``: the same with the whole 2048 x 2048 PSF (every sidelobe
  subtracted: the cost per component grows with the PSF area inside the image, ~4x the
  patch's 257² here). A reported figure, not held to the target
  (``extra_info['target_seconds']`` is None, ``['target_applies'] = False``).
- ``test_msclean``: scales (0, 3, 10, 30), PSF half-width 128, 1000 components (includes the
  setup: the scale-smoothed residuals and the 16 cross-scale PSFs by FFT).
- ``test_mmclean``: 4 channels (0.9-1.2 GHz), nmoment 3, scales (0, 3, 10, 30), PSF
  half-width 128, 500 components.

``extra_info``: ``niter``, ``ms_per_component`` (from the minimum round), ``psf_support``
(half-width in pixels, or "full"), and for Högbom ``target_applies``, ``target_seconds``,
``meets_target`` and ``target_case`` (the sentence saying which case the target is for).
UVFLOW_BENCH_SIZE=tiny: 128 x 128, 100 components (PSF half-width 32, still the
``support128`` case: the patch case the target is stated for at full size; at tiny size
``target_applies`` is False, the target is for 1024²).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from uvflow.imaging import deconvolve_cube
from uvflow.imaging.deconvolution.conformance import point_source_dirty, synthetic_psf

TARGET_SECONDS = 0.5  # Högbom, 1024², 1000 components, PSF patch of half-width 128 only
TARGET_CASE = (
    "Hogbom CLEAN, 1024 x 1024, 1000 components, PSF patch of half-width 128 pixels (the "
    "minor cycle subtracts a PSF patch as RASCIL's psf_support and WSClean do; the full-PSF "
    "case is reported without a target)"
)


def _size(tiny: bool) -> tuple[int, int, int]:
    """(npixel, niter, psf_support)."""
    return (128, 100, 32) if tiny else (1024, 1000, 128)


def _field(n: int, frequency, seed: int = 5):
    """PSF (2n) and dirty image (n) of points, blobs (α = -0.7) and noise."""
    rng = np.random.default_rng(seed)
    freq = np.atleast_1d(frequency)
    psf = synthetic_psf(2 * n, freq, nant=40, ntime=24, hour_angle_span=np.pi / 2, seed=seed)
    npts = max(10, 300 * n // 1024)
    pixels = [tuple(p) for p in rng.integers(8, n - 8, size=(npts, 2))]
    spectra = (freq / freq.mean()) ** -0.7
    fluxes = np.outer(10 ** rng.uniform(-2, 1, npts), spectra)
    _, dirty = point_source_dirty(n, psf, pixels, fluxes)
    yy, xx = np.mgrid[:n, :n]
    blobs = np.zeros((n, n))
    for _ in range(max(2, 20 * n // 1024)):
        cy, cx = rng.uniform(0.1 * n, 0.9 * n, 2)
        width = rng.uniform(3, 15)
        blobs += rng.uniform(0.5, 3) * np.exp(-0.5 * ((yy - cy) ** 2 + (xx - cx) ** 2) / width**2)
    blobs /= 2 * np.pi * 9.0  # ~Jy per blob
    for c in range(freq.size):
        conv = fftconvolve(blobs * spectra[c], psf.data[c, 0], mode="full")[n : 2 * n, n : 2 * n]
        dirty.data[c, 0] += conv + rng.normal(scale=1e-3, size=(n, n))
    return psf, dirty


_CACHE: dict = {}


@pytest.fixture(scope="module")
def continuum(bench_env):
    n = _size(bench_env.tiny)[0]
    if "continuum" not in _CACHE:
        _CACHE["continuum"] = _field(n, [1.0e9])
    return _CACHE["continuum"]


@pytest.fixture(scope="module")
def spectral(bench_env):
    n = _size(bench_env.tiny)[0]
    if "spectral" not in _CACHE:
        _CACHE["spectral"] = _field(n, np.linspace(0.9e9, 1.2e9, 4))
    return _CACHE["spectral"]


def _record(benchmark, model, niter, psf_support):
    assert model.meta["NITER"] == niter  # thresholds 0 on a noisy field: every component made
    info = benchmark.extra_info
    info["niter"] = int(model.meta["NITER"])
    info["ms_per_component"] = 1000.0 * benchmark.stats.stats.min / niter
    info["psf_support"] = "full" if psf_support is None else int(psf_support)


@pytest.mark.parametrize("support", ["support128", "full"])
def test_hogbom(benchmark, bench_env, continuum, support):
    psf, dirty = continuum
    n, niter, s = _size(bench_env.tiny)
    psf_support = s if support == "support128" else None
    model, _ = benchmark.pedantic(
        deconvolve_cube, args=(dirty, psf),
        kwargs=dict(algorithm="hogbom", niter=niter, gain=0.1, threshold=0.0,
                    fractional_threshold=0.0, psf_support=psf_support),
        rounds=5, warmup_rounds=1, iterations=1,
    )  # fmt: skip
    _record(benchmark, model, niter, psf_support)
    info = benchmark.extra_info
    info["target_case"] = TARGET_CASE
    # the target is stated for the patch case at full size only
    info["target_applies"] = support == "support128" and not bench_env.tiny
    info["target_seconds"] = TARGET_SECONDS if info["target_applies"] else None
    info["meets_target"] = (
        bool(benchmark.stats.stats.min <= TARGET_SECONDS) if info["target_applies"] else None
    )


def test_msclean(benchmark, bench_env, continuum):
    psf, dirty = continuum
    n, niter, s = _size(bench_env.tiny)
    model, _ = benchmark.pedantic(
        deconvolve_cube, args=(dirty, psf),
        kwargs=dict(algorithm="msclean", niter=niter, gain=0.1, threshold=0.0,
                    fractional_threshold=0.0, scales=(0, 3, 10, 30), psf_support=s),
        rounds=3, warmup_rounds=1, iterations=1,
    )  # fmt: skip
    _record(benchmark, model, niter, s)


def test_mmclean(benchmark, bench_env, spectral):
    psf, dirty = spectral
    n, niter, s = _size(bench_env.tiny)
    niter //= 2
    model, _ = benchmark.pedantic(
        deconvolve_cube, args=(dirty, psf),
        kwargs=dict(algorithm="mmclean", niter=niter, gain=0.1, threshold=0.0,
                    fractional_threshold=0.0, scales=(0, 3, 10, 30), nmoment=3,
                    psf_support=s),
        rounds=2, warmup_rounds=1, iterations=1,
    )  # fmt: skip
    _record(benchmark, model, niter, s)
