"""Row indices pickled packed (uvflow.datamodels.io.index_codec): exact, and small.

Any integer array comes back with the same values and dtype (hypothesis, including the
arrays that fit no pattern); the three indices of a chunk of a time-ordered file (a
contiguous row range, runs of one time cell, one baseline pattern per integration) pack to
a size that does not grow with the number of rows; chunks of an MS with shuffled rows
(nothing to pack) still load the same after pickling.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from uvflow.datamodels.io.index_codec import pack_index, unpack_index

INT_DTYPES = st.sampled_from(
    [np.int8, np.int16, np.int32, np.int64, np.uint16, np.uint32, np.uint64]
)


def _same(a, b):
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)


@given(hnp.arrays(INT_DTYPES, st.integers(0, 200)))
@settings(max_examples=200, deadline=None)
def test_any_integer_array_round_trips(a):
    _same(a, unpack_index(pickle.loads(pickle.dumps(pack_index(a)))))


@given(
    dtype=INT_DTYPES, period=st.integers(1, 30), reps=st.integers(1, 30),
    runs=st.lists(st.integers(1, 40), min_size=1, max_size=30), step=st.integers(-3, 3),
)  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_patterned_arrays_round_trip(dtype, period, reps, runs, step):
    rng = np.random.default_rng(period * 1000 + reps)
    pattern = rng.integers(0, 100, period)
    for a in (
        np.tile(pattern, reps),
        np.repeat(np.arange(len(runs)) * 2, runs),
        50 + step * np.arange(reps * period),
    ):
        _same(a.astype(dtype), unpack_index(pack_index(a.astype(dtype))))


@pytest.mark.parametrize("ntime", [10, 1000])
def test_time_ordered_chunk_index_packs_to_a_size_independent_of_rows(ntime):
    """A chunk of 2016 baselines x ntime integrations: rows 8 B, cells 2 x 4 B a row unpacked."""
    nbl = 2016
    rows = 123_456 + np.arange(ntime * nbl, dtype=np.int64)
    t_index = np.repeat(np.arange(ntime, dtype=np.int32), nbl)
    b_index = np.tile(np.random.default_rng(1).permutation(nbl).astype(np.int32), ntime)
    sizes = [len(pickle.dumps(pack_index(a))) for a in (rows, t_index, b_index)]
    # the baseline pattern (2016 int32) is what remains: ~8 kB, whatever ntime is
    assert sum(sizes) < 10_000, sizes
    for a in (rows, t_index, b_index):
        _same(a, unpack_index(pack_index(a)))


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="known: array, range, tile, runs"):
        unpack_index(("zigzag", "<i8", 1))
