"""``uvflow image``: MeasurementSets / UVFITS files → FITS products, sources and a report.

WSClean-style options (single-dash aliases accepted: ``-size``, ``-scale``, ``-niter``,
``-name``, ``-weight`` …). See the package README for what each mode does.
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.execution import rsexecute
from uvflow.imaging.workflows import image_of

from . import image_graphs as graphs
from .calibration_outputs import check_space_for_columns, write_columns, write_gaintables
from .image_arguments import add_arguments
from .image_data import index_inputs, plan_windows
from .image_memory import memory_budget
from .image_options import check_arguments, line_free_channels
from .image_wsclean import parallel_facets, read_products, source_list
from .product_paths import check_checkpoint_dir, check_product_paths
from .products import KINDS, ProductWriter, find_sources
from .report import Stages, image_statistics, versions
from .session import describe_execution, execution

__all__ = ["add_arguments", "run"]

log = logging.getLogger(__name__)


def run(args) -> int:
    """Run ``uvflow image``; products appear only if everything succeeds."""
    opts = check_arguments(args)
    check_product_paths(args.name, opts["inputs"])  # every interval's, before any is written
    check_checkpoint_dir(args.checkpoint_dir, opts["inputs"])
    mss = [path for path, kind in zip(args.inputs, opts["kinds"]) if kind == "ms"]
    check_space_for_columns(args, mss)  # before hours of imaging, not after
    opts["channel_range"] = args.channel_range
    opts["parts"] = index_inputs(args, opts)
    _choose_execution(args, opts)
    intervals = args.intervals_out or 1
    written = []
    for k in range(intervals):  # -intervals-out: one image per time interval
        if intervals > 1:
            opts["interval"] = (k, intervals)
        written += _run_one(args, opts, args.name if intervals == 1 else f"{args.name}-t{k:04d}")
    for p in written:
        print(p)
    return 0


def _choose_execution(args, opts) -> None:
    """No cluster when every stage is one task: ``--nworkers`` unset, no scheduler asked for,
    and the data fit one chunk of one output channel (serial memory budget); else the
    default local cluster."""
    import os

    if args.nworkers is not None or args.scheduler or args.slurm:
        return
    if os.environ.get("UVFLOW_DASK_SCHEDULER") or os.environ.get("RASCIL_DASK_SCHEDULER") or (
        os.environ.get("UVFLOW_DASK_SCHEDULER_FILE")
    ):  # fmt: skip
        return
    if (args.channels_out or 1) > 1 or (args.intervals_out or 1) > 1:
        return
    windows = plan_windows(opts["parts"], args, opts,
                           memory_budget(args.memory_limit, args.task_memory))  # fmt: skip
    if sum(len(band) for band in windows.sources) == 1:
        args.nworkers = 0
        opts["planned"] = windows  # the serial run's plan: not made (and logged) twice
        log.info("execution: one chunk of one output channel: serial, no cluster "
                 "(--nworkers N to start one)")  # fmt: skip


def _run_one(args, opts, name: str) -> list:
    """One image (of one time interval): its products' paths."""
    stages = Stages()
    with ProductWriter(name, inputs=opts["inputs"]) as writer, execution(args):
        with stages("read"):
            parts = opts["parts"]
            writer.observe(parts, getattr(args, "command_line", None))
            if args.apply_primary_beam:  # refused now, not after the imaging
                check_beam_model(writer.observation.telescope)
            windows = opts.pop("planned", None) or plan_windows(
                parts, args, opts, memory_budget(args.memory_limit, args.task_memory)
            )
            opts["line_free"] = line_free_channels(
                args.line_free_channels, [t.nchan for t in windows.templates]
            )
            nvis = int(sum(int(np.prod(p.shape)) for p in parts))
            chunking = windows.report
        gridding = opts["gridding"]
        if args.predict:  # -predict: the model images into MODEL_DATA, nothing else
            with stages("write-columns"):
                models = read_products(name, "model", windows.templates, "-predict")
                nvis = write_columns(args, windows, models, None, gridding, model_only=True)
            writer.json("report", {"command": "image -predict", "versions": versions(),
                                   "execution": describe_execution(), "nvis": nvis,
                                   "chunking": chunking, "stages": stages.records})  # fmt: skip
            return writer.commit()
        reused = {
            kind: read_products(prefix, kind, windows.templates, f"-reuse-{kind}")
            for kind, prefix in (("psf", args.reuse_psf), ("dirty", args.reuse_dirty)) if prefix
        }  # fmt: skip
        with stages("invert"):
            vis, dirty, psf = graphs.invert_graphs(
                windows, gridding, opts["weighting_settings"], **reused
            )
            threshold = args.threshold
        models = residual = restored = gt_list = None
        history: list = []
        if args.mode == "invert":
            with stages("compute"):
                mfs = graphs.mfs_graphs(dirty, psf, None, None)
                dirty, psf, mfs = rsexecute.compute([dirty, psf, mfs], sync=True, progress=True)
        else:
            with stages("deconvolve"):
                start = read_products(name, "model", windows.templates, "-continue") if (
                    args.continue_) else None  # fmt: skip
                models, residual, restored, gt_list = _deconvolve(
                    args, opts, vis, windows, threshold, history,
                    start=start, psf=psf if "psf" in reused else None,
                    dirty=dirty if "dirty" in reused and start is None else None,
                )  # fmt: skip
                mfs = graphs.mfs_graphs(dirty, psf, residual, models)
                dirty, psf, residual, models, restored, gt_list, mfs = rsexecute.compute(
                    [dirty, psf, residual, models, restored, gt_list, mfs], sync=True, progress=True
                )  # fmt: skip
                if gt_list is not None:  # a global solution: every chunk has the same tables
                    gt_list = [g[0] if isinstance(g, list) else g for g in gt_list]
        with stages("write"):
            products, single = _write_products(
                writer, args, windows, dirty, psf, residual, models, restored, mfs
            )
            sources = []
            if models is not None:
                res = products["residual"]
                level = max(threshold, 5.0 * graphs.mad_sigma(res))
                sources = find_sources(products["model"], products["image"].clean_beam, level)
                writer.json("sources", sources)
                if args.save_source_list:
                    text = source_list(products["model"], float(windows.mfs_template.frequency[0]))
                    writer.temporary("sources", None, "txt").write_text(text)
            if args.plot:
                shown = {k: products[k] for k in ("image", "residual", "dirty") if k in products}
                kind = "image" if "image" in products else "dirty"
                writer.png(shown, kind, None if single else "MFS")
            if gt_list is not None:
                write_gaintables(writer, gt_list, args.calibration_context)
        if (args.write_model or args.write_corrected) and models is not None:
            with stages("write-columns"):
                write_columns(args, windows, models, gt_list, gridding)
        report = {
            "command": "image", "parameters": _parameters(args, opts, threshold),
            "versions": versions(), "execution": describe_execution(), "nvis": nvis,
            "windows": len(windows.templates), "chunking": chunking, "stages": stages.records,
            "image": {"ny": windows.mfs_template.ny, "nx": windows.mfs_template.nx,
                      "cellsize_arcsec": float(np.rad2deg(windows.mfs_template.cellsize) * 3600)},
            "images": image_statistics(products), "nsources": len(sources),
            "deconvolution": _deconvolution_report(models, history),
        }  # fmt: skip
        writer.json("report", report)
        written = writer.commit()
    _log_summary(name, stages, report, written)
    return written


