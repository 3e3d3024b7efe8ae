"""A computation that cannot progress fails in bounded time (issue 15: no hang).

Dask recomputes what a lost worker held and reschedules its tasks, so losing a worker is
not a failure. Two states are: no task can run until something outside the run changes,
and Dask waits for that without limit.

- *Every worker is paused*: each process is above Dask's pause fraction of its memory
  limit (``distributed.worker.memory.pause``, 80 %), so none starts a task, and what they
  hold is only released by the tasks that cannot start.
- *No worker at all*: every worker died (or was lost) and none has joined.

:class:`StallWatch` follows the cluster while a computation runs. When one of those
states lasts :func:`stall_timeout` seconds without a break, it cancels the computation's
futures, and the waiting call raises :class:`ClusterStalledError` naming the state: the
workers and their memory, and what to change.

The timeout is Dask's configuration key ``uvflow.stall-timeout`` (seconds; environment
``DASK_UVFLOW__STALL_TIMEOUT``; default :data:`DEFAULT_STALL_TIMEOUT`; 0 or a negative
value: never).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import dask

from uvflow.execution.errors import ClusterStalledError

__all__ = ["DEFAULT_STALL_TIMEOUT", "StallWatch", "cluster_stall", "stall_timeout"]

logger = logging.getLogger(__name__)

#: Seconds a stalled state may last before the computation fails (``uvflow.stall-timeout``).
DEFAULT_STALL_TIMEOUT = 300.0


def stall_timeout() -> float | None:
    """Seconds from Dask's config key ``uvflow.stall-timeout``; None: never.

    Raises
    ------
    ValueError
        The value is not a number of seconds.
    """
    value = dask.config.get("uvflow.stall-timeout", DEFAULT_STALL_TIMEOUT)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"uvflow.stall-timeout must be a number of seconds (0: never), got {value!r}"
        ) from None
    return seconds if seconds > 0 else None


def cluster_stall(workers: dict) -> str | None:
    """What keeps every task from running, from the scheduler's worker records; None: nothing.

    Parameters
    ----------
    workers : dict
        ``Client.scheduler_info()['workers']``: per address, a dict with ``status``,
        ``memory_limit`` (bytes) and ``metrics['memory']`` (bytes).

    Returns
    -------
    str or None
        'no worker is connected', or 'all N workers are paused at their memory limit
        (address: used of limit MiB, …)'.
    """
    if not workers:
        return "no worker is connected (all were lost and none has joined)"
    if any(str(w.get("status", "running")) != "paused" for w in workers.values()):
        return None

    def mib(v) -> str:
        return "?" if not v else f"{v / 2**20:.0f}"

    held = ", ".join(
        f"{addr}: {mib(w.get('metrics', {}).get('memory'))} of {mib(w.get('memory_limit'))} MiB"
        for addr, w in sorted(workers.items())
    )
    return f"all {len(workers)} workers are paused at their memory limit ({held})"


class StallWatch:
    """Follow a cluster while ``futures`` compute; cancel them when it stalls.

    Use as a context manager around the wait for the futures; when the wait ends with
    the futures cancelled, :meth:`raise_if_stalled` raises :class:`ClusterStalledError`.

    Parameters
    ----------
    client : distributed.Client
    futures : sequence of distributed.Future
        The computation's futures (cancelled on a stall).
    timeout : float or None
        Seconds a stall may last (None: the watch does nothing).
    poll : float
        Seconds between looks at the scheduler's worker records.
    """

    def __init__(self, client, futures: Sequence, timeout: float | None, poll: float = 1.0):
        self.client = client
        self.futures = list(futures)
        self.timeout = timeout
        self.poll = float(poll)
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StallWatch:
        if self.timeout is not None and self.futures:
            self._thread = threading.Thread(
                target=self._run, name="uvflow-stall-watch", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def raise_if_stalled(self) -> None:
        """Raise :class:`ClusterStalledError` if the watch cancelled the computation."""
        if self.reason is not None:
            raise ClusterStalledError(self.reason)

    def _state(self) -> str | None:
        try:
            info = self.client.scheduler_info(n_workers=-1)
        except TypeError:  # a distributed without n_workers= lists every worker
            info = self.client.scheduler_info()
        return cluster_stall(info.get("workers", {}))

    def _run(self) -> None:
        since: float | None = None
        while not self._stop.wait(self.poll):
            if all(f.done() for f in self.futures):
                return
            try:
                state = self._state()
            except Exception as exc:  # the scheduler is gone: the wait itself reports it
                logger.debug("stall watch: no scheduler information (%s)", exc)
                return
            now = time.monotonic()
            if state is None:
                since = None
                continue
            if since is None:
                since = now
                logger.warning("no task can run: %s; the run fails if this lasts %.0f s",
                               state, self.timeout)  # fmt: skip
            elif now - since >= self.timeout:
                self.reason = (
                    f"the computation stalled for {now - since:.0f} s: {state}. Give the "
                    "workers more memory (--memory-limit) or the tasks less (--task-memory, "
                    "smaller chunks), or check why the workers were lost; the limit is Dask's "
                    f"config uvflow.stall-timeout ({self.timeout:g} s)"
                )
                logger.error("%s", self.reason)
                self.client.cancel(self.futures, force=True)
                return
