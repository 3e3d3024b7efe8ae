"""MPCCAL: model partition calibration (direction-dependent calibration by sky regions).

The algorithm (SKA SDP Memo 97; RASCIL's ``mpccal_skymodel_list_rsexecute_workflow``)
------------------------------------------------------------------------------------
The sky is cut into K regions (e.g. the Voronoi cells around bright sources, made by
:func:`uvflow.simulation.partition_skymodel_by_voronoi`); region k has a model θ_k (sky
components and/or a model image, Jy/pixel, a mask) and its own antenna gains ``g_k`` (a
phase screen seen towards that region), starting at unity. The data are modelled as

    V_obs = Σ_k g_k(M_k) + noise,   M_k the model visibilities of region k,
                                     g(M)_ij = g_i M_ij g_j^H.

Expectation–maximisation on this sum decouples the regions. Each major cycle:

E-step
    Predict every region's model with its gains, ``V_k = g_k(M_k)``, and give region k
    the data with all other regions subtracted: ``D_k = V_obs − Σ_{j≠k} V_j``
    (cross-subtraction). ``D_k`` is, to the current errors of the other regions, the
    data of region k alone.
M-steps (independent per region: one task each, run in parallel)
    1. Gains: a phase-only StefCal solve of ``g_k`` from ``D_k ≈ g_k(M_k)``
       (:func:`uvflow.calibration.solve_gaintable`, ``phase_only=True``), starting from
       the current ``g_k``.
    2. Model: the region's corrected residual ``g_k⁻¹(D_k) − M_k`` is imaged
       (:func:`uvflow.imaging.invert`), deconvolved with the PSF of ``V_obs`` inside the
       region's mask (:func:`uvflow.imaging.deconvolve_cube`) and the clean components are
       added to the region's model image. Components are kept as given.

After ``nmajor`` cycles a last E-step gives the residual ``V_obs − Σ_k g_k(M_k)``, whose
dirty image is returned with the updated regions. Phase-only gains have unit amplitude, so
the PSF (one for all regions and cycles) does not change.

Checkpoints: with ``checkpoint_dir`` a task after each cycle writes every region's model
image and gain table (:mod:`uvflow.pipelines.checkpoint`, pipeline ``'mpccal'``, one
"window" per region); a rerun with the same directory continues after the last complete
cycle (components, masks and ``fixed`` come from ``theta_list`` as given), and
``mpccal_progress`` sees the iterations it has not seen yet. A rerun of other data, model
geometry or settings (all but ``nmajor``) is refused (:mod:`uvflow.pipelines.checkpoint_identity`);
``checkpoint_restart=True`` starts afresh.

Graph: K region-preparation tasks and one PSF task; per cycle K predict tasks, one
cross-subtraction task and K M-step tasks (plus one residual-image task and one progress
task when ``mpccal_progress`` is given); then K + 2 tasks for the final residual image.

References: SKA SDP Memo 97 (T. Cornwell, model partition calibration in ARL, the
algorithm RASCIL ships as ``mpccal_skymodel_list_rsexecute_workflow``); the expectation–
maximisation decoupling of directions is that of S. Kazemi, S. Yatawatta et al. 2011,
MNRAS 414, 1656 ("Radio interferometric calibration using the SAGE algorithm").
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from uvflow.execution import rsexecute, strict_keywords
from uvflow.imaging import CleanSettings, GriddingSettings
from uvflow.simulation import predict_skymodel_list_rsexecute_workflow

from .checkpoint import load_gaintable, load_model, read_manifest, save_cycle
from .checkpoint_identity import identity_graph
from .errors import CheckpointError
from .major_cycle_steps import jsonable
from .mpccal_steps import (
    WINDOWS,
    MPCCALError,
    MPCCALSettings,
    cross_subtract,
    prepare_region,
    psf_image,
    residual_image,
    update_region,
)

__all__ = ["mpccal_skymodel_list_rsexecute_workflow", "MPCCALError"]

log = logging.getLogger(__name__)


def _check(theta_list, nmajor, window, niter, mpccal_progress) -> list:
    if isinstance(theta_list, (str, bytes)) or not hasattr(theta_list, "__len__"):
        raise MPCCALError("theta_list must be a list of SkyModel, one per region")
    theta_list = list(theta_list)
    if not theta_list:
        raise MPCCALError("theta_list is empty: give one SkyModel per region")
    if isinstance(nmajor, bool) or not isinstance(nmajor, int) or nmajor < 1:
        raise MPCCALError(f"nmajor must be an integer >= 1, got {nmajor!r}")
    if window not in WINDOWS:
        raise MPCCALError(f"window {window!r} unknown; use one of {', '.join(WINDOWS)}")
    if isinstance(niter, bool) or not isinstance(niter, int) or niter < 0:
        raise MPCCALError(f"niter must be an integer >= 0, got {niter!r}")
    if mpccal_progress is not None and not callable(mpccal_progress):
        raise MPCCALError("mpccal_progress must be callable or None")
    return theta_list


def _progress_step(func, residual, theta_list, iteration):
    out = func(residual, theta_list, [t.gaintable for t in theta_list], iteration)
    out = list(out)
    if len(out) != len(theta_list):
        raise MPCCALError(
            f"mpccal_progress returned {len(out)} sky models for {len(theta_list)} regions"
        )
    return out


def _save(directory, cycle, identity, *theta_list):
    """Save a cycle's region models and gain tables; return the regions unchanged."""
    save_cycle(directory, cycle, "mpccal", identity, [t.image for t in theta_list],
               [{t.gaintable.jones_type: t.gaintable} for t in theta_list])  # fmt: skip
    return theta_list


