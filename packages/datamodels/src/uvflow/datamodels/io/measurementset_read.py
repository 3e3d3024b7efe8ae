"""Read a MeasurementSet v2 into block-layout :class:`~uvflow.datamodels.Visibility`.

Conventions kept as stored (DESIGN §3): UVW is ``XYZ(antenna2) − XYZ(antenna1)`` in metres,
TIME is MJD seconds (UTC), the phase centre is FIELD PHASE_DIR (J2000 taken as ICRS).
Columns are read in row chunks straight into preallocated block arrays, so reading holds
about one copy of the data plus a chunk (≤ 1/8 of the output, ≤ 32 MB; counted with the
conversion's float64/complex128 temporaries when ``pol=`` converts). Peak RSS of a fresh
process reading 10 M visibilities: 1.16x the returned arrays (1.36x with pol='stokesI',
which returns a quarter of them; ``testing.read_ms_peak_rss``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from astropy.coordinates import SkyCoord

from ..configuration import Configuration
from ..polarisation import PolarisationFrame
from ..visibility import Visibility
from .ms_tables import (
    MeasurementSetError,
    SpectralWindow,
    casacore_tables,
    check_ms,
    open_table,
    read_configuration,
    read_correlations,
    read_data_descriptions,
    read_fields,
    read_spectral_windows,
)
from .vis_blocks import (
    BlockLayout,
    block_layout,
    channel_indices,
    chunk_rows,
    frame_from_products,
    normalise_channels,
    put_rows,
    resolve_pol,
    select_time_indices,
    split_times,
)

__all__ = ["MeasurementSetMetadata", "read_ms", "read_ms_metadata"]

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class _Selection:
    """The main-table rows of one field and data description, and how to read them."""

    ms: str
    datacolumn: str
    field_id: int
    field: tuple[str, SkyCoord]
    ddid: int
    spw_id: int
    spw: SpectralWindow
    channels: np.ndarray | slice  # normalised (normalise_channels)
    native: PolarisationFrame  # the stored products' frame, ``perm`` orders them into it
    perm: np.ndarray
    target: PolarisationFrame
    configuration: Configuration
    rows: np.ndarray  # main-table rows in ``layout`` order
    layout: BlockLayout
    interval: np.ndarray  # the INTERVAL column (all rows)


def _resolve_ids(kind: str, request, names: list[str], ms: str) -> list[int]:
    """Ids chosen by ``field=``/``spw=`` (None, an id, a name, or a list of those)."""
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


def _data_columns(table) -> list[str]:
    return [
        c
        for c in table.colnames()
        if table.getcoldesc(c).get("valueType") in ("complex", "dcomplex", "float")
        and "ndim" in table.getcoldesc(c)
        and c.endswith("DATA")
    ]


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


def _read_chunk(sel, column, start, n, channels, all_channels):
    """Column values [n, nchan_sel, ncorr] for rows start..start+n of a selection."""
    if all_channels:
        return sel.getcol(column, startrow=start, nrow=n)
    if isinstance(channels, slice):
        last = (
            channels.start
            + (len(range(channels.start, channels.stop, channels.step)) - 1) * channels.step
        )
        return sel.getcolslice(
            column, [channels.start, -1], [last, -1], [channels.step, 1], startrow=start, nrow=n
        )
    return sel.getcol(column, startrow=start, nrow=n)[:, channels, :]


def _fill_block(table, sel: _Selection, rows, t_index, b_index, out) -> None:
    """Read ``rows`` (sorted) in chunks and scatter them into ``out`` (vis, weight, flags, uvw)."""
    vis, weight, flags, uvw = out
    channels, nchan, native, target = sel.channels, sel.spw.frequency.size, sel.native, sel.target
    datacolumn, ncorr = sel.datacolumn, sel.perm.size
    all_channels = isinstance(channels, slice) and channels == slice(0, nchan, 1)
    wsource = _weight_source(table, rows, (nchan, ncorr))
    # bytes held per row while a chunk is converted: the column values read (data, weight,
    # flags) twice over (casacore's array and numpy's views/copies), or, when products are
    # converted (pol=), the float64 weights and complex128 products of the conversion
    per_sample = (vis.itemsize + 4 + 1) * 2 if target == native else 64
    bytes_per_row = nchan * ncorr * per_sample
    step = chunk_rows(rows.size, bytes_per_row, vis.nbytes + weight.nbytes + flags.nbytes)
    part = table.selectrows(rows)
    try:
        for s in range(0, rows.size, step):
            n = min(step, rows.size - s)
            ti, bi = t_index[s : s + n], b_index[s : s + n]
            d = _read_chunk(part, datacolumn, s, n, channels, all_channels)
            f = _read_chunk(part, "FLAG", s, n, channels, all_channels)
            f |= part.getcol("FLAG_ROW", startrow=s, nrow=n)[:, None, None]
            if wsource == "WEIGHT_SPECTRUM":
                w = _read_chunk(part, "WEIGHT_SPECTRUM", s, n, channels, all_channels)
            elif wsource == "WEIGHT":
                w = np.broadcast_to(part.getcol("WEIGHT", startrow=s, nrow=n)[:, None, :], f.shape)
            elif wsource == "SIGMA":
                sig = part.getcol("SIGMA", startrow=s, nrow=n).astype(np.float32)
                with np.errstate(divide="ignore"):
                    w1 = np.where(sig > 0, 1.0 / np.where(sig > 0, sig, 1) ** 2, 0.0)
                w = np.broadcast_to(w1[:, None, :].astype(np.float32), f.shape)
            else:
                w = np.ones(f.shape, np.float32)
            put_rows(vis, weight, flags, ti, bi, d, w, f, sel.perm, native, target)
            uvw[ti, bi] = part.getcol("UVW", startrow=s, nrow=n)
            del d, f, w
    finally:
        part.close()
    log.debug("%s: read %d rows (%s weights)", sel.ms, rows.size, wsource)


def read_ms(
    path,
    datacolumn: str = "DATA",
    field=None,
    spw=None,
    channels=None,
    pol=None,
    times=None,
    max_rows: int | None = None,
    time_chunks: int | None = None,
    include_autocorrelations: bool = False,
) -> list[Visibility]:
    """Read a MeasurementSet into a list of Visibility, one per field × spectral window × chunk.

    Parameters
    ----------
    path : str or os.PathLike
    datacolumn : str
        ``DATA``, ``CORRECTED_DATA``, ``MODEL_DATA`` or any other complex data column.
    field, spw : int, str or list of those, optional
        FIELD / SPECTRAL_WINDOW ids or names; default all.
    channels : slice or int array, optional
        Channels of each spectral window to read (a positive-step slice is read with
        ``getcolslice``, reading only those channels).
    pol : str or PolarisationFrame, optional
        Convert to this frame (e.g. ``'stokesI'`` from XX, YY), with weights and flags
        following :func:`~uvflow.datamodels.correlation_weights`. Default: the MS's
        correlations, reordered to uvflow's frame order (e.g. RR LL RL LR → RR RL LR LL).
    times : slice, int array, bool mask or (start, end) tuple, optional
        Integrations to read: indices into the unique TIMEs of each field/spw, or the
        times within [start, end] in MJD seconds (a 2-tuple of numbers).
    max_rows : int, optional
        Split each field/spw by time so that each Visibility holds at most this many MS rows.
    time_chunks : int, optional
        Split each field/spw into this many Visibility of consecutive integrations.
    include_autocorrelations : bool
        Keep ANTENNA1 == ANTENNA2 rows as baselines (default: excluded).

    Returns
    -------
    list of Visibility
        Block layout: times = unique TIMEs, baselines = the (ANTENNA1, ANTENNA2) pairs present
        (as stored; sorted). Cells with no MS row are flagged with weight 0 and uvw 0.
        ``vis`` has the column's dtype (complex64 for a standard MS), ``weight`` float32:
        WEIGHT_SPECTRUM when present and defined, else WEIGHT broadcast over channels, else
        1/SIGMA². FLAG is or-ed with FLAG_ROW. ``meta`` holds ``ms_path``, ``ms_datacolumn``,
        ``ms_ddid``, ``ms_spw``, ``ms_field``, ``ms_channels`` (int array) and ``ms_rows``
        (int64 [ntime, nbaseline], the MS row of each cell, −1 where filled) for
        :func:`write_column`.

    Raises
    ------
    MeasurementSetError
        Not a MeasurementSet; missing data column (the available ones are listed); unknown
        field or spectral window (the available ones are listed).
    PolarisationError
        ``pol`` cannot be formed from the MS's correlations.
    """
    meta = read_ms_metadata(path)
    ms, spws, fields = meta.path, meta.spectral_windows, meta.fields
    field_ids = _resolve_ids("field", field, [n for n, _ in fields], ms)
    spw_ids = _resolve_ids(
        "spectral window", spw, [s.name or f"SPW{i}" for i, s in enumerate(spws)], ms
    )
    out: list[Visibility] = []
    with open_table(ms) as table:
        if datacolumn not in table.colnames():
            raise MeasurementSetError(
                f"{ms}: no data column {datacolumn!r}; available: {', '.join(_data_columns(table)) or 'none'}"
            )
        ddid_col = table.getcol("DATA_DESC_ID")
        field_col = table.getcol("FIELD_ID")
        time_col = table.getcol("TIME")
        a1_col = table.getcol("ANTENNA1")
        a2_col = table.getcol("ANTENNA2")
        interval_col = table.getcol("INTERVAL")
        for fid in field_ids:
            for ddid in np.unique(ddid_col[field_col == fid]):
                spw_id, pol_id = meta.data_descriptions[int(ddid)]
                if spw_id not in spw_ids:
                    continue
                where = f"{ms} (field {fid}, spw {spw_id})"
                native, perm = frame_from_products(meta.correlations[pol_id])
                rows = np.nonzero((ddid_col == ddid) & (field_col == fid))[0]
                layout = block_layout(
                    time_col[rows], a1_col[rows], a2_col[rows], include_autocorrelations, where,
                    MeasurementSetError,
                )  # fmt: skip
                sel = _Selection(
                    ms=ms, datacolumn=datacolumn, field_id=fid, field=fields[fid],
                    ddid=int(ddid), spw_id=spw_id, spw=spws[spw_id],
                    channels=normalise_channels(channels, spws[spw_id].frequency.size, where),
                    native=native, perm=perm, target=resolve_pol(native, pol, where),
                    configuration=meta.configuration, rows=rows[layout.rows], layout=layout,
                    interval=interval_col,
                )  # fmt: skip
                picked = select_time_indices(layout.times, times, where)
                if picked.size == 0:
                    continue
                counts = layout.rows_per_time[picked]
                for chunk in split_times(counts, max_rows, time_chunks, where):
                    out.append(_read_one(table, sel, picked[chunk]))
    if not out:
        raise MeasurementSetError(
            f"{ms}: the selection (field={field!r}, spw={spw!r}, times={times!r}) is empty"
        )
    return out


def _read_one(table, sel: _Selection, tsel: np.ndarray) -> Visibility:
    """One Visibility: the integrations ``tsel`` (indices into ``sel.layout.times``)."""
    layout = sel.layout
    tmap = np.full(layout.times.size, -1, np.int64)
    tmap[tsel] = np.arange(tsel.size)
    in_chunk = tmap[layout.t_index] >= 0
    chunk_rows_ = sel.rows[in_chunk]
    t_index = tmap[layout.t_index[in_chunk]]
    b_index = layout.b_index[in_chunk]
    order = np.argsort(chunk_rows_, kind="stable")
    chunk_rows_, t_index, b_index = chunk_rows_[order], t_index[order], b_index[order]
    chan_idx = channel_indices(sel.channels, sel.spw.frequency.size)
    ntime, nbl = tsel.size, layout.antenna1.size
    dtype = (
        np.complex128
        if table.getcoldesc(sel.datacolumn).get("valueType") == "dcomplex"
        else np.complex64
    )
    shape = (ntime, nbl, chan_idx.size, sel.target.npol)
    vis = np.zeros(shape, dtype)
    weight = np.zeros(shape, np.float32)
    flags = np.ones(shape, bool)
    uvw = np.zeros((ntime, nbl, 3))
    _fill_block(table, sel, chunk_rows_, t_index, b_index, (vis, weight, flags, uvw))
    ms_rows = np.full((ntime, nbl), -1, np.int64)
    ms_rows[t_index, b_index] = chunk_rows_
    first = np.zeros(ntime, np.int64)
    first[t_index[::-1]] = chunk_rows_[::-1]
    name, centre = sel.field
    return Visibility(
        vis=vis, weight=weight, flags=flags, uvw=uvw, time=layout.times[tsel],
        integration_time=sel.interval[first].astype(float),
        antenna1=layout.antenna1, antenna2=layout.antenna2,
        frequency=sel.spw.frequency[chan_idx], channel_bandwidth=np.abs(sel.spw.width[chan_idx]),
        phasecentre=centre, polarisation_frame=PolarisationFrame(sel.target),
        configuration=sel.configuration, source=name,
        meta={
            "ms_path": sel.ms, "ms_datacolumn": sel.datacolumn, "ms_ddid": sel.ddid,
            "ms_spw": sel.spw_id, "ms_field": sel.field_id, "ms_channels": chan_idx,
            "ms_rows": ms_rows,
        },
    )  # fmt: skip
