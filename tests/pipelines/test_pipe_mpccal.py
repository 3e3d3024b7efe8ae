"""MPCCAL (model partition calibration): direction-dependent phase screens per Voronoi region.

The scene: 24 antennas within 1.5 km, 8 integrations over 3 h, two channels; four bright
point sources (the calibrators, 4–8 Jy) and six faint ones (0.2–0.5 Jy, unknown to the
starting model); each Voronoi region around a bright source is seen through its own random
phase screen (0.7 rad rms, 1 km correlation length); Gaussian noise σ = 0.05 Jy per
visibility. Simulated with uvflow.simulation (create_visibility, Voronoi partition,
phase screens, predict with gains).
"""

from __future__ import annotations

import json

import numpy as np
import pipe_helpers as H  # tests/pipelines, on sys.path through conftest.py
import pytest
from astropy.coordinates import SkyCoord

from uvflow.calibration import create_calibration_controls
from uvflow.datamodels.testing import random_configuration
from uvflow.execution import rsexecute
from uvflow.imaging import create_image_from_visibility, invert
from uvflow.pipelines import (
    CheckpointError,
    MPCCALError,
    ical_list_rsexecute_workflow,
    mpccal_skymodel_list_rsexecute_workflow,
)
from uvflow.simulation import (
    add_noise,
    create_phase_screen_gaintables,
    create_skycomponent,
    create_visibility,
    lm_to_skycoord,
    partition_skymodel_by_voronoi,
    predict_skymodel_list_rsexecute_workflow,
)

BRIGHT = [((-30, -25), 8.0), ((28, -20), 6.0), ((-5, 32), 5.0), ((35, 30), 4.0)]  # pixels, Jy


@pytest.fixture(scope="module")
def scene():
    rsexecute.set_client(use_dask=False)
    pc = SkyCoord(ra=45.0, dec=-45.0, unit="deg")
    config = random_configuration(nant=24, radius=1500.0, seed=7)
    hour_angles = np.linspace(-1.5, 1.5, 8) * np.pi / 12
    vis = create_visibility(config, hour_angles, [1.0e8, 1.1e8], 1.0e6, pc)
    model = create_image_from_visibility(vis, npixel=128)
    cs = model.cellsize
    bright = [
        create_skycomponent(lm_to_skycoord(x * cs, y * cs, pc), f, vis.frequency, name=f"b{i}")
        for i, ((x, y), f) in enumerate(BRIGHT)
    ]
    rng = np.random.default_rng(1)
    faint = [
        create_skycomponent(
            lm_to_skycoord(*(rng.uniform(-45, 45, 2) * cs), pc), rng.uniform(0.2, 0.5),
            vis.frequency, name=f"f{i}",
        )
        for i in range(6)
    ]  # fmt: skip
    centres = [c.direction for c in bright]
    screens = create_phase_screen_gaintables(
        vis, centres, amplitude=0.7, scale=1000.0, timescale=3600.0, seed=4
    )
    truth = [
        t.replace(gaintable=g, image=None)
        for t, g in zip(partition_skymodel_by_voronoi(bright + faint, centres, model), screens)
    ]
    corrupted = predict_skymodel_list_rsexecute_workflow(vis, truth, context="ng", docal=True)
    clean_obs = vis.replace(vis=np.sum([v.vis for v in corrupted], axis=0))
    vobs = add_noise(clean_obs, sigma=0.05, seed=3)
    vobs = vobs.replace(weight=np.ones_like(vobs.weight))  # natural weighting, unit weights
    theta = partition_skymodel_by_voronoi(bright, centres, model)  # calibrators only
    noise_img, _ = invert(vobs.replace(vis=vobs.vis - clean_obs.vis), model)
    return dict(vis=vobs, model=model, bright=bright, faint=faint, truth=truth,
                screens=screens, theta=theta, noise_rms=float(np.std(noise_img.data)))  # fmt: skip


