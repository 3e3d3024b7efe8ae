"""Write Visibility to a new MeasurementSet v2.

:func:`write_ms` builds a complete MS (MAIN plus ANTENNA, FEED, SPECTRAL_WINDOW,
POLARIZATION, DATA_DESCRIPTION, FIELD, SOURCE, OBSERVATION, HISTORY, STATE, POINTING,
PROCESSOR, FLAG_CMD) under ``<path>.tmp-<uuid>`` and renames it into place, so a failed
write leaves nothing at ``path``. Data are written in row chunks.
"""

from __future__ import annotations

import logging
import os
import time as _time

import numpy as np

from ..visibility import Visibility
from .atomic import atomic_directory
from .ms_tables import (
    MeasurementSetError,
    casacore_tables,
    write_antenna,
    write_data_descriptions,
    write_feed,
    write_fields_and_sources,
    write_history,
    write_observation,
    write_polarisations,
    write_spectral_windows,
)
from .vis_blocks import chunk_rows

__all__ = ["write_ms"]

log = logging.getLogger(__name__)


def _as_list(vis_list) -> list[Visibility]:
    items = [vis_list] if isinstance(vis_list, Visibility) else list(vis_list)
    if not items or not all(isinstance(v, Visibility) for v in items):
        raise TypeError("expected a Visibility or a non-empty list of Visibility")
    return items


def _check_configurations(vis_list: list[Visibility]):
    config = vis_list[0].configuration
    for i, v in enumerate(vis_list):
        if v.configuration is None:
            raise MeasurementSetError(
                f"Visibility {i} has no configuration: the MS ANTENNA table needs antenna "
                "names and positions (set Visibility.configuration)"
            )
        c = v.configuration
        if c is not config and (
            c.nants != config.nants
            or not np.array_equal(c.names, config.names)
            or not np.allclose(c.xyz, config.xyz, rtol=0, atol=1e-6)
        ):
            raise MeasurementSetError(
                f"Visibility {i} has a different configuration from Visibility 0; one MS holds "
                "one array (write separate MSs)"
            )
    return config


