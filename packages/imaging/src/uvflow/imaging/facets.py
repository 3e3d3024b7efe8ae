"""Image facets: split an image into overlapping sub-images and put them back together.

Layout
------
``facets`` is the number of facets along each axis (``facets**2`` in all, in row-major
order: facet ``i`` covers tile row ``i // facets`` and tile column ``i % facets``). The
*central tiles* cut the image at ``(k * N) // facets`` for k = 0..facets and tile it
exactly; facet ``i`` is its tile grown by ``overlap`` pixels on every side inside the image.

Weights (partition of unity)
----------------------------
Every facet has a weight over its pixels, and the weights of all facets sum to 1 at every
pixel of the image. Along an axis, across each internal tile boundary ``b`` both adjacent
facets cover ``[b - overlap, b + overlap)``; there the facet after the boundary has weight
``r(u)`` and the one before it ``1 - r(u)``, ``u = (x - b + overlap + 0.5) / (2 overlap)``,
with ``r`` set by ``taper``:

* ``None`` / ``'flat'``: ``r = 0`` before the boundary, 1 after it (each pixel belongs to
  the facet whose central tile holds it);
* ``'linear'``: ``r(u) = u``;
* ``'tukey'``: ``r(u) = (1 - cos(π u)) / 2`` (the cosine edge of a Tukey window).

Elsewhere a facet's weight is 1 (also up to the image border: the image edge is never
tapered). The 2-D weight is the product of the two 1-D weights. Hence
``image_gather_facets(image_scatter_facets(im, f, o, t), im, o, t)`` gives back ``im``
to rounding error, for any taper.

Facets are views of the image's data (no copy), each with its own WCS whose CRPIX is
shifted so that every pixel keeps its sky position.
"""

from __future__ import annotations

import math

import numpy as np

from uvflow.datamodels import Image

from .errors import ImagingError

__all__ = [
    "TAPERS",
    "image_window",
    "facet_layout",
    "facet_weight",
    "facet_weight_of",
    "image_scatter_facets",
    "image_gather_facets",
]

TAPERS = (None, "flat", "linear", "tukey")

# meta keys recording a facet's place in its layout (FITS-writable scalars)
_META_KEYS = ("FACET", "NFACETS", "FOVERLAP", "FTAPER", "PARENTNY", "PARENTNX")


def image_window(im: Image, y0: int, y1: int, x0: int, x1: int) -> Image:
    """Pixels ``[y0:y1, x0:x1]`` of ``im`` as an Image sharing its data (a view).

    The WCS is copied with CRPIX1 -= x0, CRPIX2 -= y0, so every pixel keeps its sky position.
    """
    if not (0 <= y0 < y1 <= im.ny and 0 <= x0 < x1 <= im.nx):
        raise ImagingError(
            f"window [{y0}:{y1}, {x0}:{x1}] is not inside the {im.ny} x {im.nx} image"
        )
    w = im.wcs.deepcopy()
    w.wcs.crpix[0] -= x0
    w.wcs.crpix[1] -= y0
    beam = None if im.clean_beam is None else dict(im.clean_beam)
    return Image(
        data=im.data[..., y0:y1, x0:x1],
        wcs=w,
        polarisation_frame=im.polarisation_frame,
        clean_beam=beam,
        meta=dict(im.meta),
    )


