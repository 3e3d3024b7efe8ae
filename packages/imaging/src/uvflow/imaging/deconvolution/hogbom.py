"""Högbom CLEAN of one image plane (Högbom 1974, A&AS 15, 417), real or complex (Q + iU).

By default the minor cycle runs as sub-minor loops (:mod:`.subminor`): each cleans among the
brightest pixels only (the peak search and the subtraction of the whole PSF restricted to
them), then subtracts all its components from the full residual at once (one FFT
convolution, or PSF patches when fewer pixels are touched). A component then costs
O(selected pixels), whatever the PSF's size; the image is touched once per loop.

The plain cycle (``subminor=False``) subtracts, at each iteration, the part of the PSF that
falls inside the image around the peak, and keeps per-tile maxima of ``|residual| · window``
(:class:`~.peak_tracker.PeakTracker`), recomputing only the tiles the PSF patch touched:
O((2s)² + ny·nx / tile²) per iteration with a PSF support of s pixels.

For a complex plane (polarisation P = Q + iU, Pratley & Johnston-Hollitt 2016, MNRAS 462,
3483) the peak is that of |P| and the components are complex: the same code serves both.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from .clean_parameters import clean_threshold
from .convolution import overlap_slices
from .peak_tracker import PeakTracker, Scratch, pad_planes, padded_shape, subtract_scaled
from .psf_support import check_psf_centre
from .subminor import SELECTION_SIZE, subminor_clean
from .subtract_components import ComponentModel

__all__ = ["hogbom", "work_dtype"]

log = logging.getLogger(__name__)


def work_dtype(image: np.ndarray) -> type:
    """The dtype a minor cycle works in: float32 or complex64 for single-precision images
    (float32, complex64), else float64 or complex128."""
    single = image.dtype in (np.float32, np.complex64)
    if np.iscomplexobj(image):
        return np.complex64 if single else np.complex128
    return np.float32 if single else np.float64


def hogbom(
    dirty: np.ndarray,
    psf: np.ndarray,
    window: np.ndarray | None = None,
    gain: float = 0.1,
    threshold: float = 0.0,
    niter: int = 100,
    fractional_threshold: float = 0.1,
    *,
    subminor: bool = True,
    selection_size: int = SELECTION_SIZE,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Högbom CLEAN of one plane.

    Parameters
    ----------
    dirty : numpy.ndarray of float or complex, shape [ny, nx]
        Jy/beam. Complex for Q + iU (complex Högbom). float32 and complex64 are cleaned in
        single precision (residual, model, PSF and FFTs), anything else in double.
    psf : numpy.ndarray of float, shape [py, px]
        Peak at (py // 2, px // 2); any size (twice the image lets sidelobes be subtracted
        everywhere).
    window : numpy.ndarray of float, shape [ny, nx], optional
        Weights in [0, 1]: the peak search maximises ``|residual| · window``.
    gain : float
        Loop gain in (0, 2).
    threshold, fractional_threshold : float
        Stop when the weighted peak falls below
        ``max(threshold, fractional_threshold · initial weighted peak)``.
    niter : int
        Maximum number of components.
    subminor : bool
        Run the cycle as sub-minor loops (default) or plainly (every iteration over the
        image around its peak; the reference the sub-minor loops are tested against).
    selection_size : int
        Pixels a sub-minor loop cleans among (:data:`~.subminor.SELECTION_SIZE`).

    Returns
    -------
    model : numpy.ndarray, shape [ny, nx], dtype of the cycle (above)
        Clean components (Jy/pixel).
    residual : numpy.ndarray, shape [ny, nx], dtype of the cycle
        ``dirty - model ⊛ psf`` (linear convolution with the PSF as given).
    iterations : int
        Components subtracted.
    """
    t0 = time.perf_counter()
    ny, nx = dirty.shape
    dtype = work_dtype(dirty)
    real = np.abs(np.zeros(1, dtype)).dtype
    pmax = check_psf_centre(psf)
    psf = np.asarray(psf, dtype=real)
    pcentre = (psf.shape[0] // 2, psf.shape[1] // 2)
    stop = clean_threshold(dirty, window, threshold, fractional_threshold)
    if subminor:
        values = np.array(dirty, dtype=dtype)[None, None]  # [1 plane, 1 moment, ny, nx]
        weights = None if window is None else np.asarray(window, dtype=real)[None]
        comp = ComponentModel(
            psf[None, None, None], pcentre, np.array([pmax], real), [np.ones((1, 1), real)],
            psf[None],
        )  # fmt: skip
        model = np.zeros((1, ny, nx), dtype=dtype)
        counts = subminor_clean(
            values, comp, model, gain, niter, stop, weights=weights, selection_size=selection_size
        )
        done = int(counts.sum())
        log.debug(
            "hogbom: %d x %d, PSF %s, %s, %d components in %.3f s (stop below %.4g)",
            ny, nx, psf.shape, dtype.__name__, done, time.perf_counter() - t0, stop,
        )  # fmt: skip
        return model[0], values[0, 0], done

    block, py, px = padded_shape(ny, nx)
    res = pad_planes(dirty[None], py, px, dtype)
    weights = None if window is None else pad_planes(window[None], py, px, real)
    tracker = PeakTracker(res, weights, block=block)
    model = np.zeros((ny, nx), dtype=dtype)
    log.debug("hogbom: %d x %d, PSF %s, niter %d, stop below %.4g", ny, nx, psf.shape, niter, stop)

    plane = res[0]
    work = Scratch()
    done = 0
    for _ in range(niter):
        _, y, x, crit = tracker.peak()
        if crit < stop or crit == 0.0:
            break
        mval = gain * plane[y, x] / pmax
        model[y, x] += mval
        (iy, ix), (ky, kx) = overlap_slices(y, x, (ny, nx), psf.shape, pcentre)
        subtract_scaled(plane[iy, ix], mval, psf[ky, kx], work)
        tracker.update(iy.start, iy.stop, ix.start, ix.stop)
        done += 1
    log.debug(
        "hogbom: %d components in %.3f s; final peak %.4g (stop %.4g)",
        done, time.perf_counter() - t0, tracker.peak()[3], stop,
    )  # fmt: skip
    return model, plane[:ny, :nx].copy(), done