def _log_summary(name: str, stages, report: dict, written: list) -> None:
    """The closing summary: stages, wall, peak memory, the residual, the products."""
    seconds = stages.seconds
    peak = max([r.get("peak_rss_mb", 0.0) for r in stages.records.values()] or [0.0])
    workers = [v for r in stages.records.values() for v in r.get("worker_rss_mb", {}).values()]
    log.info("summary of %s: %.1f s in all (%s)", name, sum(seconds.values()),
             ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))  # fmt: skip
    log.info("summary: peak memory %.0f MB in this process%s", peak,
             f", up to {max(workers):.0f} MB in a worker" if workers else "")  # fmt: skip
    residual = (report.get("images") or {}).get("residual")
    deconvolution = report.get("deconvolution")
    if residual is not None and deconvolution is not None:
        log.info("summary: %d components in %d minor cycles (%s); residual rms %.4g, peak %.4g "
                 "Jy/beam", deconvolution["components"], deconvolution["minor_cycles"],
                 deconvolution["stop"], residual["rms"], residual["maxabs"])  # fmt: skip
    log.info("summary: %d products written (%s)", len(written),
             ", ".join(sorted({str(p).rsplit("-", 1)[-1] for p in written})))  # fmt: skip


def _deconvolution_report(models, history: list) -> dict:
    """Components found, the major cycles run and why they stopped (None without cleaning)."""
    if models is None:
        return None
    components = max([int(m.meta.get("NITER", 0)) for m in models] or [0])
    stop = next((h["stop"] for h in history if h["stop"]), "-nmiter (major cycles) reached")
    minor = sum(h["stop"] is None for h in history)
    return {"components": components, "minor_cycles": minor, "stop": stop,
            "cycles": history}  # fmt: skip


