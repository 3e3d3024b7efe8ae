"""``deconvolve_cube``: check the inputs, build the window, cut the PSF, run a deconvolver."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np

from uvflow.datamodels import Image

from .clean_window import create_window
from .errors import DeconvolutionError
from .psf_support import check_psf_centre, crop_psf

if TYPE_CHECKING:  # pragma: no cover
    from ..settings import CleanSettings

__all__ = ["deconvolve_cube"]

log = logging.getLogger(__name__)


def _check_images(dirty: Image, psf: Image) -> None:
    if not isinstance(dirty, Image) or not isinstance(psf, Image):
        raise TypeError(
            f"dirty and psf must be Images, got {type(dirty).__name__} and {type(psf).__name__}"
        )
    if dirty.data.dtype.kind not in "fiu" or psf.data.dtype.kind not in "fiu":
        raise DeconvolutionError(
            f"dirty and psf must be real images, got dtypes {dirty.data.dtype} and {psf.data.dtype}"
        )
    if dirty.shape[:2] != psf.shape[:2]:
        raise DeconvolutionError(
            f"psf has shape {list(psf.shape)} but dirty has {list(dirty.shape)}: they must "
            "have the same number of channels and polarisations [nchan, npol, ...]"
        )
    if dirty.polarisation_frame != psf.polarisation_frame:
        raise DeconvolutionError(
            f"psf is {psf.polarisation_frame.name} but dirty is {dirty.polarisation_frame.name}"
        )
    if not (np.all(np.isfinite(dirty.data)) and np.all(np.isfinite(psf.data))):
        raise DeconvolutionError("dirty and psf must be finite (no NaN or inf pixels)")
    for c in range(psf.nchan):
        for p in range(psf.npol):
            if np.any(psf.data[c, p]):
                check_psf_centre(psf.data[c, p], f"psf (channel {c}, pol {p})")


def deconvolve_cube(
    dirty: Image,
    psf: Image,
    clean: CleanSettings | None = None,
    mask: Image | np.ndarray | None = None,
    **keywords,
) -> tuple[Image, Image]:
    """Deconvolve a dirty image (all channels and polarisations) with its PSF.

    Parameters
    ----------
    dirty : Image
        data float [nchan, npol, ny, nx], Jy/beam.
    psf : Image
        data float [nchan, npol, py, px], each plane peaking at (py // 2, px // 2) (the
        other planes' peaks may differ from 1: components are scaled by it). ``py, px`` may
        differ from ``ny, nx``: twice the image size lets sidelobes be subtracted everywhere.
    clean : CleanSettings, optional
        The minor cycle's settings (:class:`uvflow.imaging.CleanSettings`); or give them as
        keywords instead (not both).
    mask : Image or numpy.ndarray, optional
        bool, 0/1 or weights in [0, 1], [ny, nx] or [nchan|1, npol|1, ny, nx]; multiplies
        the window.
    **keywords
        The fields of :class:`~uvflow.imaging.CleanSettings` and the deconvolver's own
        options (:meth:`CleanSettings.create <uvflow.imaging.CleanSettings.create>`):
        ``algorithm`` (a deconvolver in the ``uvflow.deconvolvers`` entry-point group:
        'hogbom', 'hogbom-complex' — stokesIQUV: I, V by Högbom, Q + iU complex —,
        'msclean', 'mmclean', or a plugin's name; default 'hogbom'); ``niter`` (maximum
        components per plane, per polarisation for mmclean; 100); ``gain`` (loop gain in
        (0, 2); 0.1); ``threshold`` (absolute, Jy/beam; 0); ``fractional_threshold`` (in
        [0, 1): each plane stops when its peak ``|residual| · window`` falls below
        ``max(threshold, fractional_threshold · initial peak)``; 0.1); ``window_shape``
        and ``window_edge`` (None, 'quarter' or 'no_edge', and the border 'no_edge'
        excludes, pixels); ``psf_support`` (half-width in pixels of the PSF used,
        ``2 psf_support + 1`` pixels; None: all of it; smaller is faster, cost per
        component ∝ support², but leaves sidelobes beyond it for the next major cycle);
        and the deconvolver's options, which it must declare: ``scales``, ``scale_bias``
        (msclean, mmclean), ``nmoment``, ``findpeak``, ``reference_frequency``,
        ``return_moments`` (mmclean), a plugin's own.

    Returns
    -------
    model : Image
        Clean components, Jy/pixel (``meta['NITER']`` components), on the dirty grid. A
        plane whose PSF is all zero (a fully flagged channel) is skipped with a logged
        warning: zero model, residual = dirty; all data flagged gives an empty model.
    residual : Image
        ``dirty - model ⊛ psf`` with the PSF cut to ``psf_support``, Jy/beam.

    Raises
    ------
    TypeError
        A keyword that is neither a setting nor an option the deconvolver declares (the
        message lists the valid ones), or both ``clean`` and keywords.
    DeconvolutionError (ValueError)
        Bad parameters, mismatched shapes, a PSF not peaking at its centre.
    UnknownDeconvolverError (ValueError)
        ``algorithm`` is not installed (the message lists the installed ones).
    """
    from ..settings import CleanSettings

    t0 = time.perf_counter()
    if clean is None:
        clean = CleanSettings.create(**keywords)
    elif keywords:
        raise TypeError(
            f"give the minor cycle's settings either as clean= or as keywords, not both "
            f"(got clean and {', '.join(sorted(keywords))})"
        )
    _check_images(dirty, psf)
    window = create_window(dirty, clean.window_shape, clean.window_edge, mask)
    psf_used = crop_psf(psf, clean.psf_support)
    deconvolver = clean.deconvolver()
    model, residual = deconvolver.deconvolve(
        dirty, psf_used, window=window, niter=clean.niter, gain=clean.gain,
        threshold=clean.threshold, fractional_threshold=clean.fractional_threshold,
    )  # fmt: skip
    log.info(
        "deconvolve_cube: %s on %s (PSF %s), %s components, %.3f s",
        clean.algorithm, list(dirty.shape), list(psf_used.shape[-2:]), model.meta.get("NITER"),
        time.perf_counter() - t0,
    )  # fmt: skip
    return model, residual