def _restore(theta, directory, model_entry, gaintable_entries):
    """A prepared region with the checkpointed model image and gain table."""
    (entry,) = gaintable_entries.values()
    return theta.replace(image=load_model(directory, model_entry, theta.image),
                         gaintable=load_gaintable(directory, entry))  # fmt: skip


def _resume(checkpoint_dir, restart, theta_list, nmajor, identity):
    """``(first cycle to run, regions, identity)``: after the checkpoint's last cycle, or 0
    (the identity computed when there is a checkpoint to compare it with)."""
    manifest, identity = read_manifest(checkpoint_dir, "mpccal", len(theta_list), identity, restart)
    if manifest is None:
        return 0, theta_list, identity
    start = int(manifest["cycle"])
    if start > nmajor:
        raise CheckpointError(
            f"{checkpoint_dir} holds cycle {start}, beyond nmajor={nmajor}; use nmajor >= "
            f"{start} or another checkpoint_dir"
        )
    regions = [
        rsexecute.execute(_restore)(t, checkpoint_dir, m, g)
        for t, m, g in zip(theta_list, manifest["models"], manifest["gaintables"])
    ]
    return start, regions, identity


def _e_step(visobs, theta_list, context):
    model_vis = predict_skymodel_list_rsexecute_workflow(
        visobs, theta_list, context=context, docal=False
    )
    k = len(theta_list)
    parts = rsexecute.execute(cross_subtract, nout=k + 1)(visobs, model_vis, theta_list)
    return model_vis, parts[0], [parts[i + 1] for i in range(k)]


