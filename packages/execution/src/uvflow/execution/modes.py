"""The execution modes of ``Executor.set_client``: checked, then started.

:func:`choose_mode` reads the mode from ``set_client``'s arguments and refuses every
contradiction before anything is started or closed, with a message saying what to give
instead; :func:`open_mode` starts it (adopts or makes the client, forwards the workers'
log records) as an :class:`ExecutionMode`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client

    from uvflow.execution.log_forwarding import LogForwarding

__all__ = ["LOCAL_SCHEDULERS", "ExecutionMode", "choose_mode", "open_mode"]

logger = logging.getLogger(__name__)

#: Names accepted for Dask's local schedulers, mapped to the canonical name.
LOCAL_SCHEDULERS = {
    "threads": "threads",
    "threading": "threads",
    "synchronous": "synchronous",
    "sync": "synchronous",
    "single-threaded": "synchronous",
    "processes": "processes",
    "multiprocessing": "processes",
}


def choose_mode(
    client: Client | None,
    use_dask: bool,
    n_workers: int | None,
    nworkers: int | None,
    scheduler: str | None,
) -> tuple[int | None, str | None]:
    """Check ``set_client``'s mode arguments; return ``(n_workers, local scheduler)``.

    Parameters
    ----------
    client, use_dask, n_workers, nworkers, scheduler
        As given to :meth:`~uvflow.execution.executor.Executor.set_client`.

    Returns
    -------
    (int or None, str or None)
        The number of workers (``nworkers`` is an alias) and the canonical name of the
        local scheduler asked for (``"threads"``, ``"synchronous"``, ``"processes"``), or
        None when the mode is serial or distributed.

    Raises
    ------
    TypeError
        ``client`` is not a ``distributed.Client``, or ``scheduler`` not a string.
    ValueError
        Contradictory arguments or an unknown scheduler name.
    """
    if nworkers is not None:
        if n_workers is not None and n_workers != nworkers:
            raise ValueError(
                f"n_workers={n_workers} and nworkers={nworkers} disagree; "
                "nworkers is an alias of n_workers: give one of them"
            )
        n_workers = nworkers
    if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 1):
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
    local = None
    if scheduler is not None and use_dask:
        if not isinstance(scheduler, str):
            raise TypeError(f"scheduler must be a string, got {type(scheduler).__name__}")
        local = LOCAL_SCHEDULERS.get(scheduler)
        if local is None and ":" not in scheduler:
            raise ValueError(
                f"scheduler {scheduler!r} unknown; use 'threads', 'synchronous', "
                "'processes', or a scheduler address such as 'tcp://10.0.0.1:8786'"
            )
    if client is not None:
        from distributed import Client

        if not isinstance(client, Client):
            raise TypeError(
                f"client must be a distributed.Client, got {type(client).__name__}; "
                "give a scheduler address as scheduler='tcp://host:port'"
            )
        if not use_dask:
            raise ValueError("a client was given with use_dask=False: drop one of them")
        if scheduler is not None:
            raise ValueError("give either a client or a scheduler, not both")
    return n_workers, local


@dataclass
class ExecutionMode:
    """How an executor runs graphs, as ``set_client`` chose (made by :func:`open_mode`).

    Attributes
    ----------
    kind : str
        ``"serial"``, ``"local"`` or ``"distributed"``.
    client : distributed.Client or None
        The cluster's client (distributed mode).
    owns_client : bool
        The client was made here (closing the mode closes it) rather than adopted.
    local_scheduler : str or None
        ``"threads"``, ``"synchronous"`` or ``"processes"`` (local mode).
    local_workers : int or None
        Threads or processes asked for (local mode); None: Dask's choice.
    forward_level : int or None
        Level at and above which records from other processes are forwarded here.
    forwarding : LogForwarding or None
        The forwarding from the cluster's workers (distributed mode).
    """

    kind: str = "serial"
    client: Client | None = None
    owns_client: bool = False
    local_scheduler: str | None = None
    local_workers: int | None = None
    forward_level: int | None = None
    forwarding: LogForwarding | None = None

    @property
    def n_workers(self) -> int:
        """Workers that run tasks: cluster workers, local threads/processes, or 1."""
        if self.kind == "distributed":
            return len(self.client.nthreads())
        if self.kind == "local" and self.local_scheduler != "synchronous":
            return self.local_workers or os.cpu_count() or 1
        return 1

    def describe(self) -> str:
        """``mode='local', scheduler='threads', n_workers=2`` and the like.

        It asks the scheduler nothing (the worker count is the client's last known one):
        it is called while formatting log records, where a call to the scheduler could wait
        on a handler's lock held by the thread that would answer it.
        """
        if self.kind == "serial":
            return "mode='serial'"
        if self.kind == "local":
            return f"mode='local', scheduler={self.local_scheduler!r}, n_workers={self.n_workers}"
        owner = "owned" if self.owns_client else "adopted"
        known = getattr(self.client, "_scheduler_identity", None) or {}
        return (
            f"mode='distributed', scheduler={self.client.scheduler.address!r}, "
            f"n_workers={len(known.get('workers', {}))}, client={owner}"
        )

    def stop_forwarding(self) -> None:
        """Stop forwarding the workers' records (the client stays as it is)."""
        if self.forwarding is not None:
            self.forwarding.stop()
            self.forwarding = None


def open_mode(
    client: Client | None,
    use_dask: bool,
    local: str | None,
    n_workers: int | None,
    forward_level: int | None,
    owns_client: bool = False,
    **client_options,
) -> ExecutionMode:
    """The mode :func:`choose_mode` chose, started: a client adopted or made, logs forwarded.

    Parameters
    ----------
    client, use_dask : as given to ``set_client``
    local, n_workers : str or None, int or None
        :func:`choose_mode`'s answer.
    forward_level : int or None
        Forward the ``uvflow`` records of other processes at this level (None: not).
    owns_client : bool
        ``client`` (adopted) is owned after all: it is the executor's own client,
        adopted again.
    **client_options
        :func:`~uvflow.execution.client.get_dask_client`'s keywords, for a new client.
    """
    if not use_dask:
        return ExecutionMode(forward_level=forward_level)
    if local is not None:
        return ExecutionMode(
            "local", local_scheduler=local, local_workers=n_workers, forward_level=forward_level
        )
    from uvflow.execution.client import get_dask_client
    from uvflow.execution.log_forwarding import forward_worker_logs

    if client is None:
        client, owns_client = get_dask_client(n_workers=n_workers, **client_options), True
    mode = ExecutionMode(
        "distributed", client=client, owns_client=owns_client, forward_level=forward_level
    )
    if forward_level is not None:
        try:
            mode.forwarding = forward_worker_logs(client, forward_level)
        except Exception as exc:  # e.g. workers that cannot import uvflow.execution
            logger.warning("the workers' log records are not forwarded here: %s", exc)
    return mode
