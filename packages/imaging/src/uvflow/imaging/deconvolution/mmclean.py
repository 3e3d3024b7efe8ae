"""Multi-scale multi-frequency CLEAN (MS-MFS; Rau & Cornwell 2011, A&A 532, A71, Algorithm 1).

The sky is a Taylor polynomial in frequency, ``I(ν) = Σ_k a_k t^k`` with
``t = (ν - ν0) / ν0``. From the channel dirty images ``D_c`` and PSFs ``B_c`` (equal channel
weights) come the moment images and moment PSFs

    D_k = mean_c t_c^k D_c   (k < nmoment),     B_j = mean_c t_c^j B_c   (j < 2 nmoment - 1),

for which ``D_k = Σ_q B_{k+q} ⊛ a_q`` exactly. Per scale s the Hessian is
``H_s[k, q] = (B_{k+q} ⊛ k_s ⊛ k_s)(0)``; the principal solution at a pixel is
``H_s⁻¹ R_s`` with ``R_s[k] = R_k ⊛ k_s`` the smoothed moment residuals. The minor cycle
finds the scale and pixel maximising a criterion (``findpeak``), adds
``gain · (H_s⁻¹ R_s)`` (one amplitude per moment) times the blob ``k_s`` to the moment
models, and subtracts ``gain · Σ_q a_q B_{k+q} ⊛ k_p ⊛ k_s`` from every ``R_p[k]``. By
default the minor cycle runs as sub-minor loops (:mod:`.subminor`: among the brightest
(scale, pixel) pairs, each carrying every moment's residual, with the whole PSF; then one
subtraction from the full planes), which make the plain cycle's components where no
unselected pair becomes the brightest during a loop; ``subminor=False`` runs the plain
cycle (every component subtracted over the PSF patch from every plane, per-tile peak
tracking as in Högbom).

``findpeak`` criteria (maximised in absolute value, weighted by window and scale bias):
'RASCIL': ``sol_0 · R_0`` (RASCIL's default, its 'ARL'); 'Algorithm1': ``sol_0`` (the
moment-0 principal solution, Rau & Cornwell's line 27); 'CASA': the χ² decrease
``Σ_k sol_k R_k``. The scale bias multiplies the criterion (squared for the two quadratic
criteria, so that it acts on a flux-like quantity).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from .clean_parameters import clean_threshold
from .convolution import convolve_same, overlap_slices
from .errors import DeconvolutionError
from .hogbom import work_dtype
from .peak_tracker import PeakTracker, Scratch, pad_planes, padded_shape
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

__all__ = [
    "FINDPEAK",
    "taylor_offsets",
    "frequency_moments",
    "evaluate_moments",
    "mmclean",
    "moment_residuals",
]

log = logging.getLogger(__name__)

FINDPEAK = ("RASCIL", "Algorithm1", "CASA")


def taylor_offsets(frequency: np.ndarray, reference_frequency: float | None = None) -> np.ndarray:
    """``t_c = (ν_c - ν0) / ν0`` (float64 [nchan]); ν0 defaults to the mean channel frequency."""
    frequency = np.asarray(frequency, dtype=np.float64)
    nu0 = float(np.mean(frequency)) if reference_frequency is None else float(reference_frequency)
    if not nu0 > 0:
        raise DeconvolutionError(f"reference_frequency must be > 0 Hz, got {nu0}")
    return (frequency - nu0) / nu0


def frequency_moments(cube: np.ndarray, t: np.ndarray, nmoment: int) -> np.ndarray:
    """``mean_c t_c^k cube_c`` for k < nmoment: [nmoment, ...] from ``cube`` [nchan, ...]."""
    powers = t[None, :] ** np.arange(nmoment)[:, None]  # [nmoment, nchan]
    return np.tensordot(powers, cube, axes=(1, 0)) / t.size


def evaluate_moments(moments: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The Taylor polynomial ``Σ_k moments_k t_c^k`` per channel: [nchan, ...]."""
    powers = t[:, None] ** np.arange(moments.shape[0])[None, :]  # [nchan, nmoment]
    return np.tensordot(powers, moments, axes=(1, 0))


def _plane_criterion(findpeak: str, h, res, out, tmp=None, acc=None) -> None:
    """The search criterion of one scale into ``out`` [...] from its residuals ``res``
    [nmoment, ...] and inverse Hessian ``h`` [nmoment, nmoment] (``tmp``, ``acc``: optional
    scratch arrays shaped as ``out``).

    With ``sol = H_s⁻¹ R_s`` (the principal solution): 'Algorithm1' ``sol_0``, 'RASCIL'
    ``sol_0 R_0``, 'CASA' ``Σ_k sol_k R_k``; computed without storing ``sol``.
    """
    tmp = np.empty_like(out) if tmp is None else tmp
    casa = findpeak == "CASA"
    acc = (np.empty_like(out) if acc is None else acc) if casa else out
    if casa:
        out[...] = 0.0
    for k in range(res.shape[0]) if casa else [0]:  # acc = Σ_q h[k, q] R_q = sol_k
        np.multiply(res[0], h[k, 0], out=acc)
        for q in range(1, res.shape[0]):
            np.multiply(res[q], h[k, q], out=tmp)
            acc += tmp
        if findpeak == "RASCIL":
            out *= res[0]
        elif casa:
            acc *= res[k]
            out += acc


