"""SIGTERM stops ``uvflow image`` as Ctrl-C does (issue 17, item 5).

A real ``uvflow image`` process (the console script, as a job scheduler or ``kill`` meets
it) is sent SIGTERM or SIGINT mid-run — once its hidden temporary folder of products
exists, i.e. after every check and while it images — and must exit with 128 + the signal
(143, 130) after exactly one line on stderr, leaving nothing in the output directory: no
product and no ``.NAME.uvflow-tmp-*`` folder. The run (512² pixels, up to 30 major cycles
of a MeerKAT simulation) takes tens of seconds when left alone; the signal arrives about a
second into it and the process is gone within a few seconds, so the test takes ~10 s.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from uvflow.pipelines.cli import main

SIMULATE = ["simulate", "--array", "meerkat", "--rmax", "500", "--ntimes", "4", "--nchan", "2",
            "--freq", "1.3e9", "1.4e9", "--nsrc", "2", "--fov", "0.2deg"]  # fmt: skip
LONG_RUN = ["-size", "512", "-scale", "4asec", "-niter", "1000000", "-mgain", "0.8",
            "--nmajor", "30"]  # fmt: skip
UVFLOW = shutil.which("uvflow")


@pytest.fixture(scope="module")
def ms(tmp_path_factory):
    path = tmp_path_factory.mktemp("signals") / "small.ms"
    assert main(["-q", *SIMULATE, "--out", str(path)]) == 0
    return path


def _default_sigint() -> None:
    """In the child before exec: SIGINT as a terminal sends it (a test runner may ignore
    it, and an ignored SIGINT is inherited)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(predicate, timeout: float, proc) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < end, "the run did not start"
        time.sleep(0.05)


def _workers(pid: int) -> list[int]:
    """The Dask worker processes started by ``pid`` (multiprocessing's spawned children)."""
    found = []
    for child in subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                                text=True).stdout.split():  # fmt: skip
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"spawn_main" in f.read():
                    found.append(int(child))
        except OSError:
            pass
    return found


def _stop_mid_run(ms, out, signum, nworkers: str):
    """Start the long run, signal it once its temporary folder (and with Dask, a worker)
    exists and a second has passed; ``(status, stderr, the Dask workers it had)``."""
    argv = [UVFLOW, "-q", "image", str(ms), "-name", str(out / "x"), *LONG_RUN,
            "--nworkers", nworkers]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)  # fmt: skip
    try:
        _wait_for(lambda: any(".x.uvflow-tmp-" in p for p in os.listdir(out)), 120, proc)
        if nworkers != "0":
            _wait_for(lambda: _workers(proc.pid), 120, proc)
        time.sleep(1.0)  # into the imaging
        assert proc.poll() is None, proc.communicate()[1]
        workers = _workers(proc.pid)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err, workers


SIGNALS = [(signal.SIGTERM, 143, "uvflow: terminated (SIGTERM)"),
           (signal.SIGINT, 130, "uvflow: interrupted")]  # fmt: skip


@pytest.mark.skipif(UVFLOW is None, reason="the uvflow console script is not on PATH")
@pytest.mark.parametrize("signum, status, line", SIGNALS)
def test_signal_mid_run_leaves_nothing(ms, tmp_path, signum, status, line):
    """Serial: exactly one line on stderr (-q), nothing left."""
    out = tmp_path / "out"
    out.mkdir()
    code, err, _ = _stop_mid_run(ms, out, signum, "0")
    assert code == status, err
    assert err.strip() == line, err
    assert os.listdir(out) == []


@pytest.mark.skipif(UVFLOW is None, reason="the uvflow console script is not on PATH")
def test_sigterm_with_dask_workers_leaves_nothing(ms, tmp_path):
    """With a local Dask cluster: 143, nothing left, the worker processes gone. The line is
    uvflow's only one and the last; stderr may also hold what Dask itself prints (its
    start-up log, and the worker processes' own messages as they are stopped): those
    come from the cluster's logging set-up, outside the signal handling."""
    out = tmp_path / "out"
    out.mkdir()
    code, err, workers = _stop_mid_run(ms, out, signal.SIGTERM, "1")
    assert code == 143, err
    lines = err.strip().splitlines()
    assert lines[-1] == "uvflow: terminated (SIGTERM)", err
    assert [ln for ln in lines if ln.startswith("uvflow")] == lines[-1:], err
    assert os.listdir(out) == []
    end = time.monotonic() + 10  # the nanny has killed its worker; /proc may lag a little
    while any(os.path.exists(f"/proc/{w}") for w in workers) and time.monotonic() < end:
        time.sleep(0.1)
    assert workers and not [w for w in workers if os.path.exists(f"/proc/{w}")]
