"""Imaging workflows: serial ≡ Dask, graph sizes, and what the combined results mean.

serial ≡ Dask tolerance 1e-12 relative: both modes run the same kernels on the same
arrays in the same order per window; only the tree reduction could reorder floating-point
sums, and it combines the partial results in list order in both modes.
"""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.datamodels import SkyComponent, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.execution import rsexecute
from uvflow.imaging import invert, predict_dft
from uvflow.imaging.workflows import (
    deconvolve_list_rsexecute_workflow,
    invert_list_rsexecute_workflow,
    predict_list_rsexecute_workflow,
    residual_list_rsexecute_workflow,
    restore_list_rsexecute_workflow,
    subtract_list_rsexecute_workflow,
    sum_invert_results_rsexecute,
    sum_predict_results_rsexecute,
    taper_list_rsexecute_workflow,
    weight_list_rsexecute_workflow,
    zero_list_rsexecute_workflow,
)
from uvflow.imaging.workflows.deconvolve_restore import stack_windows

NWIN = 4


@pytest.fixture(scope="module")
def windows():
    """Four frequency windows of one observation with three point sources (exact DFT data)."""
    config = random_configuration(nant=12, radius=800.0, seed=11)
    freqs = [1.0e8, 1.05e8, 1.1e8, 1.15e8]
    template = create_image(64, np.deg2rad(2.0 / 64), simple_visibility(config, ntime=1).phasecentre, 1.075e8,
                            channel_bandwidth=2e7)  # fmt: skip
    comps = [
        SkyComponent(direction=template.pixel_to_sky(x, y), frequency=[1.075e8], flux=[[f]])
        for (x, y), f in (((32, 32), 2.0), ((20, 40), 1.0), ((45, 18), 0.5))
    ]
    vis_list = []
    for f in freqs:
        v = simple_visibility(config, ntime=4, frequency=[f], channel_bandwidth=5e6)
        vis_list.append(predict_dft(v, comps))
    models = [
        create_image(64, np.deg2rad(2.0 / 64), template.phasecentre, f, channel_bandwidth=5e6)
        for f in freqs
    ]
    return vis_list, models, comps


def _run_both(build):
    """Compute ``build()`` serially and on a 2-process LocalCluster."""
    rsexecute.set_client(use_dask=False)
    serial = build()
    rsexecute.set_client(use_dask=True, n_workers=2, threads_per_worker=1, dashboard_address=None)
    try:
        graph = build()
        dask = rsexecute.compute(graph, sync=True)
    finally:
        rsexecute.close()
    return serial, dask


def _arrays(x):
    if isinstance(x, (list, tuple)):
        for i in x:
            yield from _arrays(i)
    elif isinstance(x, np.ndarray):
        yield x
    elif hasattr(x, "vis"):
        yield x.vis
        yield x.weight
    elif hasattr(x, "data"):
        yield x.data
    else:
        yield np.asarray(x)


def assert_same(a, b, rtol=1e-12):
    la, lb = list(_arrays(a)), list(_arrays(b))
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert x.shape == y.shape
        if y.size:
            scale = max(float(np.max(np.abs(y))), 1e-300)
            assert float(np.max(np.abs(x - y))) <= rtol * scale


@pytest.mark.cluster
def test_workflows_serial_equals_dask(windows):
    vis_list, models, _ = windows

    def build():
        weighted = weight_list_rsexecute_workflow(
            vis_list, models, weighting="robust", robustness=0.5
        )
        tapered = taper_list_rsexecute_workflow(weighted, size_required="300asec")
        dirty = invert_list_rsexecute_workflow(tapered, models, context="ng")
        psf = invert_list_rsexecute_workflow(tapered, models, context="ng", dopsf=True)
        mfs = sum_invert_results_rsexecute(dirty)
        halfmodel = [m.replace(data=m.data + 1e-3) for m in models]
        pred = predict_list_rsexecute_workflow(vis_list, halfmodel, context="ng")
        res = residual_list_rsexecute_workflow(vis_list, halfmodel, context="ng")
        sub = subtract_list_rsexecute_workflow(vis_list, pred)
        zero = zero_list_rsexecute_workflow(vis_list)
        total = sum_predict_results_rsexecute(pred)
        return [dirty, psf, mfs, pred, res, sub, zero, total]

    serial, dask = _run_both(build)
    assert_same(dask, serial)


