"""Partition a sky model into Voronoi regions around calibration centres (for MPCCAL)."""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import Image, SkyComponent, SkyModel

from .directions import as_direction_list, unit_vectors
from .errors import SimulationError

__all__ = ["voronoi_labels", "partition_skymodel_by_voronoi"]


def _centre_vectors(centres) -> np.ndarray:
    return np.array([unit_vectors(d) for d in as_direction_list(centres)])


def voronoi_labels(image: Image, centres) -> np.ndarray:
    """Index of the nearest centre (great-circle distance) for every pixel.

    Parameters
    ----------
    image : Image
        Gives the pixel grid (``ny × nx``) and its WCS; its data are not used.
    centres : SkyCoord (scalar or array), or sequence of SkyCoord or SkyComponent
        The region centres, in order.

    Returns
    -------
    numpy.ndarray of int64, shape [ny, nx]
        Index into ``centres`` of each pixel's nearest centre; -1 where the projection has
        no sky.

    Raises
    ------
    SimulationError
        No centres, or centres that are neither SkyCoords nor SkyComponents.
    """
    cv = _centre_vectors(centres)
    yy, xx = np.mgrid[0 : image.ny, 0 : image.nx]
    vec = unit_vectors(image.pixel_to_sky(xx.ravel(), yy.ravel()))
    valid = np.all(np.isfinite(vec), axis=-1)
    labels = np.argmax(np.where(valid[:, None], vec, 0.0) @ cv.T, axis=1)
    return np.where(valid, labels, -1).reshape(image.ny, image.nx)


def partition_skymodel_by_voronoi(components, centres, image: Image) -> list[SkyModel]:
    """One SkyModel per centre: the components and image pixels nearest to that centre.

    Parameters
    ----------
    components : list of SkyComponent
        Each goes to the region whose centre is closest on the sky.
    centres : SkyCoord (array) or list of SkyCoord or SkyComponent
        The region centres (e.g. the brightest components).
    image : Image
        Defines the grid of the masks; its data are split among the regions too.

    Returns
    -------
    list of SkyModel
        In the order of ``centres``. ``mask``: 1.0 inside the region, 0.0 elsewhere (every
        plane of an image shaped like ``image``); ``image``: ``image.data × mask``. The masks
        tile the image: they sum to 1 on every pixel with sky.
    """
    cv = _centre_vectors(centres)
    comps = list(components)
    for c in comps:
        if not isinstance(c, SkyComponent):
            raise SimulationError(f"components must be SkyComponents, got {type(c).__name__}")
    labels = voronoi_labels(image, centres)
    if comps:
        cvec = np.array([unit_vectors(c.direction) for c in comps])
        owner = np.argmax(cvec @ cv.T, axis=1)
    else:
        owner = np.zeros(0, dtype=int)
    models = []
    for k in range(cv.shape[0]):
        plane = (labels == k).astype(np.float64)
        mask = image.replace(
            data=np.broadcast_to(plane, image.shape).astype(np.float64),
            wcs=image.wcs.deepcopy(), clean_beam=None, meta={"OBJECT": f"voronoi region {k}"},
        )  # fmt: skip
        region = image.replace(data=image.data * plane[None, None].astype(image.data.dtype),
                               wcs=image.wcs.deepcopy(), meta=dict(image.meta))  # fmt: skip
        models.append(
            SkyModel(
                image=region,
                components=[c.copy() for c, o in zip(comps, owner) if o == k],
                mask=mask,
            )
        )
    return models
