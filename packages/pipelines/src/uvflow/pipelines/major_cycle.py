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
- ``stop_early=True`` (what ``uvflow image`` does, WSClean's way): each cycle's stopping
  rule (its residual peak and noise, :mod:`uvflow.imaging.deconvolution.cycle_stop`) and
  the components found so far are computed before the next minor cycle is built; when the
  peak is at or below the final threshold (``threshold``, or ``auto_threshold`` × the
  noise), the total budget ``niter_total`` is spent, or the last minor cycle already
  cleaned to the final threshold (mgain's stop was below it: WSClean then computes one
  last residual and ends, even if that residual's noise, and so an auto-threshold, came
  out lower), no further cycles are built and
  that residual is the final one (for ICAL: of the data calibrated in that cycle against
  the final model, and those are the tables returned). The models (and calibrated data) of
  each cycle are persisted so nothing is recomputed. Every cycle logs what it found.

Checkpoints: with ``checkpoint_dir`` a task after each cycle writes the models (and gain
tables) and then the manifest (:mod:`uvflow.pipelines.checkpoint`); the models of the next
cycle pass through it. The manifest also keeps the last minor cycle's stopping rule, so that
a resumed run stops where the uninterrupted one does. A run finding a manifest continues
after the cycle it names when
it has the checkpoint's identity (:mod:`uvflow.pipelines.checkpoint_identity`: the same
data, image geometry, starting models, mask, settings, calibration and uvflow version; it
may ask for more major cycles), and is refused otherwise; ``checkpoint_restart`` starts
afresh. The data's fingerprint is taken from ``identity['inputs']`` when given, else from
the windows' chunks: for a chunk given as an unpersisted graph, finding a checkpoint to
compare with computes that graph once more.

Chunks: a window given as a list of Visibility chunks (:mod:`uvflow.pipelines.window_chunks`) is
weighted, imaged, predicted and calibrated chunk by chunk; its PSF and residual images are
the sumwt-weighted means of the chunks', and its model, residual and restored image are
one, as for a window given whole. Gain tables come per chunk.
"""

from __future__ import annotations

import functools
import logging

from uvflow.execution import rsexecute
from uvflow.imaging.workflows import (
    deconvolve_windows,
    invert_image,
    residual_image,
    restore_list_rsexecute_workflow,
    weight_windows,
    window_list,
)

from .checkpoint import load_gaintable, load_model, read_manifest
from .checkpoint_identity import identity_graph
from .errors import CheckpointError
from .major_cycle_steps import checkpoint_cycle, cycle_status, jsonable, psf_template, stop_reason
from .pipeline_settings import PipelineSettings
from .window_chunks import flatten_windows
from .window_models import window_models

__all__ = ["run_major_cycles"]

logger = logging.getLogger(__name__)


def _pass_through_checkpoint(directory, cycle, pipeline, identity, state, models, gts):
    """The checkpoint task of a cycle: models (per window) and tables (per chunk, by term)
    go through it; ``state`` (JSON values) is recorded in the manifest."""
    nwin = len(models)
    ngt = 0 if gts is None else len(gts)
    keys = None if gts is None else [(c, t) for c in range(ngt) for t in gts[c]]
    flat = [] if keys is None else [gts[c][t] for c, t in keys]
    items = rsexecute.execute(checkpoint_cycle, nout=nwin + len(flat))(
        directory, cycle, pipeline, identity, state, nwin, ngt, keys, *models, *flat
    )
    items = list(items)
    if keys is None:
        return items[:nwin], None
    out = [{} for _ in range(ngt)]
    for (c, term), table in zip(keys, items[nwin:]):
        out[c][term] = table
    return items[:nwin], out


def _identity(settings: PipelineSettings, chunks, models, mask, selfcal, given):
    """The run's identity (a dict, or a graph of one) for its checkpoints."""
    entries = dict(given or {})
    inputs = entries.pop("inputs", chunks.vis)
    entries["settings"] = jsonable(settings.describe())
    entries["calibration"] = None
    if selfcal is not None:
        cal = selfcal.calibration
        controls = {term: dict(c) for term, c in (cal.controls or {}).items()}
        entries["calibration"] = jsonable(
            {"terms": list(cal.terms), "global": cal.global_solution, "controls": controls}
        )
    return identity_graph(entries, inputs, models, mask)


