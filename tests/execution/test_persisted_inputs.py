"""Graphs built on persisted values own them, wherever the values sit in the arguments.

dask rebuilds the graph of a collection found inside a list, tuple or dict argument
(or a keyword) without the ``Future`` objects of persisted inputs (dask/dask#12055):
once the caller drops its own references, the scheduler forgets the data and the
next compute is cancelled with "lost dependencies". ``rsexecute.execute`` passes such
values as top-level task inputs instead. These tests drop every outside reference,
collect garbage and wait for the releases to reach the scheduler before computing, so
without that they fail every time, not at random.
"""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest

from uvflow.execution import rsexecute


def ones(n):
    return np.ones(n)


def total(parts, scale=1.0):
    return scale * float(sum(np.sum(p) for p in parts))


def weighted(values, weights=None):
    return float(sum(w * np.sum(values[k]) for k, w in weights.items()))


def _forget_outside_references():
    gc.collect()
    time.sleep(0.5)  # the client's releases reach the scheduler


@pytest.mark.cluster
def test_nested_and_keyword_persisted_inputs_stay_alive(local_client):
    rsexecute.set_client(client=local_client)
    persisted = rsexecute.persist([rsexecute.execute(ones)(n) for n in (10, 20, 30)])
    in_list = rsexecute.execute(total)(persisted[:2])
    in_tuple_kw = rsexecute.execute(total)((persisted[2],), scale=persisted[0])
    in_dict = rsexecute.execute(weighted)(
        {"a": persisted[0], "b": persisted[1]}, weights={"a": 1.0, "b": 2.0}
    )
    del persisted
    _forget_outside_references()
    assert rsexecute.compute([in_list, in_dict], sync=True) == [30.0, 50.0]
    # a persisted value given as a keyword argument is computed, not passed as a Delayed
    assert rsexecute.compute(in_tuple_kw, sync=True) == pytest.approx(30.0 * np.ones(10))
    # a chain of persists, each dropping the previous step (the major-cycle pattern)
    step = rsexecute.persist(in_list)
    for _ in range(3):
        step = rsexecute.persist(rsexecute.execute(total)([step, step]))
        _forget_outside_references()
    assert rsexecute.compute(step, sync=True) == 30.0 * 8


@pytest.mark.cluster
def test_task_keys_name_the_function(local_client):
    rsexecute.set_client(client=local_client)
    nested = rsexecute.execute(total)([rsexecute.execute(ones)(3)], scale=2.0)
    plain = rsexecute.execute(ones)(3)
    named = rsexecute.execute(ones, name="make_ones")(3)
    assert nested.key.startswith("total-") and plain.key.startswith("ones-")
    assert named.key.startswith("make_ones-")
    assert rsexecute.compute(nested, sync=True) == 6.0
    pure = rsexecute.execute(total, pure=True)
    assert pure([1.0], scale=2.0).key == pure([1.0], scale=2.0).key
    assert pure([1.0], scale=2.0).key != pure([1.0], scale=3.0).key
