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
from uvflow.execution.keywords import check_keywords, keyword_names, strict_keywords

__all__ = ["SLURM_DEFAULTS", "slurm_cluster", "slurm_job_options", "ssh_cluster"]

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


#: slurm_cluster's own parameters.
_SLURM_OWN = ("cores", "memory", "jobs", "processes", "adapt")
#: SLURMCluster keywords not passed on: dask-jobqueue's internals (``n_workers`` too:
#: ``jobs`` says how many jobs to start).
_SLURM_INTERNAL = ("job_cls", "loop", "asynchronous", "scheduler", "scheduler_cls", "name")
#: uvflow's defaults where they differ from dask-jobqueue's configured ones.
SLURM_DEFAULTS = {"walltime": "01:00:00"}


def slurm_job_options(jobqueue) -> list[str]:
    """The job options ``slurm_cluster`` passes on: ``SLURMCluster``'s keywords and its jobs'.

    Parameters
    ----------
    jobqueue : module
        ``dask_jobqueue``.

    Returns
    -------
    list of str
        The keywords of ``SLURMCluster`` and of its job class (and the job class's bases,
        which receive its ``**kwargs``), less dask-jobqueue's internals.
    """
    names, _ = keyword_names(jobqueue.SLURMCluster)  # its **job_kwargs go to the job class
    for cls in jobqueue.SLURMCluster.job_cls.__mro__:
        more, takes_any = keyword_names(cls)
        names += more
        if not takes_any:
            break
    skip = {*_SLURM_OWN, *_SLURM_INTERNAL, "n_workers"}
    return list(dict.fromkeys(n for n in names if n not in skip))


def slurm_cluster(
    cores: int,
    memory: str,
    jobs: int = 1,
    processes: int = 1,
    adapt: tuple[int, int] | None = None,
    **job_options,
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
    processes : int
        Worker processes per job (threads per worker: ``cores // processes``).
    adapt : (int, int), optional
        ``(minimum_jobs, maximum_jobs)``: scale with the load instead of ``jobs``.
    **job_options
        ``SLURMCluster``'s own keywords (and its jobs'), passed on; an unknown one
        raises ``TypeError`` listing them (:func:`slurm_job_options`). None leaves an
        option at dask-jobqueue's configured default; tuples are passed as lists. The
        usual ones:

        - ``walltime``: ``#SBATCH -t`` (default here ``"01:00:00"``);
        - ``queue``: the partition (``#SBATCH -p``); ``account``: ``#SBATCH -A``;
        - ``job_extra_directives``: more ``#SBATCH`` options, e.g.
          ``["--exclusive", "--qos=debug"]``; ``job_directives_skip``: generated
          ``#SBATCH`` lines to drop (matched as substrings, e.g. ``"--mem"``);
        - ``job_script_prologue``: shell lines run before the worker starts, e.g.
          ``["module load python", "source venv/bin/activate"]``;
        - ``local_directory``: node-local scratch for spilled data, e.g. ``"$TMPDIR"``;
        - ``interface``: network interface of workers and scheduler, e.g. ``"ib0"``;
        - ``log_directory``: where SLURM writes the jobs' output; ``python``: the
          Python executable in the jobs (default: this one);
        - ``scheduler_options``: options of the scheduler started here, e.g.
          ``{"dashboard_address": ":8787"}``; ``worker_extra_args``: more
          ``dask worker`` arguments.

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
    TypeError
        A job option that ``SLURMCluster`` does not take.
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
    check_keywords("slurm_cluster()", job_options, [*_SLURM_OWN, *slurm_job_options(jobqueue)])
    options = {**SLURM_DEFAULTS, **job_options}
    kwargs = {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in options.items()
        if value is not None
    }
    cluster = jobqueue.SLURMCluster(cores=cores, memory=memory, processes=processes, **kwargs)
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
