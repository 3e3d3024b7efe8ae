"""``uvflow image`` on data it cannot image, and options that contradict each other (issue 17).

Each case ends in one line on stderr (``uvflow: error: …``, status 2) naming what is wrong
with the data or the options, or in a counted warning when the rest can be imaged; no
traceback, no product, and the input unchanged (a checksum of every file of the MS but its
lock file, which casacore rewrites on every open). The MSs are cut, with python-casacore,
from one small simulated observation (MeerKAT within 1 km, 4 integrations, 946 baselines,
2 channels, 3784 rows).
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import socket
import subprocess
import time

import numpy as np
import pytest
from astropy.io import fits

from uvflow.pipelines.cli import main

tables = pytest.importorskip("casacore.tables")

SIMULATE = [
    "simulate", "--array", "meerkat", "--rmax", "1000", "--ntimes", "4", "--nchan", "2",
    "--freq", "1.3e9", "1.4e9", "--nsrc", "2", "--flux", "0.5", "2", "--fov", "0.15deg",
    "--seed", "1",
]  # fmt: skip
#: a small image: every case here fails (or succeeds) before the imaging matters
IMAGE = ["-size", "64", "-scale", "10asec", "--nworkers", "0"]


def checksum(ms) -> str:
    """sha256 of every file of the MS (names and contents) but casacore's lock files."""
    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(ms)):
        dirs.sort()
        for name in sorted(files):
            if name == "table.lock":
                continue
            path = os.path.join(root, name)
            h.update(os.path.relpath(path, ms).encode())
            with open(path, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


@pytest.fixture(scope="module")
def sim_ms(tmp_path_factory):
    ms = tmp_path_factory.mktemp("bad-data") / "s.ms"
    assert main(["-q", *SIMULATE, "--out", str(ms)]) == 0
    return ms


def subset(ms, out, rows):
    """A deep copy of the rows ``rows`` of ``ms`` (subtables included)."""
    with tables.table(str(ms), ack=False) as t:
        t.selectrows(np.asarray(rows)).copy(str(out), deep=True, valuecopy=True).close()
    return out


def edited(ms, out, column, change):
    """A copy of ``ms`` whose ``column`` is ``change(values)``."""
    shutil.copytree(ms, out)
    with tables.table(str(out), readonly=False, ack=False) as t:
        t.putcol(column, change(t.getcol(column)))
    return out


def antennas(ms):
    with tables.table(str(ms), ack=False) as t:
        return t.getcol("ANTENNA1"), t.getcol("ANTENNA2")


def refused(ms, tmp_path, capsys, extra=(), options=IMAGE) -> str:
    """Run ``uvflow image``; assert status 2, one line, no product, the input unchanged;
    return the line."""
    before = checksum(ms)
    out = tmp_path / "products"
    out.mkdir()
    status = main(["-q", "image", str(ms), "-name", str(out / "img"), *options, *extra])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("uvflow: error: "), err
    assert list(out.iterdir()) == []
    assert checksum(ms) == before
    return lines[0]


@pytest.mark.parametrize("column, kind", [("FLAG", "boolean array"), ("UVW", "double array"),
                                          ("WEIGHT", "float array"), ("TIME", "double scalar")])  # fmt: skip
def test_datacolumn_must_hold_visibilities(sim_ms, tmp_path, capsys, column, kind):
    line = refused(sim_ms, tmp_path, capsys, ["--datacolumn", column])
    assert f"column '{column}' ({kind}) is not a data column" in line
    assert "a data column must be a complex visibility column; this MS has DATA" in line


def test_nonfinite_uvw_rows_are_flagged_and_counted(sim_ms, tmp_path, capsys):
    """5 rows of NaN/inf UVW: a warning counts them and the rest is imaged; the dirty image
    equals that of the same MS with those rows flagged instead (flagged samples carry no
    weight, wherever their uv point lies), to float32 rounding of the gridded sums."""
    bad = [5, 6, 7, 8, 20]

    def poison(uvw):
        uvw[bad[:4], 0] = np.nan
        uvw[bad[4], 2] = np.inf
        return uvw

    def flag(flags):
        flags[bad] = True
        return flags

    nan_ms = edited(sim_ms, tmp_path / "nan.ms", "UVW", poison)
    flagged_ms = edited(sim_ms, tmp_path / "flagged.ms", "FLAG", flag)
    before = checksum(nan_ms)
    args = [*IMAGE, "--mode", "invert"]
    assert main(["-q", "image", str(nan_ms), "-name", str(tmp_path / "nan"), *args]) == 0
    err = capsys.readouterr().err
    assert "5 of 3784 rows have a non-finite UVW (NaN or inf): they are flagged" in err
    assert "Traceback" not in err
    assert main(["-q", "image", str(flagged_ms), "-name", str(tmp_path / "flagged"), *args]) == 0
    assert checksum(nan_ms) == before
    got = fits.getdata(tmp_path / "nan-dirty.fits")
    expected = fits.getdata(tmp_path / "flagged-dirty.fits")
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def test_autocorrelations_only(sim_ms, tmp_path, capsys):
    ms = edited(sim_ms, tmp_path / "auto.ms", "ANTENNA2",
                lambda a2: antennas(sim_ms)[0])  # fmt: skip
    line = refused(ms, tmp_path, capsys)
    assert "holds only autocorrelations (all 3784 rows have ANTENNA1 == ANTENNA2)" in line


def test_one_baseline(sim_ms, tmp_path, capsys):
    a1, a2 = antennas(sim_ms)
    ms = subset(sim_ms, tmp_path / "one-baseline.ms", np.nonzero((a1 == 0) & (a2 == 1))[0])
    for extra in (["-niter", "100"], ["--mode", "invert"]):  # no beam to fit either way
        (tmp_path / extra[-1]).mkdir()
        line = refused(ms, tmp_path / extra[-1], capsys, extra)
        assert "one baseline (antennas 0 and 1; 4 row(s), 1 baseline(s), 4 integration(s)" in line
        assert "give data of two baselines or more" in line


def test_one_row(sim_ms, tmp_path, capsys):
    ms = subset(sim_ms, tmp_path / "one-row.ms", [0])
    line = refused(ms, tmp_path, capsys, ["-niter", "100"])
    assert "every (u, v) sample lies on one line through the origin (1 row(s)" in line


def test_two_baselines_are_imaged(sim_ms, tmp_path):
    """The limit is one baseline, not few: two of them image (default size and cell)."""
    a1, a2 = antennas(sim_ms)
    ms = subset(sim_ms, tmp_path / "two.ms", np.nonzero((a1 == 0) & (a2 >= 1) & (a2 <= 2))[0])
    assert main(["-q", "image", str(ms), "-name", str(tmp_path / "two"), "--nworkers", "0",
                 "-niter", "50"]) == 0  # fmt: skip
    assert np.all(np.isfinite(fits.getdata(tmp_path / "two-image.fits")))


@pytest.mark.parametrize("words", [["-weight", "briggs"], ["-size", "64", "-weight", "briggs"]])
def test_briggs_without_robustness(sim_ms, tmp_path, capsys, words):
    """WSClean's order (options, then the MS): the MS must not be taken for the robustness,
    nor the robustness forgotten be reported as a missing input."""
    before = checksum(sim_ms)
    status = main(["-q", "image", "-name", str(tmp_path / "img"), *words, str(sim_ms)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip() == ("uvflow: error: --weight briggs needs the robustness, from -2 "
                           "(uniform-like) to 2 (natural-like), e.g. '-weight briggs 0', "
                           f"not '{sim_ms}'")  # fmt: skip
    assert checksum(sim_ms) == before
    assert list(tmp_path.iterdir()) == []


def test_serial_run_checks_memory_before_allocating(sim_ms, tmp_path):
    """--size 40000 serially: refused from the estimate in seconds, the process never near
    the images' 12 GiB (the peak is the imports': ~0.2 GB; 1.5 GB leaves room for the other
    children this test process may have waited for)."""
    script = shutil.which("uvflow")
    assert script is not None
    start = time.monotonic()
    for mode in ("cip", "spectral"):
        run = subprocess.run([script, "-q", "image", str(sim_ms), "-name", str(tmp_path / "big"),
                              "-size", "40000", "--nworkers", "0", "--mode", mode],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        assert run.returncode == 2, run.stderr
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
        assert "images of 40000 x 40000 pixels" in run.stderr
        assert "before any data" in run.stderr and "--memory-limit" in run.stderr
    assert time.monotonic() - start < 60
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 1.5 * 2**20  # KiB
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["table.f0", "table.dat", "table.f0_TSM0"])
def test_truncated_table_file(sim_ms, tmp_path, capsys, name):
    """Half of one table file cut off: the main table's column description, the table
    description, the DATA column's tiles."""
    ms = tmp_path / "cut.ms"
    shutil.copytree(sim_ms, ms)
    path = ms / name
    os.truncate(path, path.stat().st_size // 2)
    line = refused(ms, tmp_path, capsys)
    assert "cannot be read (a table file damaged or truncated?)" in line
    assert "MeasurementSetError" in line


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def test_environment_scheduler_refused_fails_at_once(sim_ms, tmp_path, capsys, monkeypatch):
    address = closed_port()
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER", address)
    start = time.monotonic()
    line = refused(sim_ms, tmp_path, capsys, options=IMAGE[:4])
    assert time.monotonic() - start < 15  # not the 30 s connection timeout
    assert f"at {address} (from $UVFLOW_DASK_SCHEDULER): the connection was refused" in line


def test_nworkers_beats_the_environment(sim_ms, tmp_path, capsys, monkeypatch):
    """--nworkers 0 with $UVFLOW_DASK_SCHEDULER set: serial, and a warning says the
    scheduler is not used (a refused address: were it used, the run would fail)."""
    address = closed_port()
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER", address)
    status = main(["-q", "image", str(sim_ms), "-name", str(tmp_path / "img"), *IMAGE])
    err = capsys.readouterr().err
    assert status == 0, err
    assert (f"$UVFLOW_DASK_SCHEDULER={address} not used: --nworkers 0 runs serially (the "
            "command line beats the environment)") in err  # fmt: skip
    assert (tmp_path / "img-image.fits").is_file()


@pytest.mark.cluster
def test_nworkers_starts_a_local_cluster_despite_the_environment(sim_ms, tmp_path, capsys,
                                                                 monkeypatch):  # fmt: skip
    """--nworkers 1 with $UVFLOW_DASK_SCHEDULER set (a refused address): a local cluster
    of one worker runs the image, and the warning says the scheduler is not used."""
    monkeypatch.setenv("UVFLOW_DASK_SCHEDULER", closed_port())
    argv = ["-q", "image", str(sim_ms), "-name", str(tmp_path / "img"), *IMAGE[:4],
            "--nworkers", "1"]  # fmt: skip
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 0, err
    assert "not used: --nworkers 1 starts a local cluster" in err
    assert (tmp_path / "img-image.fits").is_file()


def test_an_input_of_autocorrelations_only_beside_others(sim_ms, tmp_path, capsys):
    """Two inputs, one of them autocorrelations only: a warning names it, the other is
    imaged (its dirty image is that of the other input alone, exactly)."""
    auto = edited(sim_ms, tmp_path / "auto.ms", "ANTENNA2", lambda a2: antennas(sim_ms)[0])
    both = ["-q", "image", str(auto), str(sim_ms), "-name", str(tmp_path / "both"), *IMAGE]
    assert main(both) == 0
    err = capsys.readouterr().err
    assert f"{auto} holds only autocorrelations" in err and "nothing of it is imaged" in err
    assert main(["-q", "image", str(sim_ms), "-name", str(tmp_path / "one"), *IMAGE]) == 0
    np.testing.assert_array_equal(fits.getdata(tmp_path / "both-dirty.fits"),
                                  fits.getdata(tmp_path / "one-dirty.fits"))  # fmt: skip
