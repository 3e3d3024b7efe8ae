"""The model image of each window: given per window, or one shared by every window.

The pipelines' ``model_imagelist`` may be a list (one model per window) or one Image for
every window. A shared one-channel model is the grid of every window, but its frequency is
one window's at most; each window then gets a copy whose channel is its own band (the
lowest to the highest frequency of its channels), so that the windows' images carry their
own frequencies: the minor cycle's cube then has distinct channels, as mmclean's Taylor
terms need, and each window's restored image is labelled with its band. A shared model of
several channels is used as it is by every window.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import Image
from uvflow.execution import rsexecute
from uvflow.imaging.workflows import window_list

from .window_chunks import Chunks

__all__ = ["window_models", "channel_band", "on_band"]


def window_models(model_imagelist, chunks: Chunks) -> list:
    """Per window, its model Image (or graph of one): see the module notes.

    Parameters
    ----------
    model_imagelist : Image or list of Image (or graphs)
        One per window, or one for all.
    chunks : Chunks
        The windows' visibility chunks.

    Raises
    ------
    ImagingError
        A list whose length is not the number of windows.
    """
    if isinstance(model_imagelist, (list, tuple)) or chunks.nwindows == 1:
        return window_list("model_imagelist", model_imagelist, chunks.nwindows)
    models = []
    for w in range(chunks.nwindows):
        bands = [
            rsexecute.execute(channel_band, name="channel_band")(v)
            for v, owner in zip(chunks.vis, chunks.owner)
            if owner == w
        ]
        models.append(rsexecute.execute(on_band, name="window_model")(model_imagelist, *bands))
    return models


def channel_band(vis) -> tuple[float, float]:
    """``(lowest, highest)`` frequency in Hz covered by the channels of ``vis`` (a
    Visibility or a visibility source: both know their channels without loading data)."""
    f = np.asarray(vis.frequency, dtype=np.float64)
    half = np.abs(np.asarray(vis.channel_bandwidth, dtype=np.float64)) / 2
    return float(np.min(f - half)), float(np.max(f + half))


def on_band(model: Image, *bands: tuple[float, float]) -> Image:
    """``model`` with its single channel spanning ``bands`` (unchanged if it has several).

    Returns
    -------
    Image
        Sharing ``model``'s data; the FREQ axis centred on the bands' span, as wide as it.
    """
    if model.nchan != 1 or not bands:
        return model
    lo, hi = min(b[0] for b in bands), max(b[1] for b in bands)
    wcs = model.wcs.deepcopy()
    wcs.wcs.crval[3], wcs.wcs.crpix[3] = (lo + hi) / 2, 1.0
    if hi > lo:
        wcs.wcs.cdelt[3] = hi - lo
    return model.replace(wcs=wcs)
