"""The executor every uvflow workflow uses: :class:`Executor` and its instance ``rsexecute``.

A workflow is written once with ``rsexecute.execute(func)(*args)`` and
``rsexecute.compute(graph)``; :meth:`Executor.set_client` decides how it runs:

``serial`` (``use_dask=False``, the initial state)
    ``execute(func)`` is ``func``: every call runs immediately and ``compute`` returns
    its argument unchanged.
``local`` (``scheduler='threads' | 'synchronous' | 'processes'``)
    ``execute`` builds ``dask.delayed`` graphs; ``compute`` runs them with one of
    Dask's local schedulers and returns values.
``distributed`` (a ``distributed.Client``: adopted, or made by :func:`get_dask_client`)
    ``compute`` submits graphs to the cluster and returns futures (``sync=False``)
    or values (``sync=True``).

The semantics follow RASCIL's ``rsexecute``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import dask
from distributed import Client

from uvflow.execution.client import dashboard_link, get_dask_client
from uvflow.execution.deferred import deferred_call, has_nested_collections, task_key
from uvflow.execution.keywords import strict_keywords
from uvflow.execution.nested import fill_collections, split_collections
from uvflow.execution.progress import DEFAULT_PROGRESS_INTERVAL, local_progress, show_progress
from uvflow.execution.statistics import StatisticsRecorder

__all__ = ["LOCAL_SCHEDULERS", "Executor", "rsexecute"]

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


class Executor:
    """Run workflow graphs serially, with a local Dask scheduler, or on a Dask cluster.

    Parameters
    ----------
    progress_interval : float
        Seconds between "n/N tasks done" log lines of ``compute(..., progress=True)``
        when stdout is not a terminal.

    Notes
    -----
    A new executor is serial. Use the module's shared instance
    :data:`uvflow.execution.rsexecute` in workflows rather than making new ones, so
    that one ``set_client`` call configures every workflow of a program.
    """

    def __init__(self, progress_interval: float = DEFAULT_PROGRESS_INTERVAL) -> None:
        self.progress_interval = progress_interval
        self._statistics = StatisticsRecorder()
        self._reset()

    def _reset(self) -> None:
        self._mode = "serial"
        self._client: Client | None = None
        self._owns_client = False
        self._local_scheduler: str | None = None
        self._local_workers: int | None = None
        self._optimize = True
        self._verbose = False

    # ------------------------------------------------------------------ configuration
    @strict_keywords
    def set_client(
        self,
        client: Client | None = None,
        use_dask: bool = True,
        n_workers: int | None = None,
        nworkers: int | None = None,
        threads_per_worker: int = 1,
        processes: bool = True,
        memory_limit: str | float | None = None,
        scheduler: str | None = None,
        timeout: float = 30,
        optimize: bool = True,
        verbose: bool = False,
        dashboard_address: str | None = ":8787",
    ) -> None:
        """Choose how graphs run; closes whatever the previous call started.

        Parameters
        ----------
        client : distributed.Client, optional
            A client to adopt. :meth:`close` leaves an adopted client open.
        use_dask : bool
            False: serial mode (every other argument is ignored).
        n_workers : int, optional
            Workers of a new ``LocalCluster`` (or threads/processes of a local
            scheduler); default: Dask's choice from the number of cores.
        nworkers : int, optional
            Alias of ``n_workers`` (RASCIL's spelling).
        threads_per_worker : int
            Threads per worker of a new ``LocalCluster``.
        processes : bool
            A new ``LocalCluster`` of processes (True) or threads (False).
        memory_limit : str or float, optional
            Memory limit per worker of a new ``LocalCluster``, e.g. ``"4GiB"``.
        scheduler : str, optional
            ``'threads'``, ``'synchronous'`` or ``'processes'``: use that local Dask
            scheduler, no ``distributed``. An address (``'tcp://host:8786'``):
            connect to that scheduler. None: :func:`get_dask_client` decides
            (``UVFLOW_DASK_SCHEDULER``, ``UVFLOW_DASK_SCHEDULER_FILE``, else a new
            ``LocalCluster``).
        timeout : float
            Seconds to wait for a scheduler.
        optimize : bool
            Optimise graphs (``dask.optimize``) before computing them.
        verbose : bool
            Also print what is happening (timings, statistics tables).
        dashboard_address : str or None
            Dashboard address of a new ``LocalCluster`` (``":0"``: any free port).

        Raises
        ------
        TypeError
            ``client`` is not a ``distributed.Client``, or an unknown keyword.
        ValueError
            Contradictory arguments or an unknown scheduler name.
        ClusterConnectionError
            The scheduler could not be reached within ``timeout``.
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
            if not isinstance(client, Client):
                raise TypeError(
                    f"client must be a distributed.Client, got {type(client).__name__}; "
                    "give a scheduler address as scheduler='tcp://host:port'"
                )
            if not use_dask:
                raise ValueError("a client was given with use_dask=False: drop one of them")
            if scheduler is not None:
                raise ValueError("give either a client or a scheduler, not both")

        keep_owned = False
        if client is not None and client is self._client:  # re-adopting the current client
            keep_owned, self._client, self._owns_client = self._owns_client, None, False
        self.close()

        if not use_dask:
            pass
        elif local is not None:
            self._mode = "local"
            self._local_scheduler = local
            self._local_workers = n_workers
        elif client is not None:
            self._mode, self._client, self._owns_client = "distributed", client, keep_owned
        else:
            self._client = get_dask_client(
                timeout=timeout,
                n_workers=n_workers,
                threads_per_worker=threads_per_worker,
                processes=processes,
                memory_limit=memory_limit,
                dashboard_address=dashboard_address,
                scheduler=scheduler,
            )
            self._mode, self._owns_client = "distributed", True
        self._optimize = bool(optimize)
        self._verbose = bool(verbose)
        if self._mode != "serial":
            self.init_statistics()
        logger.info("rsexecute: %r", self)
        self._say(f"rsexecute.set_client: {self!r}")

    def close(self) -> None:
        """Shut down what :meth:`set_client` started (nothing else); back to serial mode.

        A client this executor created (and its ``LocalCluster``) is closed; an adopted
        client is left open for its owner.
        """
        self._statistics.stop()
        client, owned = self._client, self._owns_client
        self._reset()
        if client is not None and owned:
            logger.info("rsexecute: closing the Dask client it started (%s)", client)
            client.close()
            self._say("rsexecute.close: closed the Dask client")

    # ------------------------------------------------------------------ graph building
    def execute(
        self,
        func: Callable,
        nout: int | None = None,
        pure: bool = False,
        name: str | None = None,
        traverse: bool = True,
    ) -> Callable:
        """Wrap ``func`` for deferred (Dask) or immediate (serial) execution.

        Parameters
        ----------
        func : callable
            The function.
        nout : int, optional
            Number of outputs, so a deferred result can be unpacked into ``nout`` parts.
        pure : bool
            Whether ``func`` is pure (same inputs give the same key, so Dask may share it).
        name : str, optional
            Task name: the prefix of the task keys (Dask modes), shown by the
            dashboard and the statistics; default the function's name.
        traverse : bool
            Look for deferred values inside lists, tuples and dicts of arguments.

        Returns
        -------
        callable
            In the Dask modes a function building a ``dask.delayed`` task per call;
            ``func`` itself in serial mode (or a timing wrapper of it while
            statistics are being recorded).

        Notes
        -----
        Deferred values nested in list, tuple or dict arguments (or given as keywords)
        become top-level inputs of the task (:mod:`uvflow.execution.deferred`), so a
        graph keeps the persisted results it depends on alive.
        """
        if not callable(func):
            raise TypeError(f"execute needs a callable, got {type(func).__name__}")
        if self._mode == "serial":
            return self._statistics.wrap(func) if self._statistics.active else func

        def call(*args, **kwargs):
            if traverse and (kwargs or has_nested_collections(args, kwargs)):
                return deferred_call(func, args, kwargs, nout=nout, pure=pure, name=name)
            key = task_key(func, name, pure, args, kwargs)
            return dask.delayed(func, nout=nout, pure=pure, traverse=traverse)(
                *args, **kwargs, dask_key_name=key
            )

        call.__wrapped__ = func
        return call

    def optimize(self, graph: Any) -> Any:
        """``dask.optimize`` the graph (any nesting of lists/tuples/dicts) when enabled."""
        if self._mode == "serial" or not self._optimize:
            return graph
        return dask.optimize(graph)[0]

    # ------------------------------------------------------------------ running
    def compute(self, value: Any, sync: bool = False, progress: bool = False) -> Any:
        """Compute a graph: one deferred value, or lists/tuples/dicts of them.

        Parameters
        ----------
        value : Delayed or nested list/tuple/dict of Delayed
            What to compute; other items are passed through.
        sync : bool
            On a cluster: return values (True) or futures in the same structure (False).
        progress : bool
            Report progress (a bar on a terminal, log lines otherwise) and the
            dashboard link; on a cluster this blocks until the work is done.

        Returns
        -------
        object
            Serial mode: ``value`` unchanged (it is already computed). Local scheduler:
            values. Cluster: futures (``sync=False``) or values (``sync=True``).
        """
        if self._mode == "serial":
            return value
        start = time.monotonic()
        if self._mode == "local":
            kwargs = {}
            if self._local_workers is not None and self._local_scheduler != "synchronous":
                kwargs["num_workers"] = self._local_workers
            progress_ctx = local_progress(self.progress_interval) if progress else nullcontext()
            with self._statistics.profiling(), progress_ctx:
                (result,) = dask.compute(
                    value,
                    scheduler=self._local_scheduler,
                    optimize_graph=self._optimize,
                    **kwargs,
                )
        else:
            leaves: list = []
            template = split_collections(value, leaves)
            futures = self._client.compute(leaves, optimize_graph=self._optimize) if leaves else []
            if progress and futures:
                # unique keys: the leaves' graphs share their common dependencies
                ntasks = len({key for leaf in leaves for key in leaf.__dask_graph__()})
                logger.info(
                    "computing %d tasks on %d workers; dashboard: %s",
                    ntasks,
                    self.n_workers,
                    dashboard_link(self._client) or "none",
                )
                show_progress(futures, self._client, self.progress_interval)
            result = fill_collections(template, futures)
            if sync:
                result = self._client.gather(result)
        if self._verbose and (sync or self._mode == "local"):
            self._say(
                f"rsexecute.compute: {self._mode} execution took {time.monotonic() - start:.3f} s"
            )
        return result

    def persist(self, graph: Any) -> Any:
        """Start computing ``graph`` and keep the results where they are.

        Cluster: results stay in worker memory (``Client.persist``); local scheduler:
        computed now into in-memory graphs; serial: ``graph`` unchanged.
        """
        if self._mode == "serial":
            return graph
        if self._mode == "local":
            with self._statistics.profiling():
                return dask.persist(graph, scheduler=self._local_scheduler)[0]
        leaves: list = []
        template = split_collections(graph, leaves)
        persisted = self._client.persist(leaves, optimize_graph=self._optimize) if leaves else []
        return fill_collections(template, persisted)

    def scatter(self, data: Any, broadcast: bool = False) -> Any:
        """Send data to the cluster's workers (``Client.scatter``); elsewhere unchanged.

        Parameters
        ----------
        data : object or list of objects
            A list is scattered item by item (a list of futures comes back).
        broadcast : bool
            Copy to every worker rather than one.

        Notes
        -----
        Every call makes new keys (``hash=False``): with content-hashed keys, scattering the
        same data again while the previous futures are being released lets the scheduler
        forget the data the new futures point at.
        """
        if self._mode != "distributed":
            return data
        return self._client.scatter(data, broadcast=broadcast, hash=False)

    def gather(self, futures: Any) -> Any:
        """Fetch the values of futures (any nesting); elsewhere unchanged."""
        if self._mode != "distributed":
            return futures
        return self._client.gather(futures)

    def run(self, func: Callable, *args, **kwargs) -> dict:
        """Run ``func(*args, **kwargs)`` on every worker (or once here, without a cluster).

        Use it for per-process set-up such as
        ``rsexecute.run(init_logging, logfile="run.log")``. On a cluster this is
        ``Client.run``: its own keywords (``workers``, ``wait``, ``nanny``,
        ``on_error``) are not passed to ``func``, and a ``dask_worker`` parameter of
        ``func`` receives the worker.

        Returns
        -------
        dict
            Worker address → result; ``{"local": result}`` in serial and local modes.
        """
        if self._mode == "distributed":
            return self._client.run(func, *args, **kwargs)
        return {"local": func(*args, **kwargs)}

    # ------------------------------------------------------------------ statistics
    def init_statistics(self) -> None:
        """Start recording task timings (restarting if already recording).

        :meth:`set_client` calls this in the Dask modes. In serial mode call it
        yourself: from then on ``execute`` times each call of the functions it wraps.
        """
        self._statistics.start(client=self._client if self._mode == "distributed" else None)

    def save_statistics(
        self, name: str = "dask_profile", directory: str | os.PathLike = "."
    ) -> dict:
        """Write ``<name>_task_stream.html``, ``<name>_profile.html``, ``<name>_statistics.json``.

        Also logs (and with ``verbose`` prints) a table of seconds, percent and calls
        per function, the total CPU time, the wall time and the speed-up.

        Parameters
        ----------
        name : str
            File name stem.
        directory : str or path
            Output directory (created if needed).

        Returns
        -------
        dict
            ``functions`` (name → seconds, percent, calls), ``cpu_time``,
            ``wall_time``, ``elapsed``, ``speedup``, ``n_tasks``, ``mode``,
            ``n_workers`` and ``files``; see :mod:`uvflow.execution.statistics`.
        """
        stats = self._statistics.save(
            name, os.fspath(directory), self._mode, extra={"n_workers": self.n_workers}
        )
        if self._verbose:
            from uvflow.execution.statistics import format_statistics

            self._say(format_statistics(stats))
        return stats

    # ------------------------------------------------------------------ state
    @property
    def client(self) -> Client | None:
        """The ``distributed.Client`` in use, or None."""
        return self._client

    @property
    def using_dask(self) -> bool:
        """True when ``execute`` builds Dask graphs (local scheduler or cluster)."""
        return self._mode != "serial"

    @property
    def mode(self) -> str:
        """``'serial'``, ``'local'`` or ``'distributed'``."""
        return self._mode

    @property
    def optimizing(self) -> bool:
        """Whether graphs are optimised before they are computed."""
        return self._mode != "serial" and self._optimize

    @property
    def n_workers(self) -> int:
        """Workers that run tasks: cluster workers, local threads/processes, or 1."""
        if self._mode == "distributed":
            return len(self._client.nthreads())
        if self._mode == "local" and self._local_scheduler != "synchronous":
            return self._local_workers or os.cpu_count() or 1
        return 1

    def __repr__(self) -> str:
        if self._mode == "serial":
            return "Executor(mode='serial')"
        if self._mode == "local":
            return f"Executor(mode='local', scheduler={self._local_scheduler!r}, n_workers={self.n_workers})"
        owner = "owned" if self._owns_client else "adopted"
        return (
            f"Executor(mode='distributed', scheduler={self._client.scheduler.address!r}, "
            f"n_workers={self.n_workers}, client={owner})"
        )

    def _say(self, message: str) -> None:
        if self._verbose:
            print(message, flush=True)


#: The executor shared by every uvflow workflow (serial until ``set_client``).
rsexecute = Executor()
