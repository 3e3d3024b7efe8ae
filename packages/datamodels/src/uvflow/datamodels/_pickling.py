"""Unpickled data models hold aligned arrays.

Pickle protocol 5 hands numpy arrays over as out-of-band buffers; Dask sends them in
network frames and builds the arrays on the receiving side as views of those frames,
which can start at any byte (seen: a scattered Visibility's complex128 ``vis`` at an
address ≡ 12 mod 64). numpy's ufuncs then take their slow unaligned loops and ducc0
copies the data on every call. The data models' ``__setstate__`` copies such arrays
once, on arrival.
"""

from __future__ import annotations

import numpy as np

__all__ = ["aligned_state"]


def aligned_state(state: dict) -> dict:
    """``state`` (an object's ``__dict__`` being unpickled) with every array aligned.

    Parameters
    ----------
    state : dict
        Attribute name → value; numpy arrays that are not aligned for their dtype are
        replaced by aligned copies, everything else is kept as it is.

    Returns
    -------
    dict
        A new dict (``state`` is not changed).
    """
    out = dict(state)
    for name, value in out.items():
        if isinstance(value, np.ndarray) and not value.flags.aligned:
            out[name] = value.copy()
    return out
