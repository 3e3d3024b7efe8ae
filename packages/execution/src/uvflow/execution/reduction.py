"""Tree reductions built with the executor: :func:`sum_list_rsexecute`."""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["FOLD_BLOCK", "reduce_group", "sum_list_rsexecute", "sum_map_rsexecute"]

#: Items per balanced block of a serial :func:`sum_map_rsexecute` (the blocks are combined
#: in order)
FOLD_BLOCK = 2


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
    executor = _checked(split, executor)
    return _tree(range(len(items)), items.__getitem__, func, split, executor)


def sum_map_rsexecute(
    item: Callable[..., Any],
    args: Sequence[tuple],
    func: Callable[[Any, Any], Any] = operator.add,
    split: int = 2,
    executor=None,
    group: int = 1,
    block: int | None = None,
) -> Any:
    """The combination of ``item(*args[0]), item(*args[1]), …``, each made when needed.

    The items are cut into consecutive blocks of ``block``; each block is combined as
    :func:`sum_list_rsexecute` combines a list (a balanced tree), and the blocks' results
    are combined in order, left to right (a running sum). The items are made in order
    and combined as soon as their subtree is complete, so serially at most about
    ``log_split(block) + 2`` items and partial results are alive at a time, whatever the
    number of items. With ``n <= block`` this is exactly :func:`sum_list_rsexecute`'s
    tree. In the Dask modes each item is a task, except that with ``group > 1`` a subtree
    over at most ``group`` consecutive items (of one block) is one task that makes and
    combines them as serial mode does.

    The default ``block`` differs by mode, for memory: serially :data:`FOLD_BLOCK`
    (pairs, then the running sum: at most 3 partial results alive, where a balanced tree
    over all ``n`` holds ``log2(n) + 1``, a 2048² image more per doubling of the data); on
    Dask one block (the balanced tree over all items, in subtrees of ``group`` per task),
    because a running sum makes the workers hold the block results it has not reached
    yet (measured on issue 15's 5.9 GB MS: 608 → 746 MiB per worker from 11 to 42 chunks
    with blocks of 4, workers paused at 80 % with pairs; 627 → 624 MiB with one tree). The
    two orders of summation agree to float rounding (1.5e-7 of the peak measured), not bit
    for bit; give ``block`` to have the same combination in every mode.

    Parameters
    ----------
    item : callable
        ``item(*args[i])`` → item ``i``: a kernel (it computes the value; with
        ``group > 1`` it runs inside a task and must pickle).
    args : sequence of tuple
        Per item, the arguments of ``item`` (values, or deferred values in the Dask
        modes); at least one.
    func, split, executor
        As :func:`sum_list_rsexecute`.
    group : int
        Items a Dask task makes and combines serially (>= 1; at most ``block`` are used).
    block : int, optional
        Items per balanced block (>= 2; default: see above).

    Returns
    -------
    object
        The combination: deferred in the Dask modes, a value in serial mode.
    """
    args = [tuple(a) for a in args]
    if not args:
        raise ValueError("sum_map_rsexecute needs at least one item")
    if not isinstance(group, int) or group < 1:
        raise ValueError(f"group must be an integer >= 1, got {group!r}")
    if block is not None and (isinstance(block, bool) or not isinstance(block, int) or block < 2):
        raise ValueError(f"block must be None or an integer >= 2, got {block!r}")
    executor = _checked(split, executor)
    if block is None:
        block = max(len(args), 2) if executor.using_dask else FOLD_BLOCK
    group = min(group, block) if executor.using_dask else 1

    def leaf(i: int) -> Any:
        return executor.execute(item)(*args[i])

    def subtree(part: range) -> Any:
        return executor.execute(_serial_tree)(item, [args[i] for i in part], func, split)

    total = None
    for start in range(0, len(args), block):
        part = range(start, min(start + block, len(args)))
        result = _tree(part, leaf, func, split, executor, subtree, group)
        total = result if total is None else executor.execute(func)(total, result)
    return total


class _Inline:
    """The serial executor's ``execute`` (a task that runs a subtree calls functions)."""

    @staticmethod
    def execute(f, **_):
        return f


def _serial_tree(item, args: list, func, split) -> Any:
    """One task's subtree: the items made and combined in serial mode's order."""
    return _tree(range(len(args)), lambda i: item(*args[i]), func, split, _Inline)


def _checked(split, executor):
    """The executor to build with (default the shared ``rsexecute``), once ``split`` is valid."""
    if not isinstance(split, int) or split < 2:
        raise ValueError(f"split must be an integer >= 2, got {split!r}")
    if executor is None:
        from uvflow.execution.executor import rsexecute as executor
    return executor


def _tree(part: range, leaf, func, split, executor, subtree=None, group: int = 1) -> Any:
    """The balanced tree over the indices ``part``: left groups made (and combined) first;
    a part of at most ``group`` items (``group > 1``) is ``subtree(part)``."""
    if len(part) == 1:
        return leaf(part[0])
    if group > 1 and len(part) <= group:
        return subtree(part)
    size = math.ceil(len(part) / split)
    partials = [
        _tree(part[i : i + size], leaf, func, split, executor, subtree, group)
        for i in range(0, len(part), size)
    ]
    if len(partials) == 2:
        return executor.execute(func)(*partials)
    return executor.execute(reduce_group)(func, *partials)
