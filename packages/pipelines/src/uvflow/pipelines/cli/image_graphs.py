"""Graphs of ``uvflow image``: dirty images and PSFs, and the frequency-combined products.

The data are ``channels_out`` equal frequency bands (across every input), each a list of
chunks (:mod:`.image_data`). Imaging weights (one uv grid shared by every window) and an optional uv
taper are applied here, once; the dirty images and PSFs written as products are made here,
and the deconvolution is the pipelines' continuum or ICAL workflow run on the weighted
windows (``weighting='natural'`` there: the weights are already in place). The
frequency-combined (MFS) products are the sumwt-weighted combinations of the windows'.
"""

from __future__ import annotations

import functools

import numpy as np

from uvflow.datamodels import Image
from uvflow.execution import rsexecute
from uvflow.imaging import restore_cube
from uvflow.imaging.workflows import (
    image_of,
    invert_image,
    sum_invert_results_rsexecute,
    weight_windows,
)
from uvflow.pipelines.window_chunks import flatten_windows

__all__ = [
    "invert_graphs", "mfs_graphs", "collapse_channels", "channel_of", "mad_sigma", "finish_mfs",
]  # fmt: skip


def invert_graphs(windows, gridding, weighting, psf=None, dirty=None):
    """Weighted windows (a window split into chunks as a list of them), and their dirty
    images and PSFs ``(Image, sumwt)`` (the chunks' combined; graphs).

    Parameters
    ----------
    windows : Windows
        :class:`~.image_data.Windows`: per band a list of chunk nodes.
    gridding : GriddingSettings
    weighting : WeightingSettings
        Computed on one uv grid (one channel covering the whole band) for every window,
        chunk and channel, with its taper.
    psf, dirty : list of Image, optional
        Per band, images of an earlier run (``-reuse-psf``, ``-reuse-dirty``): used
        instead of computing them (each band weighted 1 in the frequency combination).
    """
    chunks = flatten_windows(windows.vis)
    grid = [windows.mfs_template] * len(chunks.vis)
    vis = rsexecute.persist(weight_windows(chunks.vis, grid, weighting))
    templates = chunks.per_chunk(windows.templates)
    if psf is None:
        psf = rsexecute.persist(chunks.image_windows(
            functools.partial(invert_image, gridding=gridding, dopsf=True), vis, templates
        ))  # fmt: skip
        # the PSF before the dirty image: the workers then hold one tree's partial images
        # at a time, not both (the chunks are read by each tree anyway)
        rsexecute.wait(psf)
    else:
        psf = [(im, np.ones((im.nchan, im.npol))) for im in psf]
    if dirty is None:
        dirty = chunks.image_windows(
            functools.partial(invert_image, gridding=gridding), vis, templates
        )
    else:
        dirty = [(im, np.ones((im.nchan, im.npol))) for im in dirty]
    psf, dirty = rsexecute.persist([psf, dirty])
    return chunks.per_window(vis), dirty, psf


def _mean_sigma(result) -> float:
    return mad_sigma(image_of(result))


def mad_sigma(im: Image) -> float:
    """Robust noise estimate of an image's first plane: 1.4826 × median absolute deviation."""
    plane = np.asarray(im.data[0, 0], dtype=float)
    return float(1.4826 * np.median(np.abs(plane - np.median(plane))))


def dirty_sigma(dirty_bands: list) -> float:
    """Robust σ of the MFS dirty image (for ``--auto-threshold``)."""
    mfs = dirty_bands[0] if len(dirty_bands) == 1 else sum_invert_results_rsexecute(dirty_bands)
    return float(rsexecute.compute(rsexecute.execute(_mean_sigma)(mfs), sync=True))


def _with_psf_weights(model: Image, psf_result) -> tuple:
    return model, psf_result[1]


def collapse_channels(result) -> tuple[Image, np.ndarray]:
    """The sumwt-weighted mean over the channels of an ``(Image, sumwt)`` cube.

    Returns
    -------
    (Image, numpy.ndarray)
        One channel ``[1, npol, ny, nx]`` (the first channel's WCS) and ``sumwt[1, npol]``.
    """
    im, w = result
    if im.nchan == 1:
        return im, w
    total = w.sum(axis=0, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    data = np.einsum("cpyx,cp->pyx", im.data, w)[None] / safe[:, :, None, None]
    data = np.where(total[:, :, None, None] > 0, data, 0.0).astype(im.data.dtype, copy=False)
    return channel_of(im, 0).replace(data=data), total


def channel_of(im: Image, c: int) -> Image:
    """Channel ``c`` of an image cube as a one-channel Image (its WCS at that frequency)."""
    if im.nchan == 1 and c == 0:
        return im
    wcs = im.wcs.deepcopy()
    wcs.wcs.crval[3] = float(im.frequency[c])
    wcs.wcs.crpix[3] = 1.0
    return im.replace(data=im.data[c : c + 1], wcs=wcs)


def mfs_graphs(dirty: list, psf: list, residual: list | None, models: list | None) -> dict:
    """Frequency-combined (sumwt-weighted over windows and channels) products (graphs)."""

    def combine(results):
        return sum_invert_results_rsexecute(
            [rsexecute.execute(collapse_channels, nout=2)(r) for r in results]
        )

    out = {"dirty": combine(dirty), "psf": combine(psf)}
    if residual is not None:
        out["residual"] = combine(residual)
    if models is not None:
        out["model"] = combine(
            [rsexecute.execute(_with_psf_weights, nout=2)(m, p) for m, p in zip(models, psf)]
        )
    return out


def finish_mfs(mfs: dict, template: Image) -> dict[str, Image]:
    """MFS images on the band-centre WCS; the restored image from the MFS model and PSF."""
    images = {k: image_of(v).replace(wcs=template.wcs.deepcopy()) for k, v in mfs.items()}
    if "model" in images:
        images["image"] = restore_cube(images["model"], images["psf"], images["residual"])
    return images
