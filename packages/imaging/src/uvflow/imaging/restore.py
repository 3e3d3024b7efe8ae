"""Restoring: fit a clean beam to the PSF and convolve the model with it.

Beam convention (as in FITS BMAJ/BMIN/BPA and CASA): ``bmaj`` and ``bmin`` are the full
widths at half maximum of an elliptical Gaussian, in degrees; ``bpa`` is the position angle
of the major axis in degrees, measured from north (+Dec) through east (+RA), in (-90, 90].
On an image with CDELT1 < 0, east is towards *decreasing* x pixel: the major axis of a
beam with position angle bpa points along pixel offsets (dx, dy) ∝ (-sin bpa, cos bpa)
(for bpa = +30°: up and to the left in a plot with x to the right and y up).

The restoring kernel has peak 1 (not unit sum): a 1 Jy point component on a pixel centre
becomes a 1 Jy/beam peak.
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.datamodels import Image

from .beam_fit import fit_gaussian_form, main_lobe
from .deconvolution.convolution import convolve_same
from .deconvolution.errors import DeconvolutionError

__all__ = ["fit_psf", "beam_kernel", "restore_cube"]

log = logging.getLogger(__name__)

_FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))  # FWHM / sigma
_LOBE_LEVEL = 0.35  # main lobe: connected pixels above this fraction of the peak


def _offsets(wcs, dy: np.ndarray, dx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(east, north) offsets in units of |CDELT2| for pixel offsets (dy, dx)."""
    c1, c2 = wcs.wcs.cdelt[0], wcs.wcs.cdelt[1]
    unit = abs(c2)
    return dx * c1 / unit, dy * c2 / unit


def _matrix(bmaj: float, bmin: float, bpa: float) -> np.ndarray:
    """Quadratic form M (in degrees⁻²) with G = exp(-½ xᵀ M x), x = (east, north) degrees."""
    th = np.deg2rad(bpa)
    umaj = np.array([np.sin(th), np.cos(th)])
    umin = np.array([np.cos(th), -np.sin(th)])
    smaj, smin = bmaj / _FWHM, bmin / _FWHM
    return np.outer(umaj, umaj) / smaj**2 + np.outer(umin, umin) / smin**2


def _beam_from_matrix(m: np.ndarray, unit: float) -> dict:
    """bmaj, bmin, bpa (degrees) of the Gaussian with quadratic form m (in unit⁻²)."""
    lam, vec = np.linalg.eigh(m)  # ascending: the major axis has the smaller curvature
    if not np.all(lam > 0):
        raise DeconvolutionError("the PSF main lobe is not a peak (no elliptical Gaussian fits it)")
    ve, vn = vec[:, 0]
    bpa = np.rad2deg(np.arctan2(ve, vn))
    bpa = (bpa + 90.0) % 180.0 - 90.0  # (-90, 90]
    if bpa == -90.0:
        bpa = 90.0
    return {
        "bmaj": float(_FWHM / np.sqrt(lam[0]) * unit),
        "bmin": float(_FWHM / np.sqrt(lam[1]) * unit),
        "bpa": float(bpa),
    }