def _parameters(args, opts, threshold) -> dict:
    out = {k: (v if isinstance(v, (int, float, str, bool, list, type(None))) else str(v))
           for k, v in vars(args).items() if k != "func"}  # fmt: skip
    out.update(
        npixel=opts["npixel"], cellsize_rad=opts["cellsize"], weighting=opts["weighting"],
        robustness=opts["robustness"], algorithm=opts["algorithm"], threshold_used=threshold,
        polarisation_frame=opts["frame"].name,
        deconvolver_options={k: repr(v) for k, v in opts["clean"].options},
    )  # fmt: skip
    return out


def _write_products(writer, args, windows, dirty, psf, residual, models, restored, mfs):
    """Write the per-channel products (several output channels) and the MFS (or single) set.

    Returns
    -------
    (dict, bool)
        The MFS images by kind, and whether there was a single output channel.
    """
    mfs_images = graphs.finish_mfs(mfs, windows.mfs_template)
    beam = mfs_images["image"].clean_beam if "image" in mfs_images else None
    if beam is None:
        from uvflow.imaging import fit_psf

        beam = fit_psf(mfs_images["psf"])
    for im in mfs_images.values():
        im.clean_beam = dict(beam)
    single = sum(image_of(d).nchan for d in dirty) == 1
    for kind in KINDS:
        if kind in mfs_images:
            writer.image(mfs_images[kind], kind, None if single else "MFS")
    if args.apply_primary_beam:
        write_primary_beam(writer, args, mfs_images, None if single else "MFS")
    if single:
        return mfs_images, single
    k = 0
    for b in range(len(windows.templates)):
        cubes = {"dirty": image_of(dirty[b]), "psf": image_of(psf[b])}
        if models is not None:
            cubes.update(model=models[b], residual=image_of(residual[b]), image=restored[b])
        wbeam = cubes["image"].clean_beam if "image" in cubes else beam
        for c in range(cubes["dirty"].nchan):
            for kind, cube in cubes.items():
                writer.image(graphs.channel_of(cube, c).replace(clean_beam=dict(wbeam)), kind, k)
            k += 1
    return mfs_images, single


def check_beam_model(telescope) -> None:
    """CLIError unless ``telescope`` has a primary-beam model (``-apply-primary-beam``)."""
    from uvflow.imaging import ImagingError
    from uvflow.imaging.primary_beam import telescope_beam_name

    from .errors import CLIError

    try:
        telescope_beam_name(telescope)
    except ImagingError as exc:
        raise CLIError(f"-apply-primary-beam: {exc}") from None


def write_primary_beam(writer, args, images: dict, channel) -> None:
    """``-apply-primary-beam``: the beam of the inputs' telescope on the image's grid
    (``pb``), and the restored image (the dirty one without cleaning) divided by it."""
    from uvflow.imaging import ImagingError
    from uvflow.imaging.primary_beam import apply_primary_beam, primary_beam_image

    from .errors import CLIError

    kind = "image" if "image" in images else "dirty"
    telescope = writer.observation.telescope
    try:
        beam = primary_beam_image(images[kind], telescope)
        corrected = apply_primary_beam(images[kind], beam, args.primary_beam_limit)
    except ImagingError as exc:
        raise CLIError(f"-apply-primary-beam: {exc}") from None
    log.info("primary beam of %s applied to the %s image (blanked below %g)", telescope, kind,
             args.primary_beam_limit)  # fmt: skip
    writer.image(beam, "pb", channel)
    writer.image(corrected, f"{kind}-pb", channel)


