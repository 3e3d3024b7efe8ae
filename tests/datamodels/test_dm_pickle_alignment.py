"""Data models unpickled from unaligned buffers hold aligned arrays.

Dask sends the arrays of a pickled object as out-of-band buffers in network frames and
rebuilds them as views that can start at any byte. Here the buffers are put one byte
into a bytearray, so every array view is unaligned before ``__setstate__`` runs
(without it ``vis``, ``gain`` and the image data come back unaligned).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from uvflow.datamodels import GainTable, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility


def _unaligned_round_trip(obj):
    buffers = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    shifted = []
    for b in buffers:
        raw = b.raw()
        store = bytearray(raw.nbytes + 1)
        store[1:] = raw
        shifted.append(memoryview(store)[1:])
    return pickle.loads(data, buffers=shifted)


def _vis():
    config = random_configuration(nant=6, radius=500.0, seed=3)
    return simple_visibility(config, ntime=3, frequency=[1e8, 1.1e8], polarisation_frame="linear")


def _gaintable(vis):
    gain = np.ones((vis.ntime, len(vis.configuration.names), 1, 2, 2), complex) * np.eye(2)
    return GainTable(
        gain=gain, weight=np.ones(gain.shape), residual=np.zeros((vis.ntime, 1, 2, 2)),
        time=vis.time, interval=np.full(vis.ntime, 10.0), frequency=np.array([1.05e8]),
        receptor_frame="linear", phasecentre=vis.phasecentre, configuration=vis.configuration,
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["visibility", "image", "gaintable"])
def test_arrays_arrive_aligned_and_equal(kind):
    vis = _vis()
    if kind == "visibility":
        obj, fields = vis, ("vis", "weight", "flags", "uvw", "time")
    elif kind == "image":
        obj = create_image(32, np.deg2rad(0.01), vis.phasecentre, frequency=1e8)
        obj.data[...] = np.random.default_rng(1).normal(size=obj.data.shape)
        fields = ("data",)
    else:
        obj, fields = _gaintable(vis), ("gain", "weight", "residual", "time")
    back = _unaligned_round_trip(obj)
    for name in fields:
        a, b = getattr(obj, name), getattr(back, name)
        assert b.flags.aligned, name
        np.testing.assert_array_equal(a, b)