def fit_psf(psf: Image, channel: int | None = None, pol: int = 0) -> dict:
    """Fit an elliptical Gaussian (peak fixed to the PSF's) to the main lobe of a PSF.

    The main lobe is the connected region of pixels above 0.35 of the peak around the
    centre pixel (py // 2, px // 2) (at least the 3 × 3 pixels round it). A linear fit of
    ``-ln psf`` gives the start of a least-squares fit of the Gaussian to the PSF values.

    Parameters
    ----------
    psf : Image
        data [nchan, npol, py, px].
    channel : int, optional
        The channel whose PSF is fitted; default the middle one (nchan // 2), or when its
        PSF is all zero (a fully flagged channel) the nearest channel whose PSF is not.
    pol : int
        The polarisation plane fitted (0: Stokes I, or XX/RR).

    Returns
    -------
    dict
        ``{'bmaj': deg, 'bmin': deg, 'bpa': deg}`` (FWHM; bpa east of north, see module doc).

    Raises
    ------
    DeconvolutionError
        The PSF plane is all zero (every visibility flagged or zero-weighted: there is no
        beam to fit; give the clean beam explicitly), or does not peak at its centre.
    """
    chan = psf.nchan // 2 if channel is None else int(channel)
    if not (0 <= chan < psf.nchan and 0 <= pol < psf.npol):
        raise DeconvolutionError(
            f"channel {chan}, pol {pol} outside the PSF's {psf.nchan} channels, {psf.npol} pols"
        )
    live = [c for c in range(psf.nchan) if np.any(psf.data[c, pol])]
    if not live:
        raise DeconvolutionError(
            f"the PSF is zero in every channel (pol {pol}): every visibility is flagged or has "
            "zero weight, so there is no beam to fit; pass clean_beam={'bmaj': deg, "
            "'bmin': deg, 'bpa': deg} to restore"
        )
    if chan not in live:
        if channel is not None:
            raise DeconvolutionError(
                f"the PSF of channel {chan} (pol {pol}) is all zero (flagged); fit another "
                f"channel (non-zero: {live}) or pass clean_beam"
            )
        chan = min(live, key=lambda c: (abs(c - chan), c))
        log.info("fit_psf: the middle channel's PSF is all zero; fitting channel %d", chan)
    plane = np.asarray(psf.data[chan, pol], dtype=np.float64)
    cy, cx = plane.shape[0] // 2, plane.shape[1] // 2
    peak = plane[cy, cx]
    if not peak > 0 or peak < plane.max() * (1 - 1e-6):
        raise DeconvolutionError(
            f"the PSF must peak at its centre pixel ({cy}, {cx}) to fit a beam"
        )
    p = plane / peak
    lobe = main_lobe(p, cy, cx, _LOBE_LEVEL)
    lobe[max(cy - 1, 0) : cy + 2, max(cx - 1, 0) : cx + 2] = True
    lobe &= p > 0
    ys, xs = np.nonzero(lobe)
    e, n = _offsets(psf.wcs, (ys - cy).astype(float), (xs - cx).astype(float))
    v = p[ys, xs]
    # start: weighted linear least squares of -2 ln p = A e² + 2 B e n + C n²
    design = np.stack([e * e, 2 * e * n, n * n], axis=1)
    wt = v
    sol, *_ = np.linalg.lstsq(design * wt[:, None], -2.0 * np.log(v) * wt, rcond=None)
    if not (sol[0] > 0 and sol[2] > 0 and sol[0] * sol[2] > sol[1] ** 2):
        sol = np.array([1.0, 0.0, 1.0])  # a one-pixel round beam: the refinement takes over

    (a, b, c), misfit = fit_gaussian_form(e, n, v, sol)
    beam = _beam_from_matrix(np.array([[a, b], [b, c]]), abs(psf.wcs.wcs.cdelt[1]))
    log.debug("fit_psf: %d main-lobe pixels, rms misfit %.3g: %s", v.size, misfit, beam)
    return beam


def _check_beam(clean_beam) -> dict:
    if not isinstance(clean_beam, dict) or not {"bmaj", "bmin", "bpa"} <= set(clean_beam):
        raise DeconvolutionError(
            f"clean_beam must be a dict with bmaj, bmin, bpa in degrees, got {clean_beam!r}"
        )
    beam = {k: float(clean_beam[k]) for k in ("bmaj", "bmin", "bpa")}
    if not (beam["bmaj"] > 0 and beam["bmin"] > 0 and np.isfinite(beam["bpa"])):
        raise DeconvolutionError(f"clean_beam needs bmaj, bmin > 0 and a finite bpa, got {beam}")
    return beam


