"""``uvflow demo``: simulate, corrupt, self-calibrate (ICAL) and image a MeerKAT observation on Dask.

A 3-hour MeerKAT track in four frequency windows (1.30–1.45 GHz) of a field of eight random
point sources (0.5–5 Jy, spectral indices −0.7…0.2) is simulated (exact DFT, noise-free)
and corrupted by per-antenna gains: 0.5 rad rms phase and 10 % rms amplitude errors, smooth
in time, one table for the whole band. The amplitudes are scaled to a mean of 1 over the
antennas of each integration: a real observation's flux scale comes from a flux calibrator,
and self-calibration (whose amplitude solutions have mean 1) cannot determine it.

``--calibration ical`` (the default) runs the ICAL pipeline on the corrupted data from an
empty model: robust weighting on one uv grid shared by the windows, the PSF, then
``--nmajor`` major cycles of self-calibration against the current model (T phase-only from
cycle 1, G amplitude and phase from cycle 2; one global solution per integration over all
windows), residual imaging and Högbom cleaning; then restoring. ``--calibration sky-model``
instead solves G against the true sky model and images with the continuum pipeline (a
check of the calibration with a known model: the gains come back to ~1e-8).

Every stage is a graph built with ``rsexecute`` and run on a local Dask cluster
(``--nworkers 0``: serially, without Dask; the answer is the same), the pipeline with a
progress bar (periodic log lines when stderr is not a terminal).

Products (in ``--out``, default ``demo-output/``): ``demo-MFS-{dirty,psf,model,residual,
image}.fits`` (DESIGN §3 names and headers), ``demo-sources.json``, ``demo-report.json``
and ``demo-MFS-image.png``. The printed summary: sources recovered, fluxes against the
truth, solved gains against the injected ones, residual rms and time per stage.
"""

from __future__ import annotations

import pathlib

import numpy as np
from astropy.coordinates import SkyCoord

from uvflow.calibration import (
    calibrate_list_rsexecute_workflow,
    create_calibration_controls,
    create_gaintable_from_visibility,
)
from uvflow.datamodels import SkyModel, concatenate_visibility, create_image
from uvflow.execution import rsexecute
from uvflow.imaging import advise_wide_field
from uvflow.imaging.workflows import (
    invert_list_rsexecute_workflow,
    sum_invert_results_rsexecute,
    weight_list_rsexecute_workflow,
)
from uvflow.pipelines import (
    continuum_imaging_list_rsexecute_workflow,
    ical_list_rsexecute_workflow,
)
from uvflow.simulation import (
    corrupt_list_rsexecute_workflow,
    create_random_skycomponents,
    predict_skymodel_list_rsexecute_workflow,
    simulate_gaintable,
    simulate_list_rsexecute_workflow,
)

from .demo_summary import (
    antenna_uv,
    gain_errors,
    match_sources,
    print_summary,
    recovered_fluxes,
)
from .products import ProductWriter, write_png
from .report import Stages, image_statistics, versions
from .session import add_execution_arguments, describe_execution, execution

__all__ = ["add_arguments", "run", "FREQUENCIES", "PHASECENTRE", "CALIBRATIONS", "ical_controls"]


FREQUENCIES = np.array([1.30e9, 1.35e9, 1.40e9, 1.45e9])
PHASECENTRE = SkyCoord(ra=15.0, dec=-45.0, unit="deg")
CALIBRATIONS = ("ical", "sky-model")


def add_arguments(p) -> None:
    """The ``demo`` sub-command's options."""
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("demo-output"),
                   help="output directory (default demo-output)")  # fmt: skip
    p.add_argument("--npixel", type=int, default=256, help="image size (default 256)")
    p.add_argument("--ntimes", type=int, default=24, help="integrations over 3 h (default 24)")
    p.add_argument("--nmajor", type=int, default=6,
                   help="number of major cycles (each a self-calibration with ical; default 6)")  # fmt: skip
    p.add_argument("--seed", type=int, default=1234, help="sky and gain errors (default 1234)")
    p.add_argument(
        "--calibration",
        choices=CALIBRATIONS,
        default="ical",
        help="ical: self-calibrate with the ICAL pipeline from an empty model (default); "
        "sky-model: solve against the true sky model, then the continuum pipeline",
    )
    add_execution_arguments(p, default_workers=2)


def ical_controls() -> dict:
    """T phase-only from cycle 1, G amplitude and phase from cycle 2, per integration."""
    controls = create_calibration_controls()
    controls["T"].update(first_selfcal=1, timeslice="auto", phase_only=True)
    controls["G"].update(first_selfcal=2, timeslice="auto", phase_only=False)
    return controls


