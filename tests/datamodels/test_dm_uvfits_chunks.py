"""uvfits_index and UVFITSChunk: a UVFITS file read as chunks that load their own groups.

Chunks by time and channel, put together, equal read_uvfits bit for bit (the real 3C273
file and a synthetic multi-source, two-IF file); the index never reads the visibility
array; a chunk pickles small and loads the same in another process.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import multiprocessing
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from astropy.io.fits import fitsrec

from uvflow.datamodels import SPEED_OF_LIGHT, VisibilitySource, load_visibility, read_uvfits
from uvflow.datamodels.io import UVFITSChunk, UVFITSPart, uvfits_index
from uvflow.datamodels.testing import hour_angle_uvw, random_configuration, write_uvfits_groups

REAL = Path(
    os.environ.get("UVFLOW_REAL_DATA", Path(__file__).resolve().parents[3] / "shared/data/real")
)
FILE_3C273 = REAL / "3C273XC1.fits"


def _synthetic_module():
    spec = importlib.util.spec_from_file_location(
        "_dm_uvfits_synthetic", Path(__file__).with_name("test_dm_uvfits_synthetic.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """test_dm_uvfits_synthetic's file: two sources, two IFs of 3 channels, IAT times."""
    path = tmp_path_factory.mktemp("uvfits") / "multi.uvfits"
    config = random_configuration(nant=5, radius=800.0, seed=4)
    _synthetic_module()._write(path, config, np.random.default_rng(2))
    return path


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """A single-source file of 45 baselines × 20 times × 64 channels × 4 products."""
    config = random_configuration(nant=10, radius=800.0, seed=5)
    a1, a2 = np.triu_indices(config.nants, k=1)
    ntime, nchan = 20, 64
    uvw = hour_angle_uvw(config, np.linspace(-0.3, 0.3, ntime), -0.6, a1, a2).reshape(-1, 3)
    rows = uvw.shape[0]
    rng = np.random.default_rng(3)
    data = rng.normal(size=(rows, 1, 1, nchan, 4, 3)).astype(np.float32)
    data[..., 2] = rng.uniform(0.5, 2.0, data.shape[:-1])
    path = tmp_path_factory.mktemp("uvfits") / "wide.uvfits"
    return write_uvfits_groups(path, config, uvw, a1, a2, ntime, data, stokes=(-5.0, -1.0),
                               object_name="WIDE")  # fmt: skip


def assert_same(a, b):
    for name in ("vis", "weight", "flags", "uvw", "time", "integration_time", "antenna1",
                 "antenna2", "frequency", "channel_bandwidth"):  # fmt: skip
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.polarisation_frame == b.polarisation_frame and a.source == b.source
    assert a.meta.keys() == b.meta.keys()
    for key in a.meta:
        np.testing.assert_array_equal(a.meta[key], b.meta[key], err_msg=key)


def _time_concat(vs):
    cat = {n: np.concatenate([getattr(v, n) for v in vs])
           for n in ("vis", "weight", "flags", "uvw", "time", "integration_time")}  # fmt: skip
    groups = np.concatenate([v.meta["uvfits_groups"] for v in vs])
    return vs[0].replace(meta={**vs[0].meta, "uvfits_groups": groups}, **cat)


def test_parts_and_chunks_equal_read_uvfits(multi):
    parts = uvfits_index(multi, diameter=25.0)
    assert [(p.field_name, p.spw_id) for p in parts] == [
        ("SRC_A", 0), ("SRC_A", 1), ("SRC_B", 0), ("SRC_B", 1),
    ]  # fmt: skip
    for part, full in zip(parts, read_uvfits(multi, diameter=25.0)):
        assert isinstance(part, UVFITSPart) and part.shape == full.vis.shape
        assert part.nbytes == sum(a.nbytes for a in (full.vis, full.weight, full.flags, full.uvw))
        uvmax = np.max(np.hypot(full.uvw[..., 0], full.uvw[..., 1])) * full.frequency.max()
        assert part.uv_max_wavelengths == pytest.approx(uvmax / SPEED_OF_LIGHT, rel=1e-15)
        assert_same(_time_concat([c.load() for c in part.chunks(time_chunks=3)]), full)
        one = part.chunk(times=[0, 2], channels=[0, 2]).load()
        np.testing.assert_array_equal(one.vis, full.vis[[0, 2]][:, :, [0, 2]])
        np.testing.assert_array_equal(one.uvw, full.uvw[[0, 2]])
    converted = uvfits_index(multi, field="SRC_B", spw=1, pol="stokesI", diameter=25.0)[0]
    assert_same(converted.chunk(channels=slice(1, 3)).load(),
                read_uvfits(multi, field="SRC_B", spw=1, pol="stokesI", channels=slice(1, 3),
                            diameter=25.0)[0])  # fmt: skip
    assert "source 2 'SRC_B', IF 1" in repr(converted)


@pytest.mark.skipif(not FILE_3C273.exists(), reason=f"{FILE_3C273} not available")
def test_real_file_in_chunks():
    (part,) = uvfits_index(FILE_3C273)
    (full,) = read_uvfits(FILE_3C273)
    assert part.nrow == 7669 and part.polarisation_frame.name == "circular"
    assert_same(_time_concat([c.load() for c in part.chunks(time_chunks=5)]), full)


def test_index_never_reads_the_visibility_array(multi, monkeypatch):
    asked = []
    original = fitsrec.FITS_rec.field

    def spy(self, key):
        asked.append(key)
        return original(self, key)

    monkeypatch.setattr(fitsrec.FITS_rec, "field", spy)
    uvfits_index(multi, diameter=25.0)
    nparam = 7  # UU VV WW BASELINE DATE DATE SOURCE; the array is the field after them
    assert asked and all(k != "DATA" and k != nparam for k in asked), asked


def test_chunks_pickle_small_and_load_elsewhere(wide):
    (part,) = uvfits_index(wide)
    chunks = part.chunks(time_chunks=2)
    assert all(isinstance(c, UVFITSChunk) and isinstance(c, VisibilitySource) for c in chunks)
    size = len(pickle.dumps(chunks[0], protocol=5))
    assert size < 0.05 * chunks[0].nbytes, f"pickle {size} B for {chunks[0].nbytes} B"
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        loaded = list(pool.map(load_visibility, chunks))
    assert_same(_time_concat(loaded), read_uvfits(wide)[0])
