"""Checks shared by the imaging settings objects: plugin options and positive integers."""

from __future__ import annotations

import numpy as np

from .errors import ImagingError

__all__ = ["options_tuple", "positive_int"]


def options_tuple(options) -> tuple:
    """A plugin's options as sorted ``(name, value)`` pairs (hashable container, picklable)."""
    if options is None:
        return ()
    if isinstance(options, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in options):
        options = dict(options)
    if not isinstance(options, dict):
        raise TypeError(f"plugin options must be a dict of name -> value, got {options!r}")
    for k in options:
        if not isinstance(k, str):
            raise TypeError(f"plugin option names must be strings, got {k!r}")
    return tuple(sorted(options.items()))


def positive_int(name: str, value, error=ImagingError, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise error(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
