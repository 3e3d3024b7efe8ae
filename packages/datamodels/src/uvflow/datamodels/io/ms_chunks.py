"""A MeasurementSet as an index of parts and chunks that read their own rows (DESIGN §4).

:func:`ms_index` reads the subtables and the main table's index columns (TIME, ANTENNA1,
ANTENNA2, DATA_DESC_ID, FIELD_ID, INTERVAL; UVW in row chunks for the uv extent), never
the data, weights or flags, and gives one :class:`MSPart` per field × data description.
A part plans :class:`MSChunk` s (integrations × channels); a chunk is a small picklable
:class:`~uvflow.datamodels.VisibilitySource` whose :meth:`MSChunk.load` opens its own
read-only table handle where it runs (casacore tables are not thread-safe), reads
exactly its rows and channels, and closes the handle. :func:`~uvflow.datamodels.read_ms`
is ``[c.load() for p in ms_index(...) for c in p.chunks(...)]``.

Memory of one load: the returned arrays plus a read buffer of at most 1/8 of them
(≤ 32 MiB), as :func:`~uvflow.datamodels.io.vis_blocks.chunk_rows` sizes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..visibility import Visibility
from .measurementset_meta import (
    check_data_column,
    column_at_rows,
    part_keys,
    read_ms_metadata,
    readable,
    resolve_ids,
    uv_sampling,
)
from .ms_rows import fill_rows
from .ms_tables import TABLE_LOCK, MeasurementSetError, open_table
from .row_parts import RowChunk, RowPart
from .vis_blocks import block_layout, frame_from_products, resolve_pol
from .vis_parts import sort_layout

__all__ = ["MSPart", "MSChunk", "ms_index"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class MSChunk(RowChunk):
    """Integrations × channels of one field and data description of a MeasurementSet.

    A :class:`~uvflow.datamodels.VisibilitySource`: it holds no visibilities, only what
    :meth:`load` needs to read them (made by :meth:`MSPart.chunk`).

    Parameters
    ----------
    path : str
        The MeasurementSet (absolute).
    datacolumn : str
        The column to read (``DATA``, ``CORRECTED_DATA`` …).
    field_id, ddid, spw_id : int
        FIELD, DATA_DESCRIPTION and SPECTRAL_WINDOW ids.
    source : str
        The field's name.
    rows : numpy.ndarray of int64, shape [nrow]
        Main-table rows to read, sorted.
    t_index, b_index : numpy.ndarray of int32, shape [nrow]
        The cell (integration, baseline) of each row in the loaded block.
    channels : numpy.ndarray of int64, shape [nchan]
        Channels of the spectral window to read (sorted, unique).
    nchan_spw : int
        Channels of the spectral window.
    native_frame : PolarisationFrame
        The frame of the MS's correlations.
    perm : numpy.ndarray of intp, shape [ncorr]
        ``data_in_frame = data_in_ms[..., perm]``.
    polarisation_frame : PolarisationFrame
        The frame ``load()`` returns (converted from ``native_frame`` when they differ).
    times, integration_time : numpy.ndarray of float64, shape [ntime]
        MJD seconds (UTC) and seconds.
    antenna1, antenna2 : numpy.ndarray of int64, shape [nbaseline]
    frequency, channel_bandwidth : numpy.ndarray of float64, shape [nchan]
        Hz (of ``channels``).
    phasecentre : astropy.coordinates.SkyCoord
    configuration : Configuration
    dtype : numpy.dtype
        Of the loaded ``vis``: complex64, or complex128 for a double-precision column.
    """

    datacolumn: str
    ddid: int
    nchan_spw: int

    def load(self) -> Visibility:
        """Read the chunk's rows and channels (own read-only handle) into a Visibility.

        The handle is opened read-only and closed before returning; the table work holds
        :data:`~uvflow.datamodels.io.ms_tables.TABLE_LOCK` (threads of one process share
        casacore's table object and take turns; processes read in parallel).

        Returns
        -------
        Visibility
            As :func:`~uvflow.datamodels.read_ms` builds it: ``vis`` of ``dtype``,
            ``weight`` float32 (WEIGHT_SPECTRUM when present and defined, else WEIGHT
            broadcast over channels, else 1/SIGMA², else 1), ``flags`` FLAG | FLAG_ROW,
            cells without a row or with a non-finite UVW flagged with weight 0 and uvw 0;
            ``meta`` ``ms_path``,
            ``ms_datacolumn``, ``ms_ddid``, ``ms_spw``, ``ms_field``, ``ms_channels``
            (int64 [nchan]) and ``ms_rows`` (int64 [ntime, nbaseline], −1 where filled).

        Raises
        ------
        MeasurementSetError
            The MS has fewer rows than the chunk reads (it was rewritten since indexed), or
            casacore cannot read it (a damaged table file).
        """
        return self._load("ms_rows", {
            "ms_path": self.path, "ms_datacolumn": self.datacolumn, "ms_ddid": self.ddid,
            "ms_spw": self.spw_id, "ms_field": self.field_id, "ms_channels": self.channels.copy(),
        })  # fmt: skip

    def _read_into(self, arrays) -> None:
        """Fill ``(vis, weight, flags, uvw)`` from the chunk's rows (:meth:`load`)."""
        with TABLE_LOCK, readable(self.path), open_table(self.path) as table:
            rows = self.rows  # held packed: unpacked on each access
            last = int(rows[-1]) if rows.size else -1
            if last >= table.nrows():
                raise MeasurementSetError(
                    f"{self.path}: row {last} is past the {table.nrows()} rows "
                    "of the main table: the MS changed since it was indexed"
                )
            fill_rows(table, self, arrays)


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class MSPart(RowPart):
    """One field × data description of a MeasurementSet: its sampling and row index.

    Made by :func:`ms_index`; cut into :class:`MSChunk` s by :meth:`chunk` or
    :meth:`chunks`. Also: ``ntime``, ``nbaseline``, ``nchan``, ``npol``, ``nrow``,
    ``shape`` (ntime, nbaseline, nchan, npol), ``nbytes`` (of the whole part loaded:
    vis, weight float32, flags bool, uvw float64), ``rows_per_time`` int64 [ntime],
    ``t_index`` int64 [nrow] and ``uv_max_wavelengths`` (``uv_max_m`` at the highest
    frequency: the uvmax from which an image's cell size is chosen).

    Parameters
    ----------
    path : str
        The MeasurementSet (absolute).
    datacolumn : str
    field_id : int
    field_name : str
    phasecentre : astropy.coordinates.SkyCoord
        FIELD PHASE_DIR (ICRS).
    ddid, spw_id : int
        DATA_DESCRIPTION and SPECTRAL_WINDOW ids.
    frequency, channel_bandwidth : numpy.ndarray of float64, shape [nchan]
        Of the whole spectral window, Hz (bandwidths positive).
    native_frame : PolarisationFrame
        The MS's correlations as a frame; ``perm`` int [ncorr] orders them into it.
    perm : numpy.ndarray of intp, shape [ncorr]
    polarisation_frame : PolarisationFrame
        The frame chunks load (``pol=`` of :func:`ms_index`, else ``native_frame``).
    configuration : Configuration
    times, integration_time : numpy.ndarray of float64, shape [ntime]
        Unique TIMEs (MJD seconds, UTC) and the INTERVAL of each one's first row.
    antenna1, antenna2 : numpy.ndarray of int64, shape [nbaseline]
        The baselines present (sorted).
    rows : numpy.ndarray of int64, shape [nrow]
        Main-table rows, sorted by (integration, row).
    b_index : numpy.ndarray of int32, shape [nrow]
        The baseline of each row.
    time_starts : numpy.ndarray of int64, shape [ntime + 1]
        The rows of integration t are ``rows[time_starts[t]:time_starts[t + 1]]``.
    dtype : numpy.dtype
        complex64, or complex128 for a double-precision column.
    uvw_max_m : numpy.ndarray of float64, shape [3]
        max ``|u|``, ``|v|``, ``|w|`` over the part's rows, metres.
    uv_max_m : float
        max sqrt(u² + v²) over the part's rows, metres.
    uv_moments_m2 : numpy.ndarray of float64, shape [3], optional
        ``[Σu², Σuv, Σv²]`` over the part's rows, m² (``uv_rank``).
    nonfinite_uvw_rows : int
        Rows whose UVW is NaN or infinite (left out of the extent; flagged when loaded).
    """

    datacolumn: str
    ddid: int

    def _chunk(self, fields: dict) -> MSChunk:
        return MSChunk(**fields, datacolumn=self.datacolumn,
                       ddid=self.ddid, nchan_spw=self.nchan)  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"MSPart({self.path!r}, field {self.field_id} {self.field_name!r}, spw "
            f"{self.spw_id}, shape={self.shape}, rows={self.nrow})"
        )


