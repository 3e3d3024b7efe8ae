"""Helpers the imaging workflows share: pairing lists and combining partial results."""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import Image, Visibility

from ..errors import ImagingError

__all__ = ["window_list", "combine_invert_pair", "sum_visibility_pair"]

#: Image rows combined at a time by :func:`combine_invert_pair`
_COMBINE_ROWS = 128


def window_list(name: str, value, n: int) -> list:
    """``value`` as a list of ``n`` windows: a single item is repeated, a list must have ``n``.

    Parameters
    ----------
    name : str
        The argument's name (for the message).
    value : object or list or tuple
        One item for every window, or one per window.
    n : int
        Number of windows.

    Raises
    ------
    ImagingError
        A list or tuple whose length is not ``n``.
    """
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ImagingError(f"{name} has {len(value)} entries, the visibility list {n}")
        return list(value)
    return [value] * n


def combine_invert_pair(a: tuple[Image, np.ndarray], b: tuple[Image, np.ndarray]):
    """Combine two normalised ``(image, sumwt)`` results into their weighted mean.

    Parameters
    ----------
    a, b : (Image, numpy.ndarray)
        Images ``data[nchan, npol, ny, nx]`` each normalised by its own ``sumwt[nchan, npol]``.

    Returns
    -------
    (Image, numpy.ndarray)
        ``(Σ im·w / Σ w, Σ w)`` per channel and polarisation (0 where Σ w = 0), on ``a``'s WCS.
    """
    (ia, wa), (ib, wb) = a, b
    if ia.data.shape != ib.data.shape:
        raise ImagingError(
            f"cannot sum images of shapes {list(ia.data.shape)} and {list(ib.data.shape)}"
        )
    total = wa + wb
    data = np.zeros(ia.data.shape, ia.data.dtype)
    # (a·wa + b·wb) / (wa + wb) in float64, a block of rows at a time: the same numbers as
    # the whole-cube expression, with temporaries of a few MiB instead of four float64
    # copies of the cube (~130 MiB for a 2048² image, held beside the partial images)
    for c, p in zip(*np.nonzero(total > 0)):
        fa, fb, ft = float(wa[c, p]), float(wb[c, p]), float(total[c, p])
        for r in range(0, data.shape[2], _COMBINE_ROWS):
            rows = slice(r, r + _COMBINE_ROWS)
            num = ia.data[c, p, rows].astype(np.float64) * fa
            num += ib.data[c, p, rows].astype(np.float64) * fb
            num /= ft
            data[c, p, rows] = num
    return ia.replace(data=data, wcs=ia.wcs.deepcopy()), total


def sum_visibility_pair(a: Visibility, b: Visibility) -> Visibility:
    """``a.vis + b.vis`` (the same samples predicted from two models)."""
    if a.vis.shape != b.vis.shape:
        raise ImagingError(
            f"cannot sum visibilities of shapes {list(a.vis.shape)} and {list(b.vis.shape)}"
        )
    return a.replace(vis=a.vis + b.vis)
