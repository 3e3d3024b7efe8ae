"""``uvflow demo``: simulate, corrupt, calibrate and image a MeerKAT observation on Dask.

A 3-hour MeerKAT track in four frequency windows (1.30–1.45 GHz) of a field of random
point sources is simulated, corrupted by per-antenna gains (0.5 rad phase, 10 %
amplitude errors), calibrated against the sky model (one global G solution over all
windows), and imaged with the continuum pipeline: robust weighting on one grid shared by
the windows, ``--nmajor`` major cycles of residual imaging and Högbom cleaning, restoring.
Every stage is a graph built with ``rsexecute`` and run on a local Dask cluster
(``--nworkers 0``: serially, without Dask; the answer is the same), the imaging with a
progress bar.

Products (in ``--out``, default ``demo-output/``): ``demo-MFS-{dirty,psf,model,residual,
image}.fits`` (DESIGN §3 names and headers), ``demo-sources.json``, ``demo-report.json``
and ``demo-MFS-image.png``; a short summary is printed (gains, fluxes vs truth, residual
rms, time per stage).
"""

from __future__ import annotations

import logging
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

from .products import ProductWriter, write_png
from .report import Stages, image_statistics, versions
from .session import add_execution_arguments, describe_execution, execution

__all__ = ["add_arguments", "run", "FREQUENCIES", "PHASECENTRE"]

log = logging.getLogger(__name__)

FREQUENCIES = np.array([1.30e9, 1.35e9, 1.40e9, 1.45e9])
PHASECENTRE = SkyCoord(ra=15.0, dec=-45.0, unit="deg")


def add_arguments(p) -> None:
    """The ``demo`` sub-command's options."""
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("demo-output"))
    p.add_argument("--npixel", type=int, default=256)
    p.add_argument("--ntimes", type=int, default=24)
    p.add_argument("--nmajor", type=int, default=3)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument(
        "--ical",
        action="store_true",
        help="self-calibrate with the ICAL pipeline instead of solving against the sky model",
    )
    add_execution_arguments(p, default_workers=2)


def simulate(args):
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
    observed = rsexecute.persist(
        corrupt_list_rsexecute_workflow(model_list, gt_list=[true_gt] * len(vis_list))
    )
    # Only small results come back here; the visibilities stay on the workers.
    nvis, true_gt = rsexecute.compute(
        [[rsexecute.execute(_nvis)(v) for v in observed], true_gt], sync=True
    )
    return observed, model_list, components, true_gt, int(sum(nvis))


def _nvis(vis) -> int:
    return vis.nvis


def _band_gaintable(*windows):
    return create_gaintable_from_visibility(
        concatenate_visibility(list(windows), axis="frequency"), timeslice="auto", jones_type="G"
    )


def calibrate(observed, model_list):
    controls = create_calibration_controls()
    # the model is known (not self-calibration): the absolute amplitude scale is determined
    controls["G"].update(timeslice="auto", phase_only=False, normalise_gains=False)
    calibrated, gt_list = calibrate_list_rsexecute_workflow(
        observed, model_list, calibration_context="G", controls=controls, global_solution=True
    )
    calibrated = rsexecute.persist(calibrated)
    gt_list, _ = rsexecute.compute(
        [gt_list, [rsexecute.execute(_nvis)(v) for v in calibrated]], sync=True
    )
    return calibrated, gt_list


def gain_errors(solved, truth) -> dict:
    """Solved vs injected gains, up to the reference antenna's phase (antenna 0)."""
    g = solved.gain[..., 0, 0] * np.conj(solved.gain[:, :1, :, 0, 0])
    t = truth.gain[..., 0, 0] * np.conj(truth.gain[:, :1, :, 0, 0])
    g, t = g / np.abs(solved.gain[:, :1, :, 0, 0]), t / np.abs(truth.gain[:, :1, :, 0, 0])
    dphi = np.angle(g * np.conj(t))
    damp = np.abs(np.abs(solved.gain[..., 0, 0]) / np.abs(truth.gain[..., 0, 0]) - 1)
    return {
        "phase_rms_rad": float(np.sqrt(np.mean(dphi**2))),
        "amplitude_rms": float(np.sqrt(np.mean(damp**2))),
    }


def image(calibrated, args):
    adv = rsexecute.compute(
        rsexecute.execute(advise_wide_field)(calibrated[-1], verbose=False), sync=True
    )
    cell = adv["cellsize"]
    models = [
        create_image(args.npixel, cell, PHASECENTRE, f, channel_bandwidth=5.0e7)
        for f in FREQUENCIES
    ]
    vis = weight_list_rsexecute_workflow(calibrated, models, weighting="robust", robustness=0.0)
    vis = rsexecute.persist(vis)
    psf = rsexecute.persist(invert_list_rsexecute_workflow(vis, models, dopsf=True))
    dirty = rsexecute.persist(invert_list_rsexecute_workflow(vis, models))
    # the continuum (or ICAL) pipeline on the weighted windows (natural: weights in place)
    options = dict(
        context="ng", nmajor=args.nmajor, algorithm="hogbom", niter=2000, gain=0.1,
        fractional_threshold=0.01, threshold=0.005, weighting="natural", psf_factor=1,
    )  # fmt: skip
    gt_list = None
    if args.ical:
        model, residual, restored, gt_list = ical_list_rsexecute_workflow(
            vis, models, calibration_context="G", global_solution=True, **options
        )
    else:
        model, residual, restored = continuum_imaging_list_rsexecute_workflow(
            vis, models, **options
        )
    mfs = [sum_invert_results_rsexecute(x) for x in (dirty, psf, residual)]
    out = rsexecute.compute([mfs, model, restored, gt_list], sync=True, progress=True)
    (mfs_dirty, mfs_psf, mfs_residual), model, restored, gt_list = out
    return mfs_dirty[0], mfs_psf[0], mfs_residual[0], model, restored, cell, gt_list