def _phase_error(solved, true) -> float:
    """RMS phase error (rad) of a phase-only solution referred to antenna 0, as the solver's."""
    g, t = solved.gain[:, :, 0, 0, 0], true.gain[:, :, 0, 0, 0]
    return float(np.sqrt(np.mean(np.angle(g * np.conj(t / t[:, :1])) ** 2)))


def direction_independent_selfcal(scene, niter: int):
    """The fair baseline: direction-independent self-calibration (ICAL, phase-only T per
    integration from cycle 0) from the same starting knowledge — the calibrators, on their
    pixels — with the same CLEAN (Högbom, threshold, fractional threshold, major cycles) as
    MPCCAL below; its residual image (of the corrected data minus the final model)."""
    model = scene["model"]
    start = model.data.copy()
    for c in scene["bright"]:
        x, y = (int(round(float(v))) for v in model.sky_to_pixel(c.direction))
        start[0, 0, y, x] += float(c.flux[0, 0])
    controls = create_calibration_controls()
    controls["T"].update(first_selfcal=0, timeslice="auto", phase_only=True)
    _, residual, _, _ = ical_list_rsexecute_workflow(
        [scene["vis"]], [model.replace(data=start)], context="ng", nmajor=6,
        calibration_context="T", controls=controls, niter=niter, threshold=0.02,
        fractional_threshold=0.1, algorithm="hogbom",
    )  # fmt: skip
    return residual[0][0]


def test_mpccal_beats_direction_independent_calibration(scene):
    rsexecute.set_client(use_dask=False)
    vis, model, theta = scene["vis"], scene["model"], scene["theta"]
    # The baseline cleans as much as all of MPCCAL's regions together (4 x 100 per cycle).
    di_residual = direction_independent_selfcal(scene, niter=100 * len(theta))

    history = []

    def progress(residual, theta_list, gaintable_list, iteration):
        history.append((iteration, float(np.std(residual.data)), len(gaintable_list)))
        return theta_list

    graphs = mpccal_skymodel_list_rsexecute_workflow(
        vis, model, theta, nmajor=6, context="ng", mpccal_progress=progress, niter=100,
        threshold=0.02, fractional_threshold=0.1,
    )  # fmt: skip
    theta_out, residual = rsexecute.compute(graphs, sync=True)
    di_rms, mpc_rms = float(np.std(di_residual.data)), float(np.std(residual.data))
    # Measured: DI self-calibration and CLEAN 0.042 Jy/beam (its one phase screen fits no
    # region well, and CLEAN cannot remove the errors' sidelobes), MPCCAL 0.0046 (ratio ~9);
    # the issue asks for >= 3.
    assert di_rms >= 3.0 * mpc_rms, (di_rms, mpc_rms)
    # The noise alone images to ~0.00076 Jy/beam: what MPCCAL leaves is the part of the faint
    # sources not yet cleaned, < 10x the noise.
    assert mpc_rms < 10 * scene["noise_rms"], (mpc_rms, scene["noise_rms"])
    # Every region's screen is recovered (phases relative to antenna 0). Measured 0.015-0.022
    # rad; thermal noise alone on a 4 Jy source with 23 baselines per antenna gives ~0.01
    # rad, and the neighbouring regions' uncleaned faint sources add to it: 0.06 rad bound.
    for k, (t, screen) in enumerate(zip(theta_out, scene["screens"])):
        assert _phase_error(t.gaintable, screen) < 0.06, k
    # The E-step residual falls from cycle to cycle (progress saw all six cycles).
    assert [h[0] for h in history] == list(range(6))
    assert all(h[2] == len(theta) for h in history)
    rms = [h[1] for h in history]
    assert rms[-1] < 0.1 * rms[0] and mpc_rms <= rms[-1] * 1.05, rms
    # Image updates: clean components only inside each region's mask, and the faint sources
    # (1.91 Jy in all, unknown to the starting model) are found: measured 2.07 Jy in the model
    # images (clean components absorb some noise and calibration error); 25 % bound.
    total = 0.0
    for t, t0 in zip(theta_out, theta):
        outside = t.image.data[0, 0] * (1.0 - t.mask.data[0, 0])
        assert np.all(outside == 0.0)
        assert [c.name for c in t.components] == [c.name for c in t0.components]  # kept
        total += float(t.image.data.sum())
    faint = sum(float(c.flux[0, 0]) for c in scene["faint"])
    assert abs(total - faint) < 0.25 * faint, (total, faint)
    # Inputs untouched
    assert all(t.gaintable is None and not np.any(t.image.data) for t in theta)


