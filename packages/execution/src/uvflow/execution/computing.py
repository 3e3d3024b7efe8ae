"""Computing and persisting graphs: with Dask's local schedulers and on a cluster.

The plumbing behind ``Executor.compute`` and ``Executor.persist`` in their two Dask
modes. A graph is a deferred value or any nesting of lists, tuples and dicts of them
(:mod:`uvflow.execution.nested`); results come back in the same structure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import CancelledError
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import dask
from distributed import Client

from uvflow.execution.client import dashboard_link
from uvflow.execution.log_forwarding import process_pool_forwarding
from uvflow.execution.nested import fill_collections, split_collections
from uvflow.execution.progress import local_progress, show_progress
from uvflow.execution.stall_watch import StallWatch, stall_timeout
from uvflow.execution.statistics import StatisticsRecorder

if TYPE_CHECKING:
    from uvflow.execution.modes import ExecutionMode

__all__ = [
    "compute_graph",
    "compute_local",
    "compute_on_cluster",
    "persist_graph",
    "persist_local",
    "persist_on_cluster",
    "wait_for_futures",
]

logger = logging.getLogger(__name__)


def compute_graph(
    mode: ExecutionMode,
    value: Any,
    optimize: bool,
    statistics: StatisticsRecorder,
    sync: bool = False,
    progress_interval: float | None = None,
) -> Any:
    """``Executor.compute`` in ``mode``: :func:`compute_local` or :func:`compute_on_cluster`.

    Serial mode returns ``value`` unchanged (it is already computed).
    """
    if mode.kind == "local":
        return compute_local(
            value,
            mode.local_scheduler,
            mode.local_workers,
            optimize,
            statistics,
            progress_interval=progress_interval,
            forward_level=mode.forward_level,
        )
    if mode.kind == "distributed":
        return compute_on_cluster(mode.client, value, optimize, sync, progress_interval)
    return value


def persist_graph(
    mode: ExecutionMode, graph: Any, optimize: bool, statistics: StatisticsRecorder
) -> Any:
    """``Executor.persist`` in ``mode``: :func:`persist_local` or :func:`persist_on_cluster`."""
    if mode.kind == "local":
        return persist_local(graph, mode.local_scheduler, statistics, mode.forward_level)
    if mode.kind == "distributed":
        return persist_on_cluster(mode.client, graph, optimize)
    return graph


@contextmanager
def _local_run(
    scheduler: str, statistics: StatisticsRecorder, forward_level: int | None
) -> Iterator[dict]:
    """Profile the tasks (when recording) and forward the ``processes`` pool's records.

    Yields the keywords of ``dask.compute`` / ``dask.persist`` for ``scheduler``.
    """
    forwarding = (
        process_pool_forwarding(forward_level) if scheduler == "processes" else nullcontext({})
    )
    with statistics.profiling(), forwarding as extra:
        yield {"scheduler": scheduler, **extra}


def compute_local(
    value: Any,
    scheduler: str,
    n_workers: int | None,
    optimize: bool,
    statistics: StatisticsRecorder,
    progress_interval: float | None = None,
    forward_level: int | None = None,
) -> Any:
    """Values of ``value`` computed by the local ``scheduler``.

    Parameters
    ----------
    value : Delayed or nested list/tuple/dict of Delayed
        The graph.
    scheduler : str
        ``"threads"``, ``"synchronous"`` or ``"processes"``.
    n_workers : int, optional
        Threads or processes (ignored by ``"synchronous"``); default Dask's choice.
    optimize : bool
        Optimise the graph first.
    statistics : StatisticsRecorder
        Records the tasks while it is recording.
    progress_interval : float, optional
        Report progress (log lines at this interval, a bar on a terminal); None: none.
    forward_level : int, optional
        ``"processes"``: forward the ``uvflow`` records at this level or above from the
        pool's processes here; None: none.
    """
    kwargs = {}
    if n_workers is not None and scheduler != "synchronous":
        kwargs["num_workers"] = n_workers
    progress = local_progress(progress_interval) if progress_interval is not None else nullcontext()
    with _local_run(scheduler, statistics, forward_level) as run_kwargs, progress:
        (result,) = dask.compute(value, optimize_graph=optimize, **run_kwargs, **kwargs)
    return result


def persist_local(
    graph: Any, scheduler: str, statistics: StatisticsRecorder, forward_level: int | None = None
) -> Any:
    """``graph`` computed now by the local ``scheduler``, as in-memory graphs."""
    with _local_run(scheduler, statistics, forward_level) as run_kwargs:
        return dask.persist(graph, **run_kwargs)[0]


def compute_on_cluster(
    client: Client,
    value: Any,
    optimize: bool,
    sync: bool,
    progress_interval: float | None = None,
) -> Any:
    """Submit ``value`` to the cluster in one call; futures, or values with ``sync``.

    Parameters
    ----------
    client : distributed.Client
        The cluster's client.
    value : Delayed or nested list/tuple/dict of Delayed
        The graph; other items pass through.
    optimize : bool
        Optimise the graph first.
    sync : bool
        Gather the values (True) or return futures (False).
    progress_interval : float, optional
        Log the number of tasks and the dashboard link, then follow the progress until
        the work is done (log lines at this interval, a bar on a terminal); None: none.
    """
    leaves: list = []
    template = split_collections(value, leaves)
    futures = client.compute(leaves, optimize_graph=optimize) if leaves else []
    result = fill_collections(template, futures)
    if not sync and progress_interval is None:
        return result
    # waiting here: a stalled cluster fails in bounded time (stall_watch), never hangs
    with StallWatch(client, futures, stall_timeout()) as watch:
        try:
            if progress_interval is not None and futures:
                # unique keys: the leaves' graphs share their common dependencies
                ntasks = len({key for leaf in leaves for key in leaf.__dask_graph__()})
                logger.info(
                    "computing %d tasks on %d workers; dashboard: %s",
                    ntasks,
                    len(client.nthreads()),
                    dashboard_link(client) or "none",
                )
                show_progress(futures, client, progress_interval)
            return client.gather(result) if sync else result
        except CancelledError:
            watch.raise_if_stalled()
            raise


def persist_on_cluster(client: Client, graph: Any, optimize: bool) -> Any:
    """``Client.persist`` of every collection in ``graph``, in the same structure."""
    leaves: list = []
    template = split_collections(graph, leaves)
    persisted = client.persist(leaves, optimize_graph=optimize) if leaves else []
    return fill_collections(template, persisted)


def wait_for_futures(persisted: Any, poll: float = 0.05) -> None:
    """Block until every future in ``persisted`` (any nesting) is finished.

    Polled, not ``distributed.wait``: the futures' states are only read here, so nothing
    of the client's event loop is touched from this thread. An error in a task is raised
    by whoever gathers its result, not here.
    """
    import time

    from distributed import futures_of

    futures = futures_of(persisted)
    while not all(f.done() for f in futures):
        time.sleep(poll)
