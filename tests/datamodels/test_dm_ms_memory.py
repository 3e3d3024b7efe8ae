"""read_ms holds about one copy of the data: the memory bound of the MS reader.

DESIGN target: reading never holds more than ~2x the returned data. tracemalloc sees every
numpy buffer (python-casacore's getcol arrays included), so its peak during read_ms is the
reader's real high-water mark. We allow 2.5x: the 2x design target plus allocator slack;
the reader itself reaches ~1.1x (the block arrays plus one IO chunk of ≤ 1/8 of them).
The ~10 M visibility case is benchmarks/datamodels/bench_ms_read.py.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from uvflow.datamodels import read_ms, write_ms
from uvflow.datamodels.testing import random_configuration, simple_visibility

pytest.importorskip("casacore.tables")


@pytest.fixture(scope="session")
def modest_ms(tmp_path_factory):
    """1.52 M visibilities: 190 baselines × 40 times × 50 channels × 4 correlations."""
    config = random_configuration(nant=20, radius=2000.0, seed=1)
    v = simple_visibility(
        config, ntime=40, frequency=np.linspace(1.0e8, 1.2e8, 50),
        polarisation_frame="linear", dtype=np.complex64,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    v = v.replace(vis=(rng.normal(size=v.vis.shape) + 0j).astype(np.complex64))
    path = tmp_path_factory.mktemp("mem") / "modest.ms"
    write_ms(v, path)
    return path, v.nvis


def _returned_bytes(vis_list) -> int:
    return sum(
        v.vis.nbytes + v.weight.nbytes + v.flags.nbytes + v.uvw.nbytes + v.meta["ms_rows"].nbytes
        for v in vis_list
    )


@pytest.mark.parametrize("options", [{}, {"pol": "stokesI"}, {"time_chunks": 4}])
def test_peak_memory_bounded(modest_ms, options):
    path, nvis = modest_ms
    tracemalloc.start()
    try:
        out = read_ms(path, **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    returned = _returned_bytes(out)
    assert sum(v.nvis for v in out) == nvis // (4 if "pol" in options else 1)
    assert peak <= 2.5 * returned, (
        f"peak {peak / 2**20:.1f} MiB vs returned {returned / 2**20:.1f} MiB"
    )
