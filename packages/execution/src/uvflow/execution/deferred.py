"""Deferred calls whose nested Dask arguments keep their persisted results alive.

``dask.delayed(func)(*args)`` finds Dask collections inside lists, tuples and dicts of
arguments (and in keyword arguments) and merges their graphs into the new task's
graph. For a collection that was persisted on a cluster, its graph is ``{key: Future}``;
on the nested path dask (2025.4 and later, see dask/dask#12055) rebuilds the graph
without the ``Future`` objects and keeps only their keys. The new graph then refers to
data it does not own: once the caller drops its own references to the persisted
values, the client tells the scheduler to forget them, and the next graph that needs
them is cancelled with "lost dependencies". Workflows that persist between steps
(early-stopping major cycles, the calibration solve fed a list of per-window parts) hit
this at random, depending on when the garbage collector runs.

:func:`deferred_call` avoids the nested path: every collection found inside the
arguments becomes a top-level positional argument of one task, and a small wrapper
puts the computed values back where they were before calling ``func``. Top-level
arguments keep their whole graph, ``Future`` objects included, so a graph owns what it
needs for as long as it exists. The task's key still starts with ``func``'s name, so the
dashboard, task stream and statistics name the user's function.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import dask
from dask.base import tokenize
from dask.utils import funcname

from uvflow.execution.nested import fill_collections, split_collections

__all__ = ["deferred_call", "deferred_function", "has_nested_collections", "task_key"]


def has_nested_collections(args: tuple, kwargs: dict) -> bool:
    """Whether a Dask collection sits inside a list/tuple/dict argument or in ``kwargs``."""
    for value in args:
        if type(value) in (list, tuple, dict) and _contains_collection(value):
            return True
    return _contains_collection(kwargs)


def _contains_collection(value: Any) -> bool:
    if dask.is_dask_collection(value):
        return True
    if type(value) in (list, tuple):
        return any(_contains_collection(v) for v in value)
    if type(value) is dict:
        return any(_contains_collection(v) for v in value.values())
    return False


def _call_filled(func: Callable, args_template: tuple, kwargs_template: dict, *values):
    """Run ``func`` with the computed ``values`` put back into the argument structure."""
    return func(
        *fill_collections(args_template, values), **fill_collections(kwargs_template, values)
    )


def task_key(func: Callable, name: str | None, pure: bool, args: tuple, kwargs: dict) -> str:
    """``<name or func's name>-<token>``: a content token when pure, else a random one."""
    prefix = name or funcname(func)
    token = tokenize(func, args, kwargs) if pure else str(uuid.uuid4())
    return f"{prefix}-{token}"


def deferred_call(
    func: Callable,
    args: tuple,
    kwargs: dict,
    nout: int | None = None,
    pure: bool = False,
    name: str | None = None,
):
    """A ``Delayed`` of ``func(*args, **kwargs)`` whose graph owns every input.

    Parameters
    ----------
    func : callable
        The function.
    args, kwargs : tuple, dict
        Its arguments; Dask collections may sit at any depth of lists, tuples and dicts.
    nout : int, optional
        Number of outputs (the result can be unpacked into ``nout`` parts).
    pure : bool
        Key from the arguments' content (equal calls share a key) or a random key.
    name : str, optional
        Key prefix; default ``func``'s name.

    Returns
    -------
    dask.delayed.Delayed
    """
    values: list = []
    args_template = split_collections(tuple(args), values)
    kwargs_template = split_collections(dict(kwargs), values)
    key = task_key(func, name, pure, args, kwargs)
    return dask.delayed(_call_filled, nout=nout, pure=False, traverse=False)(
        func, args_template, kwargs_template, *values, dask_key_name=key
    )


def deferred_function(
    func: Callable, nout: int | None, pure: bool, name: str | None, traverse: bool
) -> Callable:
    """``func`` made to build a ``Delayed`` per call (``Executor.execute`` in the Dask modes).

    A call with keywords or with Dask collections nested in its arguments goes through
    :func:`deferred_call` (when ``traverse``); any other is ``dask.delayed(func)``. The
    keys are :func:`task_key`'s.
    """

    def call(*args, **kwargs):
        if traverse and (kwargs or has_nested_collections(args, kwargs)):
            return deferred_call(func, args, kwargs, nout=nout, pure=pure, name=name)
        key = task_key(func, name, pure, args, kwargs)
        return dask.delayed(func, nout=nout, pure=pure, traverse=traverse)(
            *args, **kwargs, dask_key_name=key
        )

    call.__wrapped__ = func
    return call