def fits_mask(path, template):
    """``--fits-mask``: a FITS image of the output size, as an Image of 1 where it is nonzero
    (float [1, 1, ny, nx]) on ``template``'s grid."""
    from uvflow.datamodels import import_image_from_fits

    from .errors import CLIError

    try:
        image = import_image_from_fits(path)
    except (OSError, ValueError) as exc:
        raise CLIError(f"--fits-mask {path}: {exc}") from None
    plane = np.asarray(image.data[0, 0])
    if plane.shape != (template.ny, template.nx):
        raise CLIError(f"--fits-mask {path}: {plane.shape[1]} x {plane.shape[0]} pixels; the "
                       f"image is {template.nx} x {template.ny}")  # fmt: skip
    if not np.any(plane):
        raise CLIError(f"--fits-mask {path} is zero everywhere: nothing could be cleaned")
    data = (plane != 0).astype(np.float64)[None, None]
    return template.replace(data=data, wcs=template.wcs.deepcopy())


def _deconvolve(args, opts, vis, windows, threshold, history: list, start=None, psf=None,
                dirty=None):  # fmt: skip
    """The pipelines' continuum, ICAL or spectral-line graphs on the weighted windows."""
    from dataclasses import replace

    from uvflow.imaging import WeightingSettings
    from uvflow.pipelines import PipelineSettings
    from uvflow.pipelines.major_cycle import run_major_cycles

    # WSClean's major cycles: each cycle's rule (peak, noise, components so far) is computed
    # before the next is built, and they stop at the threshold or -niter (stop_early)
    settings = PipelineSettings(
        gridding=opts["gridding"],
        weighting=WeightingSettings(),  # the imaging weights (and taper) are already applied
        clean=replace(
            opts["clean"],
            threshold=threshold,
            facets=max(
                opts["clean"].facets,
                parallel_facets(args.parallel_deconvolution, max(windows.mfs_template.shape[-2:])),
            ),
        ),  # fmt: skip
        nmajor=args.nmajor if args.niter > 0 else 0,
        checkpoint_dir=_checkpoint_dir(args, opts),
        checkpoint_restart=args.checkpoint_restart,
        stop_early=args.niter > 0,
    )
    # the checkpoints' identity: the files read (not the weighted windows) and the weights
    identity = {"inputs": [c for band in windows.sources for c in band],
                "imaging weights": opts["weighting_settings"].describe()}  # fmt: skip
    mask = fits_mask(args.fits_mask, windows.mfs_template) if args.fits_mask else None
    models = windows.templates if start is None else start
    if args.mode == "ical":
        from uvflow.calibration import CalibrationSettings
        from uvflow.pipelines.ical import SelfCalibration, default_ical_controls

        calibration = CalibrationSettings.create(args.calibration_context, default_ical_controls())
        selfcal = SelfCalibration(calibration, settings.gridding)
        return run_major_cycles("ical", vis, models, settings, mask=mask, selfcal=selfcal,
                                history=history, psf=psf, first_residual=dirty,
                                identity=identity)  # fmt: skip
    if args.mode == "spectral":
        from uvflow.pipelines.spectral_line import spectral_line_imaging

        return (*spectral_line_imaging(
            vis, models, settings, line_free_channels=opts["line_free"],
            continuum_subtraction_degree=args.continuum_subtraction_degree, mask=mask,
            identity=identity,
        ), None)  # fmt: skip
    return run_major_cycles("continuum", vis, models, settings, mask=mask, history=history,
                            psf=psf, first_residual=dirty, identity=identity)  # fmt: skip


def _checkpoint_dir(args, opts) -> str | None:
    """``--checkpoint-dir``; with ``-intervals-out`` one sub-directory per interval
    (``t0000``, …: each interval is a run of its own)."""
    if args.checkpoint_dir is None or opts.get("interval") is None:
        return args.checkpoint_dir
    import os

    return os.path.join(args.checkpoint_dir, f"t{opts['interval'][0]:04d}")
