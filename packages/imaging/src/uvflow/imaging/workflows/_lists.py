"""Helpers the imaging workflows share: pairing lists and combining partial results."""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import Image, Visibility

from ..errors import ImagingError

__all__ = ["window_list", "combine_invert_pair", "sum_visibility_pair"]


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
    num = ia.data * wa[:, :, None, None] + ib.data * wb[:, :, None, None]
    safe = np.where(total > 0, total, 1.0)[:, :, None, None]
    data = np.where(total[:, :, None, None] > 0, num / safe, 0.0).astype(ia.data.dtype, copy=False)
    return ia.replace(data=data, wcs=ia.wcs.deepcopy()), total


def sum_visibility_pair(a: Visibility, b: Visibility) -> Visibility:
    """``a.vis + b.vis`` (the same samples predicted from two models)."""
    if a.vis.shape != b.vis.shape:
        raise ImagingError(
            f"cannot sum visibilities of shapes {list(a.vis.shape)} and {list(b.vis.shape)}"
        )
    return a.replace(vis=a.vis + b.vis)
