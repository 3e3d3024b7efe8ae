"""A lock per named resource (a table being written) that holds across Dask workers.

casacore tables take one writer at a time: tasks that write into the same MeasurementSet
take the lock of its path first. Inside a task on a ``distributed`` cluster the lock is a
``distributed.Lock`` held by the scheduler (so it serialises writers in every worker
process); elsewhere (serial runs, Dask's local schedulers) it is a lock of this process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["table_lock"]

_LOCAL: dict[str, threading.RLock] = {}
_GUARD = threading.Lock()


def _distributed_lock(name: str):
    try:
        from distributed import Lock, get_worker
    except ImportError:  # pragma: no cover - distributed is a dependency
        return None
    try:
        get_worker()
    except ValueError:  # not in a worker's task
        return None
    return Lock(name)


@contextmanager
def table_lock(path: str | os.PathLike, timeout: float | None = None) -> Iterator[None]:
    """Hold the lock of ``path`` (resolved) while the block runs.

    Parameters
    ----------
    path : str or os.PathLike
        The resource, e.g. a MeasurementSet; the lock's name is its absolute real path.
    timeout : float, optional
        Seconds to wait; None waits as long as it takes.

    Raises
    ------
    TimeoutError
        The lock was not free within ``timeout`` (the message names the resource).
    """
    name = "uvflow-table-" + os.path.realpath(os.fspath(path))
    lock = _distributed_lock(name)
    if lock is None:
        with _GUARD:
            lock = _LOCAL.setdefault(name, threading.RLock())
        acquired = lock.acquire(timeout=-1 if timeout is None else timeout)
    else:
        acquired = lock.acquire(timeout=timeout)
    if not acquired:
        raise TimeoutError(f"{path}: another writer held it for over {timeout} s")
    try:
        yield
    finally:
        lock.release()
