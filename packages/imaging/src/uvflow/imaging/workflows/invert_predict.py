"""Graphs of invert, predict and residual over a list of visibility windows.

Each window is one task that keeps its visibilities where they are: residual imaging
predicts, subtracts and inverts inside one task, so model visibilities never travel.

The RASCIL-named workflows keep RASCIL's flat keywords (``context``, ``epsilon``,
``nthreads`` …); they build one :class:`~uvflow.imaging.GriddingSettings` and hand it to
:func:`invert_windows`, :func:`predict_windows` or :func:`residual_windows`, which the
pipelines call with settings directly.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import Image, Visibility, load_visibility
from uvflow.execution import rsexecute, strict_keywords, sum_list_rsexecute, sum_map_rsexecute
from uvflow.execution.keywords import keyword_groups

from ..settings import GRIDDING_KEYWORDS, GriddingSettings
from ._lists import combine_invert_pair, sum_visibility_pair, window_list

__all__ = [
    "invert_list_rsexecute_workflow",
    "predict_list_rsexecute_workflow",
    "residual_list_rsexecute_workflow",
    "sum_invert_results_rsexecute",
    "sum_invert_map",
    "sum_predict_results_rsexecute",
    "residual_image",
    "invert_image",
    "invert_windows",
    "predict_windows",
    "residual_windows",
]


def invert_image(
    vis, model: Image, gridding: GriddingSettings, dopsf: bool = False, normalise: bool = True
) -> tuple[Image, np.ndarray]:
    """The dirty image (or PSF) of one window: ``(Image, sumwt[nchan, npol])``.

    Parameters
    ----------
    vis : Visibility or visibility source
        ``vis[ntime, nbaseline, nchan, npol]`` complex (a source is loaded here).
    model : Image
        Template of the image made, data float [nchan, npol, ny, nx].
    gridding : GriddingSettings
    dopsf, normalise : bool
        As :func:`uvflow.imaging.invert`.
    """
    return gridding.invert(load_visibility(vis), model, dopsf=dopsf, normalise=normalise)


def _predict(vis, model: Image, gridding: GriddingSettings) -> Visibility:
    return gridding.predict(load_visibility(vis), model)


def invert_windows(
    vis_list, models, gridding: GriddingSettings, dopsf: bool = False, normalise: bool = True
) -> list:
    """One invert task per window: ``(Image, sumwt[nchan, npol])`` each (graphs in Dask mode).

    Parameters
    ----------
    vis_list : list of Visibility or visibility sources (or graphs of them)
    models : Image or list of Image (or graphs)
        Templates of the images made, one per window or one shared by all.
    gridding : GriddingSettings
    dopsf, normalise : bool
        As :func:`uvflow.imaging.invert`.
    """
    models = window_list("template_model_imagelist", models, len(vis_list))
    return [
        rsexecute.execute(invert_image, nout=2)(vis, model, gridding, dopsf, normalise)
        for vis, model in zip(vis_list, models)
    ]


def predict_windows(vis_list, models, gridding: GriddingSettings) -> list:
    """One predict task per window: Visibility graphs holding the models' visibilities."""
    models = window_list("model_imagelist", models, len(vis_list))
    return [rsexecute.execute(_predict)(v, m, gridding) for v, m in zip(vis_list, models)]


def residual_image(
    vis, model: Image, gridding: GriddingSettings | None = None, normalise: bool = True
) -> tuple[Image, np.ndarray]:
    """The dirty image of ``vis − predict(model)``: ``(Image, sumwt[nchan, npol])``.

    A model of zeros skips the prediction (the residual is the dirty image).

    Parameters
    ----------
    vis : Visibility or visibility source
        ``vis[ntime, nbaseline, nchan, npol]`` complex, with ``weight`` and ``flags`` (a
        source is loaded here: :func:`uvflow.datamodels.load_visibility`).
    model : Image
        data float [nchan, npol, ny, nx], Jy/pixel; also the template of the image made.
    gridding : GriddingSettings, optional
        Default ``GriddingSettings()`` (context 'ng', epsilon 1e-5, one thread).
    normalise : bool
        As :func:`uvflow.imaging.invert`.

    Returns
    -------
    image : Image
        The residual image, data [nchan, npol, ny, nx] (float32 for complex64 data, else
        float64), Jy/beam when normalised.
    sumwt : numpy.ndarray of float64, shape [nchan, npol]
        Sum of the gridding weights per plane.
    """
    gridding = GriddingSettings() if gridding is None else gridding
    vis = load_visibility(vis)
    if np.any(model.data):
        # the residual goes into the prediction's own array (weights, flags, uvw shared):
        # one array the size of the data besides the input, not two
        modelvis = gridding.predict(vis, model)
        np.subtract(vis.vis, modelvis.vis, out=modelvis.vis)
        vis = modelvis
    return gridding.invert(vis, model, normalise=normalise)


def residual_windows(vis_list, models, gridding: GriddingSettings, normalise: bool = True) -> list:
    """One task per window: predict the model, subtract, invert → ``(Image, sumwt)``."""
    models = window_list("model_imagelist", models, len(vis_list))
    return [
        rsexecute.execute(residual_image, nout=2)(vis, model, gridding, normalise)
        for vis, model in zip(vis_list, models)
    ]


_GRIDDING = {"gridding": GRIDDING_KEYWORDS}


