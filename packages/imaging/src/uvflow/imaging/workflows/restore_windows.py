"""Graph of restoring: model ⊛ clean beam + residual, per window, whole or in facets."""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import Image
from uvflow.execution import rsexecute, strict_keywords

from ..errors import ImagingError
from ..facets import facet_layout, image_gather_facets, image_window
from ..restore import beam_kernel, fit_psf, restore_cube
from ._lists import window_list
from .minor_cycle_tasks import image_of

__all__ = ["restore_list_rsexecute_workflow"]


def _restore(model: Image, psf, residual, clean_beam):
    return restore_cube(
        model,
        None if psf is None else image_of(psf),
        None if residual is None else image_of(residual),
        clean_beam,
    )


@strict_keywords
def restore_list_rsexecute_workflow(
    model_imagelist,
    psf_imagelist,
    residual_imagelist=None,
    clean_beam: dict | None = None,
    restore_facets: int = 1,
    restore_overlap: int = 0,
    restore_taper: str | None = "tukey",
    psfwidth: float | None = None,
) -> list:
    """Restored images per window: model ⊛ clean beam + residual.

    Parameters
    ----------
    model_imagelist : list of Image (graphs)
    psf_imagelist : list of (Image, sumwt) or Image
        The beam is fitted to each window's PSF unless ``clean_beam`` is given.
    residual_imagelist : list of (Image, sumwt) or Image, optional
    clean_beam : dict, optional
        ``{'bmaj': deg, 'bmin': deg, 'bpa': deg}`` shared by all windows.
    restore_facets : int
        RASCIL's facet-parallel restoring: each window's image is made as
        ``restore_facets²`` facets (:func:`uvflow.imaging.facet_layout`), each a task
        convolving the model around its facet (as far as the beam reaches) with the
        window's one beam, joined with ``restore_taper`` over ``restore_overlap`` pixels.
        Unlike RASCIL's (which convolved each facet's model alone, cutting beams at facet
        edges), every pixel gets every component that reaches it: the whole image's
        restoring to rounding, for any overlap. 1: the whole image in one task.
    restore_overlap : int
        Pixels by which the facets overlap (>= 0).
    restore_taper : None, 'flat', 'linear' or 'tukey'
        How overlapping facets are blended.
    psfwidth : float, optional
        RASCIL's restoring width: a circular Gaussian clean beam of this standard deviation
        in pixels (FWHM ``2.3548 psfwidth`` pixels) instead of the fitted beam; not with
        ``clean_beam``.

    Returns
    -------
    list
        One restored Image (graph) per window, ``BUNIT`` Jy/beam, its ``clean_beam``
        recorded.
    """
    n = len(model_imagelist)
    if psfwidth is not None:
        if clean_beam is not None:
            raise ImagingError("give clean_beam or psfwidth, not both")
        if not (np.isfinite(psfwidth) and psfwidth > 0):
            raise ImagingError(f"psfwidth must be > 0 pixels, got {psfwidth}")
        return [
            restore_list_rsexecute_workflow(
                [m], [None], [r], rsexecute.execute(_pixel_beam)(m, float(psfwidth)),
                restore_facets, restore_overlap, restore_taper,
            )[0]
            for m, r in zip(model_imagelist, window_list("residual_imagelist",
                                                        residual_imagelist, n))
        ]  # fmt: skip
    psfs = window_list("psf_imagelist", psf_imagelist, n)
    residuals = window_list("residual_imagelist", residual_imagelist, n)
    if restore_facets == 1:
        return [
            rsexecute.execute(_restore)(m, p, r, clean_beam)
            for m, p, r in zip(model_imagelist, psfs, residuals)
        ]
    nf = restore_facets * restore_facets
    layout = dict(facets=restore_facets, overlap=restore_overlap, taper=restore_taper)
    out = []
    for m, p, r in zip(model_imagelist, psfs, residuals):
        beam = clean_beam if clean_beam is not None else rsexecute.execute(_fitted_beam)(p)
        parts = [
            rsexecute.execute(_restore_facet, name="restore_facet")(m, r, beam, layout, i)
            for i in range(nf)
        ]
        out.append(rsexecute.execute(_gather_restored)(parts, m, beam, layout))
    return out


def _pixel_beam(model: Image, sigma_pixels: float) -> dict:
    """A circular clean beam of ``sigma_pixels`` pixels' standard deviation on ``model``'s
    grid, in degrees."""
    fwhm = 2.0 * np.sqrt(2.0 * np.log(2.0)) * sigma_pixels * abs(model.wcs.wcs.cdelt[1])
    return {"bmaj": fwhm, "bmin": fwhm, "bpa": 0.0}


def _fitted_beam(psf) -> dict:
    return fit_psf(image_of(psf))


def _restore_facet(model: Image, residual, beam: dict, layout: dict, index: int) -> Image:
    """Facet ``index`` of the restored image: the model around it (as far as the beam
    kernel reaches) convolved, cut to the facet, plus the residual's facet. Each pixel gets
    every component that reaches it, so the joined facets are the whole image's restoring
    to rounding, whatever the overlap."""
    y0, y1, x0, x1 = facet_layout(model.ny, model.nx, layout["facets"], layout["overlap"])[index]
    reach = beam_kernel(beam, model.wcs, max_size=2 * max(model.ny, model.nx) + 1).shape[0] // 2
    ys, xs = max(0, y0 - reach), max(0, x0 - reach)
    around = image_window(model, ys, min(model.ny, y1 + reach), xs, min(model.nx, x1 + reach))
    restored = restore_cube(around, None, None, beam)
    facet = image_window(restored, y0 - ys, y1 - ys, x0 - xs, x1 - xs)
    if residual is not None:
        facet.data += image_of(residual).data[..., y0:y1, x0:x1]
    return facet


def _gather_restored(parts: list[Image], model: Image, beam: dict, layout: dict) -> Image:
    """The restored facets joined on the model's grid, with the beam and unit recorded."""
    joined = image_gather_facets(parts, model, overlap=layout["overlap"], taper=layout["taper"])
    meta = {**model.meta, "BUNIT": "JY/BEAM"}
    return joined.replace(clean_beam=dict(parts[0].clean_beam or beam), meta=meta)
