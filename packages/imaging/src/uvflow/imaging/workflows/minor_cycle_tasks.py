"""The functions the minor-cycle graphs run as tasks (:mod:`.minor_cycle_graphs` builds them).

A minor cycle over several windows is: one task computing the cycle's stopping rule
(:class:`~uvflow.imaging.deconvolution.cycle_stop.CycleStop`) from the whole cube of the
windows' residuals, then the clean tasks (one per window, one for the cube, or one per
facet) that use it. The models carry the number of components found so far
(``meta['NITER']``), so that a total budget (``niter_total``) is shared by the cycles, and
the auto-mask's phase cleans where they have components.
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.datamodels import Image, concatenate_images

from ..deconvolution import (
    create_window,
    deconvolve_cube,
    deconvolve_facet,
    facet_round_threshold,
    image_residual,
    psf_sidelobe_level,
)
from ..deconvolution.cycle_stop import CycleStop, cycle_stop
from ..errors import ImagingError
from ..facets import image_gather_facets, image_scatter_facets
from ..settings import CleanSettings

__all__ = [
    "image_of",
    "stack_windows",
    "split_windows",
    "components_done",
    "window_stop",
    "windows_stop",
    "cube_clean",
    "window_clean",
    "round_threshold",
    "scatter_facets",
    "facet_clean",
    "gather_residual",
    "zero_like",
]

log = logging.getLogger("uvflow.imaging.workflows.minor_cycle_graphs")


def image_of(item) -> Image:
    """The image of an invert result ``(Image, sumwt)`` or an Image itself.

    Parameters
    ----------
    item : Image or (Image, numpy.ndarray)
        An Image (data [nchan, npol, ny, nx]) or an invert result whose second element is
        ``sumwt`` float64 [nchan, npol].

    Returns
    -------
    Image
        ``item`` or its first element (not copied).

    Raises
    ------
    ImagingError
        Anything else.
    """
    if isinstance(item, tuple):
        item = item[0]
    if not isinstance(item, Image):
        raise ImagingError(
            f"expected an Image or an (Image, sumwt) pair, got {type(item).__name__}"
        )
    return item


def stack_windows(*items) -> Image:
    """One cube [nwin·nchan, npol, ny, nx] from the windows' images (list order); windows
    that are not evenly spaced in frequency (a spectral window missing) keep their own
    frequencies (``meta['CHANNEL_FREQUENCIES']``, which mmclean's Taylor terms use)."""
    return concatenate_images([image_of(i) for i in items], irregular=True)


def split_windows(cube: Image, *models: Image) -> list[Image]:
    """Cut ``cube`` back into per-window images and add each to its model.

    The models' ``meta['NITER']`` (components so far) grows by the cube's.
    """
    out, start = [], 0
    found = int(cube.meta.get("NITER", 0))
    for model in models:
        n = model.nchan
        part = cube.data[start : start + n]
        if part.shape != model.data.shape:
            raise ImagingError(
                f"model cube part {list(part.shape)} does not fit model {list(model.data.shape)}"
            )
        meta = dict(model.meta, BUNIT="JY/PIXEL", NITER=components_done(model) + found)
        out.append(model.replace(data=(model.data + part).astype(model.data.dtype, copy=False),
                                 meta=meta))  # fmt: skip
        start += n
    return out


def components_done(*models: Image) -> int:
    """Components found so far: the largest ``meta['NITER']`` of the models (0 if none)."""
    return max([int(m.meta.get("NITER", 0)) for m in models] or [0])


def _beam_pixels(psf: Image) -> float:
    """Width of the PSF's main lobe (pixels above half its peak, as a circle's diameter)."""
    plane = np.asarray(psf.data[0, 0], dtype=np.float64)
    peak = plane.max()
    if not peak > 0:
        return 3.0
    return float(max(2.0 * np.sqrt(np.count_nonzero(plane > 0.5 * peak) / np.pi), 1.0))


def window_stop(dirty: Image, psf: Image, clean: CleanSettings, mask=None, facets=False,
                cycle: int | None = None) -> CycleStop:  # fmt: skip
    """The stopping rule of the minor cycle of ``dirty`` (the stacked cube of every window);
    logged when ``cycle`` (a major cycle's number) is given."""
    shape = None if facets else clean.window_shape
    window = create_window(dirty, shape, clean.window_edge, mask)
    beam = _beam_pixels(psf) if clean.noise is not None and clean.noise.local_rms else 3.0
    rule = cycle_stop(dirty.data, window, clean.threshold, clean.fractional_threshold,
                      clean.noise, beam)  # fmt: skip
    if cycle is not None:
        noise = f", noise {rule.sigma:.4g} Jy/beam" if rule.sigma else ""
        log.info("major cycle %d: residual peak %.4g Jy/beam%s, minor cycle stops at %.4g "
                 "Jy/beam%s", cycle, rule.peak, noise, rule.stop,
                 " (auto-mask)" if rule.masked else "")  # fmt: skip
    return rule


def windows_stop(psf, mask, clean: CleanSettings, cycle, *dirty) -> CycleStop:
    """:func:`window_stop` of the windows' residuals stacked as one cube (one task)."""
    return window_stop(stack_windows(*dirty), image_of(psf), clean, mask, False, cycle)


def _clean_mask(shape: tuple, mask, rule: CycleStop, model: Image | None):
    """The mask of a clean task: the user's, times the local-RMS weights, times (in the
    auto-mask phase) where the model has components; None for no mask."""
    out = None if mask is None else np.asarray(mask.data if isinstance(mask, Image) else mask,
                                               dtype=np.float64)  # fmt: skip
    if out is not None and out.ndim == 2:
        out = out[None, None]
    extra = []
    if rule.weights is not None:
        extra.append(rule.weights[None, None])
    if rule.masked and model is not None:
        found = np.any(model.data != 0, axis=(0, 1))[None, None].astype(np.float64)
        if not found.any():  # nothing found yet: the auto-mask phase has nowhere to clean
            found[...] = 1.0
        extra.append(found)
    for e in extra:
        out = e if out is None else out * e
    if out is not None and out.shape[0] not in (1, shape[0]):
        out = out[:1]
    return out


def cube_clean(dirty: Image, psf: Image, mask, clean: CleanSettings, cycle, *models) -> Image:
    """The minor cycle of the stacked cube: its components (a cube, ``meta['NITER']``)."""
    rule = window_stop(dirty, psf, clean, mask, cycle=cycle)
    model_cube = stack_windows(*models) if models else None
    done = components_done(*models)
    effective = _clean_mask(dirty.shape, mask, rule, model_cube)
    delta, _ = deconvolve_cube(dirty, psf, clean.with_stop(rule.stop, done), mask=effective)
    return delta


def window_clean(dirty, psf, model: Image, mask, clean: CleanSettings, rule: CycleStop) -> Image:
    """One window's minor cycle at the shared rule; its components added to ``model``."""
    d = image_of(dirty)
    effective = _clean_mask(d.shape, mask, rule, model)
    settings = clean.with_stop(rule.stop, components_done(model))
    delta, _ = deconvolve_cube(d, image_of(psf), settings, mask=effective)
    return split_windows(delta, model)[0]


def round_threshold(residual: Image, psf: Image, rule: CycleStop, mask=None) -> float:
    """The threshold of one round of facet cleaning (:func:`facet_round_threshold`)."""
    window = create_window(residual, None, 0, mask)
    return facet_round_threshold(residual, psf_sidelobe_level(psf), rule.stop, window)


def scatter_facets(image, clean: CleanSettings, rule: CycleStop | None = None, models=None):
    """``image`` (or, with ``rule``, the effective clean mask) cut into facets."""
    if rule is not None:
        model_cube = stack_windows(*models) if models else None
        shape = (image.nchan if isinstance(image, Image) else 1,)
        mask = _clean_mask(shape, image, rule, model_cube)
        if mask is None:
            return None
        template = model_cube if model_cube is not None else image
        image = template.replace(data=np.broadcast_to(mask, (1, 1) + template.shape[-2:]).copy())
    return image_scatter_facets(image, clean.facets, clean.facet_overlap, clean.facet_taper)


def facet_clean(facets: list, index: int, psf: Image, level: float, mask_facets,
                clean: CleanSettings, done: int) -> Image:  # fmt: skip
    """One facet's minor cycle at the round's shared level."""
    mask = None if mask_facets is None else mask_facets[index].data
    settings = clean.with_stop(level, done)
    model, _ = deconvolve_facet(facets[index], psf, settings, threshold=level, mask=mask)
    return model


def gather_residual(dirty: Image, psf: Image, model: Image, clean: CleanSettings, *parts: Image):
    """The facets' models gathered into the cube's, and the exact image-plane residual."""
    delta = image_gather_facets(list(parts), dirty, clean.facet_overlap, clean.facet_taper)
    found = int(model.meta.get("NITER", 0)) + sum(int(p.meta.get("NITER", 0)) for p in parts)
    total = model.replace(data=model.data + delta.data, meta=dict(model.meta, NITER=found))
    return total, image_residual(dirty, total, psf)


def zero_like(image: Image) -> Image:
    """A zero image like ``image`` (``meta['NITER']`` 0)."""
    out = image.copy(zero=True)
    return out.replace(meta=dict(out.meta, NITER=0))
