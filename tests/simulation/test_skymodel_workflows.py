"""RASCIL's sky-model workflows (issue 18 item 4), against exact references.

Two sky models of point sources (components; one also an image of one pixel) on a small
simulated observation. References: the DFT of the components (predict), the sum of the
others' visibilities (cross-subtraction: exact arithmetic), the dirty image of the DFT
visibilities (invert, convolve: the gridder's own result on the same data, so equal to
rounding; and the PSF-convolved point's peak equals its flux to the gridder's accuracy).
Serial and Dask (synchronous scheduler) give the same arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.calibration import apply_gaintable, create_gaintable_from_visibility
from uvflow.datamodels import SkyModel, create_image
from uvflow.execution import rsexecute
from uvflow.imaging import invert, predict_dft
from uvflow.simulation import (
    SimulationError,
    convolve_skymodel_list_rsexecute_workflow,
    create_skycomponent,
    crosssubtract_datamodels_skymodel_list_rsexecute_workflow,
    invert_skymodel_list_rsexecute_workflow,
    predict_skymodel_list_compsonly_rsexecute_workflow,
    simulate_gaintable,
    simulate_list_rsexecute_workflow,
)

PC = SkyCoord(ra=45.0, dec=-45.0, unit="deg")
FREQ = np.array([1.0e8, 1.1e8])


@pytest.fixture(scope="module")
def sky(small_config):
    rsexecute.set_client(use_dask=False)
    (vis,) = simulate_list_rsexecute_workflow(small_config, PC, FREQ, 1e6,
                                               np.linspace(-1, 1, 5), order=None)  # fmt: skip
    image = create_image(64, 2e-4, PC, 1.05e8, channel_bandwidth=2e7)
    comps = [create_skycomponent(image.pixel_to_sky(x, y), flux, FREQ)
             for (x, y), flux in (((40, 20), 2.0), ((25, 45), 0.5))]  # fmt: skip
    gt = simulate_gaintable(create_gaintable_from_visibility(vis), phase_error=0.4, seed=3)
    models = [SkyModel(image=image, components=comps[:1]),
              SkyModel(image=image.copy(), components=comps[1:], gaintable=gt)]  # fmt: skip
    return vis, models, comps, gt


def _run(dask, build):
    if dask:
        rsexecute.set_client(use_dask=True, scheduler="synchronous")
        return rsexecute.compute(build(), sync=True)
    rsexecute.set_client(use_dask=False)
    return build()


@pytest.mark.parametrize("dask", [False, True])
def test_predict_components_only(sky, dask):
    vis, models, comps, gt = sky
    with_image = [m.replace(image=m.image.replace(data=m.image.data + 1.0)) for m in models]
    out = _run(dask, lambda: predict_skymodel_list_compsonly_rsexecute_workflow(vis, with_image))
    for got, comp in zip(out, comps):  # the images (all ones) are left out
        np.testing.assert_allclose(got.vis, predict_dft(vis, [comp]).vis, rtol=1e-12)
    cal = _run(dask, lambda: predict_skymodel_list_compsonly_rsexecute_workflow(vis, models,
                                                                                docal=True))  # fmt: skip
    np.testing.assert_allclose(cal[1].vis, apply_gaintable(out[1], gt).vis, rtol=1e-12)


@pytest.mark.parametrize("dask", [False, True])
def test_crosssubtract_invert_and_convolve(sky, dask):
    vis, models, comps, gt = sky
    model_vis = [predict_dft(vis, [c]) for c in comps]
    observed = vis.replace(vis=model_vis[0].vis + model_vis[1].vis)
    parts = _run(dask, lambda: crosssubtract_datamodels_skymodel_list_rsexecute_workflow(
        observed, model_vis))  # fmt: skip
    for k in range(2):  # each region's data is its own source's visibilities
        np.testing.assert_allclose(parts[k].vis, model_vis[k].vis, atol=1e-12)
    dirty = _run(dask, lambda: invert_skymodel_list_rsexecute_workflow(parts, models))
    for (image, sumwt), mv, m in zip(dirty, model_vis, models):
        ref, ref_w = invert(mv, m.image)
        np.testing.assert_allclose(image.data, ref.data, atol=1e-12)
        np.testing.assert_array_equal(sumwt, ref_w)
    conv = _run(dask, lambda: convolve_skymodel_list_rsexecute_workflow(vis, models))
    for (image, _), comp, (x, y) in zip(conv, comps, ((40, 20), (25, 45))):
        # the model (a flat-spectrum component on a pixel centre + an empty image) convolved
        # with the PSF: its flux at its pixel, to the gridder's accuracy (epsilon 1e-5)
        assert image.data[0, 0, y, x] == pytest.approx(float(comp.flux[0, 0]), rel=1e-4)
    with pytest.raises(SimulationError, match="vis_list has 3 entries, skymodel_list 2"):
        invert_skymodel_list_rsexecute_workflow([vis] * 3, models)
