"""Small kernels of the major cycles (numpy only; :mod:`.major_cycle` runs them as tasks).

The PSF's template image, the residual peak over all windows, the checkpoint task that
passes a cycle's models and gain tables through, and settings as JSON values.
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.datamodels import Image

from .checkpoint import save_cycle
from .errors import PipelineError

__all__ = [
    "psf_template",
    "residual_peak",
    "jsonable",
    "checkpoint_cycle",
    "cycle_status",
    "stop_reason",
]

logger = logging.getLogger("uvflow.pipelines.major_cycle")


def jsonable(value):
    """Settings as JSON values (tuples → lists, arrays and objects → their repr)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value) if not hasattr(value, "shape") else f"array{list(value.shape)}"


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


def cycle_status(clean, mask, psf, residual: list, models: list) -> dict:
    """What a major cycle found: its stopping rule and the components so far (a task).

    Parameters
    ----------
    clean : CleanSettings
    mask : Image or None
    psf : Image or (Image, sumwt)
        A window's PSF (for the local RMS window's width).
    residual : list of (Image, sumwt)
        The windows' residuals.
    models : list of Image
        The windows' models (``meta['NITER']`` components so far).

    Returns
    -------
    dict
        ``rule`` (:class:`~uvflow.imaging.deconvolution.cycle_stop.CycleStop`; in the
        auto-mask phase its peak is the one inside the mask) and ``done``.
    """
    from dataclasses import replace

    from uvflow.imaging.workflows.minor_cycle_tasks import (
        components_done,
        image_of,
        stack_windows,
        windows_stop,
    )

    rule = windows_stop(psf, mask, clean, None, *residual)
    if rule.masked:  # the auto-mask phase cleans where components are: its peak is there
        cube = np.abs(stack_windows(*residual).data)
        found = np.any(np.concatenate([image_of(m).data for m in models]) != 0, axis=(0, 1))
        if found.any():
            weights = 1.0 if rule.weights is None else rule.weights
            rule = replace(rule, peak=float((cube * weights * found).max()))
    return {"rule": rule, "done": components_done(*models)}


def stop_reason(cycle: int, status: dict, clean, previous=None) -> str | None:
    """Log a major cycle's state; why the cycles stop here, or None to go on.

    They stop when the residual's peak is at or below the final threshold (``threshold``,
    or ``auto_threshold`` times the noise), when ``niter_total`` components are found, or
    when the previous minor cycle (``previous``, its :class:`CycleStop`) cleaned down to
    the final threshold rather than to mgain's (WSClean's rule: its minor cycle then did
    not stop at the major-cycle threshold, so this residual is the last).
    """
    rule, done = status["rule"], int(status["done"])
    noise = f", noise {rule.sigma:.4g}" if rule.sigma else ""
    logger.info("major cycle %d: %d components so far, residual peak %.4g Jy/beam%s, "
                "threshold %.4g Jy/beam", cycle, done, rule.peak, noise, rule.final)  # fmt: skip
    if rule.done:
        return f"the residual peak {rule.peak:.4g} is at or below the threshold {rule.final:.4g}"
    if clean.niter_total is not None and done >= clean.niter_total:
        return f"{done} components found: niter ({clean.niter_total}) reached"
    if previous is not None and not previous.masked and previous.stop <= previous.final:
        return f"the last minor cycle cleaned to the final threshold {previous.final:.4g}"
    return None


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


def checkpoint_cycle(directory, cycle, pipeline, identity, state, nwin, ngt, keys, *items):
    """Save a cycle; return its models and tables unchanged (so later cycles depend on it).

    ``identity`` is the run's (:mod:`.checkpoint_identity`), ``state`` what a resume needs
    besides the models (JSON values); ``items`` are the ``nwin`` models then the gain
    tables named by ``keys`` ((chunk, term) pairs, ``ngt`` chunks; None without tables).
    """
    models = list(items[:nwin])
    gts = None
    if keys is not None:
        gts = [{} for _ in range(ngt)]
        for (c, term), table in zip(keys, items[nwin:]):
            gts[c][term] = table
    save_cycle(directory, cycle, pipeline, identity, models, gts, state=state)
    return tuple(items)
