"""``uvflow image --memory-limit``: the data split into chunks that fit, the same products.

The MS: MeerKAT within 1 km (44 dishes, 946 baselines), 8 integrations, 4 channels, three
sources; 64² images. The largest task of the whole data is estimated at 2.6 MiB (the PSF
task); a 3 MB limit (half of it for the tasks: 1.4 MiB) needs 2 frequency x 4 time chunks.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from astropy.io import fits

from uvflow.execution import rsexecute
from uvflow.pipelines.cli import main
from uvflow.pipelines.cli.image_memory import memory_limit, split_visibility

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
            ("split", ["--nworkers", "0", "--memory-limit", "3MB"]),
            ("dask", ["--nworkers", "2", "--memory-limit", "3MB"]),
            ("ical", ["--nworkers", "0", "--memory-limit", "4MB", "--mode", "ical",
                      "--calibration-context", "T"]),
            ("spectral", ["--nworkers", "0", "--memory-limit", "4MB", "--mode", "spectral"]),
        ):  # fmt: skip
            capture.messages.clear()
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
    assert whole == {"memory_limit_bytes": None, "source": "none", "windows": []}
    assert split["memory_limit_bytes"] == 3_000_000 and split["source"] == "--memory-limit"
    (w,) = split["windows"]
    assert (w["nfreq"], w["ntime"]) == (2, 4)
    assert w["task_bytes"] <= 3_000_000 // 2
    assert any(m.startswith("chunking: 2 frequency windows x 4 time chunks; largest task ~")
               and "within 1.4 MiB per task" in m for m in logs["split"])  # fmt: skip
    assert any("data split into 2 frequency x 4 time chunks" in m for m in logs["split"])
    assert any("no memory limit" in m for m in logs["whole"])


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
    """The same chunks on 2 workers (each chunk scattered on its own): same answer."""
    d, _ = runs
    assert _chunking(d, "dask")["windows"] == _chunking(d, "split")["windows"]
    for kind in KINDS:
        a = fits.getdata(d / f"split-{kind}.fits")
        b = fits.getdata(d / f"dask-{kind}.fits")
        assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(a)), kind


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
    assert memory_limit(None) == (None, "none")


def test_split_visibility(runs):
    from uvflow.datamodels import read_ms

    d, _ = runs
    (vis,) = read_ms(d / "c.ms")
    assert split_visibility(vis, 1, 1) is vis
    chunks = split_visibility(vis, 2, 3)
    assert [(c.nchan, c.ntime) for c in chunks] == [(2, 3), (2, 3), (2, 2)] * 2
    np.testing.assert_array_equal(np.concatenate([c.vis for c in chunks[:3]], axis=0),
                                  vis.vis[:, :, :2])  # fmt: skip


@pytest.mark.parametrize(
    "limit, message",
    [("4 parsecs", "--memory-limit: memory '4 parsecs' not understood"),
     ("0.5MB", "raise memory_limit or make smaller images")],
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
