"""Fingerprints of visibility data (uvflow.datamodels.io.vis_fingerprint).

A file's fingerprint is the same however its selection is cut into chunks (and for a
derived source of a chunk), and changes with the file's path, with a value at a sampled
row and with the selection; an in-memory Visibility's changes with a sampled value.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from uvflow.datamodels import derive, load_visibility, write_ms
from uvflow.datamodels.io import ms_index, uvfits_index
from uvflow.datamodels.io.vis_fingerprint import describe_visibility, fingerprint_inputs
from uvflow.datamodels.testing import random_configuration, simple_visibility

tables = pytest.importorskip("casacore.tables")

FILE_3C273 = (
    Path(
        os.environ.get("UVFLOW_REAL_DATA", Path(__file__).resolve().parents[3] / "shared/data/real")
    )
    / "3C273XC1.fits"
)


def _fingerprint(items):
    return fingerprint_inputs([describe_visibility(v) for v in items])


def _identity(vis):
    return vis


@pytest.fixture(scope="module")
def ms(tmp_path_factory):
    """An MS of 6 integrations × 15 baselines × 4 channels of random data."""
    rng = np.random.default_rng(5)
    config = random_configuration(nant=6, radius=500.0, seed=3)
    v = simple_visibility(config, ntime=6, frequency=1e8 + 1e6 * np.arange(4),
                          dtype=np.complex64)  # fmt: skip
    data = rng.normal(size=v.vis.shape) + 1j * rng.normal(size=v.vis.shape)
    path = tmp_path_factory.mktemp("fp") / "a.ms"
    write_ms(v.replace(vis=data.astype(np.complex64)), path)
    return path


def test_ms_fingerprint_does_not_depend_on_the_chunks(ms):
    (part,) = ms_index(ms)
    whole = _fingerprint([part.chunk()])
    (entry,) = whole
    assert entry["path"] == str(part.path) and entry["datacolumn"] == "DATA"
    assert entry["nrow"] == 90 and entry["cell_shape"] == [4, 1]
    (sel,) = entry["selection"]
    assert sel["channels"] == [0, 3, 4] and sel["times"][2] == 6
    by_time = _fingerprint(part.chunks(time_chunks=3))
    by_channel = _fingerprint([part.chunk(channels=slice(0, 2)), part.chunk(channels=slice(2, 4))])
    derived = _fingerprint([derive(c, _identity) for c in part.chunks(time_chunks=2)])
    assert whole == by_time == by_channel == derived == _fingerprint([part])
    # another selection of the same file: the same samples, another selection
    half = _fingerprint([part.chunk(times=slice(0, 3))])
    assert half[0]["sample"] == entry["sample"] and half[0]["selection"] != entry["selection"]


def test_ms_fingerprint_sees_another_path_and_a_changed_sample(ms, tmp_path):
    copy = tmp_path / "b.ms"
    shutil.copytree(ms, copy)
    (before,) = _fingerprint(ms_index(copy))
    (original,) = _fingerprint(ms_index(ms))
    assert before["path"] != original["path"] and before["sample"] == original["sample"]
    with tables.table(str(copy), readonly=False, ack=False) as t:  # the last row: sampled
        cell = t.getcell("DATA", t.nrows() - 1)
        t.putcell("DATA", t.nrows() - 1, cell + 1)
    (after,) = _fingerprint(ms_index(copy))
    assert after["sample"] != before["sample"]
    assert {k: v for k, v in after.items() if k != "sample"} == {
        k: v for k, v in before.items() if k != "sample"
    }


def test_in_memory_fingerprint(ms):
    (part,) = ms_index(ms)
    vis = load_visibility(part.chunk())
    (entry,) = _fingerprint([vis])
    assert entry["kind"] == "visibility" and entry["path"] == str(part.path)
    assert entry["shape"] == list(vis.vis.shape)
    assert _fingerprint([vis.copy()]) == [entry]
    changed = vis.vis.copy()
    changed[-1, -1] += 1.0  # the last (integration, baseline) cell is sampled
    assert _fingerprint([vis.replace(vis=changed)])[0]["sample"] != entry["sample"]
    later = vis.replace(time=vis.time + 1.0)
    assert _fingerprint([later])[0]["sample"] != entry["sample"]


def test_uvfits_fingerprint():
    if not FILE_3C273.exists():
        pytest.skip(f"{FILE_3C273} not found")
    parts = uvfits_index(FILE_3C273)
    whole = _fingerprint(parts)
    chunked = _fingerprint([c for p in parts for c in p.chunks(time_chunks=2)])
    assert whole == chunked and len(whole) == 1
    assert whole[0]["size"] == FILE_3C273.stat().st_size and whole[0]["nrow"] > 0