def _criterion(findpeak: str, ihess: np.ndarray, res: np.ndarray, out: np.ndarray, work) -> None:
    """:func:`_plane_criterion` of every scale: ``out`` [ns, ...], ``res`` [ns, nmoment, ...]."""
    tmp = work.get(out.shape[1:], out.dtype, slot=1)
    acc = work.get(out.shape[1:], out.dtype, slot=2)
    for s in range(res.shape[0]):
        _plane_criterion(findpeak, ihess[s], res[s], out[s], tmp, acc)


def mmclean(
    dirty: np.ndarray,
    psf: np.ndarray,
    t: np.ndarray,
    window: np.ndarray | None = None,
    gain: float = 0.1,
    threshold: float = 0.0,
    niter: int = 100,
    scales=(0, 3, 10, 30),
    fractional_threshold: float = 0.1,
    nmoment: int = 3,
    findpeak: str = "RASCIL",
    scale_bias: float = 0.6,
    *,
    subminor: bool = True,
    selection_size: int = SELECTION_SIZE,
) -> tuple[np.ndarray, int]:
    """MS-MFS CLEAN of one polarisation: Taylor-term models from a spectral cube.

    Parameters
    ----------
    dirty : numpy.ndarray of float64, shape [nchan, ny, nx]
        Channel dirty images, Jy/beam.
    psf : numpy.ndarray of float, shape [nchan, py, px]
        Channel PSFs, peaks at (py // 2, px // 2).
    t : numpy.ndarray of float64, shape [nchan]
        Taylor offsets ``(ν_c - ν0) / ν0`` (:func:`taylor_offsets`).
    window : numpy.ndarray of float, shape [ny, nx], optional
    gain, threshold, niter, fractional_threshold
        As in Högbom; the cycle stops when the peak of the moment-0 residual (smoothed by
        the smallest scale, weighted by the window) falls below
        ``max(threshold, fractional_threshold · max|D_0 · window|)``.
    scales : sequence of float
    nmoment : int
        Taylor terms (1 = a flat spectrum; 2 adds the spectral index), ``<= nchan``.
    findpeak : 'RASCIL', 'Algorithm1' or 'CASA'
    scale_bias : float
    subminor : bool
        Sub-minor loops (default; :mod:`.subminor`: the selected (scale, pixel) pairs carry
        every moment's residual, the picks their principal solutions; the loops' end on the
        far sidelobes is taken on the root of the quadratic criteria), or the plain cycle.
    selection_size : int
        (scale, pixel) pairs a sub-minor loop cleans among.

    Returns
    -------
    moments : numpy.ndarray, shape [nmoment, ny, nx]
        Taylor coefficients ``a_k`` of the model, Jy/pixel; float32 for a float32 ``dirty``
        (the whole cycle then in single precision), else float64.
    iterations : int
    """
    t0 = time.perf_counter()
    scales = check_scales(scales)
    if findpeak not in FINDPEAK:
        raise DeconvolutionError(f"findpeak {findpeak!r} unknown; use one of {', '.join(FINDPEAK)}")
    nchan, ny, nx = dirty.shape
    if isinstance(nmoment, bool) or not isinstance(nmoment, (int, np.integer)) or nmoment < 1:
        raise DeconvolutionError(f"nmoment must be an integer >= 1, got {nmoment!r}")
    if nmoment > nchan:
        raise DeconvolutionError(
            f"nmoment {nmoment} needs at least {nmoment} channels; the image has {nchan}"
        )
    bias = scale_bias_factors(scales, scale_bias)
    if findpeak != "Algorithm1":
        bias = bias**2
    real = work_dtype(np.asarray(dirty))
    dmom = frequency_moments(np.asarray(dirty, np.float64), t, nmoment).astype(real)
    pmom = frequency_moments(np.asarray(psf, np.float64), t, 2 * nmoment - 1).astype(real)
    pmax = check_psf_centre(pmom[0], "moment-0 PSF")
    lpsf = pmom / real(pmax)  # [2n-1, py, px]
    kernels = [scale_kernel(s).astype(real) for s in scales]
    ns = len(scales)
    bpsf, bc = cross_scale_psf(lpsf, kernels)  # [ns, ns, 2n-1, PY, PX]
    idx = np.add.outer(np.arange(nmoment), np.arange(nmoment))  # k + q
    hessian = np.stack([bpsf[s, s][:, bc[0], bc[1]][idx] for s in range(ns)])  # [ns, n, n]
    cond = np.linalg.cond(hessian)
    if np.any(~np.isfinite(cond)) or np.any(cond > 1e12):
        raise DeconvolutionError(
            f"the moment Hessian is singular (condition numbers {cond}); the channels' "
            f"frequency spread cannot constrain {nmoment} Taylor terms: use a smaller nmoment"
        )
    ihess = np.linalg.inv(hessian.astype(np.float64)).astype(real)
    s0 = int(np.argmin(scales))
    stop = clean_threshold(dmom[0], window, threshold, fractional_threshold)
    if subminor:
        res = np.stack([convolve_scale_stack(m, kernels) for m in dmom], axis=1)  # [ns, n, ..]
        power = 1 if findpeak == "Algorithm1" else 2
        model = np.zeros((nmoment, ny, nx), real)
        counts = subminor_clean(
            res, ComponentModel(bpsf, bc, np.ones(ns, real), kernels, lpsf, ihess), model,
            gain, niter, stop, stop_plane=s0, factors=bias, power=power,
            weights=None if window is None else scale_windows(window, kernels, (ny, nx), real),
            borders=[k.shape[0] // 2 for k in kernels] if window is None else None,
            criterion=lambda q, v, out: _plane_criterion(findpeak, ihess[q], v, out),
            guard=float(np.max(np.abs(ihess[:, 0, 0]) * bias) ** (1.0 / power)),
            selection_size=selection_size,
        )  # fmt: skip
        log.debug("mmclean: %d components in %.3f s", counts.sum(), time.perf_counter() - t0)
        return model / real(pmax), int(counts.sum())

    block, py, px = padded_shape(ny, nx)
    res = pad_planes(convolve_scale_stack(dmom, kernels), py, px)  # [ns, n, py, px]
    work = Scratch()
    crit = np.zeros((ns, py, px), real)
    _criterion(findpeak, ihess, res, crit, work)
    wstack = scale_windows(window, kernels, (ny, nx), real)
    weights = None if wstack is None else pad_planes(wstack, py, px)
    tracker = PeakTracker(crit, weights, bias, block=block)
    # the stopping test: the peak of the moment-0 residual at the smallest scale, over the
    # whole window (the search criterion may pick a pixel where it is small)
    w0 = None if weights is None else weights[s0 : s0 + 1]
    peak0 = PeakTracker(res[s0 : s0 + 1, 0], w0, block=block)
    log.debug(
        "mmclean: %d channels, %d x %d, scales %s, nmoment %d, setup %.3f s, stop below %.4g",
        nchan, ny, nx, scales, nmoment, time.perf_counter() - t0, stop,
    )  # fmt: skip

    model = np.zeros((nmoment, ny, nx), real)
    done = 0
    for _ in range(niter):
        s, y, x, c = tracker.peak()
        if c == 0.0 or peak0.peak()[3] < stop:
            break
        amp = gain * (ihess[s] @ res[s, :, y, x])  # the principal solution there, [n]
        k = kernels[s]
        (my, mx), (ky, kx) = overlap_slices(y, x, (ny, nx), k.shape, (k.shape[0] // 2,) * 2)
        model[:, my, mx] += amp[:, None, None] * k[ky, kx]
        (iy, ix), (by, bx) = overlap_slices(y, x, (ny, nx), bpsf.shape[-2:], bc)
        patch = bpsf[:, s, :, by, bx]  # [ns, 2n-1, h, w]
        for m in range(nmoment):  # R_p[m] -= Σ_q amp_q B_{m+q} ⊛ k_p ⊛ k_s
            change = work.get(patch.shape[:1] + patch.shape[2:], real, slot=3)
            np.multiply(patch[:, m], amp[0], out=change)
            for q in range(1, nmoment):
                tmp = work.get(change.shape, real, slot=4)
                np.multiply(patch[:, m + q], amp[q], out=tmp)
                change += tmp
            region = res[:, m, iy, ix]
            np.subtract(region, change, out=region)
        _criterion(findpeak, ihess, res[:, :, iy, ix], crit[:, iy, ix], work)
        tracker.update(iy.start, iy.stop, ix.start, ix.stop)
        peak0.update(iy.start, iy.stop, ix.start, ix.stop)
        done += 1
    log.debug("mmclean: %d components in %.3f s", done, time.perf_counter() - t0)
    return model / pmax, done


def moment_residuals(
    dirty: np.ndarray, psf: np.ndarray, t: np.ndarray, moments: np.ndarray
) -> np.ndarray:
    """``D_k - Σ_q B_{k+q} ⊛ a_q`` (k < nmoment): [nmoment, ny, nx] by linear FFT convolution."""
    n = moments.shape[0]
    dmom = frequency_moments(np.asarray(dirty, np.float64), t, n)
    pmom = frequency_moments(np.asarray(psf, np.float64), t, 2 * n - 1)
    out = dmom.copy()
    for k in range(n):
        for q in range(n):
            out[k] -= convolve_same(moments[q], pmom[k + q])
    return out
