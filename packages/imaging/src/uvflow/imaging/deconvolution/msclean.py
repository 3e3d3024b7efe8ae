"""Multi-scale CLEAN of one image plane (Cornwell 2008, IEEE JSTSP 2, 793).

Setup (once, by FFT): the residual smoothed by every scale, ``R_s = R ⊛ k_s``; the
cross-scale PSFs ``B_sp = B ⊛ k_s ⊛ k_p`` and their centre values (the coupling matrix
``c_sp``). Minor cycle: find the scale and pixel maximising
``|R_s| / sqrt(c_ss) · window_s · bias_s`` — the decrease of χ² by the best component of
that scale there, ``R_s² / c_ss``, times ``bias_s = 1 - scale_bias · s / max(scales)`` — add
``gain · R_s / c_ss`` times the blob
``k_s`` to the model there, and subtract ``gain · R_s / c_ss · B_ps`` from every ``R_p`` —
only over the region the PSF patch covers, with the per-tile peak tracking of
:class:`~.peak_tracker.PeakTracker`.

By default the cycle runs as sub-minor loops (:mod:`.subminor`): each selects the brightest
(scale, pixel) pairs of the criterion, cleans among them only — the best pair of any scale,
its component subtracted from the selected pairs with the cross-scale PSFs at their offsets —
then subtracts all its components from the full smoothed residuals at once (the model
increment convolved with ``B ⊛ k_p`` by FFT for every scale p, or patches of ``B_ps``).

The residual returned is ``dirty - model ⊛ psf`` (linear convolution with the PSF as
given): the scale-0 plane, kept exact, when scale 0 is among the scales, else computed
afresh by FFT.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from .clean_parameters import clean_threshold
from .convolution import convolve_same, overlap_slices
from .hogbom import work_dtype
from .peak_tracker import PeakTracker, Scratch, pad_planes, padded_shape, subtract_scaled
from .psf_support import check_psf_centre
from .scales import (
    check_scales,
    convolve_scale_stack,
    cross_scale_psf,
    scale_bias_factors,
    scale_kernel,
    scale_windows,
)
from .subminor import SELECTION_SIZE, subminor_clean
from .subtract_components import ComponentModel

__all__ = ["msclean"]

log = logging.getLogger(__name__)


def msclean(
    dirty: np.ndarray,
    psf: np.ndarray,
    window: np.ndarray | None = None,
    gain: float = 0.1,
    threshold: float = 0.0,
    niter: int = 100,
    scales=(0, 3, 10, 30),
    fractional_threshold: float = 0.1,
    scale_bias: float = 0.6,
    *,
    subminor: bool = True,
    selection_size: int = SELECTION_SIZE,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Multi-scale CLEAN of one plane.

    Parameters
    ----------
    dirty : numpy.ndarray of float, shape [ny, nx]
        Jy/beam. float32 is cleaned in single precision (smoothed residuals, cross-scale
        PSFs, model, FFTs), anything else in double.
    psf : numpy.ndarray of float, shape [py, px]
        Peak at (py // 2, px // 2).
    window : numpy.ndarray of float, shape [ny, nx], optional
        Weights in [0, 1]; per scale it is cut to where the scale's blob fits inside.
    gain : float
        Loop gain in (0, 2).
    threshold, fractional_threshold : float
        Stop when the peak of ``|residual| · window`` (the residual smoothed by the smallest
        scale: the plain residual with scale 0) falls below
        ``max(threshold, fractional_threshold · max|dirty · window|)``.
    niter : int
    scales : sequence of float
        Scale widths in pixels (0 = point components).
    scale_bias : float
        In [0, 1): how strongly the search favours small scales.
    subminor : bool
        Sub-minor loops (default), or the plain cycle (every iteration over the PSF patch).
    selection_size : int
        (scale, pixel) pairs a sub-minor loop cleans among (:data:`~.subminor.SELECTION_SIZE`).

    Returns
    -------
    model : numpy.ndarray [ny, nx], float32 or float64 (the cycle's precision, above)
        Jy/pixel.
    residual : numpy.ndarray [ny, nx], same dtype
        ``dirty - model ⊛ psf``.
    iterations : int
    """
    t0 = time.perf_counter()
    scales = check_scales(scales)
    bias = scale_bias_factors(scales, scale_bias)
    ny, nx = dirty.shape
    real = work_dtype(np.asarray(dirty))
    dirty = np.asarray(dirty, dtype=real)
    pmax = check_psf_centre(psf)
    lpsf = np.asarray(psf, dtype=real) / real(pmax)
    kernels = [scale_kernel(s).astype(real) for s in scales]
    ns = len(scales)
    bpsf, bcentre = cross_scale_psf(lpsf, kernels)  # [ns, ns, PY, PX]
    coupling = bpsf[:, :, bcentre[0], bcentre[1]].astype(np.float64)
    s0 = int(np.argmin(scales))
    stop = clean_threshold(dirty, window, threshold, fractional_threshold)
    if subminor:
        values = convolve_scale_stack(dirty, kernels).astype(real, copy=False)[:, None]
        # blobs stay inside the image: weights that say so, or borders without a window
        weights = None if window is None else scale_windows(window, kernels, (ny, nx), real)
        borders = [k.shape[0] // 2 for k in kernels] if window is None else None
        comp = ComponentModel(
            bpsf[:, :, None], bcentre, np.diag(coupling).astype(real), kernels, lpsf[None]
        )
        model = np.zeros((1, ny, nx), real)
        counts = subminor_clean(
            values, comp, model, gain, niter, stop, weights=weights,
            factors=bias / np.sqrt(np.diag(coupling)), stop_plane=s0, borders=borders,
            selection_size=selection_size,
        )  # fmt: skip
        model, values = model[0], values[:, 0]
        residual = values[s0] if scales[s0] == 0 else dirty - convolve_same(model, lpsf)
        log.debug(
            "msclean: %d x %d, scales %s, %s, %d components (per scale %s) in %.3f s",
            ny, nx, scales, real.__name__, counts.sum(), counts.tolist(), time.perf_counter() - t0,
        )  # fmt: skip
        return model / real(pmax), residual, int(counts.sum())

    block, py, px = padded_shape(ny, nx)
    res = pad_planes(convolve_scale_stack(dirty, kernels), py, px)  # [ns, py, px]
    wstack = scale_windows(window, kernels, (ny, nx), real)
    weights = None if wstack is None else pad_planes(wstack, py, px)
    # search criterion: the χ² decrease of the best component of each scale, R_s² / c_ss,
    # as |R_s| / sqrt(c_ss), times the scale bias (a point source prefers scale 0, a smooth
    # source wider than a scale prefers that scale)
    tracker = PeakTracker(res, weights, bias / np.sqrt(np.diag(coupling)), block=block)
    # the stopping test: the peak of the residual smoothed by the smallest scale (the plain
    # residual when scale 0 is used), over the window
    peak0 = PeakTracker(
        res[s0 : s0 + 1], None if weights is None else weights[s0 : s0 + 1], block=block
    )
    log.debug(
        "msclean: %d x %d, scales %s, coupling diag %s, setup %.3f s, stop below %.4g",
        ny, nx, scales, np.diag(coupling), time.perf_counter() - t0, stop,
    )  # fmt: skip

    model = np.zeros((ny, nx), real)
    counts = np.zeros(ns, dtype=int)
    work = Scratch()
    done = 0
    for _ in range(niter):
        s, y, x, crit = tracker.peak()
        if crit == 0.0 or peak0.peak()[3] < stop:
            break
        value = res[s, y, x]
        amp = gain * value / coupling[s, s]
        (my, mx), (ky, kx) = overlap_slices(
            y, x, (ny, nx), kernels[s].shape, (kernels[s].shape[0] // 2,) * 2
        )
        model[my, mx] += amp * kernels[s][ky, kx]
        (iy, ix), (by, bx) = overlap_slices(y, x, (ny, nx), bpsf.shape[-2:], bcentre)
        subtract_scaled(res[:, iy, ix], amp, bpsf[:, s, by, bx], work)
        tracker.update(iy.start, iy.stop, ix.start, ix.stop)
        peak0.update(iy.start, iy.stop, ix.start, ix.stop)
        counts[s] += 1
        done += 1
    # the cycle deconvolved the unit-peak PSF: model ⊛ lpsf = (model / pmax) ⊛ psf
    residual = dirty - convolve_same(model, lpsf)
    model /= pmax
    log.debug(
        "msclean: %d components (per scale %s) in %.3f s",
        done,
        counts.tolist(),
        time.perf_counter() - t0,
    )
    return model, residual, done
