"""zarr checkpoints of Visibility, Image and GainTable (lossless, written atomically).

Layout: one zarr group per object; every array field is a zarr array (chunked along its
first axis, compressed losslessly), everything else is in the group's attributes as JSON:
``uvflow_type``, ``uvflow_format`` (layout version), ``uvflow_version``, the phase centre,
frames, configuration (names, ITRF xyz, diameters, mounts, location) and ``meta``.
Works with zarr 3 (format 3) and zarr 2.16+ (format 2); zarr is imported on first use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .._validation import DataModelError
from ..gaintable import GainTable
from ..image import Image
from ..visibility import Visibility
from ._extras import import_extra
from ._serialise import (
    configuration_from_dict,
    configuration_to_dict,
    image_attributes,
    image_fields,
    meta_from_json,
    meta_to_json,
    skycoord_from_dict,
    skycoord_to_dict,
    visibility_attributes,
    visibility_fields,
)
from .atomic import atomic_directory

__all__ = [
    "write_visibility_zarr",
    "read_visibility_zarr",
    "write_image_zarr",
    "read_image_zarr",
    "write_gaintable_zarr",
    "read_gaintable_zarr",
    "save_checkpoint",
    "load_checkpoint",
    "describe_checkpoint",
]

FORMAT_VERSION = 1
_CHUNK_BYTES = 32 * 2**20

_VIS_ARRAYS = ("vis", "weight", "flags", "uvw", "time", "integration_time", "antenna1",
               "antenna2", "frequency", "channel_bandwidth")  # fmt: skip
_GT_ARRAYS = ("gain", "weight", "residual", "time", "interval", "frequency")


def _zarr():
    return import_extra("zarr", "zarr", "zarr checkpoints need zarr")


def _version() -> str:
    from .. import __version__

    return __version__


def _is_store(path: Path) -> bool:
    return (path / "zarr.json").exists() or (path / ".zgroup").exists()


def _chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Whole arrays below ~32 MiB, else blocks along the first axis."""
    if not shape:
        return ()
    row = int(np.prod(shape[1:], dtype=np.int64)) * itemsize
    n = max(1, min(shape[0], _CHUNK_BYTES // max(row, 1)))
    return (n, *(max(s, 1) for s in shape[1:]))


def _put(group, name: str, data: np.ndarray) -> None:
    data = np.ascontiguousarray(data)
    chunks = _chunks(data.shape, data.dtype.itemsize) or None
    if hasattr(group, "create_array"):  # zarr 3
        group.create_array(name, data=data, chunks=chunks if data.ndim else "auto")
    else:  # zarr 2
        group.create_dataset(name, data=data, chunks=chunks if data.ndim else True)


def _gaintable_attributes(gt: GainTable) -> dict:
    return {
        "receptor_frame": gt.receptor_frame.name,
        "phasecentre": skycoord_to_dict(gt.phasecentre),
        "configuration": configuration_to_dict(gt.configuration),
        "jones_type": gt.jones_type,
        "meta": meta_to_json(gt.meta),
    }


def _gaintable_fields(attrs) -> dict:
    return dict(
        receptor_frame=attrs["receptor_frame"],
        phasecentre=skycoord_from_dict(attrs["phasecentre"]),
        configuration=configuration_from_dict(attrs["configuration"]),
        jones_type=attrs["jones_type"],
        meta=meta_from_json(attrs["meta"]),
    )


#: per type stored: its class, its array fields, its other fields as JSON attributes and
#: those attributes back as constructor keywords
_LAYOUTS = {
    "Visibility": (Visibility, _VIS_ARRAYS, visibility_attributes, visibility_fields),
    "Image": (Image, ("data",), image_attributes, image_fields),
    "GainTable": (GainTable, _GT_ARRAYS, _gaintable_attributes, _gaintable_fields),
}


def _write(kind: str, obj, path, overwrite: bool) -> Path:
    """Store ``obj`` (checked to be a ``kind``) as :data:`_LAYOUTS` lays out a ``kind``.

    Parameters
    ----------
    kind : str
        A key of :data:`_LAYOUTS`.
    obj : Visibility, Image or GainTable
    path : str or os.PathLike
    overwrite : bool
        As :func:`write_visibility_zarr` takes them.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        ``obj`` is not a ``kind`` (the message names the public writer).
    """
    cls, names, attributes, _ = _LAYOUTS[kind]
    if not isinstance(obj, cls):
        article = "an" if kind[0] in "AEIOU" else "a"
        raise TypeError(
            f"write_{kind.lower()}_zarr needs {article} {kind}, got {type(obj).__name__}"
        )
    zarr = _zarr()
    with atomic_directory(path, overwrite=overwrite, may_replace=_is_store) as tmp:
        group = zarr.open_group(str(tmp), mode="w")
        for name in names:
            _put(group, name, np.asarray(getattr(obj, name)))
        group.attrs.update(
            {"uvflow_type": kind, "uvflow_format": FORMAT_VERSION, "uvflow_version": _version()}
            | attributes(obj)
        )
    return Path(path)


def _open(path, kind: str | None = None):
    zarr = _zarr()
    path = Path(path)
    if not _is_store(path):
        raise FileNotFoundError(f"{path} is not a zarr store")
    group = zarr.open_group(str(path), mode="r")
    found = group.attrs.get("uvflow_type")
    if found is None:
        raise DataModelError(f"{path} is a zarr store but not a uvflow checkpoint")
    if kind is not None and found != kind:
        raise DataModelError(f"{path} holds a {found}, not a {kind}")
    if group.attrs.get("uvflow_format", 0) > FORMAT_VERSION:
        raise DataModelError(
            f"{path} was written in checkpoint format {group.attrs['uvflow_format']} by "
            f"uvflow {group.attrs.get('uvflow_version')}; this version reads up to {FORMAT_VERSION}"
        )
    return group


def _read(path, kind: str):
    """The ``kind`` stored at ``path`` (checked by :func:`_open`), arrays in memory."""
    cls, names, _, fields = _LAYOUTS[kind]
    group = _open(path, kind)
    return cls(**{name: group[name][...] for name in names}, **fields(group.attrs))


def write_visibility_zarr(
    vis: Visibility, path: str | os.PathLike, *, overwrite: bool = True
) -> Path:
    """Write ``vis`` to a zarr directory store at ``path`` (replacing an older store atomically).

    Every array keeps its dtype and values; the phase centre, polarisation frame,
    configuration, source and meta go to JSON attributes.

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]`` complex64/complex128, ``weight`` float and
        ``flags`` bool of that shape, ``uvw`` float64 [ntime, nbaseline, 3], ``time``,
        ``integration_time`` float64 [ntime], ``antenna1``/``antenna2`` int [nbaseline],
        ``frequency``, ``channel_bandwidth`` float64 [nchan]: all stored as they are.
    path : str or os.PathLike
        The store's directory; it is built under a temporary name beside it and renamed.
    overwrite : bool
        Replace an existing uvflow store at ``path`` (atomically; a directory that is not a
        uvflow store is never replaced).

    Returns
    -------
    pathlib.Path
        The store written.
    """
    return _write("Visibility", vis, path, overwrite)


def read_visibility_zarr(path: str | os.PathLike) -> Visibility:
    """Read a Visibility written by :func:`write_visibility_zarr` (arrays loaded into memory).

    Parameters
    ----------
    path : str or os.PathLike
        A store written by :func:`write_visibility_zarr` (or :func:`save_checkpoint`).

    Returns
    -------
    Visibility
        Arrays with the dtypes and values written.

    Raises
    ------
    DataModelError
        ``path`` is not a uvflow store, or holds another type.
    """
    return _read(path, "Visibility")


def write_image_zarr(im: Image, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write ``im`` (float or complex data) to a zarr store; the WCS goes as an exact FITS header.

    The header's STOKES axis is the linear FITS form (code order); the planes are stored in
    the polarisation frame's order, and :func:`read_image_zarr` relabels the axis from the
    frame (:mod:`uvflow.datamodels.stokes_axis`).

    Parameters
    ----------
    im : Image
        ``data[nchan, npol, ny, nx]`` float32/float64 or complex (uv grids), stored as is.
    path, overwrite
        As for :func:`write_visibility_zarr`.

    Returns
    -------
    pathlib.Path
        The store written: array ``data``; attributes ``wcs_header``,
        ``polarisation_frame``, ``clean_beam`` and ``meta``.
    """
    return _write("Image", im, path, overwrite)


def read_image_zarr(path: str | os.PathLike) -> Image:
    """Read an Image written by :func:`write_image_zarr`.

    Parameters
    ----------
    path : str or os.PathLike
        A store of an Image (:func:`write_image_zarr`, :func:`save_checkpoint`).

    Returns
    -------
    Image
        ``data[nchan, npol, ny, nx]`` with the dtype written, WCS bit-exact, beam and meta.
    """
    return _read(path, "Image")


def write_gaintable_zarr(gt: GainTable, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write ``gt`` to a zarr store (the pipeline's ``<name>-gaintable.zarr`` products).

    Parameters
    ----------
    gt : GainTable
        ``gain[ntime, nant, nchan, nrec, nrec]`` complex, ``weight`` float of that shape,
        ``residual`` float [ntime, nchan, nrec, nrec], ``time``/``interval`` float64 [ntime],
        ``frequency`` float64 [nchan]: all stored as they are.
    path, overwrite
        As for :func:`write_visibility_zarr`.

    Returns
    -------
    pathlib.Path
        The store written: the arrays ``gain``, ``weight``, ``residual``, ``time``,
        ``interval`` and ``frequency``, and the attributes ``receptor_frame``,
        ``phasecentre``, ``configuration``, ``jones_type``, ``meta``.
    """
    return _write("GainTable", gt, path, overwrite)


def read_gaintable_zarr(path: str | os.PathLike) -> GainTable:
    """Read a GainTable written by :func:`write_gaintable_zarr`.

    Parameters
    ----------
    path : str or os.PathLike
        A store of a GainTable: a pipeline's ``<name>-gaintable.zarr``, or one written by
        :func:`write_gaintable_zarr` or :func:`save_checkpoint`.

    Returns
    -------
    GainTable
        Arrays with the dtypes and values written.
    """
    return _read(path, "GainTable")


def save_checkpoint(obj, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write a Visibility, Image or GainTable to a zarr store at ``path``.

    Parameters
    ----------
    obj : Visibility, Image or GainTable
    path, overwrite
        As for :func:`write_visibility_zarr`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        ``obj`` is none of the three.
    """
    for kind, (cls, *_) in _LAYOUTS.items():
        if isinstance(obj, cls):
            return _write(kind, obj, path, overwrite)
    raise TypeError(f"cannot checkpoint a {type(obj).__name__}; supported: " + ", ".join(_LAYOUTS))


def load_checkpoint(path: str | os.PathLike):
    """Read whatever :func:`save_checkpoint` wrote at ``path``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Visibility, Image or GainTable
    """
    kind = _open(path).attrs["uvflow_type"]
    if kind not in _LAYOUTS:
        raise DataModelError(f"{path} holds a {kind!r}; this version reads {', '.join(_LAYOUTS)}")
    return _read(path, kind)


def describe_checkpoint(path: str | os.PathLike) -> dict:
    """The attributes of a checkpoint (type, format, version, frames, meta) without its arrays.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict
        JSON-able attributes (``uvflow_type``, ``uvflow_version``, frames, ``meta`` …).
    """
    group = _open(path)
    return json.loads(json.dumps(dict(group.attrs)))
