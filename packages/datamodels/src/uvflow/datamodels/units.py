"""User-facing angle parsing: astropy quantities or strings such as ``"1.5asec"``."""

from __future__ import annotations

import re

import astropy.units as u
import numpy as np

__all__ = ["to_radians"]

_ALIASES = {"asec": "arcsec", "amin": "arcmin", "deg": "deg", "rad": "rad", "mas": "mas"}


def to_radians(value) -> float:
    """An angle in radians from a float (radians), an astropy Quantity or a string.

    Parameters
    ----------
    value : float, astropy.units.Quantity or str
        A number (radians), an angular quantity (``1.5 * u.arcsec``), or a number and a unit
        as text: ``"1.5asec"``, ``"2arcmin"``, ``"0.1deg"``, ``"3 mas"``.

    Returns
    -------
    float
        Radians.

    Raises
    ------
    ValueError
        A quantity or string whose unit is not an angle, a string without a unit, or a
        non-finite number.
    """
    if isinstance(value, u.Quantity):
        try:
            return float(value.to_value(u.rad))
        except u.UnitConversionError as exc:
            raise ValueError(f"angle {value} does not have angular units") from exc
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([-+0-9.eE]+)\s*([a-zA-Z]*)\s*", value)
        if not m or not m.group(2):
            raise ValueError(
                f"angle {value!r} needs a unit, e.g. '1.5asec', '2arcmin', '0.1deg', '0.001rad'"
            )
        unit = _ALIASES.get(m.group(2), m.group(2))
        try:
            return float((float(m.group(1)) * u.Unit(unit)).to_value(u.rad))
        except (ValueError, u.UnitConversionError) as exc:
            raise ValueError(f"angle {value!r}: unit {m.group(2)!r} is not an angle") from exc
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"angle {value!r} is not finite")
    return v
