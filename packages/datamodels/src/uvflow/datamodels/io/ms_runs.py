"""Reading and writing scattered rows of a casacore table as runs of consecutive rows.

``table.selectrows`` would do it in one call, but making (and closing) the reference
table drops the user lock of the table it refers to (python-casacore 3.x, measured: after
``selectrows`` ``haslock`` is False and another process may write), which would let a
write slip into the middle of a locked read. Rows are mostly in long runs (a time range
of one spectral window: all of its baselines), so reading run by run costs little; for
rows in short runs (under :data:`MIN_MEAN_RUN` on average) a selection is used and the
lock taken again at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["MIN_MEAN_RUN", "row_runs", "get_rows", "put_rows_at"]

#: Mean run length below which a row selection is used instead of runs.
MIN_MEAN_RUN = 16


def row_runs(rows: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of consecutive rows in a sorted array of row numbers.

    Parameters
    ----------
    rows : numpy.ndarray
        int [n], increasing.

    Returns
    -------
    list of (offset, first row, length)
        ``rows[offset : offset + length] == first + arange(length)``.
    """
    rows = np.asarray(rows, np.int64)
    if rows.size == 0:
        return []
    breaks = np.nonzero(np.diff(rows) != 1)[0] + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [rows.size]))
    return [(int(s), int(rows[s]), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def _selection(table, rows: np.ndarray, body: Callable):
    """``body(selection)`` on a row selection, the table's lock taken again around it."""
    write = bool(table.iswritable()) and table.haslock(True)
    sel = table.selectrows(rows)
    try:
        table.lock(write=write)
        return body(sel)
    finally:
        sel.close()
        table.lock(write=write)


def get_rows(
    table, rows: np.ndarray, read: Callable | None = None, column: str | None = None
) -> np.ndarray:
    """The values of ``rows`` (sorted): ``read(table, column, startrow, nrow)`` per run.

    Parameters
    ----------
    table : casacore.tables.table
    rows : numpy.ndarray
        int [n], increasing.
    read : callable, optional
        ``read(table, column, start, n) → array [n, ...]``; default ``getcol``.
    column : str

    Returns
    -------
    numpy.ndarray
        [n, ...], the rows' values in order.
    """
    if read is None:

        def read(t, col, s, n):
            return t.getcol(col, startrow=s, nrow=n)

    runs = row_runs(rows)
    if len(runs) > 1 and len(rows) < MIN_MEAN_RUN * len(runs):
        return _selection(table, rows, lambda sel: read(sel, column, 0, len(rows)))
    parts = [read(table, column, first, n) for _, first, n in runs]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def put_rows_at(table, column: str, rows: np.ndarray, data: np.ndarray) -> None:
    """Write ``data`` [n, ...] into ``column`` at ``rows`` (sorted), run by run."""
    runs = row_runs(rows)
    if len(runs) > 1 and len(rows) < MIN_MEAN_RUN * len(runs):
        _selection(table, rows, lambda sel: sel.putcol(column, data))
        return
    for offset, first, n in runs:
        table.putcol(column, data[offset : offset + n], startrow=first, nrow=n)