def test_sum_invert_results_is_the_joint_image(windows):
    """The weighted mean of per-window images equals inverting all windows at once:
    normalised dirty images combine by their sums of weights (exact up to rounding; the
    gridder runs at epsilon 1e-12 here so only summation order differs)."""
    vis_list, models, _ = windows
    rsexecute.set_client(use_dask=False)
    mfs_model = create_image(
        64, models[0].cellsize, models[0].phasecentre, 1.075e8, channel_bandwidth=2e7
    )
    parts = invert_list_rsexecute_workflow(vis_list, mfs_model, context="ng", epsilon=1e-12)
    combined, sumwt = sum_invert_results_rsexecute(parts)
    from uvflow.datamodels import concatenate_visibility

    joint_vis = concatenate_visibility(vis_list, axis="frequency")
    joint, joint_sumwt = invert(joint_vis, mfs_model, context="ng", epsilon=1e-12)
    np.testing.assert_allclose(sumwt, joint_sumwt, rtol=1e-12)
    assert np.max(np.abs(combined.data - joint.data)) < 1e-10 * np.max(np.abs(joint.data))


def test_residual_of_true_model_is_zero(windows):
    """Residual imaging with the exact model (components on pixel centres, Jy/pixel)
    leaves only gridder error: ≤ ~10·epsilon of the dirty peak."""
    vis_list, models, comps = windows
    rsexecute.set_client(use_dask=False)
    truth = []
    for m in models:
        t = m.copy()
        for c in comps:
            x, y = (int(round(float(p))) for p in m.sky_to_pixel(c.direction))
            t.data[0, 0, y, x] = c.flux[0, 0]
        truth.append(t)
    dirty = invert_list_rsexecute_workflow(vis_list, models, epsilon=1e-8)
    res = residual_list_rsexecute_workflow(vis_list, truth, epsilon=1e-8)
    for (d, _), (r, _) in zip(dirty, res):
        assert np.max(np.abs(r.data)) < 1e-6 * np.max(np.abs(d.data))


def test_weighting_shares_one_grid_across_windows(windows):
    """Uniform weighting over windows that overlap in uv: each window's weights are
    divided by the density summed over ALL windows, so the total weight per occupied cell
    is 1 — not one per window (which per-window weighting would give)."""
    vis_list, models, _ = windows
    rsexecute.set_client(use_dask=False)
    same = [vis_list[0]] * 3  # three identical windows: every cell gets 3× the density
    out = weight_list_rsexecute_workflow(same, models[0], weighting="uniform")
    single = weight_list_rsexecute_workflow([vis_list[0]], models[0], weighting="uniform")
    np.testing.assert_allclose(out[0].weight, single[0].weight / 3, rtol=1e-12)


@pytest.mark.parametrize("nwin", [2, 4, 8])
def test_graph_size_linear_in_windows(nwin, windows):
    """Task count: invert is one task per window plus (nwin − 1) tree combinations."""
    vis_list, models, _ = windows
    vl = (vis_list * 2)[:nwin]
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        graph = sum_invert_results_rsexecute(invert_list_rsexecute_workflow(vl, models[0]))
        ntasks = len(dict(graph.__dask_graph__()))
    finally:
        rsexecute.close()
    # one invert task per window (its (image, sumwt) tuple passes whole to the tree) and
    # nwin − 1 pairwise combinations: exactly linear in the number of windows.
    assert ntasks == nwin + (nwin - 1)


def test_unknown_keyword_lists_valid_ones(windows):
    vis_list, models, _ = windows
    with pytest.raises(TypeError, match="valid keywords: .*context"):
        invert_list_rsexecute_workflow(vis_list, models, contxt="ng")
    with pytest.raises(
        ValueError, match="weighting 'briggs2' unknown; use natural, uniform or robust"
    ):
        weight_list_rsexecute_workflow(vis_list, models, weighting="briggs2")


# ---- minor cycle and restoring -----------------------------------------------------------


