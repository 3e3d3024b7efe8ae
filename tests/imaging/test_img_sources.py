"""Visibility sources through the imaging workflows: the same images as from Visibility.

A source is a recipe loaded inside each task (:mod:`uvflow.datamodels.sources`). Weighting
a source gives a derived source (weighted where it is loaded), so a streaming pipeline
never keeps data between tasks. The results must equal, bit for bit, those of the same
workflows given the Visibility itself: the same kernels run on the same arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.datamodels import DerivedSource, create_image, is_source, load_visibility
from uvflow.datamodels.testing import MemorySource, random_configuration, simple_visibility
from uvflow.execution import rsexecute
from uvflow.imaging import GriddingSettings, WeightingSettings
from uvflow.imaging.workflows import invert_windows, residual_windows, weight_windows


@pytest.fixture(scope="module")
def data():
    config = random_configuration(nant=10, radius=600.0, seed=5)
    rng = np.random.default_rng(1)
    vis = []
    for f in (1.0e8, 1.1e8):
        v = simple_visibility(config, ntime=3, frequency=[f], channel_bandwidth=5e6)
        noise = rng.normal(size=v.vis.shape) + 1j * rng.normal(size=v.vis.shape)
        vis.append(v.replace(vis=noise.astype(v.vis.dtype)))
    model = create_image(64, np.deg2rad(2.0 / 64), vis[0].phasecentre, 1.05e8,
                         channel_bandwidth=2e7)  # fmt: skip
    model = model.replace(data=np.zeros_like(model.data))
    model.data[0, 0, 30, 34] = 1.0
    return vis, model


def _images(vis_list, model, weighting):
    gridding = GriddingSettings("2d", 1e-6)
    weighted = weight_windows(vis_list, model, weighting)
    dirty = invert_windows(weighted, model, gridding)
    residual = residual_windows(weighted, model, gridding)
    return rsexecute.compute([weighted, dirty, residual], sync=True)


@pytest.mark.parametrize("weighting", ["natural", "uniform", "robust"])
def test_sources_give_the_visibilities_images(data, weighting):
    vis, model = data
    rsexecute.set_client(use_dask=False)
    settings = WeightingSettings(weighting, 0.5, taper="30asec")
    wvis, dirty, residual = _images(vis, model, settings)
    MemorySource.loads = 0
    weighted, sdirty, sresidual = _images([MemorySource(v) for v in vis], model, settings)
    assert all(isinstance(w, DerivedSource) and is_source(w) for w in weighted)
    for a, b in zip(dirty + residual, sdirty + sresidual):
        np.testing.assert_array_equal(a[0].data, b[0].data)
        np.testing.assert_array_equal(a[1], b[1])
    # each window read once for its weight grid (natural with a taper too: WSClean tapers
    # per grid cell), once for the dirty image and once for the residual: nothing is kept
    # between tasks
    grid_reads = len(vis)
    assert MemorySource.loads == grid_reads + 2 * len(vis)
    # a derived source loads to the weighted Visibility
    np.testing.assert_array_equal(load_visibility(weighted[0]).weight, wvis[0].weight)


def test_sources_on_a_cluster_equal_serial(data):
    """The sources travel to the worker processes and are loaded in the tasks."""
    vis, model = data
    settings = WeightingSettings("uniform")
    rsexecute.set_client(use_dask=False)
    _, dirty, residual = _images([MemorySource(v) for v in vis], model, settings)
    rsexecute.set_client(n_workers=2, threads_per_worker=1, dashboard_address=":0")
    try:
        _, ddirty, dresidual = _images([MemorySource(v) for v in vis], model, settings)
    finally:
        rsexecute.set_client(use_dask=False)
    for a, b in zip(dirty + residual, ddirty + dresidual):
        np.testing.assert_array_equal(a[0].data, b[0].data)


def test_not_a_source_is_named():
    with pytest.raises(TypeError, match="expected a Visibility or a visibility source, got str"):
        load_visibility("x.ms")
