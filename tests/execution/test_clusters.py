"""ssh_cluster and slurm_cluster: argument checking, missing extras, and real clusters.

There is no sshd or SLURM here. The SLURM helper is checked by creating the cluster
(the scheduler runs here) without submitting jobs and reading its job script. The
SSH helper is run for real against an in-process SSH server (asyncssh) that executes
commands on this machine, so distributed's SSHCluster goes through the SSH protocol.
"""

from __future__ import annotations

import asyncio
import operator
import os
import signal
import sys
import threading

import pytest

from uvflow.execution import MissingExtraError, rsexecute, slurm_cluster, ssh_cluster


def slurm_options(**extra):
    return {"cores": 2, "memory": "4GB", "scheduler_options": {"dashboard_address": ":0"}, **extra}


@pytest.mark.cluster
def test_slurm_job_script_and_no_submission():
    pytest.importorskip("dask_jobqueue")
    cluster = slurm_cluster(
        **slurm_options(
            jobs=0,
            walltime="00:10:00",
            queue="debug",
            account="proj42",
            job_extra_directives=["--qos=short"],
            job_script_prologue=["module load python"],
            local_directory="/tmp/scratch",
        )
    )
    try:
        script = cluster.job_script()
        for line in (
            "#SBATCH -p debug",
            "#SBATCH -A proj42",
            "#SBATCH -t 00:10:00",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --mem=4G",
            "#SBATCH --qos=short",
            "module load python",
            "--local-directory /tmp/scratch",
            "distributed.cli.dask_worker",
        ):
            assert line in script, script
        assert cluster.worker_spec == {} and cluster.workers == {}  # nothing submitted
        assert cluster.scheduler_address.startswith("tcp://")
    finally:
        cluster.close()


@pytest.mark.cluster
def test_slurm_adaptive():
    pytest.importorskip("dask_jobqueue")
    cluster = slurm_cluster(**slurm_options(adapt=(0, 3), processes=2))
    try:
        assert cluster._adaptive is not None
        assert cluster.worker_spec == {}  # no load, no jobs
    finally:
        cluster.close()


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"cores": 0}, "cores"),
        ({"processes": 3}, "processes"),
        ({"memory": ""}, "memory"),
        ({"jobs": -1}, "jobs"),
        ({"adapt": (3, 1)}, "adapt"),
        ({"adapt": (1,)}, "adapt"),
    ],
)
def test_slurm_bad_arguments(bad, message):
    with pytest.raises(ValueError, match=message):
        slurm_cluster(**{**slurm_options(), **bad})


def test_slurm_unknown_keyword():
    pytest.importorskip("dask_jobqueue")  # the valid keywords are SLURMCluster's
    with pytest.raises(TypeError, match="did you mean 'walltime'") as info:
        slurm_cluster(cores=1, memory="1GB", wall_time="01:00:00")
    for name in ("adapt", "queue", "account", "job_extra_directives", "interface"):
        assert name in str(info.value)


def test_slurm_job_options_are_slurmclusters_keywords():
    jobqueue = pytest.importorskip("dask_jobqueue")
    from uvflow.execution.clusters import slurm_job_options

    options = slurm_job_options(jobqueue)
    for name in ("walltime", "queue", "account", "job_script_prologue", "scheduler_options"):
        assert name in options
    for name in ("cores", "memory", "processes", "n_workers", "job_cls", "loop"):
        assert name not in options  # slurm_cluster's own, or dask-jobqueue's internals


@pytest.mark.cluster
def test_slurm_defaults_nones_and_tuples():
    pytest.importorskip("dask_jobqueue")
    cluster = slurm_cluster(
        **slurm_options(jobs=0, queue=None, job_extra_directives=("--qos=short",))
    )
    try:
        script = cluster.job_script()
        assert "#SBATCH -t 01:00:00" in script and "#SBATCH --qos=short" in script
        assert "#SBATCH -p" not in script  # None: dask-jobqueue's default (no partition)
    finally:
        cluster.close()


