"""Continuum imaging pipeline on a noise-free field of five pixel-centred point sources.

Tolerances: the data are exact (DFT) and every source sits on a pixel centre, so CLEAN can
represent each by one pixel; what remains is the gridder's accuracy (epsilon 1e-5) and
the flux left below the final cycle's threshold, both far below 1 % of the faintest
(0.1 Jy) source: 1 % flux, residual rms < 1e-3 of the peak. Serial ≡ Dask to 1e-10: the
same kernels on the same arrays in the same order (measured: identical, fitted beams too).
"""

from __future__ import annotations

import logging

import numpy as np
import pipe_helpers as H  # tests/pipelines, on sys.path through conftest.py
import pytest

from uvflow.execution import rsexecute
from uvflow.imaging.workflows import invert_list_rsexecute_workflow
from uvflow.pipelines import PipelineError, continuum_imaging_list_rsexecute_workflow
from uvflow.pipelines.major_cycle_steps import psf_template

OPTIONS = dict(nmajor=5, niter=1000, fractional_threshold=0.01, threshold=1e-4)


@pytest.fixture(scope="module")
def pipe_field():
    rsexecute.set_client(use_dask=False)
    return H.make_field()


@pytest.fixture(scope="module")
def serial_run(pipe_field):
    vis, models, _ = pipe_field
    rsexecute.set_client(use_dask=False)
    return continuum_imaging_list_rsexecute_workflow(vis, models, **OPTIONS)


def test_fluxes_positions_and_residual(pipe_field, serial_run):
    _, _, comps = pipe_field
    truth = np.array([s for _, s in H.SOURCES])
    models, residuals, restored = serial_run
    assert len(models) == len(residuals) == len(restored) == 4
    for w in range(4):
        flux = H.clean_fluxes(models[w], comps)
        np.testing.assert_allclose(flux, truth, rtol=0.01)
        # positions: the restored image's local maximum around each source is its pixel
        image = restored[w].data[0, 0]
        for (x, y), _ in H.SOURCES:
            box = image[y - 3 : y + 4, x - 3 : x + 4]
            iy, ix = np.unravel_index(np.argmax(box), box.shape)
            assert abs(iy - 3) <= 1 and abs(ix - 3) <= 1
        peak = float(np.max(restored[w].data))
        rms = float(np.sqrt(np.mean(residuals[w][0].data ** 2)))
        assert rms < 1e-3 * peak
        assert peak == pytest.approx(10.0, rel=0.01)


@pytest.mark.cluster
def test_serial_equals_dask(pipe_field):
    """Serial ≡ Dask with the clean beam fitted to each window's PSF (the default).

    The PSF of both paths is bit-identical (measured: 0.0 difference) and so is the fitted
    beam. Before the Image pickled its WCS exactly (datamodels, aa2b88b), the PSF template
    crossed to the worker with CDELT rounded in its last bit: the PSFs differed by 7e-14,
    the fitted beams by 2e-10 (the Levenberg–Marquardt fit amplifies ~1e4-fold) and the
    restored images by 1.4e-10 of their peak — over this test's 1e-10.
    """
    vis, models, _ = pipe_field
    early = dict(OPTIONS, nmajor=20, threshold=0.05, fractional_threshold=0.1, stop_early=True)

    def build():
        templates = [rsexecute.execute(psf_template)(m, 2) for m in models]
        return [
            continuum_imaging_list_rsexecute_workflow(vis, models, **OPTIONS),
            # stop_early computes each cycle's peak on the cluster while building
            continuum_imaging_list_rsexecute_workflow(vis, models, **early),
            invert_list_rsexecute_workflow(vis, templates, dopsf=True),
        ]

    serial, dask = H.run_serial_and_dask(build)
    for s, d in zip(serial[2], dask[2]):  # the pipeline's PSFs: bit-identical
        assert np.array_equal(s[0].data, d[0].data) and np.array_equal(s[1], d[1])
    H.assert_same_beams(dask[0][2], serial[0][2])
    H.assert_same_beams(dask[1][2], serial[1][2])
    H.assert_pipeline_same(dask[0], serial[0])
    H.assert_pipeline_same(dask[1], serial[1])