def _tiled(name: str, shapes: set, valuetype: str, comment: str):
    """Column description and data manager for a [nchan, ncorr] array column."""
    tables = casacore_tables()
    if len(shapes) == 1:
        nchan, ncorr = next(iter(shapes))
        desc = tables.makearrcoldesc(
            name, 0, shape=[nchan, ncorr], valuetype=valuetype, comment=comment
        )
        tile = [ncorr, min(nchan, 64), max(1, 32768 // (ncorr * min(nchan, 64)))]
        dm = {
            "TYPE": "TiledColumnStMan",
            "NAME": f"Tiled{name}",
            "SPEC": {"DEFAULTTILESHAPE": tile},
        }
    else:
        desc = tables.makearrcoldesc(name, 0, ndim=2, valuetype=valuetype, comment=comment)
        dm = {
            "TYPE": "TiledShapeStMan",
            "NAME": f"Tiled{name}",
            "SPEC": {"DEFAULTTILESHAPE": [4, 64, 128]},
        }
    return desc, dict(dm, COLUMNS=[name])


def _filler_cells(v: Visibility, t0: int, t1: int) -> np.ndarray:
    """Cells [t1-t0, nbaseline] that carry nothing: all flagged, zero weight, data and uvw."""
    sl = slice(t0, t1)
    return (
        np.all(v.flags[sl], axis=(2, 3))
        & np.all(v.weight[sl] == 0, axis=(2, 3))
        & np.all(v.vis[sl] == 0, axis=(2, 3))
        & np.all(v.uvw[sl] == 0, axis=2)
    )


def write_ms(vis_list, path, datacolumn: str = "DATA", overwrite: bool = False) -> None:
    """Write Visibility to a new MeasurementSet v2.

    One DATA_DESCRIPTION per distinct (frequencies, channel widths, polarisation frame), one
    FIELD (and SOURCE) per distinct (source name, phase centre). Each (time, baseline) cell
    becomes a row, except filled cells that carry nothing (all flagged, weight, data and
    uvw zero, e.g. missing rows of an MS read by :func:`read_ms`). ``vis`` is stored as
    complex64, weights as float32 in WEIGHT_SPECTRUM; WEIGHT is the mean over unflagged
    channels and SIGMA = 1/sqrt(WEIGHT) (0 where the weight is 0). UVW, TIME and the phase
    centre are written as given (UVW = XYZ(antenna2) − XYZ(antenna1), J2000 = ICRS values).

    Parameters
    ----------
    vis_list : Visibility or list of Visibility
        All with the same ``configuration`` (required: the ANTENNA table needs positions).
    path : str or os.PathLike
    datacolumn : str
        The column the visibilities go to (usually DATA: most readers require it).
    overwrite : bool
        Replace an existing MS at ``path`` (only a directory holding a casacore table).

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    MeasurementSetError
        A Visibility lacks a configuration, or the configurations differ.
    """
    tables = casacore_tables()
    vis_list = _as_list(vis_list)
    config = _check_configurations(vis_list)
    spw_keys, pol_keys, dd_keys, field_keys = {}, {}, {}, {}
    vis_dd, vis_field = [], []
    for v in vis_list:
        sk = (v.frequency.tobytes(), v.channel_bandwidth.tobytes())
        spw = spw_keys.setdefault(sk, (len(spw_keys), (v.frequency, v.channel_bandwidth)))[0]
        pol = pol_keys.setdefault(v.polarisation_frame.name, (len(pol_keys), v.polarisation_frame))[
            0
        ]
        vis_dd.append(dd_keys.setdefault((spw, pol), len(dd_keys)))
        c = v.phasecentre.icrs
        fk = (v.source, round(float(c.ra.rad), 12), round(float(c.dec.rad), 12))
        vis_field.append(field_keys.setdefault(fk, (len(field_keys), (v.source, c)))[0])
    shapes = {(v.nchan, v.npol) for v in vis_list}
    all_times = np.concatenate([v.time for v in vis_list])
    t_first = float(all_times.min()) if all_times.size else 0.0
    t_last = float(all_times.max()) if all_times.size else 0.0

    may_replace = lambda p: os.path.isfile(os.path.join(p, "table.dat"))  # noqa: E731
    with atomic_directory(path, overwrite=overwrite, may_replace=may_replace) as tmp:
        tmp = str(tmp)
        descs, dms = [], []
        for name, value, comment in (
            (datacolumn, "complex", "The data column"),
            ("FLAG", "boolean", "The data flags"),
            ("WEIGHT_SPECTRUM", "float", "Weight for each channel and correlation"),
        ):
            d, m = _tiled(name, shapes, value, comment)
            descs.append(d)
            dms.append(m)
        dminfo = {f"*{i + 2}": m for i, m in enumerate(dms)}
        ms = tables.default_ms(tmp, tables.maketabdesc(descs), dminfo)
        try:
            ms.putcolkeyword("UVW", "MEASINFO", {"type": "uvw", "Ref": "J2000"})
            nrows = 0
            for v, dd, fid in zip(vis_list, vis_dd, vis_field):
                nrows = _write_main(ms, v, datacolumn, dd, fid, nrows)
        finally:
            ms.close()
        write_antenna(tmp, config)
        write_feed(tmp, config.nants, vis_list[0].polarisation_frame, t_first)
        write_spectral_windows(tmp, [fw for _, fw in spw_keys.values()])
        write_polarisations(tmp, [f for _, f in pol_keys.values()])
        write_data_descriptions(tmp, list(dd_keys))
        write_fields_and_sources(tmp, [nc for _, nc in field_keys.values()], t_first)
        write_observation(tmp, config.name, (t_first, t_last))
        write_history(
            tmp,
            t_first,
            f"written by uvflow.datamodels.write_ms at {_time.strftime('%Y-%m-%dT%H:%M:%S')}",
        )
    log.info(
        "wrote %s: %d rows, %d data descriptions, %d fields",
        path,
        nrows,
        len(dd_keys),
        len(field_keys),
    )


def _write_main(ms, v: Visibility, datacolumn: str, ddid: int, fid: int, start: int) -> int:
    """Append the rows of one Visibility in time chunks; return the next free row."""
    nb, nchan, npol = v.nbaseline, v.nchan, v.npol
    if nb == 0 or v.ntime == 0:
        return start
    per_time = nb * nchan * npol * 13
    tstep = max(1, chunk_rows(v.ntime, per_time, v.vis.nbytes + v.weight.nbytes))
    row = start
    for t0 in range(0, v.ntime, tstep):
        t1 = min(v.ntime, t0 + tstep)
        keep = ~_filler_cells(v, t0, t1)
        ti, bi = np.nonzero(keep)
        n = ti.size
        if n == 0:
            continue
        ti_abs = ti + t0
        ms.addrows(n)
        flags = v.flags[ti_abs, bi]
        weight = v.weight[ti_abs, bi].astype(np.float32)
        ms.putcol(datacolumn, v.vis[ti_abs, bi].astype(np.complex64), startrow=row, nrow=n)
        ms.putcol("FLAG", flags, startrow=row, nrow=n)
        ms.putcol("WEIGHT_SPECTRUM", weight, startrow=row, nrow=n)
        good = ~flags
        wsum = np.where(good, weight, 0).sum(axis=1)
        ngood = good.sum(axis=1)
        wmean = np.where(ngood > 0, wsum / np.maximum(ngood, 1), 0.0).astype(np.float32)
        with np.errstate(divide="ignore"):
            sigma = np.where(wmean > 0, 1.0 / np.sqrt(np.where(wmean > 0, wmean, 1)), 0.0)
        ms.putcol("WEIGHT", wmean, startrow=row, nrow=n)
        ms.putcol("SIGMA", sigma.astype(np.float32), startrow=row, nrow=n)
        ms.putcol("FLAG_ROW", np.all(flags, axis=(1, 2)), startrow=row, nrow=n)
        ms.putcol("UVW", np.ascontiguousarray(v.uvw[ti_abs, bi], float), startrow=row, nrow=n)
        t = v.time[ti_abs]
        for col, val in (
            ("TIME", t),
            ("TIME_CENTROID", t),
            ("INTERVAL", v.integration_time[ti_abs]),
            ("EXPOSURE", v.integration_time[ti_abs]),
        ):
            ms.putcol(col, np.ascontiguousarray(val, float), startrow=row, nrow=n)
        for col, val in (
            ("ANTENNA1", v.antenna1[bi]),
            ("ANTENNA2", v.antenna2[bi]),
            ("FEED1", 0),
            ("FEED2", 0),
            ("DATA_DESC_ID", ddid),
            ("FIELD_ID", fid),
            ("SCAN_NUMBER", fid + 1),
            ("ARRAY_ID", 0),
            ("OBSERVATION_ID", 0),
            ("PROCESSOR_ID", 0),
            ("STATE_ID", -1),
        ):
            ms.putcol(
                col, np.broadcast_to(np.asarray(val, np.int32), (n,)).copy(), startrow=row, nrow=n
            )
        row += n
    return row
