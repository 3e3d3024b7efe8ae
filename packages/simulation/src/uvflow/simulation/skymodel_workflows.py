"""RASCIL's sky-model workflows: predict, invert, cross-subtract and convolve sky models.

Each takes RASCIL's call shape (uvflow's data models) and returns one graph per sky model
(values in serial mode). A sky model (:class:`uvflow.datamodels.SkyModel`) is an image
and/or components, optionally with its own direction-dependent gain table (MPCCAL's).

=================================================== =====================================
workflow                                            per sky model k
=================================================== =====================================
``predict_skymodel_list_rsexecute_workflow``        visibilities of image + components
                                                    (:mod:`.simulation_workflows`)
``predict_skymodel_list_compsonly_rsexecute_workflow`` visibilities of the components only
``invert_skymodel_list_rsexecute_workflow``         ``(dirty, sumwt)`` of window k's data on
                                                    sky model k's image grid
``crosssubtract_datamodels_skymodel_list_rsexecute_workflow`` ``V_obs − Σ_{j≠k} M_j``
``convolve_skymodel_list_rsexecute_workflow``       ``(dirty, sumwt)`` of sky model k's own
                                                    visibilities (the model ⊛ the PSF)
=================================================== =====================================

``docal``: predictions are corrupted by the sky model's gain table, inversions corrected
by it (its inverse applied first), as RASCIL's.
"""

from __future__ import annotations

from uvflow.calibration import apply_gaintable
from uvflow.datamodels import SkyModel, Visibility
from uvflow.execution import rsexecute
from uvflow.execution.keywords import strict_keywords
from uvflow.imaging import invert

from .errors import SimulationError
from .simulation_workflows import skymodel_visibilities

__all__ = [
    "convolve_skymodel_list_rsexecute_workflow",
    "crosssubtract_datamodels_skymodel_list_rsexecute_workflow",
    "invert_skymodel_list_rsexecute_workflow",
    "predict_skymodel_list_compsonly_rsexecute_workflow",
]


@strict_keywords
def predict_skymodel_list_compsonly_rsexecute_workflow(
    obsvis, skymodel_list, docal: bool = False
) -> list:
    """Per sky model, the visibilities of its components only (its image is left out).

    Parameters
    ----------
    obsvis : Visibility (graph)
        Template: uvw, channels, polarisations (its values are not used).
    skymodel_list : list of SkyModel (graphs)
    docal : bool
        Corrupt each prediction by its sky model's gain table (when it has one).

    Returns
    -------
    list
        One Visibility (graph) per sky model.
    """
    return [
        rsexecute.execute(skymodel_visibilities, name="predict_components")(
            obsvis, sm, "ng", docal, images=False
        )
        for sm in skymodel_list
    ]


def _invert_skymodel(vis: Visibility, skymodel: SkyModel, context: str, docal: bool, dopsf=False):
    if not isinstance(skymodel, SkyModel) or skymodel.image is None:
        raise SimulationError(
            "invert_skymodel_list_rsexecute_workflow needs SkyModels with an image (the grid "
            f"to image on), got {type(skymodel).__name__}"
            + ("" if not isinstance(skymodel, SkyModel) else " without one")
        )
    if docal and skymodel.gaintable is not None:
        vis = apply_gaintable(vis, skymodel.gaintable, inverse=True)
    return invert(vis, skymodel.image, context=context, dopsf=dopsf)


@strict_keywords
def invert_skymodel_list_rsexecute_workflow(
    vis_list, skymodel_list, context: str = "ng", docal: bool = False
) -> list:
    """Per pair (visibilities k, sky model k), the dirty image on the sky model's grid.

    Parameters
    ----------
    vis_list : list of Visibility (graphs)
        One per sky model (e.g. the cross-subtracted data of each region); a single
        Visibility is used for every sky model.
    skymodel_list : list of SkyModel (graphs)
        Each with an image: the grid, channels and polarisations of its dirty image.
    context : str
        Gridder (:func:`uvflow.imaging.invert`).
    docal : bool
        Correct window k's data by sky model k's gain table first.

    Returns
    -------
    list
        ``(Image, sumwt)`` (graphs) per sky model.
    """
    vis_list = _per_model("vis_list", vis_list, len(skymodel_list))
    return [
        rsexecute.execute(_invert_skymodel, name="invert_skymodel")(v, sm, context, docal)
        for v, sm in zip(vis_list, skymodel_list)
    ]


def _cross_subtract(obsvis: Visibility, k: int, *model_vis: Visibility) -> Visibility:
    others = [m.vis for j, m in enumerate(model_vis) if j != k]
    data = obsvis.vis - sum(others) if others else obsvis.vis.copy()
    return obsvis.replace(vis=data.astype(obsvis.vis.dtype, copy=False))


@strict_keywords
def crosssubtract_datamodels_skymodel_list_rsexecute_workflow(obsvis, modelvis_list) -> list:
    """Per sky model k, the observed data less every other sky model's visibilities.

    Parameters
    ----------
    obsvis : Visibility (graph)
        ``vis[ntime, nbaseline, nchan, npol]``, the observed data.
    modelvis_list : list of Visibility (graphs)
        The sky models' visibilities, shaped as ``obsvis``.

    Returns
    -------
    list
        ``V_obs − Σ_{j≠k} M_j`` (Visibility graphs), one per sky model.
    """
    n = len(modelvis_list)
    return [
        rsexecute.execute(_cross_subtract, name="crosssubtract")(obsvis, k, *modelvis_list)
        for k in range(n)
    ]


def _convolve_skymodel(obsvis: Visibility, skymodel: SkyModel, context: str, docal: bool):
    model = skymodel_visibilities(obsvis, skymodel, context, docal)
    return _invert_skymodel(model, skymodel, context, docal)


@strict_keywords
def convolve_skymodel_list_rsexecute_workflow(
    obsvis, skymodel_list, context: str = "ng", docal: bool = False
) -> list:
    """Per sky model, the dirty image of its own visibilities: the model convolved with the
    PSF of ``obsvis``'s sampling, on its image grid.

    Parameters
    ----------
    obsvis : Visibility (graph)
        Gives the sampling and weights (its values are not used).
    skymodel_list : list of SkyModel (graphs)
        Each with an image (the grid of the result).
    context : str
        Gridder for both the prediction and the inversion.
    docal : bool
        Corrupt by the sky model's gains and correct again (identity for invertible gains).

    Returns
    -------
    list
        ``(Image, sumwt)`` (graphs) per sky model.
    """
    return [
        rsexecute.execute(_convolve_skymodel, name="convolve_skymodel")(obsvis, sm, context, docal)
        for sm in skymodel_list
    ]


def _per_model(name: str, value, n: int) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise SimulationError(f"{name} has {len(value)} entries, skymodel_list {n}")
        return list(value)
    return [value] * n
