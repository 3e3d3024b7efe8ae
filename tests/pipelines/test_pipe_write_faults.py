"""``uvflow image --write-model --write-corrected`` interrupted or doubled (issue 17, 3–4).

SIGINT/SIGTERM at random moments of a run: the MS afterwards is the original or the fully
written one. Two runs at once: the second waits, then is refused with a one-line message
(no casacore lock error). ``UVFLOW_HEAVY_FAULTS=1`` runs 20 signals of each kind.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("casacore.tables")

from uvflow.datamodels.io.ms_tables import open_table
from uvflow.pipelines.cli import main

HEAVY = os.environ.get("UVFLOW_HEAVY_FAULTS") == "1"
NSIGNALS = 20 if HEAVY else 2  # even: half of them during the column write
SIMULATE = [
    "simulate", "--array", "meerkat", "--rmax", "1000", "--ntimes", "16", "--nchan", "8",
    "--freq", "1.3e9", "1.45e9", "--nsrc", "3", "--flux", "0.5", "2", "--fov", "0.15deg",
    "--seed", "11",
]  # fmt: skip
IMAGE = ["-size", "64", "-scale", "10asec", "-niter", "200", "--nmajor", "2", "--mode", "ical",
         "--calibration-context", "T", "--nworkers", "0", "--write-model",
         "--write-corrected"]  # fmt: skip


CLI = "import sys; from uvflow.pipelines.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    ms = tmp_path_factory.mktemp("faults") / "f.ms"
    assert main([*SIMULATE, "--out", str(ms)]) == 0
    return ms


@pytest.fixture(scope="module")
def written(original, tmp_path_factory):
    """The fully written MS (an uninterrupted run)."""
    out = tmp_path_factory.mktemp("written")
    ms = out / "f.ms"
    shutil.copytree(original, ms)
    assert main(["image", str(ms), "-name", str(out / "w"), *IMAGE]) == 0
    return ms


def columns(path) -> dict:
    with open_table(str(path)) as t:
        return {c: t.getcol(c) for c in t.colnames() if c != "FLAG_CATEGORY"}


def same(a: dict, b: dict) -> bool:
    return sorted(a) == sorted(b) and all(np.array_equal(a[c], b[c]) for c in a)


def run(ms, name, **env) -> subprocess.Popen:
    cmd = [sys.executable, "-c", CLI, "image", str(ms), "-name", str(name), *IMAGE]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **env})  # fmt: skip


def _wait_for_staging(ms, proc, timeout: float = 300.0) -> bool:
    """Wait until the run has staged its columns (a ``_UVFLOW_TMP_`` column in table.dat)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if b"_UVFLOW_TMP_" in (ms / "table.dat").read_bytes():
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_at_random_moments_leaves_original_or_written(original, written, tmp_path, sig):
    """Half the signals at a random moment of the run (0.5–10 s; a run takes ~11 s here,
    ~8 of them starting Python), half at a random moment (0–0.5 s) after the columns
    were staged, i.e. during the column write."""
    before, after_full = columns(original), columns(written)
    assert "MODEL_DATA" in after_full and "CORRECTED_DATA" in after_full
    rng = random.Random(1700 + sig)
    outcomes = []
    for i in range(NSIGNALS):
        ms = tmp_path / f"f{i}.ms"
        shutil.copytree(original, ms)
        proc = run(ms, tmp_path / f"i{i}")
        if i % 2:
            staged = _wait_for_staging(ms, proc)
            time.sleep(rng.uniform(0.0, 0.5))
        else:
            staged = None
            time.sleep(rng.uniform(0.5, 10.0))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=300)
        assert "Traceback" not in err and "casacore" not in err.lower(), err
        now = columns(ms)
        if same(now, before):
            outcomes.append(f"original{'(staged)' * bool(staged)}")
        else:
            assert same(now, after_full), f"signal {i}: the MS is neither original nor written"
            outcomes.append(f"written{'(staged)' * bool(staged)}")
        shutil.rmtree(ms)
    print(sig.name, outcomes)


def test_two_runs_at_once_the_second_is_refused_with_a_message(original, tmp_path):
    ms = tmp_path / "f.ms"
    shutil.copytree(original, ms)
    first = run(ms, tmp_path / "a")
    # the second waits at most 1 s for the first's column write, so starts after it
    time.sleep(3)
    second = run(ms, tmp_path / "b", UVFLOW_MS_LOCK_TIMEOUT="1")
    results = [p.communicate(timeout=300) + (p.returncode,) for p in (first, second)]
    assert any(code == 0 for _, _, code in results)
    for _, err, code in results:
        assert "casacore" not in err.lower() and "Traceback" not in err, err
        if code != 0:  # refused: one line naming the other run
            assert "is writing it" in err, err
    assert not [c for c in columns(ms) if "_UVFLOW_" in c]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_write_model_on_a_full_disk_is_refused_and_changes_nothing(original, tmp_path):
    """The MS on a file system with 1 MiB free (the two copies need ~9 MiB): refused with
    the space needed and available, exit 2 (the CLI's status for an input it cannot use;
    not casacore's abort, 134), nothing left in the MS or at the products' paths."""
    mount = tmp_path / "small"
    mount.mkdir()
    size = sum(f.stat().st_size for f in original.rglob("*") if f.is_file()) + (1 << 20)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:  # fmt: skip
        pytest.skip("cannot mount a tmpfs here")
    try:
        ms = mount / "f.ms"
        shutil.copytree(original, ms)
        before, files = columns(ms), sorted(os.listdir(ms))
        proc = run(ms, tmp_path / "full")
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 2, err
        last = err.strip().splitlines()[-1]
        assert "needs about" in last and "MiB available" in last, last
        assert same(columns(ms), before)
        assert sorted(os.listdir(ms)) == files
        assert not list(tmp_path.glob("*full*"))
    finally:
        subprocess.run(["umount", str(mount)], check=False)