def test_mpccal_component_window_and_fixed(scene):
    rsexecute.set_client(use_dask=False)
    vis, model = scene["vis"], scene["model"]
    theta = list(scene["theta"])
    theta[1] = theta[1].replace(fixed=True)
    theta_out, residual = rsexecute.compute(
        mpccal_skymodel_list_rsexecute_workflow(
            vis, model, theta, nmajor=2, window="component", niter=20
        ),
        sync=True,
    )
    for k, t in enumerate(theta_out):
        nz = np.argwhere(t.image.data[0, 0] != 0)
        if k == 1:  # fixed: image kept, gains still solved
            assert nz.size == 0
        else:  # hogbom always finds the window's peak (threshold 0)
            assert len(nz) == 1
        x, y = model.sky_to_pixel(t.components[0].direction)
        # 'component' window: clean only at the calibrator's own pixel
        assert all((iy, ix) == (int(np.round(y)), int(np.round(x))) for iy, ix in nz), k
        assert not np.allclose(t.gaintable.gain, 1.0)
    assert residual.shape == model.shape


def test_mpccal_graph_grows_linearly_in_regions_and_cycles(scene):
    """Per cycle: K predicts, one cross-subtraction, K picks of its per-region outputs and
    K region updates (3K + 1 tasks); before the cycles K region preparations and the PSF,
    after them the final E-step and residual image: exactly bilinear in K x cycles."""
    vis, model, theta = scene["vis"], scene["model"], scene["theta"]
    counts = {}
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        for k in (2, 3, 4):
            for nmajor in (1, 2, 3):
                graphs = mpccal_skymodel_list_rsexecute_workflow(
                    vis, model, theta[:k], nmajor=nmajor, niter=30
                )
                counts[(k, nmajor)] = H.graph_tasks(graphs)
    finally:
        rsexecute.close()
    assert H.bilinear_exact(counts)
    for k in (2, 3, 4):
        assert counts[(k, 3)] - counts[(k, 2)] == counts[(k, 2)] - counts[(k, 1)] == 3 * k + 1
    # the part outside the cycles grows by the same number of tasks per region
    fixed = {k: counts[(k, 1)] - (3 * k + 1) for k in (2, 3, 4)}
    assert fixed[4] - fixed[3] == fixed[3] - fixed[2] > 0


@pytest.mark.cluster
def test_mpccal_serial_equals_dask(scene):
    vis, model, theta = scene["vis"], scene["model"], scene["theta"]
    options = dict(nmajor=2, niter=30, threshold=0.02)
    rsexecute.set_client(use_dask=False)
    serial = rsexecute.compute(
        mpccal_skymodel_list_rsexecute_workflow(vis, model, theta, **options), sync=True
    )
    rsexecute.set_client(use_dask=True, n_workers=2, threads_per_worker=1, dashboard_address=None)
    try:
        graphs = mpccal_skymodel_list_rsexecute_workflow(vis, model, theta, **options)
        dask_result = rsexecute.compute(graphs, sync=True)
    finally:
        rsexecute.close()
    # Same kernels on the same inputs: only summation order could differ, and it does not;
    # 1e-10 relative leaves room for a different BLAS path on a worker.
    for s, d in zip(serial[0], dask_result[0]):
        np.testing.assert_allclose(
            d.image.data, s.image.data, rtol=0, atol=1e-10 * np.abs(s.image.data).max()
        )
        np.testing.assert_allclose(d.gaintable.gain, s.gaintable.gain, rtol=1e-10, atol=1e-10)
    scale = np.abs(serial[1].data).max()
    np.testing.assert_allclose(dask_result[1].data, serial[1].data, rtol=0, atol=1e-10 * scale)


