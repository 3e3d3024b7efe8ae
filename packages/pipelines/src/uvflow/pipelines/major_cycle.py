"""The major-cycle loop shared by the continuum, ICAL and spectral-line pipelines (graphs).

One run is: imaging weights on one uv grid shared by all windows, the PSF once, then
``nmajor`` major cycles — each an (optional) self-calibration, a residual image per window
and one minor cycle over the window cube — then a final residual and the restored images.

``nmajor`` is the number of major cycles, i.e. of minor cycles (deconvolutions); cycle
``k`` (0-based) is self-calibration iteration ``k``. ``nmajor=0`` gives the dirty
(residual of the starting model) and restored images of the starting model.

Early stop. A Dask graph cannot branch on a value it computes, so there are two modes:

- ``stop_early=False`` (default): the whole run is one static graph of ``nmajor`` cycles.
  A cycle whose residual peak is already below ``threshold`` adds nothing (the minor cycle
  stops at once), but its residual is still computed.
- ``stop_early=True``: the residual peak of each cycle (one float) is computed before the
  next minor cycle is built; when it is at or below ``threshold`` (Jy/beam, > 0) no further
  cycles are built and that residual is the final one (for ICAL: of the data calibrated in
  that cycle against the final model, and those are the tables returned). The models (and calibrated data)
  of each cycle are persisted so nothing is recomputed.

Checkpoints: with ``checkpoint_dir`` a task after each cycle writes the models (and gain
tables) and then the manifest (:mod:`uvflow.pipelines.checkpoint`); the models of the next
cycle pass through it. A run finding a manifest continues after the cycle it names.

Chunks: a window given as a list of Visibility chunks (:mod:`uvflow.pipelines.chunks`) is
weighted, imaged, predicted and calibrated chunk by chunk; its PSF and residual images are
the sumwt-weighted means of the chunks', and its model, residual and restored image are
one, as for a window given whole. Gain tables come per chunk.
"""

from __future__ import annotations

import logging

from uvflow.execution import rsexecute
from uvflow.imaging.workflows import (
    deconvolve_list_rsexecute_workflow,
    invert_list_rsexecute_workflow,
    residual_list_rsexecute_workflow,
    restore_list_rsexecute_workflow,
    weight_list_rsexecute_workflow,
)

from .checkpoint import load_gaintable, load_model, read_manifest, save_cycle
from .chunks import flatten_windows
from .pipeline_common import (
    CheckpointError,
    PipelineError,
    check_nmajor,
    check_psf_factor,
    psf_template,
    residual_peak,
    window_list,
)

__all__ = ["run_major_cycles", "jsonable"]

logger = logging.getLogger(__name__)


