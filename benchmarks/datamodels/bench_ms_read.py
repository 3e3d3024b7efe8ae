"""Reading a ~10 M visibility MeasurementSet: time, and peak memory relative to the data.

DESIGN target: read_ms holds at most ~2x the returned arrays. ``peak_ratio`` in
``benchmark.extra_info`` is tracemalloc's peak during one read (every numpy buffer,
python-casacore's getcol arrays included) divided by the bytes of the returned arrays.
UVFLOW_BENCH_SIZE=tiny shrinks the MS to a few thousand visibilities.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from uvflow.datamodels import read_ms, write_ms
from uvflow.datamodels.testing import random_configuration, simple_visibility

pytest.importorskip("casacore.tables")


@pytest.fixture(scope="module")
def big_ms(tmp_path_factory, bench_env):
    # full: 351 baselines × 112 times × 64 channels × 4 correlations = 10.06 M visibilities
    nant, ntime, nchan = (6, 4, 8) if bench_env.tiny else (27, 112, 64)
    config = random_configuration(nant=nant, radius=3000.0, seed=7)
    v = simple_visibility(
        config, ntime=ntime, frequency=np.linspace(1.0e9, 1.1e9, nchan),
        polarisation_frame="linear", dtype=np.complex64,
    )  # fmt: skip
    rng = np.random.default_rng(1)
    v = v.replace(vis=(rng.normal(size=v.vis.shape) + 1j).astype(np.complex64))
    path = tmp_path_factory.mktemp("bench_ms") / "big.ms"
    write_ms(v, path)
    return path, v.nvis


def _returned_bytes(vis_list) -> int:
    return sum(
        v.vis.nbytes + v.weight.nbytes + v.flags.nbytes + v.uvw.nbytes + v.meta["ms_rows"].nbytes
        for v in vis_list
    )


@pytest.mark.parametrize("pol", [None, "stokesI"])
def test_bench_read_ms(benchmark, big_ms, bench_env, pol):
    path, nvis = big_ms
    tracemalloc.start()
    try:
        out = read_ms(path, pol=pol)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    returned = _returned_bytes(out)
    del out
    result = benchmark.pedantic(read_ms, args=(path,), kwargs={"pol": pol}, rounds=3, iterations=1)
    assert sum(v.nvis for v in result) * (4 if pol else 1) == nvis
    benchmark.extra_info.update(
        nvis=nvis,
        returned_mb=round(returned / 2**20, 1),
        tracemalloc_peak_mb=round(peak / 2**20, 1),
        peak_ratio=round(peak / returned, 3),
    )
    if not bench_env.tiny:  # tiny MSs: fixed costs (subtables, SkyCoord) dominate
        assert peak <= 2.5 * returned  # 2x design target plus allocator slack