def test_mpccal_checkpoint_resume(scene, tmp_path):
    """Two cycles with checkpoint_dir, then a rerun with nmajor=3 continues after cycle 2:
    the same regions and residual as three cycles from scratch (the checkpoints are
    lossless: 1e-12), and mpccal_progress sees only the new iteration."""
    vis, model, theta = scene["vis"], scene["model"], scene["theta"]
    opts = dict(niter=30, threshold=0.02)
    ck = tmp_path / "ck"
    seen = []

    def progress(residual, theta_list, gaintable_list, iteration):
        seen.append(iteration)
        return theta_list

    rsexecute.set_client(use_dask=False)
    rsexecute.compute(mpccal_skymodel_list_rsexecute_workflow(
        vis, model, theta, nmajor=2, checkpoint_dir=ck, mpccal_progress=progress, **opts),
        sync=True)  # fmt: skip
    manifest = json.loads((ck / "manifest.json").read_text())
    assert (manifest["pipeline"], manifest["cycle"], manifest["nwindows"]) == ("mpccal", 2, 4)
    resumed = rsexecute.compute(mpccal_skymodel_list_rsexecute_workflow(
        vis, model, theta, nmajor=3, checkpoint_dir=ck, mpccal_progress=progress, **opts),
        sync=True)  # fmt: skip
    assert seen == [0, 1, 2]
    straight = rsexecute.compute(
        mpccal_skymodel_list_rsexecute_workflow(vis, model, theta, nmajor=3, **opts), sync=True
    )
    for r, s in zip(resumed[0], straight[0]):
        np.testing.assert_allclose(r.image.data, s.image.data, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.gaintable.gain, s.gaintable.gain, rtol=0, atol=1e-12)
        assert [c.name for c in r.components] == [c.name for c in s.components]
    np.testing.assert_allclose(resumed[1].data, straight[1].data, rtol=0, atol=1e-12)
    with pytest.raises(CheckpointError, match="holds cycle 3, beyond nmajor=1"):
        mpccal_skymodel_list_rsexecute_workflow(
            vis, model, theta, nmajor=1, checkpoint_dir=ck, **opts
        )
    with pytest.raises(CheckpointError, match="has 4 windows, this run 2"):
        mpccal_skymodel_list_rsexecute_workflow(vis, model, theta[:2], checkpoint_dir=ck)


def test_mpccal_bad_input(scene):
    rsexecute.set_client(use_dask=False)
    vis, model, theta = scene["vis"], scene["model"], scene["theta"]
    with pytest.raises(TypeError, match="valid keywords: .*nmajor"):
        mpccal_skymodel_list_rsexecute_workflow(vis, model, theta, n_major=2)
    with pytest.raises(MPCCALError, match="empty"):
        mpccal_skymodel_list_rsexecute_workflow(vis, model, [])
    with pytest.raises(MPCCALError, match="nmajor"):
        mpccal_skymodel_list_rsexecute_workflow(vis, model, theta, nmajor=0)
    with pytest.raises(MPCCALError, match="window 'mask' unknown; use one of none, component"):
        mpccal_skymodel_list_rsexecute_workflow(vis, model, theta, window="mask")
    with pytest.raises(MPCCALError, match=r"theta_list\[0\] must be a SkyModel"):
        mpccal_skymodel_list_rsexecute_workflow(vis, model, [model])
    small = create_image_from_visibility(vis, npixel=64)
    bad = [theta[0].replace(image=small, mask=None)]
    with pytest.raises(MPCCALError, match=r"theta_list\[0\].image has shape"):
        mpccal_skymodel_list_rsexecute_workflow(vis, model, bad)
    assert issubclass(MPCCALError, ValueError)