def simulate(args):
    """Observed (corrupted) windows, the true model visibilities, the components, the true
    gains, the antennas' (u, v) [ntime, nant, 2] and the number of visibilities."""
    times = np.linspace(-1.5, 1.5, args.ntimes) * np.pi / 12.0  # hour angles: 3 hours
    vis_list = simulate_list_rsexecute_workflow(
        "MEERKAT", phasecentre=PHASECENTRE, frequency=FREQUENCIES, channel_bandwidth=5.0e7,
        times=times, polarisation_frame="stokesI", order="frequency", rmax=3000.0,
    )  # fmt: skip
    vis_list = rsexecute.persist(vis_list)
    components = create_random_skycomponents(
        PHASECENTRE, fov=np.deg2rad(0.08), frequency=FREQUENCIES, nsources=8,
        flux_limits=(0.5, 5.0), slope=1.0, spectral_index=(-0.7, 0.2),
        reference_frequency=1.375e9, seed=args.seed,
    )  # fmt: skip
    skymodel = SkyModel(components=components)
    model_list = [
        predict_skymodel_list_rsexecute_workflow(v, [skymodel], context="2d")[0] for v in vis_list
    ]
    model_list = rsexecute.persist(model_list)
    # One G table over the whole band (so every window shares the antennas' gains)
    template = rsexecute.execute(_band_gaintable)(*vis_list)
    true_gt = rsexecute.execute(simulate_gaintable)(
        template, phase_error=0.5, amplitude_error=0.1, smooth_in_time=True, seed=args.seed
    )
    true_gt = rsexecute.execute(unit_mean_amplitude)(true_gt)
    observed = rsexecute.persist(
        corrupt_list_rsexecute_workflow(model_list, gt_list=[true_gt] * len(vis_list))
    )
    # Only small results come back here; the visibilities stay on the workers.
    nvis, true_gt, uv = rsexecute.compute(
        [[rsexecute.execute(_nvis)(v) for v in observed], true_gt,
         rsexecute.execute(antenna_uv)(observed[0])], sync=True,
    )  # fmt: skip
    return observed, model_list, components, true_gt, uv, int(sum(nvis))


def _nvis(vis) -> int:
    return vis.nvis


def _band_gaintable(*windows):
    return create_gaintable_from_visibility(
        concatenate_visibility(list(windows), axis="frequency"), timeslice="auto", jones_type="G"
    )


def unit_mean_amplitude(gt):
    """The table with every integration's gains divided by their mean amplitude.

    Parameters
    ----------
    gt : GainTable
        gain complex [ntime, nant, nchan, nrec, nrec] (diagonal).
    """
    amp = np.abs(np.diagonal(gt.gain, axis1=-2, axis2=-1))  # [ntime, nant, nchan, nrec]
    mean = np.mean(amp, axis=(1, 3))  # [ntime, nchan]
    return gt.replace(gain=gt.gain / mean[:, None, :, None, None])


def calibrate_against_sky_model(observed, model_list):
    """``--calibration sky-model``: one global G solution against the true model visibilities."""
    controls = create_calibration_controls()
    controls["G"].update(timeslice="auto", phase_only=False, normalise_gains=False)
    calibrated, gt_list = calibrate_list_rsexecute_workflow(
        observed, model_list, calibration_context="G", controls=controls, global_solution=True
    )
    calibrated = rsexecute.persist(calibrated)
    gt_list, _ = rsexecute.compute(
        [gt_list, [rsexecute.execute(_nvis)(v) for v in calibrated]], sync=True
    )
    return calibrated, gt_list


def image(observed, args):
    """Weights, dirty image and PSF, then ICAL (or the continuum pipeline) on the windows."""
    adv = rsexecute.compute(
        rsexecute.execute(advise_wide_field)(observed[-1], verbose=False), sync=True
    )
    # ~6 pixels across the beam (twice advise_wide_field's sampling): CLEAN then represents
    # a source between pixel centres well enough for amplitude self-calibration (at ~3
    # pixels the pixelation error of the model biased the fluxes up by ~3 %)
    cell = 0.5 * adv["cellsize"]
    models = [
        create_image(args.npixel, cell, PHASECENTRE, f, channel_bandwidth=5.0e7)
        for f in FREQUENCIES
    ]
    vis = weight_list_rsexecute_workflow(observed, models, weighting="robust", robustness=0.0)
    vis = rsexecute.persist(vis)
    psf = rsexecute.persist(invert_list_rsexecute_workflow(vis, models, dopsf=True))
    dirty = rsexecute.persist(invert_list_rsexecute_workflow(vis, models))
    # the ICAL (or continuum) pipeline on the weighted windows (natural: weights in place).
    # Each minor cycle cleans to 10 % of its residual peak: the model grows as the
    # calibration improves (cleaning the uncalibrated first image to 1 % put its scattered
    # flux into the model, and self-calibration against it lost 5 % of the faintest source)
    options = dict(
        context="ng", nmajor=args.nmajor, algorithm="hogbom", niter=2000, gain=0.1,
        fractional_threshold=0.1, threshold=0.005, weighting="natural", psf_factor=1,
    )  # fmt: skip
    gt_list = None
    if args.calibration == "ical":
        model, residual, restored, gt_list = ical_list_rsexecute_workflow(
            vis, models, calibration_context="TG", controls=ical_controls(),
            global_solution=True, **options,
        )  # fmt: skip
    else:
        model, residual, restored = continuum_imaging_list_rsexecute_workflow(
            vis, models, **options
        )
    mfs = [sum_invert_results_rsexecute(x) for x in (dirty, psf, residual)]
    out = rsexecute.compute([mfs, model, restored, gt_list], sync=True, progress=True)
    (mfs_dirty, mfs_psf, mfs_residual), model, restored, gt_list = out
    return mfs_dirty[0], mfs_psf[0], mfs_residual[0], model, restored, cell, gt_list