def _check_layout(ny: int, nx: int, facets, overlap, taper) -> None:
    if isinstance(facets, bool) or not isinstance(facets, (int, np.integer)) or facets < 1:
        raise ImagingError(f"facets (per axis) must be an integer >= 1, got {facets!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, (int, np.integer)) or overlap < 0:
        raise ImagingError(f"overlap must be an integer >= 0 (pixels), got {overlap!r}")
    if taper not in TAPERS:
        raise ImagingError(f"taper {taper!r} unknown; use None, 'flat', 'linear' or 'tukey'")
    smallest = min(ny // facets, nx // facets)
    if smallest < 1:
        raise ImagingError(f"{facets} facets per axis do not fit a {ny} x {nx} image")
    if facets > 1 and 2 * overlap > smallest:
        raise ImagingError(
            f"overlap {overlap} too large: the central tiles are {smallest} pixels; "
            f"use overlap <= {smallest // 2} (the tapers of adjacent boundaries must not meet)"
        )


def _bounds(n: int, facets: int) -> list[int]:
    return [(k * n) // facets for k in range(facets + 1)]


def facet_layout(
    ny: int, nx: int, facets: int, overlap: int = 0
) -> list[tuple[int, int, int, int]]:
    """Pixel bounds ``(y0, y1, x0, x1)`` of each facet, in facet order (see the module doc).

    Parameters
    ----------
    ny, nx : int
        Image size in pixels (rows, columns), each >= ``facets``.
    facets : int
        Facets per axis, >= 1 (``facets**2`` in all, row-major).
    overlap : int
        Pixels by which each facet reaches beyond its central tile, >= 0 and at most half
        the smallest tile ``min(ny, nx) // facets`` (any with one facet).

    Returns
    -------
    list of (int, int, int, int)
        ``facets**2`` half-open bounds ``(y0, y1, x0, x1)``: facet ``i`` is
        ``image[..., y0:y1, x0:x1]``, clipped to the image.

    Raises
    ------
    ImagingError
        A bad facet count, or an overlap larger than half a tile.
    """
    _check_layout(ny, nx, facets, overlap, None)
    by, bx = _bounds(ny, facets), _bounds(nx, facets)
    out = []
    for i in range(facets):
        for j in range(facets):
            out.append(
                (
                    max(0, by[i] - overlap),
                    min(ny, by[i + 1] + overlap),
                    max(0, bx[j] - overlap),
                    min(nx, bx[j + 1] + overlap),
                )
            )
    return out


def _ramp(u: np.ndarray, taper) -> np.ndarray:
    if taper in (None, "flat"):
        return (u >= 0.5).astype(float)
    if taper == "linear":
        return u
    return 0.5 - 0.5 * np.cos(np.pi * u)


def _weight_1d(n: int, facets: int, k: int, overlap: int, taper) -> np.ndarray:
    """Weight of facet-column k along an axis of length n, over that facet's extent."""
    b = _bounds(n, facets)
    lo, hi = max(0, b[k] - overlap), min(n, b[k + 1] + overlap)
    x = np.arange(lo, hi)
    w = np.ones(hi - lo)
    if overlap == 0:
        return w
    if k > 0:  # rising across the boundary at b[k]
        sel = x < b[k] + overlap
        w[sel] = _ramp((x[sel] - b[k] + overlap + 0.5) / (2 * overlap), taper)
    if k < facets - 1:  # falling across the boundary at b[k+1]
        sel = x >= b[k + 1] - overlap
        w[sel] = 1.0 - _ramp((x[sel] - b[k + 1] + overlap + 0.5) / (2 * overlap), taper)
    return w


def facet_weight(
    ny: int, nx: int, facets: int, index: int, overlap: int = 0, taper=None
) -> np.ndarray:
    """The weight of facet ``index`` over its pixels; all facets' weights sum to 1.

    Parameters
    ----------
    ny, nx, facets, overlap
        The layout, as :func:`facet_layout`.
    index : int
        The facet, ``0 <= index < facets**2`` (row-major).
    taper : None, 'flat', 'linear' or 'tukey'
        How the weight falls across the overlaps (module doc).

    Returns
    -------
    numpy.ndarray of float64, shape [fy, fx]
        The facet's weight in [0, 1], ``(fy, fx) = (y1 - y0, x1 - x0)`` from its
        :func:`facet_layout` bounds; the product of the two 1-D weights.
    """
    _check_layout(ny, nx, facets, overlap, taper)
    if not 0 <= index < facets * facets:
        raise ImagingError(f"facet index {index} outside 0..{facets * facets - 1}")
    i, j = divmod(index, facets)
    return np.outer(
        _weight_1d(ny, facets, i, overlap, taper), _weight_1d(nx, facets, j, overlap, taper)
    )


def image_scatter_facets(im: Image, facets: int = 2, overlap: int = 0, taper=None) -> list[Image]:
    """Split ``im`` into ``facets**2`` overlapping facets (views of its data).

    Parameters
    ----------
    im : Image
        data [nchan, npol, ny, nx].
    facets : int
        Facets per axis.
    overlap : int
        Pixels by which each facet reaches beyond its central tile (at most half a tile).
    taper : None, 'flat', 'linear' or 'tukey'
        Not applied to the data (facets are views): recorded in each facet's ``meta``
        (keys FACET, NFACETS, FOVERLAP, FTAPER, PARENTNY, PARENTNX) with the rest of the
        layout, so that :func:`facet_weight_of` and :func:`image_gather_facets` can check it.

    Returns
    -------
    list of Image, facet order row-major (see the module doc).
    """
    _check_layout(im.ny, im.nx, facets, overlap, taper)
    out = []
    for index, (y0, y1, x0, x1) in enumerate(facet_layout(im.ny, im.nx, facets, overlap)):
        f = image_window(im, y0, y1, x0, x1)
        f.meta.update(
            FACET=index, NFACETS=int(facets), FOVERLAP=int(overlap),
            FTAPER=taper or "flat", PARENTNY=im.ny, PARENTNX=im.nx,
        )  # fmt: skip
        out.append(f)
    return out


def facet_weight_of(facet: Image) -> np.ndarray:
    """The gather weight [fy, fx] of a facet made by :func:`image_scatter_facets` (from its meta)."""
    missing = [k for k in _META_KEYS if k not in facet.meta]
    if missing:
        raise ImagingError(
            f"image is not a facet made by image_scatter_facets: meta lacks {', '.join(missing)}"
        )
    m = facet.meta
    taper = None if m["FTAPER"] == "flat" else m["FTAPER"]
    w = facet_weight(m["PARENTNY"], m["PARENTNX"], m["NFACETS"], m["FACET"], m["FOVERLAP"], taper)
    if w.shape != (facet.ny, facet.nx):
        raise ImagingError(
            f"facet {m['FACET']} is {facet.ny} x {facet.nx}; its layout says {w.shape}"
        )
    return w


def image_gather_facets(facet_list, im: Image, overlap: int = 0, taper=None) -> Image:
    """Put facets back together: ``Σ_i weight_i · facet_i`` on the grid of ``im``.

    Parameters
    ----------
    facet_list : list of Image
        ``facets**2`` facets in the order of :func:`image_scatter_facets` (e.g. its output,
        or images computed from it of the same shapes); data [nchan, npol, fy, fx].
    im : Image
        The template: shape, WCS, polarisation frame and clean beam of the result (its data
        are not used).
    overlap, taper
        As given to :func:`image_scatter_facets`.

    Returns
    -------
    Image
        A new image of ``im``'s shape; dtype that of the facets.
    """
    n = len(facet_list)
    facets = math.isqrt(n)
    if n == 0 or facets * facets != n:
        raise ImagingError(f"expected facets**2 facet images, got {n}")
    _check_layout(im.ny, im.nx, facets, overlap, taper)
    layout = facet_layout(im.ny, im.nx, facets, overlap)
    dtype = np.result_type(*[f.data.dtype for f in facet_list])
    out = np.zeros(im.shape[:2] + (im.ny, im.nx), dtype=dtype)
    for index, (f, (y0, y1, x0, x1)) in enumerate(zip(facet_list, layout)):
        want = (im.nchan, im.npol, y1 - y0, x1 - x0)
        if f.shape != want:
            raise ImagingError(
                f"facet {index} has shape {list(f.shape)}; the layout ({facets} per axis, "
                f"overlap {overlap}) of a {list(im.shape)} image needs {list(want)}"
            )
        if "FACET" in f.meta and (
            f.meta.get("FOVERLAP") != overlap or f.meta.get("FTAPER") != (taper or "flat")
        ):
            raise ImagingError(
                f"facet {index} was scattered with overlap {f.meta.get('FOVERLAP')} and taper "
                f"{f.meta.get('FTAPER')!r}, gathered with overlap {overlap} and taper {taper or 'flat'!r}"
            )
        w = facet_weight(im.ny, im.nx, facets, index, overlap, taper)
        out[..., y0:y1, x0:x1] += w * f.data
    meta = {k: v for k, v in facet_list[0].meta.items() if k not in _META_KEYS}
    beam = im.clean_beam if im.clean_beam is not None else facet_list[0].clean_beam
    return Image(
        data=out,
        wcs=im.wcs.deepcopy(),
        polarisation_frame=im.polarisation_frame,
        clean_beam=None if beam is None else dict(beam),
        meta=meta,
    )
