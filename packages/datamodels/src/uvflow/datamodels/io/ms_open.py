"""Opening casacore tables under a lock held for the whole use of the handle.

casacore tables are not thread-safe and a writer locks out readers. Every handle uvflow
opens (:func:`open_table`) uses casacore's user locking and holds the table's lock from
just after opening until it is closed: a read lock for a reader, the write lock for a
writer. So a reader never sees a write half done (a writer's changes become visible when
it releases the lock, all at once), and a writer never changes what a reader is reading.

casacore's own open waits while another process holds the write lock (it logs "waiting
for read-lock"); the lock taken after the open is waited for at most
:func:`lock_timeout` seconds, then :class:`TableBusyError` names the table. A table whose
description changed between the open and the lock (another process renamed or removed
columns, as a column write's last step does) is opened again, so a handle never refers
to columns that are gone.

Handles to one table in one process share casacore's table object (its table cache), and closing
one releases the lock of all: the table work of tasks also holds :data:`TABLE_LOCK`, so
threads of one process take turns, and a nested open of a table in the same thread
yields the handle already open.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ._extras import import_extra

__all__ = [
    "MeasurementSetError",
    "TableBusyError",
    "TABLE_LOCK",
    "LOCK_TIMEOUT_ENV",
    "casacore_tables",
    "lock_timeout",
    "open_table",
]

log = logging.getLogger(__name__)

#: Held by the table work of tasks (chunk loads, row writes): one thread of a process at a time.
TABLE_LOCK = threading.RLock()
#: Environment variable: seconds to wait for a table's lock (default 300).
LOCK_TIMEOUT_ENV = "UVFLOW_MS_LOCK_TIMEOUT"
_DEFAULT_TIMEOUT = 300.0
#: Opens retried when the description keeps changing between open and lock.
_MAX_REOPEN = 20
#: Handles this thread holds open, by path: a nested open reuses the handle (closing a
#: second handle of a table would release the lock the first one holds).
_HELD = threading.local()


class MeasurementSetError(ValueError):
    """A MeasurementSet is missing, malformed, or does not hold what was asked for."""


class TableBusyError(MeasurementSetError):
    """Another process held a table's lock (or its uvflow write) for longer than allowed."""


def casacore_tables():
    """The ``casacore.tables`` module, or an ImportError saying how to install it."""
    return import_extra("casacore.tables", "ms", "MeasurementSet IO needs python-casacore")


def lock_timeout() -> float:
    """Seconds to wait for a table's lock: ``$UVFLOW_MS_LOCK_TIMEOUT``, default 300.

    Raises
    ------
    ValueError
        The variable is set to something other than a number ≥ 0.
    """
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return _DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(f"{LOCK_TIMEOUT_ENV}={text!r}: must be a number of seconds ≥ 0")
    return value


def _description(path: str) -> bytes:
    """The bytes of ``table.dat`` (the table's description): b'' if unreadable."""
    try:
        with open(os.path.join(path, "table.dat"), "rb") as f:
            return f.read()
    except OSError:
        return b""


def _acquire(table, write: bool, path: str, wait: float) -> None:
    """Take the table's read (or write) lock, polling; at most ``wait`` seconds."""
    deadline = time.monotonic() + wait
    told = False
    while True:
        table.lock(write=write, nattempts=1)  # one attempt: does not sleep
        if table.haslock(write):
            return
        if time.monotonic() >= deadline:
            raise TableBusyError(
                f"{path}: another process has held the table's lock for over {wait:.0f} s "
                f"(set {LOCK_TIMEOUT_ENV} to wait longer)"
            )
        if not told:
            log.info("%s: waiting for another process to release the table (up to %.0f s)",
                     path, wait)  # fmt: skip
            told = True
        time.sleep(0.1)


def _release(table, held: bool) -> None:
    """Release a lock this handle took (a writer's changes are flushed), then close."""
    try:
        if not held:
            table.unlock()
    finally:
        table.close()


@contextmanager
def open_table(path: str, readonly: bool = True, timeout: float | None = None) -> Iterator:
    """A casacore table handle of our own, holding the table's lock until closed on exit.

    Parameters
    ----------
    path : str
        A casacore table (a MeasurementSet or one of its subtables).
    readonly : bool
        Read lock (True) or write lock (False) for the whole ``with`` block.
    timeout : float, optional
        Seconds to wait for the lock; default :func:`lock_timeout`.

    Yields
    ------
    casacore.tables.table
        Locked; unlocked (a writer's changes flushed) and closed on exit.

    Raises
    ------
    TableBusyError
        The lock was not free within the timeout, or the table's description kept
        changing while it was being opened.
    """
    tables = casacore_tables()
    path = str(path)
    wait = lock_timeout() if timeout is None else float(timeout)
    write = not readonly
    held_here = _HELD.__dict__.setdefault("tables", {})
    outer = held_here.get(path)
    if outer is not None and (readonly or outer[1]):
        yield outer[0]  # this thread already holds it (and its lock)
        return
    for _ in range(_MAX_REOPEN):
        before = _description(path)
        t = tables.table(path, readonly=readonly, ack=False, lockoptions="user")
        held = False
        try:
            held = bool(t.haslock(write))  # another handle of this process holds it
            if not held:
                _acquire(t, write, path, wait)
        except RuntimeError:
            t.close()
            if _description(path) == before:
                raise
            continue  # casacore could not follow another process's change: open afresh
        except BaseException:
            t.close()
            raise
        if held or _description(path) == before:
            break
        _release(t, held)  # columns were renamed or removed meanwhile: open afresh
    else:
        raise TableBusyError(f"{path}: the table's description kept changing while opening it")
    held_here[path] = (t, write)
    try:
        yield t
    finally:
        if outer is None:
            held_here.pop(path, None)
        else:
            held_here[path] = outer
        _release(t, held)