def test_graph_size_linear_in_windows_and_cycles():
    counts = {}
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        for nwin in (2, 3, 4):
            vis, models, _ = H.make_field(nwin=nwin, ntime=2, nant=4)
            for nmajor in (1, 2, 3):
                graph = continuum_imaging_list_rsexecute_workflow(vis, models, nmajor=nmajor)
                counts[(nwin, nmajor)] = H.graph_tasks(graph)
    finally:
        rsexecute.close()
    # Each cycle: a residual task per window and the minor cycle's fixed stack/clean/split
    # plus one item per window; so the count is exactly bilinear in windows × cycles.
    assert H.bilinear_exact(counts)
    assert counts[(4, 3)] - counts[(4, 2)] == counts[(4, 2)] - counts[(4, 1)]
    assert counts[(4, 2)] - counts[(2, 2)] == 2 * (counts[(3, 2)] - counts[(2, 2)])


def test_graph_size_with_checkpoints(tmp_path, pipe_field):
    vis, models, _ = pipe_field
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        plain = H.graph_tasks(continuum_imaging_list_rsexecute_workflow(vis, models, nmajor=3))
        saved = H.graph_tasks(
            continuum_imaging_list_rsexecute_workflow(
                vis, models, nmajor=3, checkpoint_dir=tmp_path / "ck"
            )
        )
    finally:
        rsexecute.close()
    # one checkpoint task per cycle and one getitem per window passing through it
    assert saved - plain == 3 * (1 + len(vis))
    assert not (tmp_path / "ck").exists()  # building the graph wrote nothing


def test_stop_early_equals_static_run_of_the_cycles_done(pipe_field, caplog):
    vis, models, _ = pipe_field
    rsexecute.set_client(use_dask=False)
    opts = dict(niter=1000, fractional_threshold=0.1, threshold=0.05)
    with caplog.at_level(logging.INFO, logger="uvflow.pipelines.major_cycle"):
        early = continuum_imaging_list_rsexecute_workflow(
            vis, models, nmajor=20, stop_early=True, **opts
        )
    stops = [r for r in caplog.records if "stopping after" in r.getMessage()]
    assert len(stops) == 1
    done = int(stops[0].getMessage().split("stopping after ")[1].split()[0])
    assert 1 <= done < 20
    static = continuum_imaging_list_rsexecute_workflow(vis, models, nmajor=done, **opts)
    H.assert_pipeline_same(early, static, rtol=1e-12)
    assert max(float(np.max(np.abs(r[0].data))) for r in early[1]) <= 0.05


def test_bad_input(pipe_field):
    vis, models, _ = pipe_field
    rsexecute.set_client(use_dask=False)
    with pytest.raises(TypeError, match="valid keywords: .*nmajor"):
        continuum_imaging_list_rsexecute_workflow(vis, models, nmajors=3)
    with pytest.raises(PipelineError, match="nmajor must be an integer >= 0"):
        continuum_imaging_list_rsexecute_workflow(vis, models, nmajor=-1)
    with pytest.raises(ValueError, match="model_imagelist has 3 entries"):
        continuum_imaging_list_rsexecute_workflow(vis, models[:3], nmajor=1)
    with pytest.raises(PipelineError, match="stop_early needs an absolute threshold"):
        continuum_imaging_list_rsexecute_workflow(vis, models, nmajor=1, stop_early=True)
    with pytest.raises(PipelineError, match="psf_factor must be an integer >= 1"):
        continuum_imaging_list_rsexecute_workflow(vis, models, nmajor=1, psf_factor=0)
    with pytest.raises(PipelineError, match="vis_list is empty"):
        continuum_imaging_list_rsexecute_workflow([], models, nmajor=1)
    with pytest.raises(ValueError, match="weighting 'briggs2' unknown"):
        continuum_imaging_list_rsexecute_workflow(vis, models, nmajor=1, weighting="briggs2")
