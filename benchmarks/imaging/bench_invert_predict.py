"""invert/predict against bare ducc0 on the same arrays: what the wrapper costs.

Data: 64 antennas within 5 km, 8 channels at 1.40-1.47 GHz, Stokes I, ~1 M (62 times) and
~10 M (620 times) visibilities, imaged to 2048 x 2048 at the Nyquist cell (1 / (2 uvmax);
small inversion stays off, so this compares the wrapper, not an algorithm) with the
w-term corrected ('ng' / ``do_wgridding=True``). complex64 data with float32 weights (as
read from a MeasurementSet) at epsilon 1e-4, complex128 at 1e-6; nthreads 1 and 2.

Each ``test_ducc0_*`` runs the bare ducc0 call with the same parameters just before the
matching ``test_uvflow_*``; the latter records in ``benchmark.extra_info``:

- ``ratio``: uvflow's minimum time / bare ducc0's minimum (target ≤ 1.10);
- ``ratio_interleaved``: the median, over 5 back-to-back pairs of calls made right after
  (order alternating), of uvflow's time / bare ducc0's: each ratio compares calls seconds
  apart, so it is far less exposed than ``ratio`` to this machine kind's speed drifting
  between the two benchmarks (``ratio`` ranged 0.79–1.29 in one run). The target is
  judged on it;
- ``max_rel_diff``: how far uvflow's result is from bare ducc0's (≲ epsilon).

``test_small_inversion_speedup`` shows what small inversion buys when the pixels oversample
the uv coverage 2.5 times (extra_info ``speedup``).

UVFLOW_BENCH_SIZE=tiny: ~20 k visibilities and 256 x 256, to exercise the harness.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from ducc0.wgridder.experimental import dirty2vis, vis2dirty

from uvflow.datamodels import SPEED_OF_LIGHT, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.imaging import invert, predict
from uvflow.imaging.ducc0_gridder import ensure_thread_pool

ROUNDS = 3
PRECISIONS = {"c64-1e-4": (np.complex64, 1e-4), "c128-1e-6": (np.complex128, 1e-6)}
_BARE: dict = {}  # (op, size, precision, nthreads) -> bare ducc0 minimum seconds


def _sizes(tiny: bool) -> dict:
    # label -> (nant, ntime, npixel); 8 channels
    if tiny:
        return {"20k": (16, 21, 256)}
    return {"1M": (64, 62, 2048), "10M": (64, 620, 2048)}


def pytest_generate_tests(metafunc):
    if "size" in metafunc.fixturenames:
        from os import environ

        tiny = environ.get("UVFLOW_BENCH_SIZE", "full") == "tiny"
        metafunc.parametrize("size", list(_sizes(tiny)), scope="module")


_CACHE: dict = {}


@pytest.fixture(scope="module")
def dataset(bench_env, size):
    """size → precision → (vis, image, model, bare-ducc0 arrays); built once per size."""
    if size in _CACHE:
        return _CACHE[size]
    _CACHE.clear()
    nant, ntime, npixel = _sizes(bench_env.tiny)[size]
    config = random_configuration(nant=nant, radius=5000.0, seed=7)
    freq = np.linspace(1.40e9, 1.47e9, 8)
    rng = np.random.default_rng(0)
    out = {}
    for name, (dtype, _) in PRECISIONS.items():
        vis = simple_visibility(
            config, ntime=ntime, frequency=freq, channel_bandwidth=1.0e7, dtype=dtype,
            hour_angle_span=np.pi / 2,
        )  # fmt: skip
        real = np.float32 if dtype == np.complex64 else np.float64
        data = rng.normal(size=vis.vis.shape) + 1j * rng.normal(size=vis.vis.shape)
        vis = vis.replace(vis=data.astype(dtype), weight=vis.weight.astype(real))
        uvmax = np.max(np.hypot(vis.uvw[..., 0], vis.uvw[..., 1])) * freq[-1] / SPEED_OF_LIGHT
        cell = 1.0 / (2 * uvmax)
        image = create_image(
            npixel, cell, vis.phasecentre, frequency=freq.mean(), channel_bandwidth=8e7, dtype=real
        )
        model = image.copy()
        model.data[...] = rng.normal(size=model.data.shape).astype(real)
        nrow = vis.ntime * vis.nbaseline
        bare = dict(
            uvw=vis.uvw.reshape(nrow, 3), freq=freq, vis=vis.vis.reshape(nrow, 8),
            wgt=vis.weight.reshape(nrow, 8), model=np.ascontiguousarray(model.data[0, 0].T),
            npix=npixel, cell=cell,
        )  # fmt: skip
        out[name] = (vis, image, model, bare)
    _CACHE[size] = out
    return out


def _bare_invert(b, epsilon, nthreads):
    ensure_thread_pool(nthreads)  # as uvflow does: OMP_NUM_THREADS=1 sized ducc0's pool to 1
    return vis2dirty(
        uvw=b["uvw"], freq=b["freq"], vis=b["vis"], wgt=b["wgt"], npix_x=b["npix"], npix_y=b["npix"],
        pixsize_x=b["cell"], pixsize_y=b["cell"], epsilon=epsilon, do_wgridding=True,
        nthreads=nthreads, flip_v=True, divide_by_n=False,
    )  # fmt: skip


def _bare_predict(b, epsilon, nthreads):
    ensure_thread_pool(nthreads)  # as uvflow does: OMP_NUM_THREADS=1 sized ducc0's pool to 1
    return dirty2vis(
        uvw=b["uvw"], freq=b["freq"], dirty=b["model"], pixsize_x=b["cell"], pixsize_y=b["cell"],
        epsilon=epsilon, do_wgridding=True, nthreads=nthreads, flip_v=True, divide_by_n=False,
    )  # fmt: skip


def _interleaved(f_uvflow, f_bare, pairs: int = 5) -> float:
    """Median over ``pairs`` back-to-back pairs of uvflow time / bare time, the order
    alternating from pair to pair: each ratio compares two calls made seconds apart, so the
    machine's drift (±10 % over minutes here) cancels instead of landing on one side."""
    ratios = []
    for i in range(pairs):
        order = (f_uvflow, f_bare) if i % 2 == 0 else (f_bare, f_uvflow)
        t = {}
        for f in order:
            t0 = time.perf_counter()
            f()
            t[f] = time.perf_counter() - t0
        ratios.append(t[f_uvflow] / t[f_bare])
    return float(np.median(ratios))