def mfs_images(model, restored, psf, residual):
    """Window-mean model and restored image (the windows have equal weight here)."""
    mean_model = model[0].replace(data=np.mean([m.data for m in model], axis=0))
    mean_image = restored[0].replace(data=np.mean([r.data for r in restored], axis=0))
    return mean_model, mean_image


def recovered_fluxes(model, components, radius_pixels: float = 8.0) -> list[dict]:
    """Clean-component flux of each true source at the band centre.

    CLEAN represents a source that is not centred on a pixel by a pattern of positive and
    negative components around it, so each clean component is credited to the nearest true
    source (within ``radius_pixels``) rather than summed in a fixed box.
    """
    pix = np.array([[float(v) for v in model.sky_to_pixel(c.direction)] for c in components])
    plane = model.data[0, 0]
    ys, xs = np.nonzero(plane)
    d = np.hypot(xs[:, None] - pix[None, :, 0], ys[:, None] - pix[None, :, 1])
    nearest = np.argmin(d, axis=1)
    close = d[np.arange(d.shape[0]), nearest] <= radius_pixels
    flux = np.bincount(nearest[close], weights=plane[ys, xs][close], minlength=len(components))
    rows = []
    for c, (x, y), f in zip(components, pix, flux):
        true = float(np.mean(c.flux[:, 0]))
        rows.append({
            "ra_deg": c.direction.ra.deg, "dec_deg": c.direction.dec.deg, "pixel": [x, y],
            "true_jy": true, "recovered_jy": float(f), "ratio": float(f) / true,
        })  # fmt: skip
    return rows


def run(args) -> int:
    """Run the demo (``uvflow demo``); returns the exit status."""
    if args.npixel < 32 or args.npixel % 2 or args.ntimes < 2 or args.nmajor < 1:
        from .errors import CLIError

        raise CLIError("--npixel must be even and >= 32, --ntimes >= 2 and --nmajor >= 1")
    args.out.mkdir(parents=True, exist_ok=True)
    stages = Stages()
    with execution(args):
        mode = describe_execution()
        with stages("simulate"):
            observed, model_vis, components, true_gt, nvis = simulate(args)
        if not args.ical:
            with stages("calibrate"):
                observed, gt_list = calibrate(observed, model_vis)
        with stages("ical" if args.ical else "image"):
            dirty, psf, residual, model, restored, cell, selfcal = image(observed, args)
        gt_list = selfcal if args.ical else gt_list
    with stages("write"), ProductWriter(str(args.out / "demo")) as writer:
        # self-calibration fixes gains only up to a phase gradient (a shift of the field)
        # that a known-model solution does not have: compare those with the truth only
        gains = None if args.ical else gain_errors(gt_list[0]["G"], true_gt)
        mean_model, mean_image = mfs_images(model, restored, psf, residual)
        beam = mean_image.clean_beam
        for im in (dirty, psf, residual):
            im.clean_beam = beam
        products = {"dirty": dirty, "psf": psf, "model": mean_model.replace(clean_beam=beam),
                    "residual": residual, "image": mean_image}  # fmt: skip
        for kind, im in products.items():
            writer.image(im, kind, "MFS")
        sources = recovered_fluxes(mean_model, components)
        writer.json("sources", sources)
        write_png(
            {"restored": mean_image, "residual": residual}, writer.temporary("image", "MFS", "png")
        )
        ratio = np.array([s["ratio"] for s in sources])
        res_rms = float(np.sqrt(np.mean(residual.data**2)))
        report = {
            "command": "demo",
            "parameters": {k: str(v) if isinstance(v, pathlib.Path) else v
                           for k, v in vars(args).items() if k != "func"}
            | {"cellsize_arcsec": float(np.rad2deg(cell) * 3600)},
            "versions": versions(), "execution": mode, "nvis": nvis, "gain_errors": gains,
            "sources": {"n": len(sources), "median_ratio": float(np.median(ratio)),
                        "worst_ratio_error": float(np.max(np.abs(ratio - 1)))},
            "images": image_statistics(products), "stages": stages.records,
            "stage_seconds": stages.seconds, "clean_beam_deg": beam,
        }  # fmt: skip
        writer.json("report", report)
        writer.commit()
    print()
    where = "serial" if mode["n_workers"] == 0 else f"{mode['n_workers']} Dask workers"
    print(f"uvflow demo: {nvis} visibilities in {len(FREQUENCIES)} windows, {where}")
    if gains is None:
        print("  gains: self-calibrated by ICAL (G, one global solution per integration)")
    else:
        print(f"  gains: solved vs injected, phase rms {gains['phase_rms_rad']:.2e} rad, "
              f"amplitude rms {gains['amplitude_rms']:.2e}")  # fmt: skip
    print(f"  {len(sources)} sources: recovered/true flux median {np.median(ratio):.3f}, "
          f"worst {ratio[np.argmax(np.abs(ratio - 1))]:.3f}")  # fmt: skip
    for s in sorted(sources, key=lambda s: -s["true_jy"]):
        print(f"    RA {s['ra_deg']:9.5f} Dec {s['dec_deg']:9.5f}  true {s['true_jy']:6.3f} Jy  "
              f"recovered {s['recovered_jy']:6.3f} Jy")  # fmt: skip
    print(
        f"  residual rms {res_rms:.2e} Jy/beam (restored peak {mean_image.data.max():.3f} Jy/beam)"
    )
    print("  stage times: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.seconds.items()))
    print(f"  products in {args.out}/: " + ", ".join(sorted(p.name for p in args.out.iterdir())))
    return 0
