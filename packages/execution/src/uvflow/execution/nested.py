"""Take the Dask collections out of nested lists/tuples/dicts, and put results back.

``Client.compute`` and ``Client.persist`` accept a flat list of collections; these two
helpers let ``Executor.compute`` submit every deferred value of a nested structure in
one call (so shared dependencies are computed once) and return futures or values in
the caller's structure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask

__all__ = ["Slot", "fill_collections", "map_nested", "split_collections"]


class Slot:
    """Placeholder for the n-th Dask collection taken out of a nested structure."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def map_nested(value: Any, is_leaf: Callable[[Any], bool], func: Callable[[Any], Any]) -> Any:
    """``value`` with every leaf replaced by ``func(leaf)``, through lists, tuples and dicts.

    Only exact lists, tuples and dicts are entered (not their subclasses: named tuples
    and the like are kept whole), in order, so ``func`` sees the leaves depth first.
    """
    if is_leaf(value):
        return func(value)
    if type(value) is list:
        return [map_nested(v, is_leaf, func) for v in value]
    if type(value) is tuple:
        return tuple(map_nested(v, is_leaf, func) for v in value)
    if type(value) is dict:
        return {k: map_nested(v, is_leaf, func) for k, v in value.items()}
    return value


def split_collections(value: Any, leaves: list) -> Any:
    """Replace each Dask collection in lists/tuples/dicts by a Slot; append it to leaves."""

    def take(collection: Any) -> Slot:
        leaves.append(collection)
        return Slot(len(leaves) - 1)

    return map_nested(value, dask.is_dask_collection, take)


def fill_collections(template: Any, results: list) -> Any:
    """Inverse of split_collections: put results[i] where Slot(i) is."""
    return map_nested(template, lambda v: isinstance(v, Slot), lambda slot: results[slot.index])
