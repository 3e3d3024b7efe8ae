"""RASCIL's image workflows: a function mapped over an image's facets, and a sum of images.

``image_rsexecute_map_workflow`` cuts an image into facets (:func:`uvflow.imaging.
image_scatter_facets`), applies a function to each facet as a task of its own, and joins
the results (:func:`uvflow.imaging.image_gather_facets`, blending overlaps with the
taper); ``sum_images_rsexecute`` adds images as a balanced tree of tasks. Both keep
RASCIL's names and call shapes (an ``Image`` is uvflow's data model).
"""

from __future__ import annotations

from uvflow.datamodels import Image
from uvflow.execution import rsexecute, strict_keywords, sum_list_rsexecute

from ..errors import ImagingError
from ..facets import image_gather_facets, image_scatter_facets

__all__ = ["image_rsexecute_map_workflow", "sum_images_rsexecute"]


def image_rsexecute_map_workflow(im, imfunction, facets: int = 1, overlap: int = 0,
                                 taper=None, **kwargs):  # fmt: skip
    """``imfunction`` applied to each facet of ``im`` (one task per facet), joined.

    Parameters
    ----------
    im : Image (or a graph of one)
        ``data[nchan, npol, ny, nx]``.
    imfunction : callable
        ``imfunction(facet, **kwargs)`` → an Image of the facet's shape (it must pickle on
        a cluster).
    facets : int
        Facets per axis (``facets**2`` tasks), >= 1.
    overlap : int
        Pixels by which facets overlap (>= 0).
    taper : None, 'flat', 'linear' or 'tukey'
        How overlapping results are blended (the weights sum to 1 at every pixel).
    **kwargs
        Passed to ``imfunction``.

    Returns
    -------
    Image
        The joined result on ``im``'s grid; a graph in the Dask modes.
    """
    if not callable(imfunction):
        raise ImagingError(f"imfunction must be callable, got {type(imfunction).__name__}")
    parts = rsexecute.execute(image_scatter_facets, nout=facets * facets)(
        im, facets=facets, overlap=overlap, taper=taper
    )
    mapped = [rsexecute.execute(imfunction)(parts[i], **kwargs) for i in range(facets * facets)]
    return rsexecute.execute(image_gather_facets, name="image_gather_facets")(
        mapped, im, overlap=overlap, taper=taper
    )


@strict_keywords
def sum_images_rsexecute(image_list, split: int = 2):
    """The pixel-wise sum of images (same shape and grid), as a balanced tree of tasks.

    Parameters
    ----------
    image_list : list of Image (or graphs)
    split : int
        Fan-in of the tree (>= 2).

    Returns
    -------
    Image
        On the first image's grid; a graph in the Dask modes.
    """
    return sum_list_rsexecute(list(image_list), func=add_images, split=split)


def add_images(a: Image, b: Image) -> Image:
    """``a + b`` pixel by pixel, on ``a``'s grid (shapes must match)."""
    if a.data.shape != b.data.shape:
        raise ImagingError(
            f"cannot add images of shapes {list(a.data.shape)} and {list(b.data.shape)}"
        )
    return a.replace(data=a.data + b.data, wcs=a.wcs.deepcopy())
