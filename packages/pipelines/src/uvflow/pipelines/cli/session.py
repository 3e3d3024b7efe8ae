"""Logging and execution set-up for the ``uvflow`` command (the only place that configures them).

``--nworkers 0`` runs serially without Dask; ``--scheduler ADDR`` connects to a running
scheduler; ``--slurm`` starts workers as SLURM jobs (dask-jobqueue); otherwise a local Dask
cluster of ``--nworkers`` single-threaded worker processes (default: one per core).

The command line beats the environment: with ``--nworkers`` given, a scheduler named by
``UVFLOW_DASK_SCHEDULER`` (``RASCIL_DASK_SCHEDULER``, ``UVFLOW_DASK_SCHEDULER_FILE``) is
not used, and a warning says so (``--nworkers 0``: serial; ``N``: a local cluster of N).
Without ``--nworkers`` or ``--scheduler``, that scheduler is used. A scheduler that
cannot be reached is an error (``uvflow: error: …``, status 2) naming the address and
where it came from; a refused connection fails at once.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager

from .errors import CLIError

__all__ = ["configure_logging", "execution", "add_execution_arguments", "describe_execution"]

log = logging.getLogger(__name__)

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(verbosity: int = 0) -> None:
    """One stderr handler on the root logger: WARNING (-q), INFO (default) or DEBUG (-v)."""
    level = logging.DEBUG if verbosity > 0 else logging.WARNING if verbosity < 0 else logging.INFO
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_uvflow_cli", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT, "%H:%M:%S"))
    handler._uvflow_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    quiet = max(level, logging.WARNING)
    for noisy in ("distributed", "bokeh", "tornado", "asyncio", "numba", "matplotlib"):
        logging.getLogger(noisy).setLevel(quiet)
    # distributed sets its loggers' levels itself when imported (dask's "logging" config,
    # INFO for distributed.scheduler and others): the same level for it, and for the
    # worker processes, which inherit the environment (a user's own setting wins)
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", logging.getLevelName(quiet).lower())


def add_execution_arguments(p, default_workers: int | None = None) -> None:
    """``--nworkers``, ``--threads``, ``--scheduler`` and the ``--slurm-*`` options.

    ``args.nworkers`` is None unless given (the command's default is
    ``args.default_nworkers``), so that a value given beats the environment's scheduler
    and the default does not (the module notes).
    """
    g = p.add_argument_group("execution")
    default = (
        "one per core, or none when the run is one task per stage"
        if default_workers is None
        else str(default_workers)
    )
    g.add_argument("--nworkers", "-nworkers", type=int, default=None, metavar="N",
                   help=f"Dask workers of a local cluster (0: serial, no Dask; default: {default}); "
                   "given, it overrides $UVFLOW_DASK_SCHEDULER")  # fmt: skip
    p.set_defaults(default_nworkers=default_workers)
    g.add_argument("--threads", "-j", type=int, default=1, metavar="T",
                   help="gridder/FFT threads per task (default 1)")  # fmt: skip
    g.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="connect to this Dask scheduler, e.g. tcp://10.0.0.1:8786")  # fmt: skip
    g.add_argument("--slurm", action="store_true", help="start the workers as SLURM jobs")
    g.add_argument("--slurm-jobs", type=int, default=1, metavar="N")
    g.add_argument("--slurm-cores", type=int, default=8, metavar="N", help="cores per job")
    g.add_argument("--slurm-memory", default="16GB", metavar="MEM", help="memory per job")
    g.add_argument("--slurm-walltime", default="01:00:00", metavar="HH:MM:SS")
    g.add_argument("--slurm-queue", default=None, metavar="PARTITION")
    g.add_argument("--slurm-account", default=None, metavar="ACCOUNT")


def _nworkers(args) -> int | None:
    """``--nworkers`` if given, else the command's default (None: one per core)."""
    return args.nworkers if args.nworkers is not None else getattr(args, "default_nworkers", None)


def check_execution_arguments(args) -> None:
    """CLIError for contradictory or impossible execution options."""
    n = _nworkers(args)
    if n is not None and n < 0:
        raise CLIError(f"--nworkers must be >= 0 (0: serial), got {n}")
    if args.threads < 1:
        raise CLIError(f"--threads must be >= 1, got {args.threads}")
    if args.slurm and args.scheduler:
        raise CLIError("give either --scheduler or --slurm, not both")
    if args.slurm and n == 0:
        raise CLIError("--slurm needs Dask: drop --nworkers 0")
    if args.scheduler and n == 0:
        raise CLIError("--scheduler needs Dask: drop --nworkers 0")


@contextmanager
def execution(args):
    """Set ``rsexecute`` up as the arguments say; close what was started on exit.

    Raises
    ------
    CLIError
        Contradictory options, or a scheduler that cannot be reached.
    """
    from uvflow.execution import ClusterConnectionError, get_dask_client, rsexecute

    check_execution_arguments(args)
    n, environment = _nworkers(args), _environment_scheduler()
    local = not (args.slurm or args.scheduler) and (args.nworkers is not None or not environment)
    if environment and args.nworkers is not None and not (args.slurm or args.scheduler):
        log.warning("%s not used: --nworkers %d %s (the command line beats the environment)",
                    environment, n, "runs serially" if n == 0 else "starts a local cluster")  # fmt: skip
    owned = None  # what this call started: a SLURM cluster, or a local cluster's client
    try:
        if n == 0:
            rsexecute.set_client(use_dask=False)
        elif args.slurm:
            from distributed import Client

            from uvflow.execution import slurm_cluster

            owned = slurm_cluster(
                cores=args.slurm_cores, memory=args.slurm_memory, jobs=args.slurm_jobs,
                walltime=args.slurm_walltime, queue=args.slurm_queue, account=args.slurm_account,
            )  # fmt: skip
            rsexecute.set_client(client=Client(owned))
        elif not local:  # --scheduler, else the environment's scheduler
            try:
                rsexecute.set_client(use_dask=True, scheduler=args.scheduler)
            except ClusterConnectionError as exc:  # names the address and where it came from
                raise CLIError(str(exc)) from None
        else:  # a local cluster of N (default: one per core), whatever the environment says
            import dask
            import distributed  # noqa: F401  (its configuration must exist before it is set)

            from .allocator import worker_allocator_config

            with dask.config.set(worker_allocator_config()):
                owned = get_dask_client(
                    n_workers=n or os.cpu_count() or 1, threads_per_worker=1,
                    dashboard_address=":0", memory_limit=getattr(args, "memory_limit", None),
                    use_environment=False,
                )  # fmt: skip
            rsexecute.set_client(client=owned)
        if rsexecute.client is not None:
            log.info("Dask dashboard: %s", rsexecute.client.dashboard_link)
        yield rsexecute
    finally:
        client = rsexecute.client
        rsexecute.close()
        if owned is not None:  # closing a local cluster's client closes the cluster
            if client is not None and client is not owned:
                client.close()
            owned.close()


def _environment_scheduler() -> str | None:
    """``$VAR=value`` of the first environment variable naming a scheduler, or None."""
    from uvflow.execution.client import SCHEDULER_ENV_VARS, SCHEDULER_FILE_ENV_VAR

    for var in (*SCHEDULER_ENV_VARS, SCHEDULER_FILE_ENV_VAR):
        value = os.environ.get(var, "").strip()
        if value:
            return f"${var}={value}"
    return None


def describe_execution() -> dict:
    """Mode and worker count of ``rsexecute``, for the report."""
    from uvflow.execution import rsexecute

    return {"mode": rsexecute.mode, "n_workers": rsexecute.n_workers if rsexecute.using_dask else 0}