def solved_gains(gts: dict):
    """The chain's total gains (T·G·…, one table shared by every window)."""
    tables = list(gts.values())
    return tables[0].replace(gain=np.prod([t.gain for t in tables], axis=0))


def mfs_images(model, restored):
    """Window-mean model and restored image (the windows have equal weight here)."""
    mean_model = model[0].replace(data=np.mean([m.data for m in model], axis=0))
    mean_image = restored[0].replace(data=np.mean([r.data for r in restored], axis=0))
    return mean_model, mean_image


def _check(args) -> None:
    if args.npixel < 32 or args.npixel % 2 or args.ntimes < 2 or args.nmajor < 1:
        from .errors import CLIError

        raise CLIError("--npixel must be even and >= 32, --ntimes >= 2 and --nmajor >= 1")
    if args.calibration == "ical" and args.nmajor < 3:
        from .errors import CLIError

        raise CLIError("--calibration ical needs --nmajor >= 3 (T from cycle 1, G from cycle 2)")


def run(args) -> int:
    """Run the demo (``uvflow demo``); returns the exit status."""
    _check(args)
    args.out.mkdir(parents=True, exist_ok=True)
    stages = Stages()
    with execution(args):
        mode = describe_execution()
        with stages("simulate"):
            observed, model_vis, components, true_gt, uv, nvis = simulate(args)
        if args.calibration == "sky-model":
            with stages("calibrate"):
                observed, gt_list = calibrate_against_sky_model(observed, model_vis)
        with stages(args.calibration if args.calibration == "ical" else "image"):
            dirty, psf, residual, model, restored, cell, selfcal = image(observed, args)
        gt_list = selfcal if args.calibration == "ical" else gt_list
    with stages("write"), ProductWriter(str(args.out / "demo")) as writer:
        wavelength = 299792458.0 / float(np.mean(FREQUENCIES))
        gains = gain_errors(solved_gains(gt_list[0]), true_gt, uv, wavelength)
        mean_model, mean_image = mfs_images(model, restored)
        beam = mean_image.clean_beam
        for im in (dirty, psf, residual):
            im.clean_beam = beam
        products = {"dirty": dirty, "psf": psf, "model": mean_model.replace(clean_beam=beam),
                    "residual": residual, "image": mean_image}  # fmt: skip
        for kind, im in products.items():
            writer.image(im, kind, "MFS")
        res_rms = float(np.sqrt(np.mean(residual.data**2)))
        sources = recovered_fluxes(mean_model, components)
        matched = match_sources(sources, mean_image, beam, level=5.0 * res_rms)
        writer.json("sources", sources)
        write_png(
            {"restored": mean_image, "residual": residual}, writer.temporary("image", "MFS", "png")
        )
        ratio = np.array([s["ratio"] for s in sources])
        report = {
            "command": "demo",
            "parameters": {k: str(v) if isinstance(v, pathlib.Path) else v
                           for k, v in vars(args).items() if k != "func"}
            | {"cellsize_arcsec": float(np.rad2deg(cell) * 3600)},
            "versions": versions(), "execution": mode, "nvis": nvis, "windows": len(FREQUENCIES),
            "gain_errors": gains,
            "sources": {"n": len(sources), "recovered": matched,
                        "median_ratio": float(np.median(ratio)),
                        "worst_ratio_error": float(np.max(np.abs(ratio - 1)))},
            "residual_rms": res_rms, "images": image_statistics(products),
            "stages": stages.records, "stage_seconds": stages.seconds, "clean_beam_deg": beam,
        }  # fmt: skip
        writer.json("report", report)
        writer.commit()
    print_summary(args, report, sources, float(mean_image.data.max()), stages.seconds)
    return 0
