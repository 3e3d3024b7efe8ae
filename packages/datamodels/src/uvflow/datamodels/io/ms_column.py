"""Write Visibility data back into a column (MODEL_DATA, CORRECTED_DATA …) of the
MeasurementSet they were read from, using the row numbers :func:`read_ms` recorded.

Writes are all-or-nothing (:mod:`~uvflow.datamodels.io.ms_staging`): the client stages
the columns (``staged_columns``: a copy of each column, named ``…_UVFLOW_TMP_…``), the
tasks that hold the data write their rows into the staging column with
:func:`write_rows` (DESIGN §4: each its own writable handle, opened and closed in the
call, holding the table's write lock), and the staging columns become the MS's columns
only when every task has finished; an error or an interruption leaves the MS as it was.
casacore tables take one writer at a time: across processes the caller serialises the
writes (a lock such as ``distributed.Lock(path)``); threads of one process take turns on
:data:`~uvflow.datamodels.io.ms_open.TABLE_LOCK`. :func:`write_column` is all of it in
one process.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from ..polarisation import PolarisationError, PolarisationFrame, convert_pol
from ..visibility import Visibility
from .measurementset_write import _as_list
from .ms_runs import get_rows, put_rows_at
from .ms_staging import add_data_column, staged_columns
from .ms_tables import (
    TABLE_LOCK,
    MeasurementSetError,
    casacore_tables,
    check_ms,
    open_table,
    read_correlations,
    read_data_descriptions,
)
from .vis_blocks import chunk_rows, frame_from_products

__all__ = ["ensure_column", "write_column", "write_rows"]

log = logging.getLogger(__name__)


def _to_ms_correlations(data: np.ndarray, frame: PolarisationFrame, products) -> np.ndarray:
    """Data [..., npol] in ``frame`` as the MS correlations ``products`` (in MS order).

    A Stokes frame lacking some of I, Q, U, V (e.g. stokesI) is written with the missing
    Stokes parameters zero, as a model predicted in Stokes I is written by imagers.
    """
    ms_frame, perm = frame_from_products(products)
    if frame != ms_frame:
        try:
            data = convert_pol(data, frame, ms_frame)
        except PolarisationError:
            if not frame.is_stokes:
                raise
            full = np.zeros(data.shape[:-1] + (4,), data.dtype)
            for i, p in enumerate(frame.names):
                full[..., "IQUV".index(p)] = data[..., i]
            data = convert_pol(full, "stokesIQUV", ms_frame)
    out = np.empty_like(data)
    out[..., perm] = data
    return out


def _check_name(column) -> None:
    if not isinstance(column, str) or not column.replace("_", "").isalnum():
        raise ValueError(f"column name {column!r} must be letters, digits and underscores")


def ensure_column(path, column: str = "MODEL_DATA") -> None:
    """Add the data column ``column`` to a MeasurementSet if it is missing.

    Adding a column is one change of the table's description (visible all at once). A new
    column copies the DATA column's description (tiled storage); where cells have no
    fixed shape every row is defined (zeros) so that rows of other spectral windows read.

    Parameters
    ----------
    path : str or os.PathLike
    column : str
        ``MODEL_DATA``, ``CORRECTED_DATA`` or another data column name.

    Raises
    ------
    ValueError
        ``column`` is not a name of letters, digits and underscores.
    MeasurementSetError
        Not a MeasurementSet; ``column`` exists and is not a complex data column.

    Notes
    -----
    Opens the main table writable: no other process may write to it at the same time
    (the caller's lock, as for :func:`write_rows`).
    """
    casacore_tables()
    ms = check_ms(path)
    _check_name(column)
    with TABLE_LOCK, open_table(ms, readonly=False) as table:
        if column not in table.colnames():
            if "DATA" not in table.colnames():
                raise MeasurementSetError(
                    f"{ms}: has no DATA column to copy the description of {column} from"
                )
            add_data_column(table, column, ms, "DATA")
            log.info("%s: added column %s", ms, column)
        elif table.getcoldesc(column).get("valueType") not in ("complex", "dcomplex"):
            raise MeasurementSetError(
                f"{ms}: column {column} exists and is not a complex data column"
            )


def write_rows(path, vis: Visibility, column: str = "MODEL_DATA") -> None:
    """Write one Visibility's cells into the existing column ``column`` of its MeasurementSet.

    Only the rows recorded in ``vis.meta['ms_rows']`` (by ``read_ms`` or an ``MSChunk``'s
    ``load``) are written (filled cells are skipped), and only the channels in
    ``meta['ms_channels']``; the data are converted back to the MS's correlations (a
    Stokes-I model goes to the parallel hands). The call opens its own writable handle
    and closes it before returning, so a task can call it where its data are.

    Parameters
    ----------
    path : str or os.PathLike
    vis : Visibility
        With ``meta`` ``ms_path``, ``ms_ddid``, ``ms_rows`` int64 [ntime, nbaseline] and
        ``ms_channels`` int [nchan]; ``vis.vis`` [ntime, nbaseline, nchan, npol] complex.
    column : str
        An existing complex data column: the staging column of a write
        (:func:`~uvflow.datamodels.io.ms_staging.staged_columns`), or one that
        :func:`ensure_column` added (then the write is not all-or-nothing).

    Raises
    ------
    MeasurementSetError
        ``vis`` was not read from this MS, its shape no longer matches its rows, or the
        column is missing or not complex.

    Notes
    -----
    casacore takes one writer at a time: concurrent writers in other processes must be
    serialised by the caller (e.g. ``with distributed.Lock(path): write_rows(...)``).
    """
    casacore_tables()
    ms = check_ms(path)
    _check_name(column)
    if not isinstance(vis, Visibility):
        raise TypeError(f"expected a Visibility, got {type(vis).__name__}")
    products = read_correlations(ms)[read_data_descriptions(ms)[_meta_ddid(vis)][1]]
    with TABLE_LOCK, open_table(ms, readonly=False) as table:
        _check_provenance(vis, 0, ms, table)
        if column not in table.colnames():
            raise MeasurementSetError(f"{ms}: no column {column}; call ensure_column first")
        if table.getcoldesc(column).get("valueType") not in ("complex", "dcomplex"):
            raise MeasurementSetError(f"{ms}: column {column} is not a complex data column")
        try:
            _write_rows(table, vis, column, products)
        except RuntimeError as err:  # casacore's errors (a full disk …) as one line
            raise MeasurementSetError(f"{ms}: writing {column} failed: {err}") from err


def write_column(path, vis_list, column: str = "MODEL_DATA") -> None:
    """Write Visibility data into ``column`` of the MeasurementSet they were read from.

    All or nothing: the Visibility are checked, the column is staged (a copy, or zeros
    when it is new), each Visibility's rows are written into the copy with
    :func:`write_rows`, and the copy replaces the column only when all are written. An
    error, Ctrl-C or SIGTERM on the way leaves the MS as it was.

    Parameters
    ----------
    path : str or os.PathLike
    vis_list : Visibility or list of Visibility
        As returned by ``read_ms(path, ...)`` (possibly with new ``vis`` values).
    column : str
        ``MODEL_DATA``, ``CORRECTED_DATA`` or another data column name.

    Raises
    ------
    MeasurementSetError
        A Visibility was not read from this MS, or its shape no longer matches its rows;
        not enough free space for the copy (needed and available named); casacore failed.
    TableBusyError
        Another uvflow run was writing the MS for longer than
        :func:`~uvflow.datamodels.io.ms_open.lock_timeout`.
    """
    casacore_tables()
    ms = check_ms(path)
    vis_list = _as_list(vis_list)
    _check_name(column)
    with TABLE_LOCK, open_table(ms) as table:
        for i, v in enumerate(vis_list):
            _check_provenance(v, i, ms, table)
    with staged_columns([ms], [column]) as staging:
        for v in vis_list:
            write_rows(ms, v, staging[ms][column])
    log.info("%s: wrote %s for %d Visibility", ms, column, len(vis_list))


def _meta_ddid(v: Visibility) -> int:
    if "ms_ddid" not in v.meta:
        raise MeasurementSetError(
            "the Visibility was not read by read_ms (no meta['ms_rows']); writing needs "
            "the row numbers of the MS it came from"
        )
    return int(v.meta["ms_ddid"])


def _check_provenance(v: Visibility, i: int, ms: str, table) -> None:
    meta = v.meta
    if "ms_rows" not in meta or "ms_path" not in meta:
        raise MeasurementSetError(
            f"Visibility {i} was not read by read_ms (no meta['ms_rows']); write_column needs "
            "the row numbers of the MS it came from"
        )
    src = meta["ms_path"]
    if not (os.path.exists(src) and os.path.samefile(src, ms)):
        raise MeasurementSetError(f"Visibility {i} came from {src}, not from {ms}")
    rows = meta["ms_rows"]
    if rows.shape != (v.ntime, v.nbaseline) or len(meta["ms_channels"]) != v.nchan:
        raise MeasurementSetError(
            f"Visibility {i} has shape [{v.ntime}, {v.nbaseline}, {v.nchan}] but its MS rows "
            f"{list(rows.shape)} × {len(meta['ms_channels'])} channels: it was reshaped or "
            "selected after reading"
        )
    valid = np.unique(rows[rows >= 0])
    if valid.size and valid[-1] >= table.nrows():
        raise MeasurementSetError(
            f"Visibility {i}: its MS rows do not match {ms} (rewritten since?)"
        )
    if valid.size:
        ddid = get_rows(table, valid, column="DATA_DESC_ID")
        if np.any(ddid != meta["ms_ddid"]):
            raise MeasurementSetError(
                f"Visibility {i}: its MS rows do not match {ms} (rewritten since?)"
            )


def _write_rows(table, v: Visibility, column: str, products) -> None:
    rows_all = v.meta["ms_rows"]
    chans = np.asarray(v.meta["ms_channels"])
    full = (
        table.getcell(
            "DATA" if "DATA" in table.colnames() else column, int(rows_all[rows_all >= 0][0])
        ).shape[0]
        if np.any(rows_all >= 0)
        else 0
    )
    all_channels = chans.size == full and np.array_equal(chans, np.arange(full))
    per_time = v.nbaseline * v.nchan * v.npol * 16
    tstep = max(1, chunk_rows(v.ntime, per_time, v.vis.nbytes))
    dtype = (
        np.complex128 if table.getcoldesc(column).get("valueType") == "dcomplex" else np.complex64
    )
    for t0 in range(0, v.ntime, tstep):
        rows = rows_all[t0 : t0 + tstep]
        ti, bi = np.nonzero(rows >= 0)
        if ti.size == 0:
            continue
        r = rows[ti, bi]
        order = np.argsort(r)
        r, ti, bi = r[order], ti[order] + t0, bi[order]
        data = _to_ms_correlations(v.vis[ti, bi], v.polarisation_frame, products).astype(dtype)
        if not all_channels:
            current = get_rows(table, r, column=column)
            current[:, chans, :] = data
            data = current
        put_rows_at(table, column, r, data)