@strict_keywords
def mpccal_skymodel_list_rsexecute_workflow(
    visobs,
    model,
    theta_list,
    nmajor: int = 10,
    context: str = "ng",
    mpccal_progress: Callable | None = None,
    window: str = "none",
    algorithm: str = "hogbom",
    niter: int = 100,
    gain: float = 0.1,
    threshold: float = 0.0,
    fractional_threshold: float = 0.1,
    psf_support: int | None = None,
    solve_niter: int = 200,
    solve_tol: float = 1e-8,
    refant: int = 0,
    checkpoint_dir=None,
    checkpoint_restart: bool = False,
):
    """Graphs of MPCCAL: per-region phase screens and models (see the module notes).

    Parameters
    ----------
    visobs : Visibility (or graph)
        The observed data, ``vis[ntime, nbaseline, nchan, npol]`` complex; its weights are
        the imaging weights (weight it beforehand for uniform or robust imaging).
    model : Image (or graph)
        Template of the model and residual images, ``data[nchan, npol, ny, nx]`` (its
        values are not used).
    theta_list : list of SkyModel (or graphs)
        One per region: components and/or ``image`` (Jy/pixel, ``model``'s shape; zeros
        when None), ``mask`` (1 inside the region: the clean window), ``gaintable`` (the
        starting gains; None: unit gains 'T', one solution per integration). A ``fixed``
        SkyModel keeps its image; its gains are still solved.
    nmajor : int
        Major cycles (E-step + M-steps), >= 1.
    context : str
        Gridder for invert/predict ('2d', 'ng', 'wstack', …).
    mpccal_progress : callable, optional
        Called after each cycle as ``mpccal_progress(residual, theta_list, gaintable_list,
        iteration)`` (RASCIL's signature), ``residual`` the dirty image of ``V_obs − Σ_k V_k``
        at the start of that cycle; it returns the list of SkyModel to continue with. It
        runs as a task (in Dask mode on a worker, so it must be importable there).
    window : {'none', 'component'}
        Clean window of a region: 'none', its whole mask; 'component', only the pixels
        of its components (only their fluxes are corrected).
    algorithm, niter, gain, threshold, fractional_threshold, psf_support
        Minor cycle of each region's image update (:func:`uvflow.imaging.deconvolve_cube`);
        ``niter=0`` updates the gains only.
    solve_niter, solve_tol, refant
        Phase-only gain solve (:func:`uvflow.calibration.solve_gaintable`'s ``niter``,
        ``tol``, ``refant``).
    checkpoint_dir : path, optional
        Save every region's model image and gain table after each major cycle; a rerun
        continues after the last complete one (see the module notes). Shared by the
        workers and the client on a cluster.
    checkpoint_restart : bool
        Remove a checkpoint found in ``checkpoint_dir`` and start afresh.

    Returns
    -------
    theta_list : list
        Graphs of the updated SkyModels (image and gaintable updated), one per region.
    residual : graph of Image
        Dirty image (Jy/beam) of ``V_obs − Σ_k g_k(M_k)`` with the final models and gains.

    Raises
    ------
    TypeError
        An unknown keyword (the message lists the valid ones).
    MPCCALError (ValueError)
        Bad input: an empty ``theta_list``, ``nmajor`` < 1, an unknown ``window``, a region
        image or mask not on the model's grid.
    CheckpointError (ValueError)
        A checkpoint of another pipeline, number of regions, data, model geometry or
        settings, or of more cycles than ``nmajor``; a damaged checkpoint (naming the file).

    Examples
    --------
    >>> graphs = mpccal_skymodel_list_rsexecute_workflow(vis, model, theta_list, nmajor=5)
    >>> theta_list, residual = rsexecute.compute(graphs, sync=True)  # doctest: +SKIP
    """
    theta_list = _check(theta_list, nmajor, window, niter, mpccal_progress)
    nregion = len(theta_list)
    settings = MPCCALSettings(
        GriddingSettings(context),
        CleanSettings(algorithm=algorithm, niter=niter, gain=gain, threshold=threshold,
                      fractional_threshold=fractional_threshold, psf_support=psf_support),
        window=window, solve_niter=solve_niter, solve_tol=solve_tol, refant=refant,
    )  # fmt: skip
    theta_list = [
        rsexecute.execute(prepare_region)(t, model, visobs, k) for k, t in enumerate(theta_list)
    ]
    psf = rsexecute.execute(psf_image)(visobs, model, settings.gridding)
    identity = None
    if checkpoint_dir is not None:
        parameters = jsonable({"gridding": settings.gridding.describe(),
                               "clean": settings.clean.describe(), "window": window,
                               "solve": [solve_niter, solve_tol, refant]})  # fmt: skip
        identity = identity_graph({"settings": parameters}, [visobs], [model])
    start, theta_list, identity = _resume(
        checkpoint_dir, checkpoint_restart, theta_list, nmajor, identity
    )
    for iteration in range(start, nmajor):
        model_vis, resid_vis, data = _e_step(visobs, theta_list, context)
        new = [
            rsexecute.execute(update_region)(data[k], model_vis[k], theta_list[k], psf, model,
                                             settings)
            for k in range(nregion)
        ]  # fmt: skip
        if mpccal_progress is not None:
            resid_img = rsexecute.execute(residual_image)(resid_vis, model, settings.gridding)
            new = rsexecute.execute(_progress_step, nout=nregion)(
                mpccal_progress, resid_img, new, iteration
            )
            new = [new[k] for k in range(nregion)]
        if checkpoint_dir is not None:
            new = rsexecute.execute(_save, nout=nregion)(
                checkpoint_dir, iteration + 1, identity, *new
            )
            new = [new[k] for k in range(nregion)]
        theta_list = new
    _, resid_vis, _ = _e_step(visobs, theta_list, context)
    residual = rsexecute.execute(residual_image)(resid_vis, model, settings.gridding)
    log.debug("mpccal: graph for %d regions, %d major cycles", nregion, nmajor)
    return theta_list, residual
