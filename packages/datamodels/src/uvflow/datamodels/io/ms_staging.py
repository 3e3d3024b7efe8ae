"""All-or-nothing writes of data columns: write a staged copy, then swap it in.

A write of MODEL_DATA (CORRECTED_DATA, …) into a MeasurementSet goes into a staging
column ``MODEL_DATA_UVFLOW_TMP_<token>`` — a copy of the column if it exists, else zeros —
made by :func:`begin_column_write`. The tasks write their rows into it. Only
:func:`commit_column_write` makes it visible, under the table's write lock: the old column
is renamed to ``…_UVFLOW_OLD_<token>``, the staging column to ``MODEL_DATA``, both in one
rewrite of ``table.dat``; the old column is removed afterwards. casacore deletes a removed
column's files at once but rewrites ``table.dat`` only when flushed, so the renames come
first: a process stopped at any moment leaves either the old columns or the new ones, at
worst with an extra ``_UVFLOW_`` column, which the next write removes. SIGINT and SIGTERM
are held back during the swap and while columns are removed. One window remains for
SIGKILL or a power cut: between removing a column (its files deleted at once) and the
flush that follows it (about a millisecond), when ``table.dat`` names files that are gone.
:func:`abort_column_write` removes the staging columns; an interruption, an error or a
full disk in between leaves the columns as they were.

One uvflow write per MeasurementSet at a time: the staging column records its writer
(process id and host). Another write waits for it (at most ``wait`` seconds, with a log
message), then is refused, naming the writer; a staging column whose writer has died is
removed. Before staging, the space needed is compared with the space free.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone

import numpy as np

from .ms_open import (
    LOCK_TIMEOUT_ENV,
    TABLE_LOCK,
    MeasurementSetError,
    TableBusyError,
    casacore_tables,
    lock_timeout,
    open_table,
)
from .ms_runs import get_rows, put_rows_at
from .vis_blocks import chunk_rows

__all__ = [
    "STAGING_TAG",
    "add_data_column",
    "check_column_space",
    "begin_column_write",
    "commit_column_write",
    "abort_column_write",
    "staged_columns",
]

log = logging.getLogger(__name__)

#: Marks a staging column (``<column><STAGING_TAG><token>``).
STAGING_TAG = "_UVFLOW_TMP_"
#: Marks a replaced column between the swap and its removal.
RETIRED_TAG = "_UVFLOW_OLD_"
#: Column keyword of a staging column: its writer (pid, host, started).
OWNER_KEYWORD = "UVFLOW_WRITER"
#: Bytes copied per block when staging a copy of a column.
_COPY_BLOCK = 1 << 28
#: Staging columns of this process's writes in progress (not stale though their pid lives).
_ACTIVE: set[tuple[str, str]] = set()


def _cells_by_ddid(table, like: str) -> list[tuple[np.ndarray, tuple[int, ...]]]:
    """(rows, cell shape) of each data description, from the column ``like``."""
    ddid = table.getcol("DATA_DESC_ID")
    out = []
    for dd in np.unique(ddid):
        rows = np.nonzero(ddid == dd)[0]
        out.append((rows, tuple(table.getcell(like, int(rows[0])).shape)))
    return out


def _itemsize(table, column: str) -> int:
    return 16 if table.getcoldesc(column).get("valueType") == "dcomplex" else 8


def add_data_column(table, column: str, ms: str, like: str, copy: bool = False) -> None:
    """Add the complex data column ``column`` described like the column ``like``.

    Tiled storage of its own (``Tiled<column>``). Every cell is defined (zeros, or a copy
    of ``like``), so that its space is taken now and rows of every spectral window read.

    Parameters
    ----------
    table : casacore.tables.table
        The main table, write-locked.
    column, like : str
        The new column; an existing complex column whose description it takes.
    ms : str
        The MS path, for messages.
    copy : bool
        Fill it with the values of ``like`` (else zeros).
    """
    tables = casacore_tables()
    desc = table.getcoldesc(like)
    desc["comment"] = f"{column.split(STAGING_TAG)[0]} written by uvflow"
    desc.pop("keywords", None)
    fixed = "shape" in desc
    shape = list(desc["shape"]) if fixed else [64, 4]
    dm = {
        "TYPE": "TiledShapeStMan",
        "NAME": f"Tiled{column}",
        "SPEC": {"DEFAULTTILESHAPE": [shape[-1], min(shape[0], 64), 128]},
    }
    table.addcols(tables.makecoldesc(column, desc), dm)
    dtype = np.complex128 if _itemsize(table, like) == 16 else np.complex64
    for rows, cell in _cells_by_ddid(table, like):
        step = chunk_rows(rows.size, int(np.prod(cell)) * 16, _COPY_BLOCK)
        for s in range(0, rows.size, step):
            block = rows[s : s + step]
            data = (
                get_rows(table, block, column=like)
                if copy
                else np.zeros((block.size,) + cell, dtype)
            )
            put_rows_at(table, column, block, data)


def _needed_bytes(table, columns: Sequence[str]) -> int:
    """Bytes the staging columns take: cells × item size, +10 % and 4 MiB for tiles."""
    names = table.colnames()
    total = 0
    for column in columns:
        like = column if column in names else "DATA"
        for rows, cell in _cells_by_ddid(table, like):
            total += rows.size * int(np.prod(cell)) * _itemsize(table, like)
    return int(total * 1.1) + (4 << 20)


def _check_space(ms: str, need: int, columns: Sequence[str]) -> None:
    free = shutil.disk_usage(ms).free
    if need > free:
        raise MeasurementSetError(
            f"{ms}: writing {', '.join(columns)} needs about {need / 2**20:.1f} MiB free on "
            f"its file system, {free / 2**20:.1f} MiB available; the MS is unchanged"
        )


def check_column_space(path, columns: Sequence[str]) -> None:
    """Refuse early a write of ``columns`` that the MS's file system has no room for.

    :func:`begin_column_write` checks the same again; a caller may check before hours of
    work (e.g. before imaging, for ``--write-model``).

    Raises
    ------
    MeasurementSetError
        One line naming the MiB needed (the staged copies) and the MiB available.
    """
    ms = str(path)
    with TABLE_LOCK, open_table(ms) as table:
        need = _needed_bytes(table, columns)
    _check_space(ms, need, columns)


def _alive(owner: dict, column: str, ms: str) -> bool:
    """Whether the write that staged ``column`` may still be running."""
    pid, host = int(owner.get("pid", -1)), owner.get("host")
    if host != socket.gethostname():
        return True  # cannot tell: assume it runs
    if pid == os.getpid():
        return (ms, column) in _ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(table, ms: str) -> dict | None:
    """Remove the leftovers of stopped writes; the writer of a live one, if any."""
    stale = []
    for name in table.colnames():
        if RETIRED_TAG in name:
            stale.append(name)
        elif STAGING_TAG in name:
            keywords = table.getcolkeywords(name)
            owner = keywords.get(OWNER_KEYWORD, {})
            if _alive(owner, name, ms):
                return dict(owner, column=name)
            stale.append(name)
    if stale:
        log.warning("%s: removing %s, left by a uvflow write that stopped before it finished",
                    ms, ", ".join(stale))  # fmt: skip
        _remove(table, stale)
    return None


def _stage(table, ms: str, columns: Sequence[str], into: dict | None = None) -> dict[str, str]:
    names = table.colnames()
    for column in columns:
        if column in names and table.getcoldesc(column).get("valueType") not in (
            "complex", "dcomplex"
        ):  # fmt: skip
            raise MeasurementSetError(f"{ms}: column {column} exists and is not a complex "
                                      "data column")  # fmt: skip
        if column not in names and "DATA" not in names:
            raise MeasurementSetError(
                f"{ms}: has no DATA column to copy the description of {column} from"
            )
    _check_space(ms, _needed_bytes(table, columns), columns)
    token = uuid.uuid4().hex[:8].upper()
    owner = {"pid": os.getpid(), "host": socket.gethostname(),
             "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}  # fmt: skip
    staging = {c: f"{c}{STAGING_TAG}{token}" for c in columns}
    try:
        for column, stage in staging.items():
            _ACTIVE.add((ms, stage))
            exists = column in names
            add_data_column(table, stage, ms, column if exists else "DATA", copy=exists)
            table.putcolkeyword(stage, OWNER_KEYWORD, owner)
        if into is not None:  # from here on the caller removes them if interrupted
            into[ms] = staging
    except BaseException:
        _drop(table, ms, staging)
        raise
    return staging


def _remove(table, names: list[str]) -> None:
    """Remove columns and flush at once (their files go at once, table.dat at the flush)."""
    if names:
        with _signals_held():
            table.removecols(names)
            table.flush()


def _drop(table, ms: str, staging: dict[str, str]) -> None:
    _remove(table, [s for s in staging.values() if s in table.colnames()])
    for stage in staging.values():
        _ACTIVE.discard((ms, stage))


def begin_column_write(
    path, columns: Sequence[str], wait: float | None = None, *, into: dict | None = None
) -> dict[str, str]:
    """Stage ``columns`` of a MeasurementSet for writing: their staging column names.

    Parameters
    ----------
    path : str
        The MeasurementSet (checked by the caller).
    columns : sequence of str
        Data columns to write (existing complex columns are copied, new ones are zeros).
    wait : float, optional
        Seconds to wait for another uvflow write of this MS; default :func:`lock_timeout`.
    into : dict, optional
        Gets ``into[path] = staging`` as soon as the columns exist, before the table is
        closed: a caller that aborts what ``into`` holds on Ctrl-C or SIGTERM also removes
        columns staged by a call interrupted while it returned.

    Returns
    -------
    dict of str to str
        Column → its staging column, for :func:`~uvflow.datamodels.io.write_rows`.

    Raises
    ------
    TableBusyError
        Another uvflow run writes this MS and did not finish within ``wait`` s.
    MeasurementSetError
        Not enough free space (needed and available are named), a column that is not
        complex, or casacore failed to write (the MS is then as it was).
    """
    ms = str(path)
    wait = lock_timeout() if wait is None else float(wait)
    deadline = time.monotonic() + wait
    told = False
    while True:
        with TABLE_LOCK, open_table(ms, readonly=False) as table:
            writer = _claim(table, ms)
            if writer is None:
                try:
                    return _stage(table, ms, columns, into)
                except RuntimeError as err:  # casacore's errors (a full disk …)
                    raise MeasurementSetError(f"{ms}: staging {', '.join(columns)} failed "
                                              f"({err}); the MS is unchanged") from err  # fmt: skip
        what = (f"another uvflow run (pid {writer.get('pid')} on {writer.get('host')}, "
                f"since {writer.get('started')}) is writing it ({writer['column']})")  # fmt: skip
        if time.monotonic() >= deadline:
            gone = "" if writer.get("host") == socket.gethostname() else (
                f"; if that run is gone, remove the column {writer['column']}")  # fmt: skip
            raise TableBusyError(f"{ms}: {what}; waited {wait:.0f} s (set {LOCK_TIMEOUT_ENV} "
                                 f"to wait longer){gone}; the MS is unchanged")  # fmt: skip
        if not told:
            log.warning("%s: %s; waiting for it to finish (up to %.0f s)", ms, what, wait)
            told = True
        time.sleep(min(1.0, wait / 10 + 0.05))


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM delivered after the block (main thread; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def commit_column_write(path, staging: dict[str, str]) -> None:
    """Make the staged columns the MS's columns, all in one rewrite of its description.

    Raises
    ------
    MeasurementSetError
        A staging column is gone (another process removed it); nothing was changed.
    """
    ms = str(path)
    with TABLE_LOCK, open_table(ms, readonly=False) as table, _signals_held():
        names = table.colnames()
        gone = [s for s in staging.values() if s not in names]
        if gone:
            raise MeasurementSetError(f"{ms}: staged column(s) {', '.join(gone)} were removed "
                                      "by another process; the MS is unchanged")  # fmt: skip
        token = uuid.uuid4().hex[:8].upper()
        retired = []
        for column, stage in staging.items():
            if column in names:
                retired.append(f"{column}{RETIRED_TAG}{token}")
                table.renamecol(column, retired[-1])
            table.renamecol(stage, column)
            table.removecolkeyword(column, OWNER_KEYWORD)
        table.flush()  # one table.dat: every new column visible at once
        for stage in staging.values():
            _ACTIVE.discard((ms, stage))
        if retired:
            _remove(table, retired)
    log.info("%s: wrote %s", ms, ", ".join(staging))


def abort_column_write(path, staging: dict[str, str]) -> None:
    """Remove the staging columns: the MS's columns stay as they were."""
    ms = str(path)
    with TABLE_LOCK, open_table(ms, readonly=False) as table:
        _drop(table, ms, staging)


@contextmanager
def staged_columns(
    paths: Sequence[str], columns: Sequence[str], wait: float | None = None
) -> Iterator[dict[str, dict[str, str]]]:
    """Stage ``columns`` of every MS in ``paths``; commit them all if the block succeeds.

    Yields
    ------
    dict
        ``{path: {column: staging column}}``. If the block raises (an error, Ctrl-C,
        SIGTERM …), every staging column is removed and the MSs are left as they were.
    """
    staged: dict[str, dict[str, str]] = {}
    try:
        for path in paths:
            # staged[path] is set inside, before the table closes: a signal while the
            # call returns leaves no staging column behind (a CI run saw one)
            begin_column_write(str(path), columns, wait, into=staged)
        yield staged
        # inside the try too: a signal while a commit opens the table (before it holds
        # signals) must remove the staging columns; after a commit they are gone already
        for path, staging in staged.items():
            commit_column_write(path, staging)
    except BaseException:
        for path, staging in staged.items():
            try:
                abort_column_write(path, staging)
            except Exception as err:  # keep the original error; the next write cleans up
                log.warning("%s: could not remove the staged columns (%s)", path, err)
        raise