def jsonable(value):
    """Settings as JSON values (tuples → lists, arrays and objects → their repr)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value) if not hasattr(value, "shape") else f"array{list(value.shape)}"


def _checkpoint(directory, cycle, pipeline, parameters, nwin, ngt, keys, *items):
    """Save a cycle; return its models and tables unchanged (so later cycles depend on it)."""
    models = list(items[:nwin])
    gts = None
    if keys is not None:
        gts = [{} for _ in range(ngt)]
        for (c, term), table in zip(keys, items[nwin:]):
            gts[c][term] = table
    save_cycle(directory, cycle, pipeline, parameters, models, gts)
    return tuple(items)


def _pass_through_checkpoint(directory, cycle, pipeline, parameters, models, gts):
    """The checkpoint task of a cycle: models (per window) and tables (per chunk, by term)
    go through it."""
    nwin = len(models)
    ngt = 0 if gts is None else len(gts)
    keys = None if gts is None else [(c, t) for c in range(ngt) for t in gts[c]]
    flat = [] if keys is None else [gts[c][t] for c, t in keys]
    items = rsexecute.execute(_checkpoint, nout=nwin + len(flat))(
        directory, cycle, pipeline, parameters, nwin, ngt, keys, *models, *flat
    )
    items = list(items)
    if keys is None:
        return items[:nwin], None
    out = [{} for _ in range(ngt)]
    for (c, term), table in zip(keys, items[nwin:]):
        out[c][term] = table
    return items[:nwin], out


def _log_peak(cycle: int, peak: float, threshold: float) -> None:
    logger.info("major cycle %d: residual peak %.4g Jy/beam (threshold %.4g)", cycle, peak,
                threshold)  # fmt: skip


def run_major_cycles(
    pipeline: str,
    vis_list,
    model_imagelist,
    imaging: dict,
    deconvolution: dict,
    nmajor: int,
    weighting: str,
    robustness: float,
    checkpoint_dir,
    stop_early: bool,
    clean_beam,
    psf_factor: int = 2,
    selfcal=None,
):
    """Build (and, for early stops and checkpoints, partly run) the major-cycle pipeline.

    Parameters
    ----------
    pipeline : str
        Name recorded in checkpoints.
    vis_list : list of Visibility (graphs), or of lists of them
        One item per window: a Visibility, or a list of Visibility chunks of the window
        (:mod:`uvflow.pipelines.chunks`: each imaged on its own, the images summed).
    model_imagelist : Image or list of Image (graphs)
        Starting models, one per window (Jy/pixel).
    imaging : dict
        Keywords of the invert/predict workflows (context, epsilon, nthreads, small_inversion).
    deconvolution : dict
        Keywords of :func:`uvflow.imaging.workflows.deconvolve_list_rsexecute_workflow`.
    nmajor, weighting, robustness, checkpoint_dir, stop_early, clean_beam, psf_factor
        See the pipelines' docstrings.
    selfcal : object, optional
        ``first`` (first calibrating cycle), ``calibrate(cycle, vis, models, gts)`` →
        ``(calibrated vis, gts)`` and ``apply(vis, gts, iteration)`` → calibrated vis.

    Returns
    -------
    (list, list, list, list or None)
        Models, residuals ``(Image, sumwt)``, restored images, and gain tables per window
        (a dict by term, or for a window given as chunks a list of one dict per chunk).
    """
    chunks = flatten_windows(vis_list)
    nwin = chunks.nwindows
    models = window_list("model_imagelist", model_imagelist, nwin)
    nmajor = check_nmajor(nmajor)
    threshold = float(deconvolution.get("threshold", 0.0))
    if stop_early and not threshold > 0:
        raise PipelineError("stop_early needs an absolute threshold > 0 (Jy/beam)")
    psf_factor = check_psf_factor(psf_factor)
    parameters = jsonable(
        dict(imaging, **deconvolution, weighting=weighting, robustness=robustness,
             psf_factor=psf_factor)
    )  # fmt: skip
    vis = weight_list_rsexecute_workflow(
        chunks.vis, chunks.per_chunk(models), weighting=weighting, robustness=robustness
    )
    if stop_early:
        vis = rsexecute.persist(vis)
    psf_models = [rsexecute.execute(psf_template)(m, psf_factor) for m in models]
    psf = chunks.combine_images(
        invert_list_rsexecute_workflow(vis, chunks.per_chunk(psf_models), dopsf=True, **imaging)
    )

    start, gts = 0, None
    manifest = read_manifest(checkpoint_dir, pipeline, nwin, parameters)
    if manifest is not None:
        start = int(manifest["cycle"])
        if start > nmajor:
            raise CheckpointError(
                f"{checkpoint_dir} holds cycle {start}, beyond nmajor={nmajor}; use nmajor >= "
                f"{start} or another checkpoint_dir"
            )
        models = [
            rsexecute.execute(load_model)(checkpoint_dir, entry, m)
            for entry, m in zip(manifest["models"], models)
        ]
        if manifest.get("gaintables") is not None:
            if len(manifest["gaintables"]) != len(chunks.vis):
                raise CheckpointError(
                    f"{checkpoint_dir} holds gain tables of {len(manifest['gaintables'])} "
                    f"chunks, this run has {len(chunks.vis)}; use another checkpoint_dir"
                )
            gts = [
                {t: rsexecute.execute(load_gaintable)(checkpoint_dir, p) for t, p in paths.items()}
                for paths in manifest["gaintables"]
            ]
    cal_vis = vis
    if selfcal is not None and gts is not None:
        cal_vis = selfcal.apply(vis, gts, start - 1)

    residual = None
    for cycle in range(start, nmajor):
        if selfcal is not None:
            cal_vis, gts = selfcal.calibrate(cycle, vis, chunks.per_chunk(models), gts)
            if stop_early:
                cal_vis = rsexecute.persist(cal_vis)
                gts = gts if gts is None else rsexecute.persist(gts)
        residual = chunks.combine_images(
            residual_list_rsexecute_workflow(cal_vis, chunks.per_chunk(models), **imaging)
        )
        if stop_early:
            residual = rsexecute.persist(residual)
            peak = rsexecute.compute(rsexecute.execute(residual_peak)(*residual), sync=True)
            _log_peak(cycle, peak, threshold)
            if peak <= threshold:
                logger.info(
                    "major cycle %d: below threshold, stopping after %d cycles", cycle, cycle
                )
                break
        models = deconvolve_list_rsexecute_workflow(residual, psf, models, **deconvolution)
        residual = None
        if checkpoint_dir is not None:
            models, gts = _pass_through_checkpoint(
                checkpoint_dir, cycle + 1, pipeline, parameters, models, gts
            )
        if stop_early:
            models = rsexecute.persist(models)
    if residual is None:
        residual = chunks.combine_images(
            residual_list_rsexecute_workflow(cal_vis, chunks.per_chunk(models), **imaging)
        )
    restored = restore_list_rsexecute_workflow(models, psf, residual, clean_beam=clean_beam)
    return models, residual, restored, None if gts is None else chunks.per_window(gts)