#: what the checkpoint keeps of the last minor cycle's rule (what stop_reason reads)
_RULE_FIELDS = ("stop", "peak", "sigma", "final", "masked")


def _rule_state(rule) -> dict:
    """The manifest's ``state``: the last minor cycle's :class:`CycleStop` (None without
    early stops), so that a resumed run stops where the uninterrupted one does."""
    if rule is None:
        return {"previous_rule": None}
    values = {f: getattr(rule, f) for f in _RULE_FIELDS}
    return {"previous_rule": {k: v if v is None or k == "masked" else float(v)
                              for k, v in values.items()}}  # fmt: skip


def _resumed_rule(manifest: dict):
    """The last minor cycle's rule from a manifest's ``state`` (None if it has none)."""
    from uvflow.imaging.deconvolution.cycle_stop import CycleStop

    found = (manifest.get("state") or {}).get("previous_rule")
    return None if found is None else CycleStop(**found)


def _resume(settings: PipelineSettings, pipeline, identity, models, nchunks):
    """``(first cycle, models, gain tables, identity, the last minor cycle's rule)`` of a
    run resumed from its checkpoint, or ``(0, models, None, identity, None)``; the identity
    is computed when there is a checkpoint to compare it with."""
    directory = settings.checkpoint_dir
    manifest, identity = read_manifest(directory, pipeline, len(models), identity,
                                       settings.checkpoint_restart)  # fmt: skip
    if manifest is None:
        return 0, models, None, identity, None
    start = int(manifest["cycle"])
    if start > settings.nmajor:
        raise CheckpointError(
            f"{directory} holds cycle {start}, beyond nmajor={settings.nmajor}; use nmajor >= "
            f"{start} or another checkpoint_dir"
        )
    models = [
        rsexecute.execute(load_model)(directory, entry, m)
        for entry, m in zip(manifest["models"], models)
    ]
    gts = None
    if manifest.get("gaintables") is not None:
        if len(manifest["gaintables"]) != nchunks:
            raise CheckpointError(
                f"{directory} holds gain tables of {len(manifest['gaintables'])} chunks, this "
                f"run has {nchunks}; use another checkpoint_dir"
            )
        gts = [
            {t: rsexecute.execute(load_gaintable)(directory, e) for t, e in entries.items()}
            for entries in manifest["gaintables"]
        ]
    return start, models, gts, identity, _resumed_rule(manifest)


