# %% [markdown]
# # uvflow demo: simulate, corrupt, calibrate and image a MeerKAT observation on Dask
#
# A 3-hour MeerKAT track in four frequency windows (1.30–1.45 GHz) of a field of random
# point sources is simulated, corrupted by per-antenna gains (0.5 rad phase, 10 %
# amplitude errors), calibrated against the sky model (one global G solution over all
# windows), and imaged: robust weighting on one grid shared by the windows, three major
# cycles of residual imaging and Högbom cleaning, then restoring. Every stage is a graph
# built with ``rsexecute`` and run on a local Dask cluster (``--nworkers 0``: serially,
# without Dask; the answer is the same).
#
# Products (in ``--out``, default ``demo-output/``): ``demo-MFS-{dirty,psf,model,residual,
# image}.fits`` (WSClean-style names and headers), ``demo-sources.json``,
# ``demo-report.json`` and PNG previews.
#
# Run: ``nox -s demo`` or ``python examples/demo.py [--out DIR] [--nworkers N]``.

# %%
from __future__ import annotations

import argparse
import json
import logging
import pathlib
import sys
import time

import numpy as np
from astropy.coordinates import SkyCoord

from uvflow.calibration import (
    calibrate_list_rsexecute_workflow,
    create_calibration_controls,
    create_gaintable_from_visibility,
)
from uvflow.datamodels import (
    SkyModel,
    concatenate_visibility,
    create_image,
    export_image_to_fits,
    qa_image,
)
from uvflow.execution import rsexecute
from uvflow.imaging import advise_wide_field
from uvflow.imaging.workflows import (
    deconvolve_list_rsexecute_workflow,
    invert_list_rsexecute_workflow,
    residual_list_rsexecute_workflow,
    restore_list_rsexecute_workflow,
    sum_invert_results_rsexecute,
    weight_list_rsexecute_workflow,
)
from uvflow.simulation import (
    corrupt_list_rsexecute_workflow,
    create_random_skycomponents,
    predict_skymodel_list_rsexecute_workflow,
    simulate_gaintable,
    simulate_list_rsexecute_workflow,
)

log = logging.getLogger("uvflow.demo")

FREQUENCIES = np.array([1.30e9, 1.35e9, 1.40e9, 1.45e9])
PHASECENTRE = SkyCoord(ra=15.0, dec=-45.0, unit="deg")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="uvflow end-to-end demo (simulate → calibrate → image)")
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("demo-output"))
    p.add_argument("--nworkers", type=int, default=2, help="Dask workers (0: serial, no Dask)")
    p.add_argument("--npixel", type=int, default=256)
    p.add_argument("--ntimes", type=int, default=24)
    p.add_argument("--nmajor", type=int, default=3)
    p.add_argument("--seed", type=int, default=1234)
    return p.parse_args(argv)


