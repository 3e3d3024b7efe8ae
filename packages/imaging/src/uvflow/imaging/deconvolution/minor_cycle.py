"""``deconvolve_cube``: check the inputs, build the window, cut the PSF, run a deconvolver."""

from __future__ import annotations

import logging
import time

import numpy as np

from uvflow.datamodels import Image

from .cleaning_common import check_clean_parameters, check_psf_centre, create_window, crop_psf
from .deconvolvers import deconvolver_options, get_deconvolver
from .errors import DeconvolutionError

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
    algorithm: str = "hogbom",
    niter: int = 100,
    gain: float = 0.1,
    threshold: float = 0.0,
    fractional_threshold: float = 0.1,
    scales=(0, 3, 10, 30),
    nmoment: int = 3,
    findpeak: str = "RASCIL",
    window_shape: str | None = None,
    window_edge: int = 16,
    mask: Image | np.ndarray | None = None,
    psf_support: int | None = None,
    return_moments: bool = False,
    scale_bias: float = 0.6,
    reference_frequency: float | None = None,
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
    algorithm : str
        A deconvolver in the ``uvflow.deconvolvers`` entry-point group: 'hogbom',
        'hogbom-complex' (stokesIQUV: I, V by Högbom, Q + iU complex), 'msclean',
        'mmclean', or a plugin's name.
    niter : int
        Maximum components per plane (per polarisation for mmclean), >= 0.
    gain : float
        Loop gain, in (0, 2).
    threshold : float
        Absolute stopping threshold, Jy/beam.
    fractional_threshold : float
        In [0, 1): each minor cycle stops when its peak ``|residual| · window`` falls below
        ``max(threshold, fractional_threshold · initial peak)``.
    scales : sequence of float
        Scale widths in pixels for msclean and mmclean (0 = points).
    nmoment : int
        Taylor terms for mmclean.
    findpeak : 'RASCIL', 'Algorithm1' or 'CASA'
        mmclean's peak criterion.
    window_shape : None, 'quarter' or 'no_edge'
    window_edge : int
        Border excluded by 'no_edge', pixels.
    mask : Image or numpy.ndarray, optional
        bool, 0/1 or weights in [0, 1], [ny, nx] or [nchan|1, npol|1, ny, nx]; multiplies
        the window.
    psf_support : int, optional
        Half-width in pixels of the PSF used in the minor cycle (``2 psf_support + 1``
        pixels); None uses it whole. Smaller is faster (cost per component ∝ support²) but
        leaves sidelobes beyond it for the next major cycle.
    return_moments : bool
        mmclean: return Taylor-term images instead of spectral cubes.
    scale_bias : float
        msclean/mmclean: preference for small scales, in [0, 1).
    reference_frequency : float, optional
        mmclean: ν0 (Hz) of the Taylor expansion (default the mean channel frequency).

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
    DeconvolutionError (ValueError)
        Bad parameters, mismatched shapes, a PSF not peaking at its centre.
    UnknownDeconvolverError (ValueError)
        ``algorithm`` is not installed (the message lists the installed ones).
    """
    t0 = time.perf_counter()
    if not isinstance(algorithm, str):
        raise TypeError(f"algorithm must be a str, got {type(algorithm).__name__}")
    check_clean_parameters(niter, gain, threshold, fractional_threshold)
    _check_images(dirty, psf)
    window = create_window(dirty, window_shape, window_edge, mask)
    psf_used = crop_psf(psf, psf_support)
    offered = {
        "scales": scales, "nmoment": nmoment, "findpeak": findpeak, "scale_bias": scale_bias,
        "return_moments": return_moments, "reference_frequency": reference_frequency,
    }  # fmt: skip
    valid, takes_any = deconvolver_options(algorithm)
    options = offered if takes_any else {k: v for k, v in offered.items() if k in valid}
    deconvolver = get_deconvolver(algorithm, **options)
    model, residual = deconvolver.deconvolve(
        dirty, psf_used, window=window, niter=niter, gain=gain, threshold=threshold,
        fractional_threshold=fractional_threshold,
    )  # fmt: skip
    log.info(
        "deconvolve_cube: %s on %s (PSF %s), %s components, %.3f s",
        algorithm, list(dirty.shape), list(psf_used.shape[-2:]), model.meta.get("NITER"),
        time.perf_counter() - t0,
    )  # fmt: skip
    return model, residual