@keyword_groups(_GRIDDING)
def invert_list_rsexecute_workflow(
    vis_list, template_model_imagelist, dopsf: bool = False, normalise: bool = True, **gridding
) -> list:
    """One ``invert`` task per window.

    Parameters
    ----------
    vis_list : list of Visibility or visibility sources (or graphs of them)
    template_model_imagelist : Image or list of Image (or graphs)
        One per window, or one shared by all.
    dopsf, normalise : bool
        As :func:`uvflow.imaging.invert`.
    <shared keywords>

    Returns
    -------
    list
        ``(Image, sumwt[nchan, npol])`` per window (graphs in Dask mode).
    """
    settings = GriddingSettings.from_keywords(gridding)
    return invert_windows(vis_list, template_model_imagelist, settings, dopsf, normalise)


@keyword_groups(_GRIDDING)
def predict_list_rsexecute_workflow(vis_list, model_imagelist, **gridding) -> list:
    """One ``predict`` task per window: Visibility graphs holding the model's visibilities.

    Parameters
    ----------
    vis_list : list of Visibility or visibility sources (or graphs of them)
        One per window, ``vis[ntime, nbaseline, nchan, npol]`` (uvw, frequencies, frame and
        dtype are used, not the data).
    model_imagelist : Image or list of Image (or graphs)
        Models, data float [nchan, npol, ny, nx] Jy/pixel: one per window, or one for all.
    <shared keywords>

    Returns
    -------
    list of Visibility
        Per window, a new Visibility whose ``vis`` is the model's prediction (weights and
        flags shared); graphs in Dask mode.
    """
    return predict_windows(vis_list, model_imagelist, GriddingSettings.from_keywords(gridding))


@keyword_groups(_GRIDDING)
def residual_list_rsexecute_workflow(
    vis_list, model_imagelist, normalise: bool = True, **gridding
) -> list:
    """One task per window: predict the model, subtract, invert → ``(Image, sumwt)``.

    Parameters
    ----------
    vis_list : list of Visibility or visibility sources (or graphs of them)
        One per window, ``vis[ntime, nbaseline, nchan, npol]`` complex.
    model_imagelist : Image or list of Image (or graphs)
        Models, data float [nchan, npol, ny, nx] Jy/pixel, one per window or one for all;
        also the templates of the residual images.
    normalise : bool
        As :func:`uvflow.imaging.invert`.
    <shared keywords>

    Returns
    -------
    list
        Per window, ``(Image, sumwt[nchan, npol])`` (:func:`residual_image`); graphs in
        Dask mode, where the model visibilities never leave the window's task.
    """
    settings = GriddingSettings.from_keywords(gridding)
    return residual_windows(vis_list, model_imagelist, settings, normalise)


@strict_keywords
def sum_invert_results_rsexecute(image_list, split: int = 2):
    """Combine per-window ``(image, sumwt)`` results as a tree: the weighted mean image.

    Parameters
    ----------
    image_list : list of (Image, numpy.ndarray) (or graphs of them)
        Per window, an image ``data[nchan, npol, ny, nx]`` float normalised by its own
        ``sumwt`` float64 [nchan, npol] (what :func:`invert_list_rsexecute_workflow` gives);
        every image of the same shape (e.g. one MFS channel per window).
    split : int
        Fan-in of the tree (partial results combined per task).

    Returns
    -------
    (Image, numpy.ndarray)
        ``(Σ image·sumwt / Σ sumwt, Σ sumwt)`` per channel and polarisation (0 where
        Σ sumwt = 0), on the first window's WCS; a graph in Dask mode.
    """
    return sum_list_rsexecute(list(image_list), func=combine_invert_pair, split=split)


def sum_invert_map(item, args, split: int = 2, group: int = 1):
    """:func:`sum_invert_results_rsexecute` over ``item(*args[i])``, made as needed.

    :func:`uvflow.execution.sum_map_rsexecute` with :func:`combine_invert_pair`: in serial
    mode each image is made only when it is needed and the images are combined in pairs,
    then added to a running sum (at most 3 images alive at once instead of ``n``); in the
    Dask modes as one balanced tree, exactly :func:`sum_invert_results_rsexecute`'s (also
    serially for ``n <= 2``), ``group`` images a task makes and combines itself. Serial
    and Dask agree to float rounding.

    Parameters
    ----------
    item : callable
        A kernel giving ``(Image, sumwt)``, e.g. :func:`invert_image` or
        :func:`residual_image` (``functools.partial`` for fixed keywords).
    args : sequence of tuple
        Per item, the arguments of ``item`` (values, or graphs in Dask mode).
    split : int
        Fan-in of the tree.
    group : int
        Items one Dask task makes and combines (>= 1).

    Returns
    -------
    (Image, numpy.ndarray)
        As :func:`sum_invert_results_rsexecute`; a graph in Dask mode.
    """
    return sum_map_rsexecute(item, args, func=combine_invert_pair, split=split, group=group)


@strict_keywords
def sum_predict_results_rsexecute(vis_list, split: int = 2):
    """Sum visibilities predicted for the same samples (e.g. from several models) as a tree.

    Parameters
    ----------
    vis_list : list of Visibility or visibility sources (or graphs of them)
        Predictions for the same samples: ``vis[ntime, nbaseline, nchan, npol]`` complex of
        one shape.
    split : int
        Fan-in of the tree.

    Returns
    -------
    Visibility
        The first one with ``vis`` the sum of all (weights and flags of the first); a graph
        in Dask mode.
    """
    return sum_list_rsexecute(list(vis_list), func=sum_visibility_pair, split=split)
