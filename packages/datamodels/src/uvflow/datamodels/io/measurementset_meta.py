"""What the subtables of a MeasurementSet say: :func:`read_ms_metadata` (no visibilities);
the main table's data columns (:func:`check_data_column`) and uv sampling
(:func:`uv_sampling`, from UVW only).

Read by the client to plan work (:func:`~uvflow.datamodels.io.ms_chunks.ms_index`) and by
``uvflow info``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from astropy.coordinates import SkyCoord

from ..configuration import Configuration
from .ms_tables import (
    MeasurementSetError,
    SpectralWindow,
    casacore_tables,
    check_ms,
    read_configuration,
    read_correlations,
    read_data_descriptions,
    read_fields,
    read_spectral_windows,
)
from .vis_parts import uv_moments

__all__ = [
    "MeasurementSetMetadata",
    "read_ms_metadata",
    "resolve_ids",
    "visibility_columns",
    "check_data_column",
    "readable",
    "part_keys",
    "uv_sampling",
    "INDEX_ROWS",
    "column_at_rows",
]

#: Rows of UVW read at a time by :func:`uv_sampling` (6 MiB; ~25 MiB with its temporaries).
INDEX_ROWS = 1 << 18

#: casacore value types of a column of complex visibilities
VISIBILITY_TYPES = ("complex", "dcomplex")


@dataclass(frozen=True)
class MeasurementSetMetadata:
    """What the subtables of a MeasurementSet say about its main table.

    Parameters
    ----------
    path : str
        The MeasurementSet (as :func:`read_ms_metadata` checked it).
    configuration : Configuration
        The ANTENNA table (and the OBSERVATION table's telescope name).
    spectral_windows : list of SpectralWindow
        Per SPECTRAL_WINDOW row: ``name``, ``frequency`` and ``width`` float64 [nchan] Hz.
    correlations : list of tuple of str
        Per POLARIZATION row, the correlation products as stored (e.g. ``('XX', 'YY')``).
    data_descriptions : list of (int, int)
        Per DATA_DESCRIPTION row: (spectral window id, polarisation id).
    fields : list of (str, SkyCoord)
        Per FIELD row: name and phase centre (ICRS).
    """

    path: str
    configuration: Configuration
    spectral_windows: list[SpectralWindow]
    correlations: list[tuple[str, ...]]
    data_descriptions: list[tuple[int, int]]
    fields: list[tuple[str, SkyCoord]]


def read_ms_metadata(path) -> MeasurementSetMetadata:
    """Read the subtables that describe a MeasurementSet (no visibilities are loaded).

    Parameters
    ----------
    path : str or os.PathLike
        A MeasurementSet directory.

    Returns
    -------
    MeasurementSetMetadata

    Raises
    ------
    ImportError
        python-casacore is not installed (the message names the ``ms`` extra).
    MeasurementSetError
        Not a MeasurementSet (a required subtable is missing).
    """
    casacore_tables()
    ms = check_ms(path)
    return MeasurementSetMetadata(
        path=ms,
        configuration=read_configuration(ms),
        spectral_windows=read_spectral_windows(ms),
        correlations=read_correlations(ms),
        data_descriptions=read_data_descriptions(ms),
        fields=read_fields(ms),
    )


def resolve_ids(kind: str, request, names: list[str], ms: str) -> list[int]:
    """Ids chosen by ``field=``/``spw=`` (None, an id, a name, or a list of those).

    Parameters
    ----------
    kind : str
        For the message (``'field'``, ``'spectral window'``).
    request : None, int, str or list of those
    names : list of str
        The name of each id.
    ms : str
        For the message.

    Returns
    -------
    list of int
        Sorted, unique.

    Raises
    ------
    MeasurementSetError
        An unknown id or name (the available ones are listed).
    """
    if request is None:
        return list(range(len(names)))
    items = request if isinstance(request, (list, tuple, np.ndarray)) else [request]
    ids = []
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            ok = 0 <= int(item) < len(names)
            ident = int(item)
        else:
            ok = str(item) in names
            ident = names.index(str(item)) if ok else -1
        if not ok:
            listing = ", ".join(f"{i} {n!r}" for i, n in enumerate(names)) or "none"
            raise MeasurementSetError(f"{ms}: {kind} {item!r} unknown; available: {listing}")
        ids.append(ident)
    return sorted(set(ids))


def visibility_columns(table) -> list[str]:
    """Names of the main table's columns of complex visibilities (array columns of complex
    or double-complex values: DATA, CORRECTED_DATA, MODEL_DATA …), in table order."""
    out = []
    for name in table.colnames():
        desc = table.getcoldesc(name)
        if desc.get("valueType") in VISIBILITY_TYPES and desc.get("ndim", 0) in (2, -1):
            out.append(name)
    return out


def check_data_column(table, datacolumn: str, ms: str) -> bool:
    """Check that ``datacolumn`` of the open main table holds complex visibilities.

    Parameters
    ----------
    table : casacore.tables.table
        The main table, open.
    datacolumn : str
        The column asked for (``--datacolumn``).
    ms : str
        For the message.

    Returns
    -------
    bool
        Whether the column is double-precision (``dcomplex``).

    Raises
    ------
    MeasurementSetError
        The column does not exist, or does not hold complex visibilities of [nchan, ncorr]
        per row (FLAG, UVW, WEIGHT …); the message names the columns of the MS that do.
    """
    allowed = visibility_columns(table)
    listing = ", ".join(allowed) or "none"
    if datacolumn not in table.colnames():
        raise MeasurementSetError(f"{ms}: no data column {datacolumn!r}; available: {listing}")
    if datacolumn not in allowed:
        desc = table.getcoldesc(datacolumn)
        kind = f"{desc.get('valueType', '?')} {'array' if 'ndim' in desc else 'scalar'}"
        raise MeasurementSetError(
            f"{ms}: column {datacolumn!r} ({kind}) is not a data column: a data column must "
            f"be a complex visibility column; this MS has {listing}"
        )
    return table.getcoldesc(datacolumn).get("valueType") == "dcomplex"


def part_keys(field_col, ddid_col, wanted) -> np.ndarray:
    """int32 [nrow]: the position in ``wanted`` of each row's (field, ddid), −1 if not wanted."""
    nddid = int(max(ddid_col.max(initial=0), max((d for _, d in wanted), default=0))) + 1
    lookup = np.full((int(field_col.max(initial=0)) + 1) * nddid, -1, np.int32)
    for k, (fid, dd) in enumerate(wanted):
        lookup[fid * nddid + dd] = k
    return lookup[field_col.astype(np.int64) * nddid + ddid_col]


