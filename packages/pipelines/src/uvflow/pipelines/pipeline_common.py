"""What the imaging pipelines share: errors, option checks and small per-cycle kernels.

These are plain functions on data models (no dask): the pipelines call them through
``rsexecute.execute``.
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.datamodels import Image

__all__ = [
    "PipelineError",
    "CheckpointError",
    "check_nmajor",
    "psf_template",
    "check_psf_factor",
    "residual_peak",
    "window_list",
]

logger = logging.getLogger(__name__)


class PipelineError(ValueError):
    """Bad input to a pipeline (the message says what was wrong and what is allowed)."""


class CheckpointError(PipelineError):
    """A checkpoint directory that cannot be resumed by this pipeline run."""


def check_nmajor(nmajor) -> int:
    """``nmajor`` as an int >= 0, or a :class:`PipelineError`."""
    if isinstance(nmajor, bool) or not isinstance(nmajor, (int, np.integer)) or nmajor < 0:
        raise PipelineError(f"nmajor must be an integer >= 0 (major cycles), got {nmajor!r}")
    return int(nmajor)


def window_list(name: str, value, n: int) -> list:
    """``value`` as a list of ``n`` windows: one item is repeated, a list must have ``n``."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise PipelineError(f"{name} has {len(value)} entries, the visibility list {n}")
        return list(value)
    return [value] * n


def residual_peak(*items) -> float:
    """Largest ``|value|`` over the windows' residual images (``Image`` or ``(Image, sumwt)``).

    Parameters
    ----------
    *items : Image or (Image, numpy.ndarray)
        Residual images, data float [nchan, npol, ny, nx] Jy/beam.

    Returns
    -------
    float
        Jy/beam; 0 for empty images.
    """
    peak = 0.0
    for item in items:
        image = item[0] if isinstance(item, tuple) else item
        if not isinstance(image, Image):
            raise PipelineError(f"expected residual Images, got {type(image).__name__}")
        if image.data.size:
            peak = max(peak, float(np.max(np.abs(image.data))))
    return peak


def psf_template(model: Image, factor: int) -> Image:
    """A zero image ``factor`` times the size of ``model`` on the same grid, for the PSF.

    The pixel ``(ny·factor // 2, nx·factor // 2)`` is the phase centre as in ``model``; a PSF
    twice the image size holds every sidelobe of a component anywhere in the image, so the
    minor cycle subtracts them everywhere.

    Parameters
    ----------
    model : Image
        data [nchan, npol, ny, nx].
    factor : int
        >= 1.
    """
    if factor == 1:
        return model.copy(zero=True)
    nchan, npol, ny, nx = model.data.shape
    wcs = model.wcs.deepcopy()
    wcs.wcs.crpix[0] = (nx * factor) // 2 + 1
    wcs.wcs.crpix[1] = (ny * factor) // 2 + 1
    data = np.zeros((nchan, npol, ny * factor, nx * factor), dtype=model.data.dtype)
    return model.replace(data=data, wcs=wcs)


def check_psf_factor(psf_factor) -> int:
    """``psf_factor`` as an int >= 1, or a :class:`PipelineError`."""
    if (
        isinstance(psf_factor, bool)
        or not isinstance(psf_factor, (int, np.integer))
        or psf_factor < 1
    ):
        raise PipelineError(
            f"psf_factor must be an integer >= 1 (PSF size / image size), got {psf_factor!r}"
        )
    return int(psf_factor)