class Stages:
    """Wall-clock time per stage, for the summary and the report."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def run(self, name: str, func, *args):
        t0 = time.perf_counter()
        out = func(*args)
        self.seconds[name] = time.perf_counter() - t0
        log.info("%-12s %6.1f s", name, self.seconds[name])
        return out


# %% [markdown]
# ## Observation, sky and corruption


# %%
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


# %% [markdown]
# ## Calibration: one G solution per integration, global over the four windows


# %%
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


# %% [markdown]
# ## Imaging: weighting, major cycles, restoring


# %%
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
    model = models
    for _ in range(args.nmajor):
        residual = residual_list_rsexecute_workflow(vis, model)
        model = deconvolve_list_rsexecute_workflow(
            residual, psf, model, algorithm="hogbom", niter=2000, gain=0.1,
            fractional_threshold=0.01, threshold=0.005,
        )  # fmt: skip
        model = rsexecute.persist(model)
    residual = residual_list_rsexecute_workflow(vis, model)
    restored = restore_list_rsexecute_workflow(model, psf, residual)
    mfs = [sum_invert_results_rsexecute(x) for x in (dirty, psf, residual)]
    out = rsexecute.compute([mfs, model, restored], sync=True)
    (mfs_dirty, mfs_psf, mfs_residual), model, restored = out
    return mfs_dirty[0], mfs_psf[0], mfs_residual[0], model, restored, cell


def mfs_images(model, restored, psf, residual):
    """Window-mean model and restored image (the windows have equal weight here)."""
    mean_model = model[0].replace(data=np.mean([m.data for m in model], axis=0))
    mean_image = restored[0].replace(data=np.mean([r.data for r in restored], axis=0))
    return mean_model, mean_image


# %% [markdown]
# ## Products and summary


# %%
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


def write_png(images: dict, path: pathlib.Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: no PNG previews")
        return
    fig, axes = plt.subplots(1, len(images), figsize=(5 * len(images), 4.6))
    for ax, (title, im) in zip(np.atleast_1d(axes), images.items()):
        shown = ax.imshow(im.data[0, 0], origin="lower", cmap="inferno")
        ax.set_title(title)
        ax.set_xlabel("x pixel (RA increases to the left)")
        ax.set_ylabel("y pixel (Dec)")
        fig.colorbar(shown, ax=ax, label="Jy/beam")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.nworkers > 0:
        rsexecute.set_client(
            use_dask=True, n_workers=args.nworkers, threads_per_worker=1, dashboard_address=":0"
        )
        print(f"Dask dashboard: {rsexecute.client.dashboard_link}")
    else:
        rsexecute.set_client(use_dask=False)
    stages = Stages()
    try:
        observed, model_vis, components, true_gt, nvis = stages.run("simulate", simulate, args)
        calibrated, gt_list = stages.run("calibrate", calibrate, observed, model_vis)
        dirty, psf, residual, model, restored, cell = stages.run("image", image, calibrated, args)
    finally:
        rsexecute.close()
    t0 = time.perf_counter()
    solved = gt_list[0]["G"]
    gains = gain_errors(solved, true_gt)
    mean_model, mean_image = mfs_images(model, restored, psf, residual)
    beam = mean_image.clean_beam
    for im in (dirty, psf, residual):
        im.clean_beam = beam
    products = {"dirty": dirty, "psf": psf, "model": mean_model.replace(clean_beam=beam),
                "residual": residual, "image": mean_image}  # fmt: skip
    for kind, im in products.items():
        export_image_to_fits(
            im, args.out / f"demo-MFS-{kind}.fits", bunit="JY/PIXEL" if kind == "model" else None
        )
    sources = recovered_fluxes(mean_model, components)
    (args.out / "demo-sources.json").write_text(json.dumps(sources, indent=1))
    write_png({"restored": mean_image, "residual": residual}, args.out / "demo-MFS-image.png")
    stages.seconds["write"] = time.perf_counter() - t0
    ratio = np.array([s["ratio"] for s in sources])
    res_rms = float(np.sqrt(np.mean(residual.data**2)))
    report = {
        "parameters": vars(args)
        | {"out": str(args.out), "cellsize_arcsec": float(np.rad2deg(cell) * 3600)},
        "nvis": nvis,
        "gain_errors": gains,
        "sources": {
            "n": len(sources),
            "median_ratio": float(np.median(ratio)),
            "worst_ratio_error": float(np.max(np.abs(ratio - 1))),
        },  # fmt: skip
        "images": {k: qa_image(v) for k, v in products.items()},
        "stage_seconds": stages.seconds,
        "clean_beam_deg": beam,
    }
    (args.out / "demo-report.json").write_text(json.dumps(report, indent=1, default=float))
    print()
    print(f"uvflow demo: {nvis} visibilities in {len(FREQUENCIES)} windows, "
          f"{'serial' if args.nworkers == 0 else f'{args.nworkers} Dask workers'}")  # fmt: skip
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


if __name__ == "__main__":
    sys.exit(main())
