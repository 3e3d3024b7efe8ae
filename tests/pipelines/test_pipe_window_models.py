"""One model image shared by every window, and windows unevenly spaced in frequency (issue 18).

The pipelines' field (tests/pipelines/pipe_helpers.py): four windows, five pixel-centred
point sources, exact DFT data. Its per-window models span each window's band exactly, so a
shared one-channel model, re-centred on each window's band, must give the very same run
(identical arrays). Dropping a window leaves the others unevenly spaced; mmclean's Taylor
terms then use the windows' actual frequencies, and the fluxes are recovered to 1 % (the
tolerance of test_pipe_continuum.py: exact data, sources on pixel centres).
"""

from __future__ import annotations

import numpy as np
import pipe_helpers as H
import pytest

from uvflow.execution import rsexecute
from uvflow.pipelines import continuum_imaging_list_rsexecute_workflow

OPTIONS = dict(nmajor=4, niter=1000, fractional_threshold=0.01, threshold=1e-4)


@pytest.fixture(scope="module")
def pipe_field():
    rsexecute.set_client(use_dask=False)
    return H.make_field()


@pytest.mark.parametrize("algorithm", ["hogbom", "mmclean"])
def test_shared_model_equals_a_model_per_window(pipe_field, algorithm):
    vis, models, _ = pipe_field
    rsexecute.set_client(use_dask=False)
    options = dict(OPTIONS, algorithm=algorithm)
    per_window = continuum_imaging_list_rsexecute_workflow(vis, models, **options)
    # one template for all: the first window's grid, a channel of another frequency
    shared = continuum_imaging_list_rsexecute_workflow(vis, models[0], **options)
    H.assert_pipeline_same(shared, per_window, rtol=0.0)
    for image, model in zip(shared[2], models):
        assert image.frequency == pytest.approx(model.frequency, rel=1e-15)


@pytest.mark.parametrize("algorithm", ["hogbom", "mmclean"])
def test_unevenly_spaced_windows(pipe_field, algorithm):
    vis, models, comps = pipe_field
    keep = [0, 1, 3]  # 100, 105 and 115 MHz: the 110 MHz window missing
    rsexecute.set_client(use_dask=False)
    out = continuum_imaging_list_rsexecute_workflow(
        [vis[i] for i in keep], [models[i] for i in keep], algorithm=algorithm, **OPTIONS
    )
    truth = np.array([s for _, s in H.SOURCES])
    for w, model in enumerate(out[0]):
        np.testing.assert_allclose(H.clean_fluxes(model, comps), truth, rtol=0.01)
        assert out[2][w].frequency == pytest.approx(models[keep[w]].frequency, rel=1e-15)