def ms_index(
    path,
    datacolumn: str = "DATA",
    field=None,
    spw=None,
    pol=None,
    include_autocorrelations: bool = False,
) -> list[MSPart]:
    """The parts (field × data description) of a MeasurementSet, reading no visibilities.

    Reads the subtables and the main table's TIME, ANTENNA1, ANTENNA2, DATA_DESC_ID,
    FIELD_ID and INTERVAL columns, and UVW in blocks for the uv sampling
    (:func:`~.measurementset_meta.uv_sampling`); never DATA, FLAG or the weights. Rows of
    a non-finite UVW are counted (a warning) and flagged when a chunk loads them.

    Parameters
    ----------
    path : str or os.PathLike
    datacolumn : str
        The data column the chunks will read (checked to exist).
    field, spw : int, str or list of those, optional
        FIELD / SPECTRAL_WINDOW ids or names; default all.
    pol : str or PolarisationFrame, optional
        Frame the chunks convert to; default the MS's correlations in uvflow order.
    include_autocorrelations : bool
        Keep ANTENNA1 == ANTENNA2 rows as baselines.

    Returns
    -------
    list of MSPart
        By field id, then data description id; only those with rows (cross-correlations
        unless ``include_autocorrelations``). Empty if none.

    Raises
    ------
    MeasurementSetError
        Not a MeasurementSet; missing data column, unknown field or spectral window (the
        available ones are listed); several rows in one (time, baseline) cell; a table
        casacore cannot read (a damaged or truncated file).
    PolarisationError
        ``pol`` cannot be formed from the MS's correlations.
    """
    with TABLE_LOCK, readable(path):  # the client may run chunk loads in threads too
        return _index(path, datacolumn, field, spw, pol, include_autocorrelations)


