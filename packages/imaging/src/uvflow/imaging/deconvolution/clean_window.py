"""Clean windows: where a minor cycle may place components, as weights in [0, 1].

A *window* is a float array of weights in [0, 1] (1 = components allowed, 0 = not); the
peak search maximises ``|residual| · window`` and the stopping test uses that value.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import Image

from .errors import DeconvolutionError

__all__ = ["WINDOW_SHAPES", "create_window", "window_plane"]

WINDOW_SHAPES = (None, "quarter", "no_edge")


def create_window(
    dirty: Image,
    window_shape: str | None = None,
    window_edge: int = 16,
    mask: Image | np.ndarray | None = None,
) -> np.ndarray | None:
    """The clean window of ``dirty``: a shape rule times an optional mask.

    Parameters
    ----------
    dirty : Image
        Only its shape is used.
    window_shape : None, 'quarter' or 'no_edge'
        None: the whole image; 'quarter': the inner quarter (pixels ``ny//4 : 3*ny//4`` and
        likewise in x); 'no_edge': all but ``window_edge`` pixels at each border.
    window_edge : int
        Border width in pixels for 'no_edge'.
    mask : Image or numpy.ndarray, optional
        bool, 0/1 or weights in [0, 1], shape [ny, nx] or [nchan|1, npol|1, ny, nx].

    Returns
    -------
    numpy.ndarray of float64, shape [nchan|1, npol|1, ny, nx], or None for no window.
    """
    nchan, npol, ny, nx = dirty.shape
    if window_shape not in WINDOW_SHAPES:
        raise DeconvolutionError(
            f"window_shape {window_shape!r} unknown; use None, 'quarter' or 'no_edge'"
        )
    window = None
    if window_shape == "quarter":
        window = np.zeros((1, 1, ny, nx))
        window[..., ny // 4 : 3 * ny // 4, nx // 4 : 3 * nx // 4] = 1.0
    elif window_shape == "no_edge":
        edge = int(window_edge)
        if edge < 0 or 2 * edge >= min(ny, nx):
            raise DeconvolutionError(
                f"window_edge must be >= 0 and leave pixels inside a {ny} x {nx} image; got {window_edge}"
            )
        window = np.zeros((1, 1, ny, nx))
        window[..., edge : ny - edge, edge : nx - edge] = 1.0
    if mask is not None:
        m = np.asarray(mask.data if isinstance(mask, Image) else mask)
        if m.dtype.kind not in "biuf":
            raise DeconvolutionError(f"mask must be bool or real numbers, got dtype {m.dtype}")
        if m.ndim == 2:
            m = m[None, None]
        ok = (
            m.ndim == 4
            and m.shape[2:] == (ny, nx)
            and m.shape[0] in (1, nchan)
            and m.shape[1] in (1, npol)
        )
        if not ok:
            raise DeconvolutionError(
                f"mask has shape {list(m.shape)}; expected [{ny}, {nx}] or "
                f"[1 or {nchan}, 1 or {npol}, {ny}, {nx}] to match the dirty image"
            )
        m = m.astype(np.float64)
        if not np.all((m >= 0.0) & (m <= 1.0)):
            raise DeconvolutionError("mask values must lie in [0, 1] (0/1, bool or weights)")
        window = m if window is None else window * m
    if window is not None and not np.any(window > 0):
        raise DeconvolutionError("the clean window/mask excludes every pixel")
    return window


def window_plane(window: np.ndarray | None, chan: int, pol: int) -> np.ndarray | None:
    """The [ny, nx] window of plane (chan, pol) of a window made by :func:`create_window`."""
    if window is None:
        return None
    return window[min(chan, window.shape[0] - 1), min(pol, window.shape[1] - 1)]
