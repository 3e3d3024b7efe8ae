"""``uvflow image --memory-limit``: the data split into chunks that fit, the same products.

The MS: MeerKAT within 1 km (44 dishes, 946 baselines), 8 integrations, 4 channels, three
sources; 64² images. The largest task of the whole data is estimated at 2.6 MiB (the PSF
task). ``--memory-limit`` bounds a whole process, so what the tasks may use is the limit
above what the process holds before reading data (its baseline, measured when the run
plans its chunks); the runs here are in this test process, so the limit is its RSS plus
3 MB (half of that for a task: ~1.4 MiB), which needs several chunks. The planner's choice
for an exact budget is tested directly (``chunk_piece`` with a given ``MemoryBudget``).
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from astropy.io import fits

from uvflow.datamodels.io import ms_index
from uvflow.execution import current_rss_bytes, rsexecute
from uvflow.pipelines.cli import main
from uvflow.pipelines.cli.image_data import Piece
from uvflow.pipelines.cli.image_memory import (
    PLANNING_BASELINE,
    MemoryBudget,
    chunk_piece,
    memory_limit,
    planning_baseline,
)

SIMULATE = [
    "simulate", "--array", "meerkat", "--rmax", "1000", "--ntimes", "8", "--nchan", "4",
    "--freq", "1.3e9", "1.45e9", "--nsrc", "3", "--flux", "0.5", "2", "--fov", "0.15deg",
    "--seed", "7",
]  # fmt: skip
IMAGE = ["-size", "64", "-scale", "10asec", "-niter", "200", "--accuracy", "1e-5"]
KINDS = ("dirty", "psf", "model", "residual", "image")


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("chunks")
    ms = d / "c.ms"
    assert main([*SIMULATE, "--out", str(ms)]) == 0
    capture = _Capture()
    loggers = [logging.getLogger(n) for n in ("uvflow.pipelines.memory_plan",
                                              "uvflow.pipelines.cli.image_memory")]  # fmt: skip
    for lg in loggers:
        lg.addHandler(capture)
    logs = {}
    try:
        for name, extra in (
            ("whole", ["--nworkers", "0"]),
            ("split", ["--nworkers", "0", "--memory-limit", "+3MB"]),
            ("fixed", ["--nworkers", "0", "--task-memory", "900000"]),
            ("dask", ["--nworkers", "2", "--task-memory", "900000"]),
            ("ical", ["--nworkers", "0", "--task-memory", "1400000", "--mode", "ical",
                      "--calibration-context", "T"]),
            ("spectral", ["--nworkers", "0", "--task-memory", "1500000", "--mode", "spectral"]),
        ):  # fmt: skip
            capture.messages.clear()
            if "+3MB" in extra or "+4MB" in extra:  # the limit above this process's RSS
                i = extra.index("--memory-limit") + 1
                extra = list(extra)
                extra[i] = str(current_rss_bytes() + int(extra[i][1]) * 10**6)
            assert main(["image", str(ms), "-name", str(d / name), *IMAGE, *extra]) == 0
            logs[name] = list(capture.messages)
    finally:
        for lg in loggers:
            lg.removeHandler(capture)
    return d, logs


def _chunking(d, name) -> dict:
    return json.loads((d / f"{name}-report.json").read_text())["chunking"]


def test_small_limit_forces_chunks_and_logs_the_estimate(runs):
    d, logs = runs
    whole, split = _chunking(d, "whole"), _chunking(d, "split")
    assert whole["source"] == "half of this machine's memory"
    assert [(w["nfreq"], w["ntime"]) for w in whole["windows"]] == [(1, 1)]
    assert split["source"] == "--memory-limit" and split["resident"] is not None
    (w,) = split["windows"]
    assert w["nfreq"] * w["ntime"] > 1 and w["nchunks"] == w["nfreq"] * w["ntime"]
    assert any(m.startswith("chunking: ") and "largest task ~" in m for m in logs["split"])
    assert any("split into" in m and "time chunks" in m for m in logs["split"])


def test_planner_for_a_given_budget(runs):
    """With 1.8 MB above the baseline (0.9 MB per task) the planner picks the fewest
    frequency x time chunks whose estimate fits (the whole data's is 1.78 MB), and the
    chunks hold every sample once."""
    import math

    d, _ = runs
    (part,) = ms_index(d / "c.ms")
    from uvflow.datamodels import create_image
    from uvflow.pipelines import estimate_task_memory

    template = create_image(64, np.deg2rad(10 / 3600), part.phasecentre, 1.375e9,
                            channel_bandwidth=2e8)  # fmt: skip
    budget = MemoryBudget(limit=200_000_000 + 1_800_000, source="test", baseline=200_000_000,
                          nworkers=1, threads=1)  # fmt: skip
    chunks, choice = chunk_piece(Piece(part, np.arange(part.nchan), 0), template, "cip",
                                 budget, "TG")  # fmt: skip

    def estimate(f, t):
        shape = (math.ceil(part.ntime / t), part.nbaseline, math.ceil(part.nchan / f), 1)
        return estimate_task_memory(shape, template.data.shape, np.complex64, np.float32)["total"]

    f, t = choice["nfreq"], choice["ntime"]
    assert choice["task_bytes"] == estimate(f, t) <= 900_000 < estimate(1, 1)
    fewer = [(a, b) for a in range(1, 5) for b in range(1, 9) if a * b < f * t]
    assert all(estimate(a, b) > 900_000 for a, b in fewer)
    assert len(chunks) == f * t and sum(c.shape[0] * c.shape[2] for c in chunks) == 8 * 4


def test_chunked_products_equal_the_whole_run(runs):
    """Each chunk is gridded to --accuracy 1e-5 and the chunks' images are summed: the
    products agree to 1e-4 of the restored peak (measured ≤ 1.3e-6, the PSF 3.2e-6 of its
    unit peak; the residual's difference is 4e-5 of its own much smaller peak)."""
    d, _ = runs
    peak = float(np.max(fits.getdata(d / "whole-image.fits")))
    for kind in KINDS:
        a = fits.getdata(d / f"whole-{kind}.fits")
        b = fits.getdata(d / f"split-{kind}.fits")
        scale = 1.0 if kind == "psf" else peak
        assert np.max(np.abs(a - b)) <= 1e-4 * scale, kind


def test_chunked_dask_equals_chunked_serial(runs):
    """The same chunks on 2 workers (each read by its own task): the same answer, to float
    rounding (the chunk images are summed serially in pairs then a running sum, on Dask
    as one balanced tree: sum_map_rsexecute; float32 images, so 1e-6 of the peak). The
    workers' baseline is not this process's, so both runs give the task memory instead."""
    d, _ = runs
    assert _chunking(d, "dask")["windows"] == _chunking(d, "fixed")["windows"]
    assert sum(w["nchunks"] for w in _chunking(d, "dask")["windows"]) > 4
    for kind in KINDS:
        a = fits.getdata(d / f"fixed-{kind}.fits")
        b = fits.getdata(d / f"dask-{kind}.fits")
        assert np.max(np.abs(a - b)) <= 1e-6 * np.max(np.abs(a)), kind


def test_split_axes_follow_the_mode(runs):
    """ICAL's global solution needs chunks that share their times (frequency only); a
    spectral cube needs every channel in each chunk (time only)."""
    d, _ = runs
    (ical,) = _chunking(d, "ical")["windows"]
    assert ical["ntime"] == 1 and ical["nfreq"] > 1
    (spectral,) = _chunking(d, "spectral")["windows"]
    assert spectral["nfreq"] == 1 and spectral["ntime"] > 1
    assert (d / "ical-gaintable.zarr").exists()  # one global table despite the chunks
    assert len(list(d.glob("spectral-0*-image.fits"))) == 4  # one per data channel


def test_default_limit_is_the_workers(tmp_path):
    rsexecute.set_client(use_dask=True, n_workers=1, threads_per_worker=1,
                         memory_limit="1GiB", dashboard_address=None)  # fmt: skip
    try:
        assert memory_limit(None) == (2**30, "the Dask workers' memory limit")
        assert memory_limit("2GB") == (2 * 10**9, "--memory-limit")
    finally:
        rsexecute.close()
    rsexecute.set_client(use_dask=False)
    assert memory_limit(None)[1] == "half of this machine's memory"


@pytest.mark.parametrize(
    "limit, message",
    [("4 parsecs", "--memory-limit: memory '4 parsecs' not understood"),
     ("0.5MB", "is below what a process holds before reading any data")],
)  # fmt: skip
def test_bad_memory_limit(runs, tmp_path, capsys, limit, message):
    d, _ = runs
    out = tmp_path / "out"
    out.mkdir()
    argv = ["image", str(d / "c.ms"), "-name", str(out / "x"), *IMAGE, "--nworkers", "0",
            "--memory-limit", limit]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([ln for ln in err if ln.startswith("uvflow: error:")]) == 1
    assert message in err[-1]
    assert list(out.iterdir()) == []


def test_serial_and_dask_plan_with_one_baseline():
    """The command's process (115 MiB measured) and a fresh Dask worker (62 MiB) plan the
    same chunks for one limit: planned from their own baselines they chunked the 5.9 GB MS
    differently (40 and 35 chunks), and the images were 1.4e-6 of the peak apart."""
    mib, gib = 2**20, 2**30
    assert (
        planning_baseline(115 * mib, gib) == planning_baseline(62 * mib, gib) == PLANNING_BASELINE
    )
    assert planning_baseline(300 * mib, gib) == 300 * mib  # a bigger process counts as it is
    assert planning_baseline(20 * mib, 100 * mib) == 25 * mib  # a small limit stays usable
