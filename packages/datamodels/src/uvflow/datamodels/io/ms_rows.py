"""Reading one chunk's rows and channels from an open MeasurementSet main table.

:func:`fill_rows` is the body of :meth:`~uvflow.datamodels.io.ms_chunks.MSChunk.load`:
it reads the data column, FLAG | FLAG_ROW, the weights (WEIGHT_SPECTRUM, WEIGHT, SIGMA or
unit) and UVW of sorted rows in row chunks (a read buffer of at most 1/8 of the output,
≤ 32 MiB, :func:`~uvflow.datamodels.io.vis_blocks.chunk_rows`) and scatters them into
preallocated block arrays. Channels are read with ``getcolslice`` (evenly spaced: only
those; irregular: their span). A slice read lets a tiled column's cache grow to every
tile it has touched (a whole 29 MB DATA column read in 2 MB steps held 30 MB): the
columns read so are given the smallest tile cache first (``setmaxcachesize``), which
reads each tile once all the same when rows are read in order. Rows are read run by run
of consecutive rows (:mod:`~uvflow.datamodels.io.ms_runs`), so the table's read lock is
held throughout.
"""

from __future__ import annotations

import logging

import numpy as np

from .ms_runs import get_rows
from .vis_blocks import chunk_rows, put_rows

__all__ = ["fill_rows"]

log = logging.getLogger(__name__)


def _weight_source(table, rows: np.ndarray, shape: tuple[int, int]) -> str:
    """Which column gives the weights: WEIGHT_SPECTRUM when present with defined cells of
    the data's shape, else WEIGHT, else SIGMA (weight 1/σ²), else unit weights."""
    cols = table.colnames()
    if "WEIGHT_SPECTRUM" in cols and rows.size:
        r = int(rows[0])
        if table.iscelldefined("WEIGHT_SPECTRUM", r):
            if tuple(table.getcell("WEIGHT_SPECTRUM", r).shape) == shape:
                return "WEIGHT_SPECTRUM"
            log.warning(
                "WEIGHT_SPECTRUM cells do not have the data's shape %s: using WEIGHT", shape
            )
    if "WEIGHT" in cols:
        return "WEIGHT"
    if "SIGMA" in cols:
        return "SIGMA"
    return "ONE"


def _small_cache(table, columns) -> None:
    """The smallest tile cache for ``columns`` (read with getcolslice; see the module notes)."""
    for column in columns:
        try:
            table.setmaxcachesize(column, 1)
        except (RuntimeError, ValueError):  # not a tiled column: no tile cache to bound
            pass


def _channel_reader(channels: np.ndarray, nchan: int):
    """(read(sel, column, start, n) → [n, nchan_sel, ncorr], channels read per row, sliced)."""
    first, last = int(channels[0]), int(channels[-1])
    if channels.size == nchan and last == nchan - 1:
        return (lambda sel, col, s, n: sel.getcol(col, startrow=s, nrow=n)), nchan, False
    step = int(channels[1] - channels[0]) if channels.size > 1 else 1
    if np.array_equal(channels, np.arange(first, last + 1, step)):

        def read(sel, col, s, n):
            return sel.getcolslice(col, [first, -1], [last, -1], [step, 1], startrow=s, nrow=n)

        return read, channels.size, True
    offsets = channels - first  # irregular: read the span, keep the channels asked for

    def read_span(sel, col, s, n):
        return sel.getcolslice(col, [first, -1], [last, -1], startrow=s, nrow=n)[:, offsets, :]

    return read_span, last - first + 1, True


def fill_rows(table, c, out) -> None:
    """Read ``c.rows`` in row chunks and scatter them into ``out``.

    Parameters
    ----------
    table : casacore.tables.table
        The main table, open (read-only is enough).
    c : MSChunk
        Its ``rows`` (sorted), ``t_index``, ``b_index``, ``channels``, ``nchan_spw``,
        ``datacolumn``, ``perm``, ``native_frame`` and ``polarisation_frame``.
    out : tuple of numpy.ndarray
        ``vis`` [ntime, nbaseline, nchan, npol] complex, ``weight`` float32 and ``flags``
        bool of that shape, ``uvw`` float64 [ntime, nbaseline, 3]; filled in place.
    """
    vis, weight, flags, uvw = out
    rows, native, target, ncorr = c.rows, c.native_frame, c.polarisation_frame, c.perm.size
    if rows.size == 0:
        return
    read, nread, sliced = _channel_reader(c.channels, c.nchan_spw)
    wsource = _weight_source(table, rows, (c.nchan_spw, ncorr))
    if sliced:
        _small_cache(
            table, [c.datacolumn, "FLAG"] + ["WEIGHT_SPECTRUM"] * (wsource == "WEIGHT_SPECTRUM")
        )
    # bytes held per row while a chunk is converted: the column values read (data, weight,
    # flags) twice over (casacore's array and numpy's views/copies), or, when products are
    # converted (pol=), the float64 weights and complex128 products of the conversion
    per_sample = (vis.itemsize + 4 + 1) * 2 if target == native else 64
    step = chunk_rows(
        rows.size, nread * ncorr * per_sample, vis.nbytes + weight.nbytes + flags.nbytes
    )
    for s in range(0, rows.size, step):
        n = min(step, rows.size - s)
        ti, bi, r = c.t_index[s : s + n], c.b_index[s : s + n], rows[s : s + n]
        d = get_rows(table, r, read, c.datacolumn)
        f = get_rows(table, r, read, "FLAG")
        f |= get_rows(table, r, column="FLAG_ROW")[:, None, None]
        if wsource == "WEIGHT_SPECTRUM":
            w = get_rows(table, r, read, "WEIGHT_SPECTRUM")
        elif wsource == "WEIGHT":
            w = np.broadcast_to(get_rows(table, r, column="WEIGHT")[:, None, :], f.shape)
        elif wsource == "SIGMA":
            sig = get_rows(table, r, column="SIGMA").astype(np.float32)
            with np.errstate(divide="ignore"):
                w1 = np.where(sig > 0, 1.0 / np.where(sig > 0, sig, 1) ** 2, 0.0)
            w = np.broadcast_to(w1[:, None, :].astype(np.float32), f.shape)
        else:
            w = np.ones(f.shape, np.float32)
        put_rows(vis, weight, flags, ti, bi, d, w, f, c.perm, native, target)
        uvw[ti, bi] = get_rows(table, r, column="UVW")
        del d, f, w
    log.debug("%s: read %d rows (%s weights)", c.path, rows.size, wsource)
