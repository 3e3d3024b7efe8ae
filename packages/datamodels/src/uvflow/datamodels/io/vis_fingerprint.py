"""Fingerprints of visibility data: which data a run read, found without reading them all.

A checkpoint records the fingerprint of its inputs so that a run resuming it can tell
whether it reads the same data. A fingerprint costs a few reads, whatever the data size:

- a MeasurementSet (read through :class:`~uvflow.datamodels.io.MSChunk` or
  :class:`~uvflow.datamodels.io.MSPart` sources): its path, data column, main-table row
  count, the shape of a data cell, and a sha256 of TIME, UVW and the data column at
  :data:`SAMPLES` rows spread evenly through the main table (casacore
  ``getcol(column, startrow, 1)``);
- a UVFITS file: its path, size in bytes, group count, and a sha256 of :data:`SAMPLES`
  2880-byte FITS blocks spread evenly through the file;
- either file: what the sources select of it — per field, spectral window and
  polarisation frame, the channels and the integrations (first, last, count), the same
  however the selection is cut into chunks;
- an in-memory Visibility: its shape, the file its ``meta`` says it was read from (or
  None), and a sha256 of its times and frequencies (all of them) and of its uvw and
  visibilities at :data:`SAMPLES` (integration, baseline) cells spread evenly through it.

A derived source (:class:`~uvflow.datamodels.DerivedSource`) has its base's fingerprint:
what is derived (imaging weights, a calibration) is the caller's to record. Another kind
of source is loaded and fingerprinted as a Visibility.

Two steps, so that the first can run where the data are: :func:`describe_visibility` per
item (a small dict, e.g. in a Dask task for a graph), then :func:`fingerprint_inputs` of
all the descriptions, which reads each file's samples once.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from ..sources import DerivedSource, load_visibility
from .ms_chunks import MSChunk, MSPart
from .ms_tables import TABLE_LOCK, open_table
from .uvfits_chunks import UVFITSChunk, UVFITSPart

__all__ = ["SAMPLES", "describe_visibility", "fingerprint_inputs"]

#: rows (MS), FITS blocks (UVFITS) or cells (a Visibility) whose values are hashed
SAMPLES = 16
_FITS_BLOCK = 2880


def _spread(n: int) -> np.ndarray:
    """Up to :data:`SAMPLES` indices spread evenly over ``range(n)``, first and last included."""
    if n <= 0:
        return np.zeros(0, np.int64)
    return np.unique(np.linspace(0, n - 1, SAMPLES).round().astype(np.int64))


def _update(digest, array) -> None:
    a = np.ascontiguousarray(array)
    digest.update(f"{a.dtype.str}{a.shape}".encode())
    digest.update(a.tobytes())


def describe_visibility(item) -> dict:
    """What :func:`fingerprint_inputs` needs of one input (cheap: reads no file).

    Parameters
    ----------
    item : Visibility or visibility source
        A chunk of a run's data.

    Returns
    -------
    dict
        For a file source: ``kind`` ('ms' or 'uvfits'), ``path``, ``datacolumn``,
        ``field``, ``spw``, ``pol`` and the selected ``times`` (MJD seconds) and
        ``channels`` (arrays). For a Visibility (or a source of another kind, loaded):
        its finished fingerprint (``kind`` 'visibility').
    """
    while isinstance(item, DerivedSource):
        item = item.base
    if isinstance(item, (MSChunk, MSPart, UVFITSChunk, UVFITSPart)):
        channels = getattr(item, "channels", None)
        return {
            "kind": "ms" if isinstance(item, (MSChunk, MSPart)) else "uvfits",
            "path": str(item.path), "datacolumn": getattr(item, "datacolumn", None),
            "field": int(item.field_id), "spw": int(item.spw_id),
            "pol": item.polarisation_frame.name, "times": np.asarray(item.times, np.float64),
            "channels": np.arange(item.nchan) if channels is None else np.asarray(channels),
        }  # fmt: skip
    return _visibility_fingerprint(load_visibility(item))


def _visibility_fingerprint(vis) -> dict:
    digest = hashlib.sha256()
    _update(digest, vis.time)
    _update(digest, vis.frequency)
    ntime, nbl = vis.vis.shape[:2]
    t, b = np.divmod(_spread(ntime * nbl), max(nbl, 1))
    _update(digest, vis.uvw[t, b])
    _update(digest, vis.vis[t, b])
    meta = vis.meta or {}
    path = meta.get("ms_path") or meta.get("uvfits_path")
    return {"kind": "visibility", "path": None if path is None else str(path),
            "shape": [int(n) for n in vis.vis.shape], "sample": digest.hexdigest()}  # fmt: skip


def _span(arrays: list) -> list:
    """``[first, last, count]`` of the union of ``arrays``."""
    values = np.unique(np.concatenate(arrays))
    if values.size == 0:
        return [None, None, 0]
    return [values[0].item(), values[-1].item(), int(values.size)]


def fingerprint_inputs(descriptions: list) -> list[dict]:
    """The fingerprints of a run's inputs from their :func:`describe_visibility` dicts.

    Parameters
    ----------
    descriptions : list of dict
        One per chunk, in the run's order.

    Returns
    -------
    list of dict
        JSON-able, in order of first appearance: one per file (chunks of one file, with
        one data column, give one entry: ``kind``, ``path``, ``datacolumn`` (MS),
        ``nrow``, ``cell_shape`` (MS) or ``size`` (UVFITS), ``sample`` (a sha256 hex) and
        ``selection``, a list of ``{field, spw, pol, channels, times}`` with ``[first,
        last, count]`` spans) and one per in-memory Visibility.

    Raises
    ------
    MeasurementSetError, OSError
        A file cannot be read.
    """
    order, files = [], {}
    for d in descriptions:
        if d["kind"] == "visibility":
            order.append(d)
            continue
        key = (d["kind"], d["path"], d["datacolumn"])
        if key not in files:
            files[key] = {}
            order.append(key)
        times, channels = files[key].setdefault((d["field"], d["spw"], d["pol"]), ([], []))
        times.append(d["times"])
        channels.append(d["channels"])
    return [item if isinstance(item, dict) else _file(item, files[item]) for item in order]


def _file(key: tuple, selections: dict) -> dict:
    kind, path, datacolumn = key
    entry = _ms_samples(path, datacolumn) if kind == "ms" else _uvfits_samples(path)
    entry["selection"] = [
        {"field": f, "spw": s, "pol": p, "channels": _span(c), "times": _span(t)}
        for (f, s, p), (t, c) in sorted(selections.items())
    ]
    return entry


def _ms_samples(path: str, datacolumn: str) -> dict:
    digest, shape = hashlib.sha256(), None
    with TABLE_LOCK, open_table(path) as table:
        nrow = int(table.nrows())
        for row in _spread(nrow):
            for column in ("TIME", "UVW", datacolumn):
                values = table.getcol(column, startrow=int(row), nrow=1)
                _update(digest, values)
                if column == datacolumn and shape is None:
                    shape = [int(n) for n in np.shape(values)[1:]]
    return {"kind": "ms", "path": path, "datacolumn": datacolumn, "nrow": nrow,
            "cell_shape": shape, "sample": digest.hexdigest()}  # fmt: skip


def _uvfits_samples(path: str) -> dict:
    from astropy.io import fits

    size = os.path.getsize(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in _spread(size // _FITS_BLOCK):
            f.seek(int(block) * _FITS_BLOCK)
            digest.update(f.read(_FITS_BLOCK))
    ngroups = int(fits.getheader(path).get("GCOUNT", 0))
    return {"kind": "uvfits", "path": path, "datacolumn": None, "nrow": ngroups, "size": size,
            "sample": digest.hexdigest()}  # fmt: skip