def beam_kernel(clean_beam: dict, wcs, max_size: int | None = None) -> np.ndarray:
    """The clean beam sampled on the pixel grid of ``wcs``: float64 [2R+1, 2R+1], peak 1 at (R, R).

    R covers 5 σ of the major axis (truncation below 4e-6 of the peak), at most
    ``max_size // 2`` when given.
    """
    beam = _check_beam(clean_beam)
    cell = min(abs(wcs.wcs.cdelt[0]), abs(wcs.wcs.cdelt[1]))
    r = int(np.ceil(5.0 * beam["bmaj"] / _FWHM / cell))
    if max_size is not None:
        r = max(1, min(r, max_size // 2))
    d = np.arange(-r, r + 1, dtype=float)
    e, n = _offsets(wcs, d[:, None], d[None, :])
    unit = abs(wcs.wcs.cdelt[1])
    m = _matrix(beam["bmaj"] / unit, beam["bmin"] / unit, beam["bpa"])
    return np.exp(-0.5 * (m[0, 0] * e * e + 2 * m[0, 1] * e * n + m[1, 1] * n * n))


def restore_cube(
    model: Image, psf: Image | None = None, residual: Image | None = None, clean_beam=None
) -> Image:
    """The restored image: ``model ⊛ clean beam (+ residual)``, with the beam recorded.

    Parameters
    ----------
    model : Image
        Clean components, real data float [nchan, npol, ny, nx], Jy/pixel.
    psf : Image, optional
        data [nchan, npol, py, px]. Fitted (:func:`fit_psf`, middle channel — or the
        nearest one not all zero — first polarisation) when ``clean_beam`` is not given;
        one beam serves every plane. An all-zero PSF (all data flagged) is an error: pass
        ``clean_beam``.
    residual : Image, optional
        data float [nchan, npol, ny, nx] (as ``model``), Jy/beam; added to the restored model.
    clean_beam : dict, optional
        ``{'bmaj': deg, 'bmin': deg, 'bpa': deg}``.

    Returns
    -------
    Image
        Jy/beam (``meta['BUNIT']``), ``clean_beam`` set (FITS writers put BMAJ/BMIN/BPA
        in the header); dtype float64 (or the model's float dtype).

    Raises
    ------
    DeconvolutionError
        No ``psf`` nor ``clean_beam``; an all-zero PSF without ``clean_beam`` (nothing to
        fit: with all data flagged, restore with an explicit beam); mismatched shapes.
    """
    if model.data.dtype.kind not in "fiu":
        raise DeconvolutionError(f"restore_cube needs a real model image, got {model.data.dtype}")
    if clean_beam is None:
        if psf is None:
            raise DeconvolutionError(
                "restore_cube needs a psf (to fit the clean beam) or a clean_beam"
            )
        clean_beam = fit_psf(psf)
    beam = _check_beam(clean_beam)
    if residual is not None and residual.shape != model.shape:
        raise DeconvolutionError(
            f"residual has shape {list(residual.shape)}, model {list(model.shape)}: they must match"
        )
    # a float32 model is restored in single precision (the products are float32; a 2048²
    # convolution in double held ~100 MB more at a run's peak), anything else in double
    dtype = model.data.dtype if model.data.dtype.kind == "f" else np.float64
    work = np.float32 if dtype == np.float32 else np.float64
    if np.any(model.data):
        kernel = beam_kernel(beam, model.wcs, max_size=2 * max(model.ny, model.nx) + 1)
        data = convolve_same(model.data.astype(work, copy=False), kernel.astype(work))
    else:  # nothing to convolve (e.g. -niter 0)
        data = np.zeros(model.shape, work)
    if residual is not None:
        data += residual.data
    meta = {**model.meta, "BUNIT": "JY/BEAM"}
    return model.replace(
        data=data.astype(dtype, copy=False), wcs=model.wcs.deepcopy(), clean_beam=beam, meta=meta
    )