def test_missing_extras_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'uvflow-execution\[slurm\]'"):
        slurm_cluster(cores=1, memory="1GB")
    monkeypatch.setitem(sys.modules, "asyncssh", None)
    with pytest.raises(ImportError, match=r"pip install 'uvflow-execution\[ssh\]'"):
        ssh_cluster(["localhost", "localhost"])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"hosts": "localhost"}, TypeError, "list of host names"),
        ({"hosts": ["localhost"]}, ValueError, "at least two"),
        ({"hosts": ["localhost", ""]}, ValueError, "non-empty"),
        ({"hosts": ["a", "b"], "connect_options": [{}]}, ValueError, "one per host"),
        ({"hosts": ["a", "b"], "remote_python": ["python"] * 3}, ValueError, "one per host"),
        ({"hosts": ["a", "b"], "n_workers": 0}, ValueError, "n_workers"),
        ({"hosts": ["a", "b"], "threads_per_worker": 0}, ValueError, "threads_per_worker"),
        ({"hosts": ["a", "b"], "nthreads": 2}, TypeError, "threads_per_worker"),
    ],
)
def test_ssh_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        ssh_cluster(**kwargs)


class LocalSSHServer:
    """An SSH server on 127.0.0.1 (no authentication) running each command in a shell here."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.pids: list[int] = []
        self.handlers: set = set()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)

    async def _start(self):
        import asyncssh

        class NoAuth(asyncssh.SSHServer):
            def begin_auth(self, username):
                return False

        key = asyncssh.generate_private_key("ssh-ed25519")
        self.server = await asyncssh.create_server(
            NoAuth,
            "127.0.0.1",
            0,
            server_host_keys=[key],
            process_factory=self._run,
            encoding=None,  # bytes, copied as they are
        )
        return self.server.sockets[0].getsockname()[1]

    async def _run(self, process):
        self.handlers.add(asyncio.current_task())
        proc = await asyncio.create_subprocess_shell(
            process.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        self.pids.append(proc.pid)
        pumps = [
            asyncio.ensure_future(_pump(proc.stdout, process.stdout)),
            asyncio.ensure_future(_pump(proc.stderr, process.stderr)),
        ]
        exited = asyncio.ensure_future(proc.wait())
        closed = asyncio.ensure_future(process.wait_closed())
        await asyncio.wait({exited, closed}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            await asyncio.gather(*pumps)
            process.exit(exited.result())
        else:  # the client went away: end the command, like sshd would
            _killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(exited), 10)
            except asyncio.TimeoutError:
                _killpg(proc.pid, signal.SIGKILL)
                await exited
        try:  # the pipes reach EOF once the process group is gone
            await asyncio.wait_for(asyncio.gather(*pumps), 5)
        except asyncio.TimeoutError:
            pass
        closed.cancel()

    def close(self):
        async def stop():
            self.server.close()
            await self.server.wait_closed()
            pending = [t for t in self.handlers if not t.done()]
            if pending:  # commands still ending after their clients left
                await asyncio.wait(pending, timeout=15)
            for pid in self.pids:
                _killpg(pid, signal.SIGKILL)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def _pump(source, channel):
    """Copy a subprocess pipe to an SSH channel stream until either ends."""
    try:
        while data := await source.read(65536):
            channel.write(data)
    except (OSError, asyncio.CancelledError):
        pass
    except Exception as exc:  # asyncssh's channel-closed errors
        if "closed" not in str(exc).lower():
            raise


def _killpg(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.mark.cluster
@pytest.mark.slow
def test_ssh_cluster_runs_a_workflow():
    pytest.importorskip("asyncssh")
    from distributed import Client

    server = LocalSSHServer()
    try:
        cluster = ssh_cluster(
            ["127.0.0.1", "127.0.0.1"],
            connect_options={"port": server.port, "known_hosts": None, "agent_path": None},
            scheduler_options={"host": "127.0.0.1", "port": 0, "dashboard_address": ":0"},
            worker_options={"host": "127.0.0.1"},
            n_workers=2,
            threads_per_worker=1,
        )
        try:
            with Client(cluster, timeout=30) as client:
                client.wait_for_workers(2, timeout=60)
                rsexecute.set_client(client=client)
                assert rsexecute.n_workers == 2
                parts = [rsexecute.execute(operator.mul)(i, i) for i in range(6)]
                total = rsexecute.execute(sum)(parts)
                assert rsexecute.compute(total, sync=True) == sum(i * i for i in range(6))
                rsexecute.close()
        finally:
            cluster.close()
    finally:
        server.close()
