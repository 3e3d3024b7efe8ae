"""Start Dask clusters on other machines: over SSH and on SLURM.

Thin, validated front-ends to ``distributed.SSHCluster`` (extra ``[ssh]``:
asyncssh) and ``dask_jobqueue.SLURMCluster`` (extra ``[slurm]``). Both return the
cluster; connect with ``distributed.Client(cluster)`` and hand that client to
``rsexecute.set_client(client)``. Close the cluster yourself when done (``with``
works: both are context managers).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence

from uvflow.execution.errors import MissingExtraError
from uvflow.execution.keywords import strict_keywords

__all__ = ["slurm_cluster", "ssh_cluster"]

logger = logging.getLogger(__name__)


def _require(module: str, extra: str, what: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{what} needs the Python package {module!r}, which is not installed; "
            f"install it with: pip install 'uvflow-execution[{extra}]'"
        ) from exc


@strict_keywords
def ssh_cluster(
    hosts: Sequence[str],
    connect_options: dict | list[dict] | None = None,
    worker_options: dict | None = None,
    scheduler_options: dict | None = None,
    n_workers: int = 1,
    threads_per_worker: int = 1,
    memory_limit: str | float | None = None,
    remote_python: str | list[str] | None = None,
):
    """Start a Dask cluster over SSH: scheduler on ``hosts[0]``, workers on the rest.

    Parameters
    ----------
    hosts : sequence of str
        Host names; the first runs the scheduler, each later one runs ``n_workers``
        workers (repeat a host to use it for both).
    connect_options : dict or list of dict, optional
        ``asyncssh.connect`` options (``username``, ``known_hosts``, ``client_keys``,
        ...), one dict for all hosts or one per host.
    worker_options : dict, optional
        More ``distributed.Nanny`` options; they override the three below.
    scheduler_options : dict, optional
        ``distributed.Scheduler`` options, e.g. ``{"port": 8786, "dashboard_address": ":8787"}``.
    n_workers : int
        Worker processes per worker host.
    threads_per_worker : int
        Threads per worker process.
    memory_limit : str or float, optional
        Memory limit per worker process, e.g. ``"16GiB"``.
    remote_python : str or list of str, optional
        Python executable on the hosts (one for all, or one per host).

    Returns
    -------
    distributed.SSHCluster
        The running cluster.

    Raises
    ------
    MissingExtraError
        asyncssh is not installed (``pip install 'uvflow-execution[ssh]'``).
    TypeError, ValueError
        Malformed ``hosts`` or option lists of the wrong length.
    """
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, Sequence):
        raise TypeError(
            f"hosts must be a list of host names (scheduler first, then workers), "
            f"got {type(hosts).__name__} {hosts!r}"
        )
    hosts = list(hosts)
    if len(hosts) < 2 or not all(isinstance(h, str) and h.strip() for h in hosts):
        raise ValueError(
            f"hosts must hold at least two non-empty host names (the scheduler's, then one "
            f"or more workers'; repeat a host to use it twice), got {hosts!r}"
        )
    for label, value in (("connect_options", connect_options), ("remote_python", remote_python)):
        if isinstance(value, list) and len(value) != len(hosts):
            raise ValueError(
                f"{label} is a list of {len(value)} items but there are {len(hosts)} hosts: "
                "give one value for all hosts or one per host"
            )
    if not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
    if not isinstance(threads_per_worker, int) or threads_per_worker < 1:
        raise ValueError(
            f"threads_per_worker must be a positive integer, got {threads_per_worker!r}"
        )
    _require("asyncssh", "ssh", "ssh_cluster")
    from distributed import SSHCluster

    options = {"n_workers": n_workers, "nthreads": threads_per_worker}
    if memory_limit is not None:
        options["memory_limit"] = memory_limit
    options.update(worker_options or {})
    logger.info(
        "starting an SSH cluster: scheduler on %s, %d worker(s) of %d thread(s) on each of %s",
        hosts[0],
        options["n_workers"],
        options["nthreads"],
        hosts[1:],
    )
    return SSHCluster(
        hosts,
        connect_options=connect_options if connect_options is not None else {},
        worker_options=options,
        scheduler_options=scheduler_options if scheduler_options is not None else {},
        remote_python=remote_python,
    )


@strict_keywords
def slurm_cluster(
    cores: int,
    memory: str,
    jobs: int = 1,
    walltime: str = "01:00:00",
    queue: str | None = None,
    account: str | None = None,
    processes: int = 1,
    job_extra_directives: Sequence[str] = (),
    local_directory: str | None = None,
    interface: str | None = None,
    job_script_prologue: Sequence[str] = (),
    adapt: tuple[int, int] | None = None,
    log_directory: str | None = None,
    python: str | None = None,
    scheduler_options: dict | None = None,
    worker_extra_args: Sequence[str] = (),
    job_directives_skip: Sequence[str] = (),
):
    """Start Dask workers as SLURM jobs (``dask_jobqueue.SLURMCluster``).

    The scheduler runs in this process; each job runs ``processes`` worker
    processes sharing ``cores`` cores and ``memory``.

    Parameters
    ----------
    cores : int
        Cores per job (``#SBATCH --cpus-per-task``).
    memory : str
        Memory per job, e.g. ``"16GB"`` (``#SBATCH --mem``).
    jobs : int
        Jobs to submit now (``cluster.scale(jobs=jobs)``); 0 submits none. Ignored
        with ``adapt``.
    walltime : str
        ``#SBATCH -t``, e.g. ``"01:00:00"``.
    queue : str, optional
        Partition (``#SBATCH -p``).
    account : str, optional
        Account to charge (``#SBATCH -A``).
    processes : int
        Worker processes per job (threads per worker: ``cores // processes``).
    job_extra_directives : sequence of str
        More ``#SBATCH`` options, e.g. ``["--exclusive", "--qos=debug"]``.
    local_directory : str, optional
        Node-local scratch directory for workers' spilled data, e.g. ``"$TMPDIR"``.
    interface : str, optional
        Network interface the workers and scheduler use, e.g. ``"ib0"``.
    job_script_prologue : sequence of str
        Shell lines run before the worker starts, e.g.
        ``["module load python", "source venv/bin/activate"]``.
    adapt : (int, int), optional
        ``(minimum_jobs, maximum_jobs)``: scale with the load instead of ``jobs``.
    log_directory : str, optional
        Where SLURM writes the jobs' output.
    python : str, optional
        Python executable in the jobs (default: this one).
    scheduler_options : dict, optional
        Options of the scheduler started here, e.g. ``{"dashboard_address": ":8787"}``.
    worker_extra_args : sequence of str
        More ``dask worker`` arguments.
    job_directives_skip : sequence of str
        Generated ``#SBATCH`` lines to drop (matched as substrings, e.g. ``"--mem"``).

    Returns
    -------
    dask_jobqueue.SLURMCluster
        The cluster; ``cluster.job_script()`` shows the submitted script.

    Raises
    ------
    MissingExtraError
        dask-jobqueue is not installed (``pip install 'uvflow-execution[slurm]'``).
    ValueError
        Non-positive ``cores``/``processes``, negative ``jobs`` or malformed ``adapt``.
    """
    if not isinstance(cores, int) or cores < 1:
        raise ValueError(f"cores must be a positive integer, got {cores!r}")
    if not isinstance(processes, int) or not 1 <= processes <= cores:
        raise ValueError(f"processes must be an integer from 1 to cores={cores}, got {processes!r}")
    if not isinstance(memory, str) or not memory.strip():
        raise ValueError(f"memory must be a string such as '16GB', got {memory!r}")
    if not isinstance(jobs, int) or jobs < 0:
        raise ValueError(f"jobs must be a non-negative integer, got {jobs!r}")
    if adapt is not None:
        if (
            len(adapt) != 2
            or not all(isinstance(n, int) and n >= 0 for n in adapt)
            or adapt[0] > adapt[1]
        ):
            raise ValueError(
                f"adapt must be (minimum_jobs, maximum_jobs) with 0 <= minimum <= maximum, got {adapt!r}"
            )
    jobqueue = _require("dask_jobqueue", "slurm", "slurm_cluster")

    kwargs = {
        "cores": cores,
        "memory": memory,
        "processes": processes,
        "walltime": walltime,
        "queue": queue,
        "account": account,
        "job_extra_directives": list(job_extra_directives),
        "job_script_prologue": list(job_script_prologue),
        "worker_extra_args": list(worker_extra_args),
        "job_directives_skip": list(job_directives_skip),
    }
    optional = {
        "local_directory": local_directory,
        "interface": interface,
        "log_directory": log_directory,
        "python": python,
        "scheduler_options": scheduler_options,
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    cluster = jobqueue.SLURMCluster(**kwargs)
    if adapt is not None:
        cluster.adapt(minimum_jobs=adapt[0], maximum_jobs=adapt[1])
        logger.info(
            "SLURM cluster at %s adapting between %d and %d jobs", cluster.scheduler_address, *adapt
        )
    elif jobs > 0:
        cluster.scale(jobs=jobs)
        logger.info("SLURM cluster at %s: submitted %d job(s)", cluster.scheduler_address, jobs)
    else:
        logger.info("SLURM cluster at %s: no jobs submitted yet", cluster.scheduler_address)
    return cluster
