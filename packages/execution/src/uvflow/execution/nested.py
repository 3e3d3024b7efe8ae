"""Take the Dask collections out of nested lists/tuples/dicts, and put results back.

``Client.compute`` and ``Client.persist`` accept a flat list of collections; these two
helpers let ``Executor.compute`` submit every deferred value of a nested structure in
one call (so shared dependencies are computed once) and return futures or values in
the caller's structure.
"""

from __future__ import annotations

from typing import Any

import dask

__all__ = ["Slot", "fill_collections", "split_collections"]


class Slot:
    """Placeholder for the n-th Dask collection taken out of a nested structure."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def split_collections(value: Any, leaves: list) -> Any:
    """Replace each Dask collection in lists/tuples/dicts by a Slot; append it to leaves."""
    if dask.is_dask_collection(value):
        leaves.append(value)
        return Slot(len(leaves) - 1)
    if type(value) is list:
        return [split_collections(v, leaves) for v in value]
    if type(value) is tuple:
        return tuple(split_collections(v, leaves) for v in value)
    if type(value) is dict:
        return {k: split_collections(v, leaves) for k, v in value.items()}
    return value


def fill_collections(template: Any, results: list) -> Any:
    """Inverse of split_collections: put results[i] where Slot(i) is."""
    if isinstance(template, Slot):
        return results[template.index]
    if type(template) is list:
        return [fill_collections(v, results) for v in template]
    if type(template) is tuple:
        return tuple(fill_collections(v, results) for v in template)
    if type(template) is dict:
        return {k: fill_collections(v, results) for k, v in template.items()}
    return template