def _index(path, datacolumn, field, spw, pol, include_autocorrelations) -> list[MSPart]:
    meta = read_ms_metadata(path)
    ms, spws, fields = meta.path, meta.spectral_windows, meta.fields
    field_ids = resolve_ids("field", field, [n for n, _ in fields], ms)
    spw_ids = resolve_ids(
        "spectral window", spw, [s.name or f"SPW{i}" for i, s in enumerate(spws)], ms
    )
    with open_table(ms) as table:
        dcomplex = check_data_column(table, datacolumn, ms)
        ddid_col, field_col = table.getcol("DATA_DESC_ID"), table.getcol("FIELD_ID")
        wanted = [
            (fid, int(dd))
            for fid in field_ids
            for dd in np.unique(ddid_col[field_col == fid])
            if meta.data_descriptions[int(dd)][0] in spw_ids
        ]
        key = part_keys(field_col, ddid_col, wanted)
        del field_col, ddid_col
        uv_max, uvw_max, moments, bad = uv_sampling(table, key, len(wanted))
        if bad.sum():
            log.warning("%s: %d of %d rows have a non-finite UVW (NaN or inf): they are "
                        "flagged, the other rows imaged", ms, int(bad.sum()),
                        int(np.sum(key >= 0)))  # fmt: skip
        columns = [table.getcol(c) for c in ("TIME", "ANTENNA1", "ANTENNA2")]
        parts = []
        for k, (fid, ddid) in enumerate(wanted):
            spw_id, pol_id = meta.data_descriptions[ddid]
            where = f"{ms} (field {fid}, spw {spw_id})"
            native, perm = frame_from_products(meta.correlations[pol_id])
            target = resolve_pol(native, pol, where)
            # the rows of this part; every row (the usual MS of one field and window): no copy
            sel = None if len(wanted) == 1 and bool(np.all(key == 0)) else np.flatnonzero(key == k)
            times, a1, a2, rows, b_index, time_starts = _part_layout(
                columns, sel, include_autocorrelations, where
            )
            del sel
            if times.size == 0:
                continue  # only autocorrelations, not asked for
            spw_ = spws[spw_id]
            parts.append(MSPart(
                path=ms, datacolumn=datacolumn, field_id=fid, field_name=fields[fid][0],
                phasecentre=fields[fid][1], ddid=ddid, spw_id=spw_id,
                frequency=spw_.frequency, channel_bandwidth=np.abs(spw_.width),
                native_frame=native, perm=perm, polarisation_frame=target,
                configuration=meta.configuration, times=times,
                integration_time=column_at_rows(table, "INTERVAL", rows[time_starts[:-1]]).astype(float),
                antenna1=a1, antenna2=a2, rows=rows, b_index=b_index,
                time_starts=time_starts, dtype=np.dtype(np.complex128 if dcomplex else np.complex64),
                uvw_max_m=uvw_max[k], uv_max_m=float(uv_max[k]), uv_moments_m2=moments[k],
                nonfinite_uvw_rows=int(bad[k]),
            ))  # fmt: skip
    return parts


def _part_layout(columns, sel, include_autocorrelations, where) -> tuple[np.ndarray, ...]:
    """``(times, antenna1, antenna2, rows, b_index, time_starts)`` of the rows ``sel`` (None:
    all) of the index ``columns`` (TIME, ANTENNA1, ANTENNA2); the layout's other per-row
    arrays are freed on return."""
    layout = block_layout(*(c if sel is None else c[sel] for c in columns),
                          include_autocorrelations, where, MeasurementSetError)  # fmt: skip
    rows, b_index, time_starts = sort_layout(
        layout.rows if sel is None else sel[layout.rows], layout
    )
    return layout.times, layout.antenna1, layout.antenna2, rows, b_index, time_starts
