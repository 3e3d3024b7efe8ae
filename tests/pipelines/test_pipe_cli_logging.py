"""``uvflow image`` prints the same log lines serially and on Dask workers.

The lines that imaging and pipeline code logs inside tasks (the minor cycle's
"deconvolve_cube: ..." line, for one) are forwarded from the Dask workers to the command's
stderr handler (``rsexecute.set_client`` forwards the ``uvflow`` records of the workers,
see ``uvflow.execution.log_forwarding``). ``uvflow image`` runs here (``main``), twice: with
``--nworkers 0`` (serial, no Dask) and ``--nworkers 2`` (a LocalCluster of 2 worker
processes). What its stderr handler wrote (``capsys``: the workers' own stderr is not in
it) is parsed, and the ``uvflow.imaging.*`` / ``uvflow.pipelines.*`` lines of the two runs
are compared as multisets, with durations masked. INFO lines only: some warnings are given
once per process, and both runs share this one. Left out: the lines that only exist, or
differ, with Dask by design (the execution package's, the dashboard address, the chunking
plan, which depends on the workers' memory limit).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from uvflow.pipelines.cli import main

SIMULATE = ["simulate", "--array", "meerkat", "--rmax", "500", "--ntimes", "4", "--nchan", "2",
            "--freq", "1.3e9", "1.4e9", "--nsrc", "3", "--flux", "0.5", "2", "--fov", "0.1deg",
            "--seed", "3"]  # fmt: skip
IMAGE = ["-size", "64", "-scale", "10asec", "-niter", "300", "--nmajor", "2"]

#: a line of the command's stderr handler: "%H:%M:%S LEVEL logger: message"
LINE = re.compile(r"^\d\d:\d\d:\d\d (INFO) (uvflow\.\S+): (.*)$")
COMPARED = ("uvflow.imaging.", "uvflow.pipelines.")
#: lines that exist or differ only with Dask, by design (the peak memory adds the workers')
DASK_ONLY = re.compile(
    r"\bDask\b|dashboard|\bchunk|\bworkers?\b|tasks done|computing \d+ tasks|peak memory"
)
DURATION = re.compile(r"\b\d+(?:\.\d+)?(?:e[-+]?\d+)? ?(?:s|ms)\b")


@pytest.fixture(scope="module")
def small_ms(tmp_path_factory):
    ms = tmp_path_factory.mktemp("logsim") / "small.ms"
    assert main([*SIMULATE, "--out", str(ms)]) == 0
    return ms


def run_image(ms, out, nworkers: int, capsys, monkeypatch) -> str:
    """What ``uvflow image`` wrote to stderr."""
    for var in ("UVFLOW_DASK_SCHEDULER", "RASCIL_DASK_SCHEDULER", "UVFLOW_DASK_SCHEDULER_FILE"):
        monkeypatch.delenv(var, raising=False)  # a local cluster, whatever the environment
    capsys.readouterr()
    argv = ["image", str(ms), "-name", str(out / "img"), *IMAGE, "--nworkers", str(nworkers)]
    assert main(argv) == 0
    return capsys.readouterr().err.replace(str(out), "<out>")


def compared_lines(stderr: str) -> Counter:
    lines = Counter()
    for text in stderr.splitlines():
        m = LINE.match(text)
        if m and m.group(2).startswith(COMPARED) and not DASK_ONLY.search(m.group(3)):
            message = " ".join(DURATION.sub("<t>", m.group(3)).split())
            lines[(m.group(1), m.group(2), message)] += 1
    return lines


@pytest.mark.cluster
def test_serial_and_dask_runs_print_the_same_lines(small_ms, tmp_path, capsys, monkeypatch):
    (tmp_path / "serial").mkdir()
    (tmp_path / "dask").mkdir()
    serial = compared_lines(run_image(small_ms, tmp_path / "serial", 0, capsys, monkeypatch))
    dask = compared_lines(run_image(small_ms, tmp_path / "dask", 2, capsys, monkeypatch))
    assert serial == dask, (
        f"only serial: {sorted((serial - dask).elements())}\n"
        f"only on Dask: {sorted((dask - serial).elements())}"
    )
    # the per-stage lines and the per-major-cycle lines (logged by the minor cycle's task)
    # are among those compared: two cycles, each in both runs
    messages = [message for _, _, message in serial.elements()]
    assert {m.split()[1] for m in messages if m.startswith("stage ")} >= {"read", "invert"}
    cycles = {m.split()[2] for m in messages if m.startswith("major cycle ")}
    assert cycles == {"0:", "1:"}, messages
    # a line logged inside a task, on a worker, reached the command's output
    assert any(
        name == "uvflow.imaging.deconvolution.minor_cycle" and message.startswith("deconvolve_cube")
        for _, name, message in dask
    ), sorted(dask)


@pytest.mark.cluster
def test_quiet_on_a_local_cluster_prints_nothing(small_ms, tmp_path):
    """``uvflow -q`` on a local cluster: warnings and errors only, so a good run prints
    nothing — distributed's own INFO lines (its scheduler's, which it configures itself
    when imported, and the workers') included. A fresh process: here dask is imported."""
    import os
    import subprocess
    import sys

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("UVFLOW_DASK", "RASCIL_DASK", "DASK_"))
    }
    script = "import sys; from uvflow.pipelines.cli.main import main; sys.exit(main())"
    argv = ["-q", "image", str(small_ms), "-name", str(tmp_path / "q"), *IMAGE, "--nworkers", "1"]
    run = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True,
                         env=env, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
