"""Tree reductions built with the executor: :func:`sum_list_rsexecute`."""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["reduce_group", "sum_list_rsexecute"]


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
    if executor is None:
        from uvflow.execution.executor import rsexecute as executor
    if not isinstance(split, int) or split < 2:
        raise ValueError(f"split must be an integer >= 2, got {split!r}")
    items = list(items)
    if not items:
        raise ValueError("sum_list_rsexecute needs at least one item")

    def tree(part: list) -> Any:
        if len(part) == 1:
            return part[0]
        size = math.ceil(len(part) / split)
        partials = [tree(part[i : i + size]) for i in range(0, len(part), size)]
        if len(partials) == 2:
            return executor.execute(func)(*partials)
        return executor.execute(reduce_group)(func, *partials)

    return tree(items)
