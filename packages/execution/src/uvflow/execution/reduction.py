"""Tree reductions built with the executor: :func:`sum_list_rsexecute`."""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["reduce_group", "sum_list_rsexecute", "sum_map_rsexecute"]


def reduce_group(func: Callable[[Any, Any], Any], *values: Any) -> Any:
    """``functools.reduce(func, values)``: one task combining a group of partial results."""
    return functools.reduce(func, values)


def sum_list_rsexecute(
    items: Sequence[Any],
    func: Callable[[Any, Any], Any] = operator.add,
    split: int = 2,
    executor=None,
) -> Any:
    """Combine a list with ``func`` as a balanced tree of tasks.

    The list is cut into ``split`` consecutive groups, each reduced the same way,
    and the partial results combined in order, so the graph is ``log_split(n)``
    deep instead of ``n`` long, and ``func`` need only be associative (not
    commutative).

    Parameters
    ----------
    items : sequence
        Values or deferred values (``rsexecute.execute`` results); at least one.
    func : callable
        Binary combination ``func(a, b)``, e.g. ``operator.add``.
    split : int
        Fan-in of the tree (>= 2). With 2 each task is ``func(a, b)``; with more,
        each task is :func:`reduce_group` over up to ``split`` partial results.
    executor : Executor, optional
        Default: the shared ``rsexecute``.

    Returns
    -------
    object
        The combination: deferred in the Dask modes (compute it with
        ``rsexecute.compute``), a value in serial mode.
    """
    items = list(items)
    if not items:
        raise ValueError("sum_list_rsexecute needs at least one item")
    return _tree(range(len(items)), items.__getitem__, func, split, executor)


def sum_map_rsexecute(
    make: Callable[[int], Any],
    n: int,
    func: Callable[[Any, Any], Any] = operator.add,
    split: int = 2,
    executor=None,
) -> Any:
    """``sum_list_rsexecute([make(0), …, make(n - 1)])``, each item made when the tree needs it.

    In the Dask modes the graph is the same as :func:`sum_list_rsexecute`'s over the made
    items. In serial mode (where ``make`` computes its item at once) the items are made in
    order and combined as soon as their subtree is complete, with the same pairing: the
    result is bit-for-bit the same, but at most about ``log_split(n) + 1`` items and partial
    results are alive at a time instead of all ``n`` — what keeps a serial run's memory
    flat in the number of chunks it images.

    Parameters
    ----------
    make : callable
        ``make(i)`` → item ``i`` (a value, or a deferred value in the Dask modes).
    n : int
        Number of items (>= 1).
    func, split, executor
        As :func:`sum_list_rsexecute`.

    Returns
    -------
    object
        The combination: deferred in the Dask modes, a value in serial mode.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"sum_map_rsexecute needs at least one item, got n={n!r}")
    return _tree(range(n), make, func, split, executor)


def _tree(part: range, leaf: Callable[[int], Any], func, split, executor) -> Any:
    """The balanced tree over the indices ``part``: left groups made (and combined) first."""
    if executor is None:
        from uvflow.execution.executor import rsexecute as executor
    if not isinstance(split, int) or split < 2:
        raise ValueError(f"split must be an integer >= 2, got {split!r}")
    if len(part) == 1:
        return leaf(part[0])
    size = math.ceil(len(part) / split)
    partials = [
        _tree(part[i : i + size], leaf, func, split, executor) for i in range(0, len(part), size)
    ]
    if len(partials) == 2:
        return executor.execute(func)(*partials)
    return executor.execute(reduce_group)(func, *partials)
