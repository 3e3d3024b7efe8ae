"""Small helpers the data-model constructors share: shape, dtype and unit checks.

Units (DESIGN §3): user-facing values accept astropy quantities (``[100] * u.MHz``,
``1.5 * u.km``) or strings (``"100MHz"``); they are converted to the internal unit of the
field (Hz, m, s, rad, Jy). Plain numbers already are in the internal unit.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

__all__ = [
    "DataModelError",
    "check_array",
    "check_same_shape",
    "broadcast_field",
    "in_unit",
    "mjd_seconds",
]


class DataModelError(ValueError):
    """A data model was built from inconsistent or invalid fields."""


#: What each internal unit is called in error messages.
_UNIT_NAMES = {"Hz": "a frequency", "m": "a length", "s": "a duration", "rad": "an angle",
               "Jy": "a flux density"}  # fmt: skip


def in_unit(owner: str, field: str, value, unit: str):
    """``value`` in ``unit``: a Quantity or a string such as ``"100MHz"`` converted, anything
    else returned unchanged (plain numbers are already in ``unit``).

    Raises
    ------
    DataModelError
        The quantity's unit cannot be converted to ``unit``; the message names the field,
        the unit given and the unit expected.
    """
    if isinstance(value, (list, tuple)) and any(isinstance(x, u.Quantity) for x in value):
        try:
            value = u.Quantity(value)
        except u.UnitConversionError:
            raise DataModelError(
                f"{owner}.{field} mixes incompatible units; give {_UNIT_NAMES[unit]} in {unit}"
            ) from None
    if isinstance(value, str):
        try:
            value = u.Quantity(value)
        except (TypeError, ValueError):
            raise DataModelError(
                f"{owner}.{field} {value!r} is not a number with a unit; give {_UNIT_NAMES[unit]} "
                f"in {unit} or a quantity such as '1.5 {unit}'"
            ) from None
        if value.unit == u.dimensionless_unscaled:
            return value.value
    if isinstance(value, u.Quantity):
        try:
            return value.to_value(unit)
        except u.UnitConversionError:
            raise DataModelError(
                f"{owner}.{field} has unit {value.unit.to_string() or 'dimensionless'}, which is "
                f"not {_UNIT_NAMES[unit]}; give a quantity convertible to {unit} (or plain "
                f"numbers in {unit})"
            ) from None
    return value


def mjd_seconds(owner: str, field: str, value):
    """Times as MJD seconds (UTC): an astropy ``Time``, a Quantity of MJD in any time unit
    (``58000 * u.day``), or plain MJD seconds (returned unchanged)."""
    from astropy.time import Time

    if isinstance(value, Time):
        utc = value.utc
        return (utc.jd1 - 2400000.5) * 86400.0 + utc.jd2 * 86400.0
    return in_unit(owner, field, value, "s")


def check_array(
    owner: str, field: str, value, *, ndim: int | None = None, shape=None, kind: str | None = None
) -> np.ndarray:
    """Return ``value`` as an ndarray after checking ndim, shape and dtype kind.

    ``shape`` entries of ``None`` match any length; ``kind`` is a string of numpy dtype kinds
    (``'c'`` complex, ``'f'`` float, ``'b'`` bool, ``'i'``/``'u'`` integer, ``'U'`` text).
    """
    if isinstance(value, u.Quantity):
        raise DataModelError(
            f"{owner}.{field} takes no units (got a quantity in {value.unit.to_string()})"
        )
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
    """Raise DataModelError naming the first of ``others`` whose shape differs from ``ref``'s."""
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
    if isinstance(value, u.Quantity):
        raise DataModelError(
            f"{owner}.{field} takes no units (got a quantity in {value.unit.to_string()})"
        )
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
