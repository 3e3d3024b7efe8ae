"""Memory-aware chunking: the estimate against measured allocations, and the choice it drives."""

from __future__ import annotations

import logging
import tracemalloc

import numpy as np
import pytest

from uvflow.datamodels import create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.imaging.workflows import residual_image
from uvflow.pipelines import PipelineError, choose_chunking, estimate_task_memory
from uvflow.pipelines.chunking import parse_memory


@pytest.mark.parametrize("ntime", [10, 40])
def test_estimate_bounds_measured_allocations(ntime):
    """The residual task's numpy allocations (traced: prediction, difference, gridder
    copies) plus its inputs stay within the estimate's visibility + image terms, and the
    estimate is not loose by more than 1.6x. The ducc0 grid is C++ memory that tracemalloc
    does not see, so the grid term is left out of this comparison."""
    config = random_configuration(nant=30, radius=1000.0, seed=1)
    vis = simple_visibility(config, ntime=ntime, frequency=[1e8, 1.01e8])
    vis = vis.replace(vis=np.ones_like(vis.vis))
    model = create_image(128, 4e-4, vis.phasecentre, 1.005e8, channel_bandwidth=2e6)
    model = model.replace(data=np.full(model.data.shape, 1e-3))
    inputs = vis.vis.nbytes + vis.weight.nbytes + vis.flags.nbytes + vis.uvw.nbytes
    inputs += model.data.nbytes
    tracemalloc.start()
    try:
        residual_image(vis, model)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    est = estimate_task_memory(vis.vis.shape, model.data.shape)
    numpy_part = est["visibility"] + est["images"]
    assert inputs + peak <= numpy_part <= 1.6 * (inputs + peak)
    assert est["total"] == max(est["residual_task"], est["psf_task"])


def test_estimate_scales_with_data_and_image():
    a = estimate_task_memory((10, 100, 4, 1), (1, 1, 256, 256))
    b = estimate_task_memory((20, 100, 4, 1), (1, 1, 256, 256))
    c = estimate_task_memory((10, 100, 4, 1), (1, 1, 512, 512))
    assert b["visibility"] == 2 * a["visibility"]
    assert c["grid"] == 4 * a["grid"] and c["images"] == 4 * a["images"]
    small = estimate_task_memory((10, 100, 4, 1), (1, 1, 256, 256), vis_dtype=np.complex64,
                                 weight_dtype=np.float32)  # fmt: skip
    assert small["visibility"] < a["visibility"]


def test_choose_chunking_is_the_least_split_that_fits(caplog):
    shape, image = (100, 780, 64, 1), (1, 1, 512, 512)
    assert estimate_task_memory(shape, image)["total"] > 2**30 // 4  # whole: > 256 MiB
    for limit in ("512MiB", "256MiB"):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="uvflow.pipelines.chunking"):
            out = choose_chunking(shape, image, limit)
        f, t = out["nfreq_windows"], out["ntime_chunks"]
        assert out["task_bytes"] <= out["budget_bytes"] == parse_memory(limit) // 2
        # every split into fewer tasks is over the budget
        for f2 in range(1, 65):
            for t2 in range(1, 101):
                if f2 * t2 < f * t:
                    chunk = (-(-100 // t2), 780, -(-64 // f2), 1)
                    assert estimate_task_memory(chunk, image)["total"] > out["budget_bytes"]
        assert any(f"{f} frequency windows x {t} time chunks" in r.getMessage()
                   for r in caplog.records)  # fmt: skip
    # single channels that do not fit are split in time
    single = choose_chunking((2000, 780, 1, 1), (1, 1, 256, 256), "200MB")
    assert single["nfreq_windows"] == 1 and single["ntime_chunks"] > 1
    # threads share a worker's memory; min_chunks asks for parallelism
    one = choose_chunking(shape, image, "512MiB")
    two = choose_chunking(shape, image, "512MiB", threads_per_worker=2)
    assert two["nfreq_windows"] * two["ntime_chunks"] > one["nfreq_windows"] * one["ntime_chunks"]
    assert choose_chunking(shape, image, "64GiB", min_chunks=8)["nfreq_windows"] == 8


def test_chunking_errors():
    with pytest.raises(PipelineError, match="even one channel of one integration needs"):
        choose_chunking((10, 100, 4, 1), (1, 1, 8192, 8192), "100MB")
    with pytest.raises(PipelineError, match="memory '4 parsecs' not understood"):
        choose_chunking((10, 100, 4, 1), (1, 1, 64, 64), "4 parsecs")
    with pytest.raises(PipelineError, match="memory_fraction must be in"):
        choose_chunking((10, 100, 4, 1), (1, 1, 64, 64), "1GB", memory_fraction=1.5)
    assert parse_memory("4GiB") == 4 * 2**30 and parse_memory("512 MB") == 512 * 10**6
    assert parse_memory(1000) == 1000
    with pytest.raises(PipelineError, match="must be > 0"):
        parse_memory(0)


def test_cube_images_are_split_with_the_channels():
    shape, cube = (50, 780, 64, 1), (64, 1, 256, 256)
    out = choose_chunking(shape, cube, "512MiB", image_per_channel=True)
    chunk_image = (-(-64 // out["nfreq_windows"]), 1, 256, 256)
    assert out["task_bytes"] == estimate_task_memory(out["window_shape"], chunk_image)["total"]
    # the whole cube in every task would need more splits (or not fit at all)
    assert estimate_task_memory(out["window_shape"], cube)["total"] > out["task_bytes"]
