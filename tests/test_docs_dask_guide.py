"""The Dask guide (docs/dask.md): its tested code blocks run here and do what it says.

Each block marked ``:caption: tested`` is taken from the page itself (by its ``:name:``)
and run as it is written, in a fresh Python process: graphs serial / threads /
LocalCluster, a LocalCluster with worker and memory options, logging on every worker,
statistics files. The shell blocks (a scheduler and workers started by hand with
``dask scheduler`` / ``dask worker``, found through ``$UVFLOW_DASK_SCHEDULER`` or a
scheduler file) are run command by command, with the guide's port 8786 (and dashboard
port 8787) replaced by free ports, so nothing else on the machine is disturbed. The
SLURM block is run with ``jobs=0`` (no sbatch here: nothing is submitted) and its job
script is checked for what the guide says it holds.

Processes are started and stopped like ``tests/execution/conftest.py`` does (own process
group, SIGTERM then SIGKILL); the helpers are imported from there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import shlex
import socket
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "dask.md"


def _load_cluster_helpers():
    """``_start``/``_stop`` of tests/execution/conftest.py (same process handling)."""
    spec = importlib.util.spec_from_file_location(
        "uvflow_execution_test_helpers", ROOT / "tests" / "execution" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module._start, module._stop


_start, _stop = _load_cluster_helpers()


def guide_block(name: str) -> str:
    """The body of the code block with ``:name: <name>`` in docs/dask.md."""
    text = GUIDE.read_text(encoding="utf-8")
    m = re.search(r"```\{code-block\} \w+\n:name: " + re.escape(name) + r"\n(.*?)```", text, re.S)
    assert m, f"docs/dask.md has no code block named {name!r}"
    lines = m.group(1).splitlines()
    while lines and lines[0].startswith(":"):  # the directive's options
        lines.pop(0)
    return "\n".join(lines).strip() + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("UVFLOW_DASK_SCHEDULER", "RASCIL_DASK_SCHEDULER", "UVFLOW_DASK_SCHEDULER_FILE")
    }
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    env.update(extra)
    return env


def run_python(code: str, directory: pathlib.Path, timeout: float = 120, **env) -> str:
    script = directory / "guide_block.py"
    script.write_text(code)
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(**env),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.cluster
def test_graph_block_gives_285_in_every_mode(tmp_path):
    out = run_python(guide_block("dask-graph"), tmp_path).split()
    assert out == ["285"] * 4


@pytest.mark.cluster
def test_single_machine_block(tmp_path):
    out = run_python(guide_block("dask-local"), tmp_path).splitlines()
    assert out[0] == "distributed 2"
    assert out[1].startswith("http://") and out[1].endswith("/status")


def _shell_commands(name: str, port: int, dashboard: int) -> list[list[str]]:
    """The block's commands, split; the guide's ports replaced by free ones."""
    out = []
    for line in guide_block(name).splitlines():
        line = line.rstrip(" &").replace("8786", str(port)).replace(":8787", f":{dashboard}")
        out.append(shlex.split(line))
    return out


def _run_by_hand(name: str, tmp_path: pathlib.Path) -> tuple[str, str]:
    """Start the block's ``dask scheduler`` and ``dask worker``; run its Python line."""
    port, dashboard = free_port(), free_port()
    commands = _shell_commands(name, port, dashboard)
    assert [c[:2] for c in commands[:2]] == [["dask", "scheduler"], ["dask", "worker"]]
    env_assignment, python, script = commands[2]
    assert (python, script) == ("python", "my_workflow.py")
    var, value = env_assignment.split("=", 1)
    (tmp_path / "my_workflow.py").write_text(guide_block("dask-my-workflow"))
    processes = []
    try:
        # `python -m dask` is the `dask` command of this interpreter's environment
        processes.append(_start(["dask", *commands[0][1:]], str(tmp_path), "scheduler"))
        if var == "UVFLOW_DASK_SCHEDULER_FILE":
            deadline = time.monotonic() + 60
            while not (tmp_path / value).exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            address = json.loads((tmp_path / value).read_text())["address"]
        else:
            address = value
        processes.append(_start(["dask", *commands[1][1:]], str(tmp_path), "worker"))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
        proc = subprocess.run(
            [sys.executable, script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_env(**{var: value}),
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout, address
    finally:
        _stop(processes)


@pytest.mark.cluster
def test_scheduler_by_hand_through_environment(tmp_path):
    out, address = _run_by_hand("dask-by-hand", tmp_path)
    lines = out.splitlines()
    # connected to the external scheduler (not a new LocalCluster) with its 2 workers
    assert lines[0] == f"{address} 2"
    assert lines[1] == "285"


@pytest.mark.cluster
def test_scheduler_file(tmp_path):
    out, address = _run_by_hand("dask-scheduler-file", tmp_path)
    lines = out.splitlines()
    assert lines[0] == f"{address} 2" and lines[1] == "285"


@pytest.mark.cluster
def test_slurm_block_job_script(tmp_path):
    pytest.importorskip("dask_jobqueue")
    code = guide_block("dask-slurm")
    assert "jobs=4," in code
    code = code.replace("jobs=4,", "jobs=0,")  # no sbatch here: submit nothing
    assert 'interface="ib0",' in code
    code = code.replace('interface="ib0",', 'interface="lo",')  # no InfiniBand here
    code = code.replace("    rsexecute.set_client(client=Client(cluster))\n    ...\n", "")
    out = run_python(code, tmp_path)
    for line in (
        "#SBATCH -p compute",
        "#SBATCH -A proj42",
        "#SBATCH -t 02:00:00",
        "#SBATCH --cpus-per-task=16",
        "#SBATCH --mem=56G",  # 60 GB = 55.9 GiB, as jobqueue writes it
        "#SBATCH --qos=normal",
        "module load python",
        "source ~/venvs/uvflow/bin/activate",
        "--nworkers 4",
        "--nthreads 4",
        "--memory-limit 13.97GiB",  # memory / processes: what the guide says each worker gets
        "--interface lo",
        "--local-directory $TMPDIR",
    ):
        assert line in out, out


@pytest.mark.cluster
def test_logging_block_writes_shared_and_per_worker_files(tmp_path):
    out = run_python(guide_block("dask-logging"), tmp_path)
    paths = set(eval(out.splitlines()[0]).values())  # {worker address: log path}
    assert paths == {str(tmp_path / "run.log")}
    text = (tmp_path / "run.log").read_text()
    assert sorted(int(n) for n in re.findall(r"step (\d+)", text)) == [0, 1, 2, 3]
    per_worker = sorted(p.name for p in tmp_path.glob("run-*.log"))
    assert len(per_worker) == 2, per_worker


@pytest.mark.cluster
def test_statistics_block_writes_the_three_files(tmp_path):
    out = run_python(guide_block("dask-statistics"), tmp_path).splitlines()
    assert eval(out[0]) == ["profile", "statistics", "task_stream"]  # keys of stats["files"]
    for name in ("run1_task_stream.html", "run1_profile.html", "run1_statistics.json"):
        assert (tmp_path / "reports" / name).stat().st_size > 0
    calls, n_tasks, speedup = out[1].split()
    assert int(calls) == 8 and int(n_tasks) == 8
    assert float(speedup) > 0
    stats = json.loads((tmp_path / "reports" / "run1_statistics.json").read_text())
    assert stats["functions"]["work"]["calls"] == 8


def _keywords(call: str, func_name: str) -> dict[str, str]:
    """keyword → source text of its value, in the call ``func_name(...)`` of a block."""
    import ast

    tree = ast.parse(call)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == func_name
        ):
            return {kw.arg: ast.unparse(kw.value) for kw in node.keywords}
    raise AssertionError(f"no call of {func_name} in the block")


def test_set_client_block_is_the_real_signature():
    import inspect

    from uvflow.execution import rsexecute

    documented = _keywords(guide_block("dask-set-client"), "set_client")
    params = inspect.signature(rsexecute.set_client).parameters
    # every keyword, each with its real default (nworkers is mentioned as an alias)
    assert set(documented) == set(params) - {"nworkers"}
    for name, value in documented.items():
        assert eval(value) == params[name].default, name


def test_ssh_block_keywords_exist():
    import inspect

    from uvflow.execution import ssh_cluster

    documented = _keywords(guide_block("dask-ssh"), "ssh_cluster")
    assert set(documented) <= set(inspect.signature(ssh_cluster).parameters)


def _cli_options(command: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "dask", command, "--help"], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return set(re.findall(r"(--[a-z][a-z-]+)", proc.stdout))


def test_batch_script_dask_options_exist():
    script = guide_block("dask-batch").replace("\\\n", " ")
    scheduler_line = next(line for line in script.splitlines() if line.startswith("dask scheduler"))
    worker_line = next(line for line in script.splitlines() if "dask worker" in line)
    used_scheduler = set(re.findall(r"(--[a-z][a-z-]+)", scheduler_line))
    used_worker = set(re.findall(r"(--[a-z][a-z-]+)", worker_line.split("dask worker", 1)[1]))
    assert used_scheduler and used_worker
    assert used_scheduler <= _cli_options("scheduler")
    assert used_worker <= _cli_options("worker")