def run_major_cycles(
    pipeline: str,
    vis_list,
    model_imagelist,
    settings: PipelineSettings,
    mask=None,
    selfcal=None,
    history: list | None = None,
    psf=None,
    first_residual=None,
    identity: dict | None = None,
):
    """Build (and, for early stops and checkpoints, partly run) the major-cycle pipeline.

    Parameters
    ----------
    pipeline : str
        Name recorded in checkpoints.
    vis_list : list of Visibility (graphs), or of lists of them
        One item per window: a Visibility, or a list of Visibility chunks of the window
        (:mod:`uvflow.pipelines.window_chunks`: each imaged on its own, the images summed).
    model_imagelist : Image or list of Image (graphs)
        Starting models, one per window (Jy/pixel).
    settings : PipelineSettings
        Gridding, weighting, minor cycle and major cycles.
    mask : Image (or graph), optional
        Where the minor cycle may place components.
    selfcal : object, optional
        ``first`` (first calibrating cycle), ``calibrate(cycle, vis, models, gts)`` →
        ``(calibrated vis, gts)`` and ``apply(vis, gts, iteration)`` → calibrated vis.
    psf : list of (Image, sumwt) or Image (graphs), optional
        The windows' PSFs, when known (e.g. from an earlier run): not computed then.
    first_residual : list of (Image, sumwt) or Image (graphs), optional
        The windows' residuals of the starting models (their dirty images, for zero
        models), when known: the first cycle does not compute them (ignored when the first
        cycle calibrates, or when resuming from a checkpoint).
    history : list, optional
        With ``stop_early``, one dict per major cycle is appended to it: ``cycle``,
        ``components`` (so far), ``peak``, ``noise``, ``threshold`` (Jy/beam) and ``stop``
        (why the cycles stopped there, or None).
    identity : dict, optional
        What else identifies the run in its checkpoints
        (:mod:`uvflow.pipelines.checkpoint_identity`): ``inputs``, the data to fingerprint
        instead of ``vis_list``'s chunks (Visibility or sources: e.g. the files the
        windows were read from, when ``vis_list`` holds derived data), and any other
        JSON-able entries (e.g. the imaging weights applied before; graphs allowed).

    Returns
    -------
    (list, list, list, list or None)
        Models, residuals ``(Image, sumwt)``, restored images, and gain tables per window
        (a dict by term, or for a window given as chunks a list of one dict per chunk).
    """
    if not isinstance(settings, PipelineSettings):
        raise TypeError(f"settings must be a PipelineSettings, got {type(settings).__name__}")
    chunks = flatten_windows(vis_list)
    residual_at = functools.partial(residual_image, gridding=settings.gridding)
    models = window_models(model_imagelist, chunks)
    gridding, clean = settings.gridding, settings.clean
    vis = weight_windows(chunks.vis, chunks.per_chunk(models), settings.weighting)
    if settings.stop_early:
        vis = rsexecute.persist(vis)
    if psf is None:
        psf_models = [rsexecute.execute(psf_template)(m, settings.psf_factor) for m in models]
        psf = chunks.image_windows(
            functools.partial(invert_image, gridding=gridding, dopsf=True),
            vis, chunks.per_chunk(psf_models),
        )  # fmt: skip
    psf = window_list("psf", psf, chunks.nwindows)
    if settings.checkpoint_dir is not None:
        identity = _identity(settings, chunks, models, mask, selfcal, identity)
    start, models, gts, identity, previous = _resume(
        settings, pipeline, identity, models, len(chunks.vis)
    )
    cal_vis = vis
    if selfcal is not None and gts is not None:
        cal_vis = selfcal.apply(vis, gts, start - 1)

    residual = None  # previous: the last minor cycle's CycleStop (a resume's from its checkpoint)
    for cycle in range(start, settings.nmajor):
        if selfcal is not None:
            cal_vis, gts = selfcal.calibrate(cycle, vis, chunks.per_chunk(models), gts)
            if settings.stop_early:
                cal_vis = rsexecute.persist(cal_vis)
                gts = gts if gts is None else rsexecute.persist(gts)
        calibrated_first = selfcal is not None and selfcal.first <= cycle
        if cycle == 0 and first_residual is not None and not calibrated_first:
            residual = window_list("first_residual", first_residual, chunks.nwindows)
        else:
            residual = chunks.image_windows(residual_at, cal_vis, chunks.per_chunk(models))
        if settings.stop_early:
            residual = rsexecute.persist(residual)
            status = rsexecute.execute(cycle_status)(clean, mask, psf[0], residual, models)
            status = rsexecute.compute(status, sync=True)
            reason = stop_reason(cycle, status, clean, previous)
            previous = status["rule"]
            if history is not None:
                rule = status["rule"]
                history.append({"cycle": cycle, "components": int(status["done"]),
                                "peak": rule.peak, "noise": rule.sigma, "threshold": rule.final,
                                "stop": reason})  # fmt: skip
            if reason is not None:
                logger.info("major cycle %d: %s: stopping after %d minor cycle(s)", cycle,
                            reason, cycle)  # fmt: skip
                break
        models = deconvolve_windows(residual, psf, models, clean, mask, cycle=cycle)
        residual = None
        if settings.checkpoint_dir is not None:
            models, gts = _pass_through_checkpoint(settings.checkpoint_dir, cycle + 1, pipeline,
                                                   identity, _rule_state(previous), models,
                                                   gts)  # fmt: skip
        if settings.stop_early:
            models = rsexecute.persist(models)
    if residual is None:
        residual = chunks.image_windows(residual_at, cal_vis, chunks.per_chunk(models))
    restored = restore_list_rsexecute_workflow(models, psf, residual, **settings.restore_options())
    return models, residual, restored, None if gts is None else chunks.per_window(gts)
