"""RASCIL's residual images of simulated errors: every component predicted through the
error-free and the error gain tables (from :mod:`.dish_error_workflows` or
``create_atmospheric_errors_gaintable_rsexecute_workflow``), the difference imaged.

RASCIL 0.1.5's names and call shapes on uvflow's data models; the residual visibilities
keep each window's own weights (applying a gain table rescales weights).
"""

from __future__ import annotations

import numpy as np

from uvflow.calibration import apply_gaintable, solve_gaintable
from uvflow.datamodels import SkyModel, Visibility
from uvflow.execution import rsexecute
from uvflow.imaging.workflows import invert_list_rsexecute_workflow, sum_predict_results_rsexecute

from .skymodel_workflows import predict_skymodel_list_compsonly_rsexecute_workflow

__all__ = [
    "calculate_residual_from_gaintables_rsexecute_workflow",
    "calculate_selfcal_residual_from_gaintables_rsexecute_workflow",
]


def _component_predictions(bvis, components, gt_list):
    """Per component: its visibilities through its own gain table (graphs)."""
    skymodels = [rsexecute.execute(_skymodel)(c, gt_list, i) for i, c in enumerate(components)]
    return predict_skymodel_list_compsonly_rsexecute_workflow(bvis, skymodels, docal=True)


def _predictions(bvis, components, error_gts, no_error_gts) -> tuple[list, list]:
    """Per component its visibilities through the error and the error-free gains."""
    return (_component_predictions(bvis, components, error_gts),
            _component_predictions(bvis, components, no_error_gts))  # fmt: skip


def _skymodel(component, gt_list, i):
    return SkyModel(components=[component], gaintable=gt_list[i])


def _sum_dirty(*results):
    """The sum of the components' dirty images (same sampling, so each is normalised by the
    same weights and they add), with the first one's sumwt."""
    first, sumwt = results[0]
    data = np.sum([image.data for image, _ in results], axis=0)
    return first.replace(data=data), sumwt


def _difference(window: Visibility, error: Visibility, no_error: Visibility,
                residual: bool) -> Visibility:  # fmt: skip
    """``error − no_error`` (or ``error``) with the window's own weights and flags: applying
    a gain table rescales weights, and the residual must be imaged with the sampling's."""
    data = error.vis - no_error.vis if residual else error.vis
    return window.replace(vis=data.astype(window.vis.dtype, copy=False))


def calculate_residual_from_gaintables_rsexecute_workflow(
    sub_bvis_list,
    sub_components,
    sub_model_list,
    no_error_gt_list,
    error_gt_list,
    context="2d",
    residual=True,
    sum_vis=True,
):
    """Dirty images of the visibilities the error gains add (RASCIL's residual images).

    Parameters
    ----------
    sub_bvis_list : list of Visibility (graphs)
        The sampling of each window (values not used).
    sub_components : list of SkyComponent
    sub_model_list : list of Image (graphs)
        Image templates, one per window.
    no_error_gt_list, error_gt_list : list
        From a ``create_*_gaintable`` workflow.
    context : str
        Gridder of the inversion.
    residual : bool
        Image ``error − no_error`` visibilities (True) or the error visibilities.
    sum_vis : bool
        Sum the components' visibilities before imaging (one inversion per window), or
        image each component and sum the images.

    Returns
    -------
    list
        ``(Image, sumwt)`` per window (graphs in Dask mode).
    """
    out = []
    for i, bvis in enumerate(sub_bvis_list):
        error, no_error = _predictions(bvis, sub_components, error_gt_list[i], no_error_gt_list[i])
        diffs = [rsexecute.execute(_difference)(bvis, e, z, residual)
                 for e, z in zip(error, no_error)]  # fmt: skip
        if sum_vis:
            summed = sum_predict_results_rsexecute(diffs)
            out.extend(invert_list_rsexecute_workflow([summed], sub_model_list[i], context=context))
        else:
            images = invert_list_rsexecute_workflow(diffs, sub_model_list[i], context=context)
            out.append(rsexecute.execute(_sum_dirty, name="sum_component_images")(*images))
    return out


def _selfcal_difference(window: Visibility, error: Visibility, no_error: Visibility,
                        selfcal: bool, residual: bool) -> Visibility:  # fmt: skip
    if selfcal:
        gt = solve_gaintable(error, no_error, phase_only=True, niter=30, tol=1e-8,
                             normalise_gains=True)  # fmt: skip
        error = apply_gaintable(error, gt, inverse=True)
    return _difference(window, error, no_error, residual)


def calculate_selfcal_residual_from_gaintables_rsexecute_workflow(
    sub_bvis_list,
    sub_components,
    sub_model_list,
    no_error_gt_list,
    error_gt_list,
    context="2d",
    residual=True,
    selfcal=True,
):
    """As :func:`calculate_residual_from_gaintables_rsexecute_workflow` (sum_vis), after a
    phase-only self-calibration of the error visibilities against the error-free ones
    (what the direction-independent part of the errors leaves after selfcal).

    Returns
    -------
    list
        ``(Image, sumwt)`` per window (graphs in Dask mode).
    """
    fixed = []
    for i, bvis in enumerate(sub_bvis_list):
        error, no_error = (sum_predict_results_rsexecute(p) for p in _predictions(
            bvis, sub_components, error_gt_list[i], no_error_gt_list[i]))  # fmt: skip
        fixed.append(
            rsexecute.execute(_selfcal_difference)(bvis, error, no_error, selfcal, residual)
        )
    return invert_list_rsexecute_workflow(fixed, sub_model_list, context=context)
