"""Graphs of weighting, tapering, zeroing and subtraction over a list of windows."""

from __future__ import annotations

from uvflow.datamodels import derive, is_source, load_visibility, subtract_visibility
from uvflow.execution import rsexecute, strict_keywords, sum_list_rsexecute

from ..errors import ImagingError
from ..weighting import grid_weights, taper_visibility_gaussian, taper_visibility_tukey
from ..weighting_settings import WeightingSettings, apply_weighting
from ._lists import window_list

__all__ = [
    "weight_windows",
    "weight_list_rsexecute_workflow",
    "taper_list_rsexecute_workflow",
    "zero_list_rsexecute_workflow",
    "subtract_list_rsexecute_workflow",
]


def _sum_grids(a, b):
    return a.replace(data=a.data + b.data)


def _grid_weights(vis, model):
    return grid_weights(load_visibility(vis), model)


def _weighted(vis, weighting: WeightingSettings, grid):
    """The weighted data: a derived source for a source (read and weighted where loaded),
    a new Visibility for a Visibility."""
    if is_source(vis):
        return derive(vis, apply_weighting, weighting, grid)
    return weighting.apply(vis, grid)


def weight_windows(vis_list, grid_templates, weighting: WeightingSettings, split: int = 2) -> list:
    """Imaging weights (and taper) of every window, on ONE uv grid shared by all windows.

    Each window grids its weights (a task per window), the grids are summed as a tree, and
    every window is reweighted by the total density: uniform and robust weighting then
    mean the same thing whatever the partition of the data into windows (or chunks).

    Parameters
    ----------
    vis_list : list of Visibility or visibility sources (or graphs of them)
        A source (:mod:`uvflow.datamodels.sources`) is read by the grid task and comes back
        as a derived source, weighted wherever it is loaded (nothing the size of the data
        is kept); a Visibility comes back reweighted.
    grid_templates : Image or list of Image
        The images to be made (grid size and cell); all windows must share ny, nx and cell.
    weighting : WeightingSettings
    split : int
        Fan-in of the tree summing the grids.

    Returns
    -------
    list
        Per window, the weighted data (graphs in Dask mode); natural weighting without a
        taper returns ``vis_list`` itself.
    """
    if not isinstance(weighting, WeightingSettings):
        raise TypeError(f"weighting must be a WeightingSettings, got {type(weighting).__name__}")
    out = list(vis_list)
    if not weighting.changes_weights:
        return out
    total = None
    if weighting.needs_grid:
        models = window_list("model_imagelist", grid_templates, len(out))
        grids = [rsexecute.execute(_grid_weights)(v, m) for v, m in zip(out, models)]
        total = sum_list_rsexecute(grids, func=_sum_grids, split=split)
    return [rsexecute.execute(_weighted)(v, weighting, total) for v in out]


@strict_keywords
def weight_list_rsexecute_workflow(
    vis_list, model_imagelist, weighting: str = "natural", robustness: float = 0.0, split: int = 2
) -> list:
    """Imaging weights computed on ONE uv grid shared by all windows (:func:`weight_windows`).

    Parameters
    ----------
    vis_list : list of Visibility (graphs)
    model_imagelist : Image or list of Image
        The images to be made (grid size and cell); all windows must share ny, nx and cell.
    weighting : {'natural', 'uniform', 'robust'}
    robustness : float
        Briggs' R for 'robust'.
    split : int
        Fan-in of the tree summing the windows' weight grids.
    """
    settings = WeightingSettings(weighting, robustness)
    return weight_windows(vis_list, model_imagelist, settings, split)


@strict_keywords
def taper_list_rsexecute_workflow(
    vis_list, size_required=None, taper: str = "gaussian", tukey_range=None
) -> list:
    """Apply a uv taper to every window.

    Parameters
    ----------
    size_required : float or str
        For ``taper='gaussian'``: FWHM of the image-plane Gaussian (radians or e.g. "20asec").
    taper : {'gaussian', 'tukey'}
    tukey_range : (float, float)
        For ``taper='tukey'``: inner and outer uv distance in wavelengths.
    """
    if taper == "gaussian":
        if size_required is None:
            raise ImagingError("a gaussian taper needs size_required (the image-plane FWHM)")
        return [rsexecute.execute(taper_visibility_gaussian)(v, size_required) for v in vis_list]
    if taper == "tukey":
        if tukey_range is None:
            raise ImagingError("a tukey taper needs tukey_range=(inner, outer) in wavelengths")
        return [rsexecute.execute(taper_visibility_tukey)(v, tuple(tukey_range)) for v in vis_list]
    raise ImagingError(f"taper {taper!r} unknown; use gaussian or tukey")


def _zero(vis):
    return vis.copy(zero=True)


@strict_keywords
def zero_list_rsexecute_workflow(vis_list) -> list:
    """Windows with the same samples and zero visibilities (weights and flags kept).

    Parameters
    ----------
    vis_list : list of Visibility (or graphs of them)
        One per window, ``vis[ntime, nbaseline, nchan, npol]`` complex.

    Returns
    -------
    list of Visibility
        Per window, ``vis`` of zeros of the same shape and dtype; ``weight`` and ``flags``
        unchanged (graphs in Dask mode).
    """
    return [rsexecute.execute(_zero)(v) for v in vis_list]


@strict_keywords
def subtract_list_rsexecute_workflow(vis_list, model_vislist) -> list:
    """``vis − model`` per window (weights and flags of ``vis``).

    Parameters
    ----------
    vis_list : list of Visibility (or graphs of them)
        One per window, ``vis[ntime, nbaseline, nchan, npol]`` complex.
    model_vislist : Visibility or list of Visibility (or graphs)
        The model visibilities, one per window (or one for all), with ``vis`` of the same
        shape as the window's.

    Returns
    -------
    list of Visibility
        Per window, ``vis.vis - model.vis`` with ``vis``'s weights and flags (graphs in
        Dask mode).
    """
    models = window_list("model_vislist", model_vislist, len(vis_list))
    return [rsexecute.execute(subtract_visibility)(v, m) for v, m in zip(vis_list, models)]
