"""Image-plane facets for invert and predict (RASCIL's ``facets=N``).

The image is cut into ``N × N`` facets tiling it exactly (:func:`~uvflow.imaging.facets.
facet_layout`, no overlap). Each facet is a sub-image with its own centre (its WCS is the
image's with CRPIX shifted), gridded about that centre: the gridder shifts the image
centre (ducc0's ``center_x``/``center_y``) and corrects w for the facet's own directions,
so every pixel is where the whole image puts it and a faceted image equals the unfaceted
one to the gridder's accuracy. invert writes each facet's pixels into the image; predict
adds the facets' visibilities. The PSF is never faceted: it is the response to a point at
the image centre, whichever facet holds it.

Facets are what direction-dependent corrections are applied per (one gain or beam per
facet); for a plain image they cost ``N²`` gridder calls on the same visibilities.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import Image, Visibility

from .errors import ImagingError
from .facets import facet_layout, image_window

__all__ = ["check_gridding_facets", "faceted_invert", "faceted_predict", "facet_windows"]

#: ducc0's gridders need even image sizes of at least this many pixels (each facet too)
MIN_FACET_PIXELS = 32


def check_gridding_facets(facets, ny: int | None = None, nx: int | None = None) -> int:
    """``facets`` as an int >= 1 that cuts an ``ny × nx`` image (when given) into facets of
    even sizes of at least :data:`MIN_FACET_PIXELS`, or an :class:`ImagingError`."""
    if isinstance(facets, bool) or not isinstance(facets, (int, np.integer)) or facets < 1:
        raise ImagingError(f"facets (per axis, for invert/predict) must be an integer >= 1, "
                           f"got {facets!r}")  # fmt: skip
    facets = int(facets)
    if facets > 1 and ny is not None and nx is not None:
        sizes = {d for y0, y1, x0, x1 in facet_layout(ny, nx, facets) for d in (y1 - y0, x1 - x0)}
        if any(s % 2 or s < MIN_FACET_PIXELS for s in sizes):
            raise ImagingError(
                f"facets={facets} cuts the {ny} x {nx} image into facets of "
                f"{sorted(sizes)} pixels; the gridder needs even facet sizes of at least "
                f"{MIN_FACET_PIXELS}: use facets that divide the size into even parts "
                f"(size / facets even and >= {MIN_FACET_PIXELS})"
            )
    return facets


def facet_windows(image: Image, facets: int) -> list[tuple[tuple[int, int, int, int], Image]]:
    """The ``facets²`` facets of ``image``, row-major: ``((y0, y1, x0, x1), facet)``, each
    facet a view of the image's data with its own WCS (checked sizes)."""
    check_gridding_facets(facets, image.ny, image.nx)
    return [(b, image_window(image, *b)) for b in facet_layout(image.ny, image.nx, facets)]


def faceted_invert(gridder, vis: Visibility, model: Image, facets: int, **options):
    """``gridder.invert`` facet by facet, joined: ``(Image, sumwt[nchan, npol])``.

    Parameters
    ----------
    gridder : Gridder
    vis : Visibility
    model : Image
        The template of the whole image.
    facets : int
        Facets per axis (> 1).
    **options
        ``gridder.invert``'s keywords except ``dopsf`` (normalise, epsilon, nthreads).

    Returns
    -------
    (Image, numpy.ndarray)
        As ``gridder.invert`` returns for the whole image; ``sumwt`` is every facet's (the
        same weights grid every facet).
    """
    out, sumwt = None, None
    for (y0, y1, x0, x1), window in facet_windows(model, facets):
        image, sumwt = gridder.invert(vis, window, dopsf=False, **options)
        if out is None:
            data = np.zeros(model.data.shape[:2] + (model.ny, model.nx), image.data.dtype)
            out = Image(data=data, wcs=model.wcs.deepcopy(),
                        polarisation_frame=image.polarisation_frame, meta=dict(image.meta))  # fmt: skip
        out.data[..., y0:y1, x0:x1] = image.data
    return out, sumwt


def faceted_predict(gridder, vis: Visibility, model: Image, facets: int, **options) -> Visibility:
    """``gridder.predict`` of each facet of ``model``, added: a Visibility of the model."""
    total = None
    for _, window in facet_windows(model, facets):
        if not np.any(window.data):
            continue
        part = gridder.predict(vis, window, **options)
        if total is None:
            total = part
        else:
            total.vis += part.vis
    return gridder.predict(vis, model, **options) if total is None else total