def _info(benchmark, vis, image, epsilon, nthreads):
    benchmark.extra_info.update(
        nvis=vis.nvis, npixel=image.nx, dtype=str(vis.vis.dtype), epsilon=epsilon, nthreads=nthreads
    )


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("precision", list(PRECISIONS))
def test_ducc0_invert(benchmark, dataset, size, precision, nthreads):
    vis, image, _, bare = dataset[precision]
    eps = PRECISIONS[precision][1]
    benchmark.pedantic(_bare_invert, args=(bare, eps, nthreads), rounds=ROUNDS, warmup_rounds=1)
    _BARE["invert", size, precision, nthreads] = benchmark.stats.stats.min
    _info(benchmark, vis, image, eps, nthreads)


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("precision", list(PRECISIONS))
def test_uvflow_invert(benchmark, dataset, size, precision, nthreads):
    vis, image, _, bare = dataset[precision]
    eps = PRECISIONS[precision][1]
    kw = dict(context="ng", epsilon=eps, nthreads=nthreads)
    dirty, sumwt = benchmark.pedantic(
        invert, args=(vis, image), kwargs=kw, rounds=ROUNDS, warmup_rounds=1
    )
    _info(benchmark, vis, image, eps, nthreads)
    ref = _bare_invert(bare, eps, nthreads).T / sumwt[0, 0]
    diff = float(np.max(np.abs(dirty.data[0, 0] - ref)) / np.max(np.abs(ref)))
    benchmark.extra_info["max_rel_diff"] = diff
    assert diff <= 10 * eps  # two ε-accurate results (ducc0 alone, through uvflow)
    key = ("invert", size, precision, nthreads)
    if key in _BARE:
        benchmark.extra_info["ratio"] = benchmark.stats.stats.min / _BARE[key]
    benchmark.extra_info["ratio_interleaved"] = _interleaved(
        lambda: invert(vis, image, **kw), lambda: _bare_invert(bare, eps, nthreads)
    )


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("precision", list(PRECISIONS))
def test_ducc0_predict(benchmark, dataset, size, precision, nthreads):
    vis, image, _, bare = dataset[precision]
    eps = PRECISIONS[precision][1]
    benchmark.pedantic(_bare_predict, args=(bare, eps, nthreads), rounds=ROUNDS, warmup_rounds=1)
    _BARE["predict", size, precision, nthreads] = benchmark.stats.stats.min
    _info(benchmark, vis, image, eps, nthreads)


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("precision", list(PRECISIONS))
def test_uvflow_predict(benchmark, dataset, size, precision, nthreads):
    vis, image, model, bare = dataset[precision]
    eps = PRECISIONS[precision][1]
    kw = dict(context="ng", epsilon=eps, nthreads=nthreads)
    pred = benchmark.pedantic(predict, args=(vis, model), kwargs=kw, rounds=ROUNDS, warmup_rounds=1)
    _info(benchmark, vis, image, eps, nthreads)
    ref = _bare_predict(bare, eps, nthreads)
    got = pred.vis.reshape(ref.shape)
    diff = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
    benchmark.extra_info["max_rel_diff"] = diff
    assert diff <= 10 * eps
    key = ("predict", size, precision, nthreads)
    if key in _BARE:
        benchmark.extra_info["ratio"] = benchmark.stats.stats.min / _BARE[key]
    benchmark.extra_info["ratio_interleaved"] = _interleaved(
        lambda: predict(vis, model, **kw), lambda: _bare_predict(bare, eps, nthreads)
    )


@pytest.mark.parametrize("precision", list(PRECISIONS))
def test_small_inversion_speedup(benchmark, dataset, size, precision):
    """Pixels 2.5x finer than Nyquist: invert with small inversion vs without (1 thread)."""
    if size == "10M":
        pytest.skip("the 1 M case shows it; 10 M only adds gridding time common to both")
    vis, image, _, _ = dataset[precision]
    eps = PRECISIONS[precision][1]
    fine = create_image(
        image.nx,
        image.cellsize / 2.5,
        vis.phasecentre,
        frequency=image.frequency[0],
        channel_bandwidth=8e7,
    )
    with_si, _ = benchmark.pedantic(
        invert, args=(vis, fine), kwargs=dict(epsilon=eps), rounds=ROUNDS, warmup_rounds=1
    )
    t0 = time.perf_counter()
    without, _ = invert(vis, fine, epsilon=eps, small_inversion=False)
    t_off = time.perf_counter() - t0
    diff = float(np.max(np.abs(with_si.data - without.data)) / np.max(np.abs(without.data)))
    assert diff <= 10 * eps
    _info(benchmark, vis, fine, eps, 1)
    benchmark.extra_info.update(
        seconds_without=t_off, speedup=t_off / benchmark.stats.stats.min, max_rel_diff=diff
    )
