"""Visibility sources: small recipes that give a Visibility when a task loads them.

The data path of a large observation (DESIGN §4): visibilities never pass through the client.
The client plans chunks (an MS's rows and channels, a UVFITS file's groups) and hands each
to a task as a *source*, a small picklable object whose :meth:`~VisibilitySource.load`
reads its data where the task runs. A source may also be *derived*: a recipe applied to
what another source loads (imaging weights, a calibration), so that a task given a derived
source reads and transforms its chunk itself and nothing the size of the data travels
between tasks or lives between them.

Every kernel that takes a Visibility in a task takes a source too, through
:func:`load_visibility`: a Visibility is returned as it is, a source is loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .visibility import Visibility

__all__ = ["VisibilitySource", "DerivedSource", "derive", "load_visibility", "is_source"]


@runtime_checkable
class VisibilitySource(Protocol):
    """What a visibility source provides.

    ``load()`` returns a new Visibility (``vis[ntime, nbaseline, nchan, npol]``) each time it
    is called, reading its data then (a file read, or the source it derives from); it holds
    no data itself. ``shape`` is the shape ``load()`` gives (for memory planning) and
    ``nbytes`` an estimate of the bytes the loaded Visibility holds.
    """

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(ntime, nbaseline, nchan, npol)`` of the loaded Visibility."""
        ...

    @property
    def nbytes(self) -> int:
        """Bytes held by the loaded Visibility (vis, weight, flags, uvw)."""
        ...

    def load(self) -> Visibility:
        """Read the data and return them as a Visibility."""
        ...


def is_source(obj) -> bool:
    """Whether ``obj`` is a visibility source (not a Visibility: something to load).

    Parameters
    ----------
    obj : object
    """
    if isinstance(obj, Visibility) or hasattr(type(obj), "__dask_graph__"):
        return False  # a Dask collection (a Delayed has every attribute) is not a source
    return isinstance(obj, VisibilitySource)


def load_visibility(obj) -> Visibility:
    """``obj`` itself when it is a Visibility, else what the source ``obj`` loads.

    Parameters
    ----------
    obj : Visibility or VisibilitySource

    Raises
    ------
    TypeError
        ``obj`` is neither.
    """
    if isinstance(obj, Visibility):
        return obj
    if isinstance(obj, VisibilitySource):
        vis = obj.load()
        if not isinstance(vis, Visibility):
            raise TypeError(f"{type(obj).__name__}.load() gave a {type(vis).__name__}")
        return vis
    raise TypeError(f"expected a Visibility or a visibility source, got {type(obj).__name__}")


def _array_bytes(values) -> int:
    total = 0
    for v in values:
        if isinstance(v, np.ndarray):
            total += v.nbytes
        elif hasattr(v, "data") and isinstance(v.data, np.ndarray):
            total += v.data.nbytes  # an Image or a table's arrays
        elif isinstance(v, (list, tuple)):
            total += _array_bytes(v)
        elif isinstance(v, dict):
            total += _array_bytes(v.values())
    return total


@dataclass(frozen=True)
class DerivedSource:
    """A source whose ``load()`` is ``func(base.load(), *args, **kwargs)``.

    Parameters
    ----------
    base : Visibility or VisibilitySource
        What ``func`` transforms.
    func : callable
        ``func(vis, *args, **kwargs) -> Visibility``, importable by name (it travels to the
        worker by reference).
    args : tuple
        Positional arguments after the Visibility (e.g. a weight grid, gain tables).
    kwargs : dict
        Keyword arguments.

    Notes
    -----
    ``sys.getsizeof`` (and so Dask's ``sizeof``) counts the arrays it holds, so that a
    scheduler keeps tasks that use it where it is instead of copying it.
    """

    base: Any
    func: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """The base's shape (a derivation keeps the sampling)."""
        base = self.base
        return tuple(base.vis.shape) if isinstance(base, Visibility) else base.shape

    @property
    def nbytes(self) -> int:
        """The base's bytes (a derivation gives data of the same size)."""
        base = self.base
        if isinstance(base, Visibility):
            return int(base.vis.nbytes + base.weight.nbytes + base.flags.nbytes + base.uvw.nbytes)
        return int(base.nbytes)

    def load(self) -> Visibility:
        """Load the base and apply ``func``."""
        return self.func(load_visibility(self.base), *self.args, **self.kwargs)

    def __sizeof__(self) -> int:
        held = _array_bytes((self.base,) if isinstance(self.base, Visibility) else ())
        return (
            object.__sizeof__(self)
            + held
            + _array_bytes(self.args)
            + _array_bytes(self.kwargs.values())
            + (sys.getsizeof(self.base) if is_source(self.base) else 0)
        )


def derive(base, func: Callable, *args, **kwargs) -> DerivedSource:
    """The source ``func(load_visibility(base), *args, **kwargs)`` (see :class:`DerivedSource`).

    Parameters
    ----------
    base : Visibility or VisibilitySource
    func : callable
    *args, **kwargs
        Given to ``func`` after the loaded Visibility.
    """
    return DerivedSource(base, func, tuple(args), dict(kwargs))
