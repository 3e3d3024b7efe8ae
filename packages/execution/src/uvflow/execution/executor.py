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
from typing import TYPE_CHECKING, Any

from uvflow.execution.keywords import strict_keywords
from uvflow.execution.logging_setup import DEFAULT_PROGRESS_INTERVAL, forwarding_level
from uvflow.execution.modes import LOCAL_SCHEDULERS, ExecutionMode, choose_mode, open_mode
from uvflow.execution.statistics import StatisticsRecorder

if TYPE_CHECKING:
    from distributed import Client

# dask and distributed are imported by the Dask modes only: serial runs never load them.

__all__ = ["LOCAL_SCHEDULERS", "Executor", "rsexecute"]

logger = logging.getLogger(__name__)


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
        self._state = ExecutionMode()
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
        forward_logs: bool | str | int | None = True,
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
        forward_logs : bool, str, int or None
            Forward the records that tasks log on ``uvflow.*`` loggers in other
            processes (cluster workers, the ``processes`` scheduler's pool) to this
            process's loggers, so its handlers show them as if logged here
            (:mod:`uvflow.execution.log_forwarding`). True: at the effective level of
            the ``uvflow`` logger here, now (INFO under the ``uvflow`` command, WARNING
            in a script without logging set up); a level (``"DEBUG"``,
            ``logging.INFO``): at that level; None or False: no forwarding.

        Raises
        ------
        TypeError
            ``client`` is not a ``distributed.Client``, or an unknown keyword.
        ValueError
            Contradictory arguments or an unknown scheduler name.
        ClusterConnectionError
            The scheduler could not be reached within ``timeout``.
        """
        n_workers, local = choose_mode(client, use_dask, n_workers, nworkers, scheduler)
        forward_level = forwarding_level(forward_logs)

        owned = False
        if client is not None and client is self._state.client:  # adopting the current client
            owned, self._state.owns_client = self._state.owns_client, False
        self.close()
        self._state = open_mode(
            client, use_dask, local, n_workers, forward_level, owns_client=owned,
            timeout=timeout, threads_per_worker=threads_per_worker, processes=processes,
            memory_limit=memory_limit, dashboard_address=dashboard_address, scheduler=scheduler,
        )  # fmt: skip
        self._optimize = bool(optimize)
        self._verbose = bool(verbose)
        if self._state.kind != "serial":
            self.init_statistics()
        logger.info("rsexecute: %s", repr(self))  # formatted here, not in a handler
        self._say(f"rsexecute.set_client: {self!r}")

    def close(self) -> None:
        """Shut down what :meth:`set_client` started (nothing else); back to serial mode.

        A client this executor created (and its ``LocalCluster``) is closed; an adopted
        client is left open for its owner. The forwarding of the workers' log records
        stops.
        """
        self._statistics.stop()
        self._state.stop_forwarding()
        client, owned = self._state.client, self._state.owns_client
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
        if self._state.kind == "serial":
            return self._statistics.wrap(func) if self._statistics.active else func

        from uvflow.execution.deferred import deferred_function

        return deferred_function(func, nout=nout, pure=pure, name=name, traverse=traverse)

    def optimize(self, graph: Any) -> Any:
        """``dask.optimize`` the graph (any nesting of lists/tuples/dicts) when enabled."""
        if self._state.kind == "serial" or not self._optimize:
            return graph
        import dask

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
        if self._state.kind == "serial":
            return value
        from uvflow.execution.computing import compute_graph

        start = time.monotonic()
        interval = self.progress_interval if progress else None
        result = compute_graph(self._state, value, self._optimize, self._statistics, sync, interval)
        if self._verbose and (sync or self._state.kind == "local"):
            self._say(
                f"rsexecute.compute: {self._state.kind} execution took {time.monotonic() - start:.3f} s"
            )
        return result

    def persist(self, graph: Any) -> Any:
        """Start computing ``graph`` and keep the results where they are.

        Cluster: results stay in worker memory (``Client.persist``); local scheduler:
        computed now into in-memory graphs; serial: ``graph`` unchanged.
        """
        if self._state.kind == "serial":
            return graph
        from uvflow.execution.computing import persist_graph

        return persist_graph(self._state, graph, self._optimize, self._statistics)

    def wait(self, persisted: Any) -> None:
        """Block until the futures in ``persisted`` (any nesting, e.g. what :meth:`persist`
        returned) are finished, on a cluster; elsewhere (already computed) return at once.

        A way to run two persisted graphs one after the other, so that the workers hold
        the partial results of one at a time (:func:`~.computing.wait_for_futures`).
        """
        if self._state.kind == "distributed":
            from uvflow.execution.computing import wait_for_futures

            wait_for_futures(persisted)

    def scatter(self, data: Any, broadcast: bool = False) -> Any:
        """Send data to the cluster's workers (``Client.scatter``); elsewhere unchanged.

        Parameters
        ----------
        data : object or list of objects
            A list is scattered item by item (a list of futures comes back).
        broadcast : bool
            Copy to every worker rather than one. Every call makes new keys
            (``hash=False``): with content-hashed keys, scattering the same data again
            while the previous futures are being released lets the scheduler forget
            the data the new futures point at.
        """
        if self._state.kind != "distributed":
            return data
        return self._state.client.scatter(data, broadcast=broadcast, hash=False)

    def gather(self, futures: Any) -> Any:
        """Fetch the values of futures (any nesting); elsewhere unchanged."""
        distributed = self._state.kind == "distributed"
        return self._state.client.gather(futures) if distributed else futures

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
        if self._state.kind == "distributed":
            return self._state.client.run(func, *args, **kwargs)
        return {"local": func(*args, **kwargs)}

    # ------------------------------------------------------------------ statistics
    def init_statistics(self) -> None:
        """Start recording task timings (restarting if already recording).

        :meth:`set_client` calls this in the Dask modes. In serial mode call it
        yourself: from then on ``execute`` times each call of the functions it wraps.
        """
        self._statistics.start(client=self._state.client)  # None unless on a cluster

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
            name, os.fspath(directory), self._state.kind, extra={"n_workers": self.n_workers}
        )
        if self._verbose:
            from uvflow.execution.statistics import format_statistics

            self._say(format_statistics(stats))
        return stats

    # ------------------------------------------------------------------ state
    @property
    def client(self) -> Client | None:
        """The ``distributed.Client`` in use, or None."""
        return self._state.client

    @property
    def using_dask(self) -> bool:
        """True when ``execute`` builds Dask graphs (local scheduler or cluster)."""
        return self._state.kind != "serial"

    @property
    def mode(self) -> str:
        """``'serial'``, ``'local'`` or ``'distributed'``."""
        return self._state.kind

    @property
    def optimizing(self) -> bool:
        """Whether graphs are optimised before they are computed."""
        return self._state.kind != "serial" and self._optimize

    @property
    def n_workers(self) -> int:
        """Workers that run tasks: cluster workers, local threads/processes, or 1."""
        return self._state.n_workers

    def __repr__(self) -> str:
        return f"Executor({self._state.describe()})"

    def _say(self, message: str) -> None:
        if self._verbose:
            print(message, flush=True)


#: The executor shared by every uvflow workflow (serial until ``set_client``).
rsexecute = Executor()
