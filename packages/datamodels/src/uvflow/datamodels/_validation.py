"""Small helpers the data-model constructors share: shape, dtype and unit checks."""

from __future__ import annotations

import numpy as np

__all__ = ["DataModelError", "check_array", "check_same_shape", "broadcast_field"]


class DataModelError(ValueError):
    """A data model was built from inconsistent or invalid fields."""


def check_array(
    owner: str, field: str, value, *, ndim: int | None = None, shape=None, kind: str | None = None
) -> np.ndarray:
    """Return ``value`` as an ndarray after checking ndim, shape and dtype kind.

    ``shape`` entries of ``None`` match any length; ``kind`` is a string of numpy dtype kinds
    (``'c'`` complex, ``'f'`` float, ``'b'`` bool, ``'i'``/``'u'`` integer, ``'U'`` text).
    """
    arr = np.asarray(value)
    if ndim is not None and arr.ndim != ndim:
        raise DataModelError(f"{owner}.{field} must have {ndim} dimensions, got shape {arr.shape}")
    if shape is not None:
        if len(shape) != arr.ndim or any(
            s is not None and s != a for s, a in zip(shape, arr.shape)
        ):
            want = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
            raise DataModelError(f"{owner}.{field} has shape {list(arr.shape)}, expected {want}")
    if kind is not None and arr.dtype.kind not in kind:
        raise DataModelError(f"{owner}.{field} has dtype {arr.dtype}, expected kind {kind!r}")
    return arr


def check_same_shape(owner: str, ref_field: str, ref: np.ndarray, **others: np.ndarray) -> None:
    for name, arr in others.items():
        if arr.shape != ref.shape:
            raise DataModelError(
                f"{owner}.{name} has shape {list(arr.shape)}, must match {ref_field} {list(ref.shape)}"
            )


def broadcast_field(
    owner: str, field: str, value, shape: tuple[int, ...], dtype=float
) -> np.ndarray:
    """``value`` as an array of ``dtype`` and ``shape`` (shared if it already is; a scalar fills it).

    Raises DataModelError naming the field when the shapes are incompatible.
    """
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise DataModelError(f"{owner}.{field} must be {np.dtype(dtype).name} values") from None
    if arr.shape == tuple(shape):
        return arr
    try:
        return np.broadcast_to(arr, shape).copy()
    except ValueError:
        want = "[" + ", ".join(str(s) for s in shape) + "]"
        raise DataModelError(
            f"{owner}.{field} has shape {list(arr.shape)}, expected {want} or a scalar"
        ) from None