def uv_sampling(table, key: np.ndarray, nparts: int) -> tuple[np.ndarray, ...]:
    """The uv sampling of each part, from UVW read in blocks (rows of a non-finite UVW are
    left out and counted).

    Returns
    -------
    uv_max : numpy.ndarray of float64, shape [nparts]
        max sqrt(u² + v²), metres.
    uvw_max : numpy.ndarray of float64, shape [nparts, 3]
        max ``|u|``, ``|v|``, ``|w|``, metres.
    moments : numpy.ndarray of float64, shape [nparts, 3]
        :func:`~uvflow.datamodels.io.vis_parts.uv_moments` of each part's rows.
    bad : numpy.ndarray of int64, shape [nparts]
        Rows whose UVW is NaN or infinite.
    """
    uv, uvw = np.zeros(nparts + 1), np.zeros((nparts + 1, 3))
    moments, bad = np.zeros((nparts + 1, 3)), np.zeros(nparts + 1, np.int64)
    for start in range(0, key.size, INDEX_ROWS):
        k = key[start : start + INDEX_ROWS]  # k = −1 → the spare slot
        block = table.getcol("UVW", startrow=start, nrow=k.size)
        finite = np.isfinite(block).all(axis=1)
        np.add.at(bad, k, ~finite)
        block[~finite] = 0.0
        np.maximum.at(uv, k, np.hypot(block[:, 0], block[:, 1]))
        np.maximum.at(uvw, k, np.abs(block))
        np.add.at(moments, k, uv_moments(block, per_row=True))
    return uv[:nparts], uvw[:nparts], moments[:nparts], bad[:nparts]


def column_at_rows(table, column: str, rows: np.ndarray) -> np.ndarray:
    """A scalar column's values at ``rows`` (any order), read in blocks of
    :data:`INDEX_ROWS` that hold some of them: never the whole column at once.

    Returns
    -------
    numpy.ndarray, shape [len(rows)]
        Of the column's type.
    """
    rows = np.asarray(rows, np.int64)
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    out = None
    for start in np.unique(ordered // INDEX_ROWS) * INDEX_ROWS:
        lo, hi = np.searchsorted(ordered, [start, start + INDEX_ROWS])
        block = table.getcol(column, startrow=int(start), nrow=int(ordered[hi - 1] - start + 1))
        if out is None:
            out = np.empty(rows.size, block.dtype)
        out[order[lo:hi]] = block[ordered[lo:hi] - start]
    return np.zeros(0) if out is None else out


@contextmanager
def readable(path) -> Iterator[None]:
    """casacore's errors while reading the MeasurementSet ``path`` (a truncated or damaged
    table file: ``FilebufIO::readBlock``, ``BucketCache::getBucket`` …) as a
    :class:`MeasurementSetError` naming it; lock errors pass unchanged."""
    try:
        yield
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        if re.search(r"\block", detail, re.IGNORECASE):  # a lock (not readBlock): not damage
            raise
        raise MeasurementSetError(
            f"{path}: cannot be read (a table file damaged or truncated?): {detail}"
        ) from None
