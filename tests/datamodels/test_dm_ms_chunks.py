"""ms_index and MSChunk: a MeasurementSet read as chunks that load their own rows (DESIGN §4).

Chunks by time and by channel, loaded and put together, equal read_ms bit for bit; a
chunk pickles to a small fraction of its data and loads the same in other processes (two
at a time on one MS, each with its own handle); the index reads no data, weight or flag
column; one load holds at most 1.5x what it returns (peak RSS of a fresh process); chunks written
back (MODEL_DATA) by two processes, one at a time, give the column read_ms reads.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import multiprocessing
import os
import pickle
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import (
    SPEED_OF_LIGHT,
    MeasurementSetError,
    VisibilitySource,
    load_visibility,
    read_ms,
    write_ms,
)
from uvflow.datamodels.io import MSChunk, MSPart, ensure_column, ms_index, write_rows
from uvflow.datamodels.testing import random_configuration, simple_visibility

tables = pytest.importorskip("casacore.tables")

DATA_COLUMNS = {"DATA", "FLAG", "FLAG_ROW", "WEIGHT", "WEIGHT_SPECTRUM", "SIGMA"}


def _random_vis(config, seed, frequency, pol, centre, source, ntime=6):
    rng = np.random.default_rng(seed)
    v = simple_visibility(
        config, ntime=ntime, frequency=frequency, channel_bandwidth=2.0e5,
        phasecentre=centre, polarisation_frame=pol, dtype=np.complex64,
    )  # fmt: skip
    shape = v.vis.shape
    vis = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)
    return v.replace(
        vis=vis,
        weight=rng.uniform(0.5, 2.0, shape),
        flags=rng.uniform(size=shape) < 0.1,
        source=source,
    )


@pytest.fixture(scope="module")
def small_ms(tmp_path_factory):
    """Two fields, two spectral windows (5 and 2 channels), linear and stokesI: 3 parts."""
    config = random_configuration(nant=6, radius=500.0, seed=3)
    c1 = SkyCoord(ra=30.0, dec=-40.0, unit="deg")
    c2 = SkyCoord(ra=31.0, dec=-41.5, unit="deg")
    f1, f2 = 1.0e8 + 2.0e5 * np.arange(5), [1.5e8, 1.51e8]
    vis_list = [
        _random_vis(config, 1, f1, "linear", c1, "A"),
        _random_vis(config, 2, f2, "linear", c1, "A"),
        _random_vis(config, 3, f1, "stokesI", c2, "B"),
    ]
    path = tmp_path_factory.mktemp("chunks") / "small.ms"
    write_ms(vis_list, path)
    return path


@pytest.fixture(scope="module")
def big_ms(tmp_path_factory):
    """45 MiB loaded: 351 baselines × 40 times × 64 channels × 4 correlations."""
    config = random_configuration(nant=27, radius=2000.0, seed=1)
    v = simple_visibility(
        config, ntime=40, frequency=np.linspace(1.0e8, 1.2e8, 64),
        polarisation_frame="linear", dtype=np.complex64,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    v = v.replace(vis=(rng.normal(size=v.vis.shape) + 0j).astype(np.complex64))
    path = tmp_path_factory.mktemp("chunks") / "big.ms"
    write_ms(v, path)
    return path


def _handmade(tmp_path_factory):
    """test_dm_ms_casacore's MS: shuffled rows, a missing row, autocorrelations, RR LL RL LR."""
    spec = importlib.util.spec_from_file_location(
        "_dm_ms_casacore", Path(__file__).with_name("test_dm_ms_casacore.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path_factory.mktemp("hand") / "hand.ms"
    module._build(path, np.random.default_rng(11))
    return path


def assert_same(a, b):
    """Two Visibility equal bit for bit, meta (rows, channels) included."""
    for name in ("vis", "weight", "flags", "uvw", "time", "integration_time", "antenna1",
                 "antenna2", "frequency", "channel_bandwidth"):  # fmt: skip
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.polarisation_frame == b.polarisation_frame and a.source == b.source
    assert a.phasecentre.separation(b.phasecentre).arcsec == 0.0
    assert a.meta.keys() == b.meta.keys()
    for key in a.meta:
        np.testing.assert_array_equal(a.meta[key], b.meta[key], err_msg=key)


def _concat(vs, axis):
    """Chunks of one part put together along time (axis 0) or channel (axis 2)."""
    first = vs[0]
    cat = {n: np.concatenate([getattr(v, n) for v in vs], axis=axis)
           for n in ("vis", "weight", "flags")}  # fmt: skip
    if axis == 0:
        cat.update(uvw=np.concatenate([v.uvw for v in vs]),
                   time=np.concatenate([v.time for v in vs]),
                   integration_time=np.concatenate([v.integration_time for v in vs]))  # fmt: skip
        meta = {**first.meta, "ms_rows": np.concatenate([v.meta["ms_rows"] for v in vs])}
    else:
        for v in vs[1:]:
            np.testing.assert_array_equal(v.uvw, first.uvw)
            np.testing.assert_array_equal(v.meta["ms_rows"], first.meta["ms_rows"])
        cat.update(frequency=np.concatenate([v.frequency for v in vs]),
                   channel_bandwidth=np.concatenate([v.channel_bandwidth for v in vs]))  # fmt: skip
        meta = {**first.meta, "ms_channels": np.concatenate([v.meta["ms_channels"] for v in vs])}
    return first.replace(meta=meta, **cat)


def test_index_describes_each_part(small_ms):
    parts = ms_index(small_ms)
    assert [(p.field_name, p.spw_id, p.polarisation_frame.name) for p in parts] == [
        ("A", 0, "linear"), ("A", 1, "linear"), ("B", 0, "stokesI"),
    ]  # fmt: skip
    full = read_ms(small_ms)
    for part, v in zip(parts, full):
        assert isinstance(part, MSPart)
        assert part.shape == v.vis.shape and part.dtype == v.vis.dtype == np.complex64
        assert part.nbytes == v.vis.nbytes + v.weight.nbytes + v.flags.nbytes + v.uvw.nbytes
        np.testing.assert_array_equal(part.times, v.time)
        np.testing.assert_array_equal(part.integration_time, v.integration_time)
        np.testing.assert_array_equal(part.frequency, v.frequency)
        np.testing.assert_array_equal(part.antenna1, v.antenna1)
        assert part.nrow == (v.meta["ms_rows"] >= 0).sum()
        # the uvmax create_image_from_visibility takes from a Visibility, without loading it
        uvmax = np.max(np.hypot(v.uvw[..., 0], v.uvw[..., 1])) * v.frequency.max() / SPEED_OF_LIGHT
        assert part.uv_max_wavelengths == pytest.approx(uvmax, rel=1e-15)
        np.testing.assert_array_equal(part.uvw_max_m, np.abs(v.uvw).max(axis=(0, 1)))
    assert len(ms_index(small_ms, field="B", pol="stokesI")) == 1
    assert "field 0 'A'" in repr(parts[0]) and "shape=(6, 15, 5, 4)" in repr(parts[0])


def test_time_and_channel_chunks_equal_read_ms(small_ms):
    part = ms_index(small_ms, spw=0, field="A")[0]
    (full,) = read_ms(small_ms, spw=0, field="A")
    by_time = [c.load() for c in part.chunks(time_chunks=4)]
    assert [v.ntime for v in by_time] == [2, 2, 1, 1]
    assert_same(_concat(by_time, 0), full)
    by_channel = [part.chunk(channels=slice(0, 2)).load(), part.chunk(channels=[2, 3, 4]).load()]
    assert_same(_concat(by_channel, 2), full)
    irregular = part.chunk(times=[1, 4], channels=np.array([0, 3, 4])).load()
    assert_same(irregular, read_ms(small_ms, spw=0, field="A", times=[1, 4], channels=[0, 3, 4])[0])
    strided = part.chunk(channels=slice(0, 5, 2)).load()
    np.testing.assert_array_equal(strided.vis, full.vis[:, :, ::2])
    converted = ms_index(small_ms, spw=0, field="A", pol="stokesI")[0]
    assert_same(converted.chunk(times=slice(2, 5)).load(),
                read_ms(small_ms, spw=0, field="A", pol="stokesI", times=slice(2, 5))[0])  # fmt: skip


def test_chunks_of_shuffled_rows_with_gaps(tmp_path_factory):
    path = _handmade(tmp_path_factory)
    for auto in (False, True):
        (part,) = ms_index(path, include_autocorrelations=auto)
        (full,) = read_ms(path, include_autocorrelations=auto)
        chunks = part.chunks(max_rows=part.rows_per_time.max())
        assert len(chunks) == 3 and all(np.all(np.diff(c.rows) > 0) for c in chunks)
        assert_same(_concat([c.load() for c in chunks], 0), full)


def test_chunks_within_a_memory_budget(small_ms):
    part = ms_index(small_ms, spw=0, field="A")[0]
    per_time = part.nbytes // part.ntime
    chunks = part.chunks(max_nbytes=2 * per_time + 1)
    assert [c.shape[0] for c in chunks] == [2, 2, 2] and all(
        c.nbytes <= 2 * per_time + 1 for c in chunks
    )
    small = part.chunks(max_nbytes=per_time // 2)  # one integration is too big: split channels
    assert all(c.nbytes <= per_time // 2 for c in small)
    assert sorted({tuple(c.channels) for c in small}) == [(0, 1), (2, 3), (4,)]
    assert sum(c.shape[0] * c.shape[2] for c in small) == part.ntime * part.nchan
    with pytest.raises(ValueError, match="cannot hold one channel"):
        part.chunks(max_nbytes=100)
    with pytest.raises(TypeError, match="one of max_rows"):
        part.chunks(max_nbytes=10**6, time_chunks=2)
    with pytest.raises(ValueError, match="selects no integration"):
        part.chunk(times=np.array([], int))
    with pytest.raises(ValueError, match="out of range"):
        part.chunk(channels=[7])
    assert part.chunks(times=(0.0, 1.0)) == []


def test_chunk_is_a_small_picklable_source(big_ms):
    (part,) = ms_index(big_ms)
    chunk = part.chunks(time_chunks=4)[1]
    assert isinstance(chunk, MSChunk) and isinstance(chunk, VisibilitySource)
    assert chunk.shape == (10, 351, 64, 4)
    size = len(pickle.dumps(chunk, protocol=5))
    assert size < 0.05 * chunk.nbytes, f"pickle {size} B for {chunk.nbytes} B of data"
    copy = pickle.loads(pickle.dumps(chunk))
    assert_same(copy.load(), chunk.load())
    # held packed too: the arrays the chunk itself keeps do not grow with its rows (the
    # 40 chunks of a 5.9 GB MS held 67 MiB of row index in the client before)
    held = sum(v.nbytes for v in vars(chunk).values() if isinstance(v, np.ndarray))
    assert held < 4 * chunk.rows.size, f"{held} B held for {chunk.rows.size} rows"
    assert isinstance(chunk.rows, np.ndarray) and chunk.rows.dtype == np.int64
    # Dask's token: the same for a copy, another for another chunk (deterministic graphs)
    assert copy.__dask_tokenize__() == chunk.__dask_tokenize__()
    assert part.chunks(time_chunks=4)[2].__dask_tokenize__() != chunk.__dask_tokenize__()


def test_loads_in_other_processes_two_at_a_time(big_ms):
    (part,) = ms_index(big_ms)
    chunks = part.chunks(time_chunks=4)
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no inherited handles
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        loaded = list(pool.map(load_visibility, chunks))
    for chunk, v in zip(chunks, loaded):
        assert_same(v, chunk.load())
    assert_same(_concat(loaded, 0), read_ms(big_ms)[0])


def test_index_reads_no_data_and_load_only_its_rows(small_ms, monkeypatch):
    reads = []
    for name in ("getcol", "getcolslice", "getcell", "getcolnp", "getvarcol", "getcellslice"):
        original = getattr(tables.table, name)

        def spy(self, column, *args, _original=original, _name=name, **kwargs):
            out = _original(self, column, *args, **kwargs)
            # the rows read: of the array filled (getcolnp) or returned (cells: one)
            got = args[0] if _name == "getcolnp" else out
            rows = 1 if _name in ("getcell", "getcellslice") else len(got)
            reads.append((column, rows))
            return out

        monkeypatch.setattr(tables.table, name, spy)
    part = ms_index(small_ms, field="A", spw=0)[0]
    assert reads and not {c for c, _ in reads} & DATA_COLUMNS, reads
    reads.clear()
    chunk = part.chunk(times=[2, 3], channels=slice(1, 3))
    chunk.load()
    main = [(c, n) for c, n in reads if c in DATA_COLUMNS | {"UVW"} and c != "WEIGHT_SPECTRUM"]
    assert {c for c, _ in main} == {"DATA", "FLAG", "FLAG_ROW", "WEIGHT_SPECTRUM", "UVW"} - {
        "WEIGHT_SPECTRUM"
    }
    # the chunk's rows only (read as runs of consecutive rows under one lock: each column's
    # runs add up to the chunk)
    per_column = Counter()
    for c, n in main:
        per_column[c] += n
    assert set(per_column.values()) == {chunk.nrow} and chunk.nrow == 30


_PEAK_CHILD = r"""
import gc, json, pickle, sys
import numpy, casacore.tables
import uvflow.datamodels

def status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out

with open(sys.argv[1], "rb") as f:
    chunk = pickle.load(f)
gc.collect()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status()
v = chunk.load()
after = status()
returned = v.vis.nbytes + v.weight.nbytes + v.flags.nbytes + v.uvw.nbytes + v.meta["ms_rows"].nbytes
print(json.dumps({"peak": after["VmHWM"] - before["VmRSS"], "returned": returned}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux peak RSS")
@pytest.mark.parametrize("which", ["whole part", "half, channels 8..55"])
def test_one_load_holds_at_most_1_5x_its_output(big_ms, tmp_path, which):
    (part,) = ms_index(big_ms)
    chunk = part.chunk() if which == "whole part" else part.chunk(slice(0, 20), slice(8, 56))
    (tmp_path / "chunk.pkl").write_bytes(pickle.dumps(chunk))
    proc = subprocess.run([sys.executable, "-c", _PEAK_CHILD, str(tmp_path / "chunk.pkl")],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    ratio = r["peak"] / r["returned"]
    assert ratio <= 1.5, f"peak {r['peak'] / 2**20:.1f} MiB for {r['returned'] / 2**20:.1f} MiB"


_WRITER_CHILD = r"""
import fcntl, pickle, sys
import numpy as np
from uvflow.datamodels.io import write_rows

lock_path, *chunk_files = sys.argv[1:]
for name in chunk_files:
    with open(name, "rb") as f:
        chunk = pickle.load(f)
    v = chunk.load()
    model = v.replace(vis=(v.vis * (2 - 1j)).astype(v.vis.dtype))
    with open(lock_path, "w") as lock:  # the caller's lock: one writer at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        write_rows(chunk.path, model, "MODEL_DATA")
"""


def test_chunks_written_back_from_two_processes(tmp_path):
    config = random_configuration(nant=8, radius=500.0, seed=5)
    v = _random_vis(config, 7, 1.0e8 + 1.0e5 * np.arange(8), "linear",
                    SkyCoord(ra=10.0, dec=-30.0, unit="deg"), "W", ntime=8)  # fmt: skip
    path = tmp_path / "w.ms"
    write_ms(v, path)
    (part,) = ms_index(path)
    with pytest.raises(MeasurementSetError, match="call ensure_column first"):
        write_rows(path, part.chunk(times=[0]).load(), "MODEL_DATA")
    ensure_column(path, "MODEL_DATA")  # once, by the client
    ensure_column(path, "MODEL_DATA")  # idempotent
    with pytest.raises(MeasurementSetError, match="not a complex data column"):
        ensure_column(path, "FLAG")
    files = []
    for i, (times, channels) in enumerate([(slice(0, 4), slice(0, 8)), (slice(4, 8), slice(0, 3)),
                                           (slice(4, 8), slice(3, 8, 2)), (slice(4, 8), [4, 6])]):  # fmt: skip
        files.append(tmp_path / f"c{i}.pkl")
        files[-1].write_bytes(pickle.dumps(part.chunk(times, channels)))
    lock = str(tmp_path / "ms.lock")
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER_CHILD, lock, *map(str, pair)],
                              stderr=subprocess.PIPE, text=True)
             for pair in (files[:2], files[2:])]  # fmt: skip
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()[-2000:]
    (data,) = read_ms(path)
    (model,) = read_ms(path, datacolumn="MODEL_DATA")
    np.testing.assert_array_equal(model.vis, (data.vis * (2 - 1j)).astype(np.complex64))