@pytest.fixture(scope="module")
def dirty_psf(windows):
    """Per-window dirty images and PSFs of the three-source field (natural weighting)."""
    vis_list, models, _ = windows
    rsexecute.set_client(use_dask=False)
    dirty = invert_list_rsexecute_workflow(vis_list, models, epsilon=1e-8)
    psf = invert_list_rsexecute_workflow(vis_list, models, dopsf=True, epsilon=1e-8)
    return dirty, psf


CLEAN = dict(niter=500, gain=0.1, fractional_threshold=0.01)


@pytest.mark.cluster
@pytest.mark.parametrize("facets", [1, 2])
def test_deconvolve_and_restore_serial_equals_dask(windows, dirty_psf, facets):
    _, models, _ = windows
    dirty, psf = dirty_psf
    kw = dict(CLEAN)
    if facets > 1:
        kw.update(deconvolve_facets=2, deconvolve_overlap=8, deconvolve_taper="tukey")

    def build():
        model = deconvolve_list_rsexecute_workflow(dirty, psf, models, **kw)
        return [model, restore_list_rsexecute_workflow(model, psf, dirty)]

    serial, dask = _run_both(build)
    assert_same(dask, serial)
    assert len(serial[0]) == len(models) and np.any(serial[0][0].data)


def test_deconvolve_list_is_deconvolve_cube_on_the_window_cube(windows, dirty_psf):
    """One facet: the workflow is exactly the kernel on the stacked windows, split back."""
    from uvflow.imaging import deconvolve_cube

    _, models, _ = windows
    dirty, psf = dirty_psf
    rsexecute.set_client(use_dask=False)
    out = deconvolve_list_rsexecute_workflow(dirty, psf, models, **CLEAN)
    cube, _ = deconvolve_cube(stack_windows(*dirty), stack_windows(*psf), **CLEAN)
    for i, m in enumerate(out):
        np.testing.assert_array_equal(m.data[0], cube.data[i])
        assert m.wcs.wcs.crval[3] == models[i].wcs.wcs.crval[3]


def test_facet_minor_cycle_residual_matches_single(windows, dirty_psf):
    """2×2 overlapping facets clean the whole image as deeply as one facet: the residual
    rms is within 1 % of the single-facet one, plus 1 % of the peak for what facets cannot
    do alike within a round (see uvflow.imaging.deconvolution.facet_deconvolve)."""
    from uvflow.imaging import image_residual

    _, models, _ = windows
    dirty, psf = dirty_psf
    rsexecute.set_client(use_dask=False)
    kw = dict(niter=2000, gain=0.1, fractional_threshold=0.02)
    single = deconvolve_list_rsexecute_workflow(dirty, psf, models, **kw)
    facet = deconvolve_list_rsexecute_workflow(
        dirty,
        psf,
        models,
        deconvolve_facets=2,
        deconvolve_overlap=8,
        deconvolve_taper="tukey",
        **kw,
    )
    d, p = stack_windows(*dirty), stack_windows(*psf)
    r1 = image_residual(d, stack_windows(*single), p).data
    r2 = image_residual(d, stack_windows(*facet), p).data
    rms1, rms2 = np.sqrt(np.mean(r1**2)), np.sqrt(np.mean(r2**2))
    assert rms2 <= 1.01 * rms1 + 0.01 * np.abs(d.data).max()
    assert np.abs(r2).max() < 0.1 * np.abs(d.data).max()  # cleaned everywhere, borders too


@pytest.mark.parametrize("facets,rounds", [(2, 1), (2, 3), (3, 2)])
def test_facet_graph_size(windows, dirty_psf, facets, rounds):
    """Tasks: 2 stacks, 1 global threshold, 1 zero model, per round (threshold, scatter,
    facets² cleans, gather) and one split: linear in facets² × rounds."""
    _, models, _ = windows
    dirty, psf = dirty_psf
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        out = deconvolve_list_rsexecute_workflow(
            dirty, psf, models, deconvolve_facets=facets, deconvolve_overlap=4,
            deconvolve_taper="linear", deconvolve_rounds=rounds,
        )  # fmt: skip
        graph = dict(out[0].__dask_graph__())
    finally:
        rsexecute.close()
    tasks = [k for k in graph if not str(k if isinstance(k, str) else k[0]).startswith("getitem")]
    expected = 2 + 1 + 1 + rounds * (3 + facets * facets) + 1
    assert len(tasks) == expected
