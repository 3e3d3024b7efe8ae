"""Read-only properties that name the axes of a data model's arrays.

``Visibility.ntime``, ``GainTable.nants``, ``Image.ny`` … are each the length of one axis
of the model's main array, and ``Visibility.u``/``v``/``w`` one component of ``uvw``:
:func:`axis_length` and :func:`last_axis_component` make those properties from the field
and the axis, so that each is one line naming what it is.
"""

from __future__ import annotations

__all__ = ["axis_length", "last_axis_component"]


def axis_length(array: str, axis: int, doc: str) -> property:
    """A read-only property: the length of axis ``axis`` of the array field ``array``.

    Parameters
    ----------
    array : str
        The name of the array field (``'vis'``, ``'gain'``, ``'data'``).
    axis : int
        The axis, 0-based.
    doc : str
        The property's docstring.

    Returns
    -------
    property
        Giving an int (``getattr(obj, array).shape[axis]``).
    """

    def length(self) -> int:
        return getattr(self, array).shape[axis]

    return property(length, doc=doc)


def last_axis_component(array: str, index: int, doc: str) -> property:
    """A read-only property: element ``index`` of the last axis of the array field ``array``.

    Parameters
    ----------
    array : str
        The name of the array field (``'uvw'``).
    index : int
        The element of the last axis.
    doc : str
        The property's docstring.

    Returns
    -------
    property
        Giving ``getattr(obj, array)[..., index]`` (a view, not a copy).
    """

    def component(self):
        return getattr(self, array)[..., index]

    return property(component, doc=doc)
