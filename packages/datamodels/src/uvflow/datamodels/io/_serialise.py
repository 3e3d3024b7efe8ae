"""JSON-able encodings of the astropy objects and dicts inside data models (lossless).

Floats go through JSON as their shortest round-trip ``repr``, so values come back bit-exact.
:func:`visibility_attributes` and :func:`image_attributes` give every field of a
Visibility or Image that is not an array in this form (the attributes of zarr
checkpoints and of xarray Datasets), and :func:`visibility_fields` / :func:`image_fields`
turn them back into constructor keywords.
"""

from __future__ import annotations

import json
import logging
import math

import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord, UnitSphericalRepresentation
from astropy.io import fits
from astropy.time import Time

from ..configuration import Configuration
from ..stokes_axis import linear_stokes_axis
from ._wcsheader import wcs_from_header, wcs_to_header

__all__ = [
    "skycoord_to_dict",
    "skycoord_from_dict",
    "location_to_dict",
    "location_from_dict",
    "configuration_to_dict",
    "configuration_from_dict",
    "meta_to_json",
    "meta_from_json",
    "visibility_attributes",
    "visibility_fields",
    "image_attributes",
    "image_fields",
]

log = logging.getLogger(__name__)


def skycoord_to_dict(coord: SkyCoord) -> dict:
    """A scalar direction as ``{'frame', 'lon', 'lat', 'unit', ...frame attributes}``.

    The longitude and latitude keep the unit they were given in, so no conversion rounds them.
    Distances are not kept (phase centres are directions).
    """
    if not isinstance(coord, SkyCoord) or not coord.isscalar:
        raise TypeError("expected a scalar astropy SkyCoord")
    data = coord.data
    if not hasattr(data, "lon"):
        data = data.represent_as(UnitSphericalRepresentation)
    unit = data.lon.unit
    out = {
        "frame": coord.frame.name,
        "lon": float(data.lon.to_value(unit)),
        "lat": float(data.lat.to_value(unit)),
        "unit": unit.to_string(),
    }
    for attr in coord.frame.frame_attributes:
        if coord.frame.is_frame_attr_default(attr):
            continue
        value = getattr(coord.frame, attr)
        if isinstance(value, Time):
            out[attr] = {"time": value.isot, "scale": value.scale, "format": value.format}
        else:
            log.debug("frame attribute %s=%r of a SkyCoord is not stored", attr, value)
    return out


def skycoord_from_dict(d: dict) -> SkyCoord:
    kwargs = {}
    for key, value in d.items():
        if isinstance(value, dict) and "time" in value:
            t = Time(value["time"], format="isot", scale=value["scale"])
            t.format = value["format"]
            kwargs[key] = t
    lon, lat = float(d["lon"]), float(d["lat"])
    return SkyCoord(lon, lat, unit=(d["unit"], d["unit"]), frame=d["frame"], **kwargs)


def location_to_dict(loc: EarthLocation) -> dict:
    """Geocentric x, y, z in metres and the ellipsoid."""
    x, y, z = (float(v.to_value("m")) for v in (loc.x, loc.y, loc.z))
    return {"x": x, "y": y, "z": z, "ellipsoid": loc.ellipsoid}


def location_from_dict(d: dict) -> EarthLocation:
    loc = EarthLocation.from_geocentric(d["x"], d["y"], d["z"], unit="m")
    loc.ellipsoid = d.get("ellipsoid", "WGS84")
    return loc


def configuration_to_dict(config: Configuration | None) -> dict | None:
    if config is None:
        return None
    return {
        "name": config.name,
        "location": location_to_dict(config.location),
        "names": config.names.tolist(),
        "xyz": config.xyz.tolist(),
        "diameter": config.diameter.tolist(),
        "mount": config.mount.tolist(),
    }


def configuration_from_dict(d: dict | None) -> Configuration | None:
    if d is None:
        return None
    return Configuration(
        name=d["name"],
        location=location_from_dict(d["location"]),
        names=np.asarray(d["names"], dtype=str),
        xyz=np.asarray(d["xyz"], dtype=float).reshape(-1, 3),
        diameter=np.asarray(d["diameter"], dtype=float),
        mount=np.asarray(d["mount"], dtype=str),
    )


def _encode(value, where: str):
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else {"__float__": repr(v)}
    if isinstance(value, (complex, np.complexfloating)):
        return {"__complex__": [float(value.real), float(value.imag)]}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": _encode(value.tolist(), where), "dtype": value.dtype.str}
    if isinstance(value, dict):
        return {str(k): _encode(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    log.warning("meta value %s of type %s is not JSON-able: stored as its repr", where, type(value))
    return {"__repr__": repr(value)}


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        if set(value) == {"__complex__"}:
            return complex(*value["__complex__"])
        if set(value) == {"__ndarray__", "dtype"}:
            return np.asarray(_decode(value["__ndarray__"]), dtype=np.dtype(value["dtype"]))
        if set(value) == {"__repr__"}:
            return value["__repr__"]
        return {k: _decode(v) for k, v in value.items()}
    return value


def meta_to_json(meta: dict) -> str:
    """``meta`` as a JSON string: numpy scalars and arrays, complex and non-finite floats kept;
    other objects become their ``repr`` (with a warning). Tuples come back as lists."""
    return json.dumps(_encode(dict(meta), "meta"), allow_nan=False)


def meta_from_json(text: str) -> dict:
    return _decode(json.loads(text))


def _json_string(value):
    return value if isinstance(value, str) else json.dumps(value)


def _json_value(value):
    return json.loads(value) if isinstance(value, str) else value


def visibility_attributes(vis, strings: bool = False) -> dict:
    """The fields of a Visibility that are not arrays, JSON-able.

    Parameters
    ----------
    vis : Visibility
        Its phase centre, polarisation frame, configuration, source and meta are taken.
    strings : bool
        Every value a string (the phase centre and configuration JSON-encoded), as xarray
        attributes written to netCDF need; else dicts for those two.

    Returns
    -------
    dict
        ``phasecentre``, ``polarisation_frame``, ``configuration``, ``source``, ``meta``
        (a :func:`meta_to_json` string).
    """
    encode = _json_string if strings else (lambda v: v)
    return {
        "phasecentre": encode(skycoord_to_dict(vis.phasecentre)),
        "polarisation_frame": vis.polarisation_frame.name,
        "configuration": encode(configuration_to_dict(vis.configuration)),
        "source": vis.source,
        "meta": meta_to_json(vis.meta),
    }


def visibility_fields(attrs) -> dict:
    """Visibility keywords from :func:`visibility_attributes` (either form).

    Parameters
    ----------
    attrs : mapping
        The attributes (a missing ``source`` is 'unknown', a missing ``meta`` empty).

    Returns
    -------
    dict
        ``phasecentre`` (SkyCoord), ``polarisation_frame``, ``configuration``
        (Configuration or None), ``source``, ``meta``.
    """
    return {
        "phasecentre": skycoord_from_dict(_json_value(attrs["phasecentre"])),
        "polarisation_frame": attrs["polarisation_frame"],
        "configuration": configuration_from_dict(_json_value(attrs["configuration"])),
        "source": attrs.get("source", "unknown"),
        "meta": meta_from_json(attrs.get("meta", "{}")),
    }


def image_attributes(im, strings: bool = False) -> dict:
    """The fields of an Image that are not arrays, JSON-able.

    The WCS is an exact FITS header string whose STOKES axis is the linear FITS form (code
    order); :func:`image_fields` relabels the axis from the frame
    (:mod:`uvflow.datamodels.stokes_axis`).

    Parameters
    ----------
    im : Image
        Its WCS, polarisation frame, clean beam and meta are taken.
    strings : bool
        Every value a string (no beam: ``'null'``); else None for no beam.

    Returns
    -------
    dict
        ``wcs_header``, ``polarisation_frame``, ``clean_beam``, ``meta``.
    """
    beam = None if im.clean_beam is None else meta_to_json(im.clean_beam)
    return {
        "wcs_header": wcs_to_header(linear_stokes_axis(im.wcs, im.polarisation_frame)).tostring(),
        "polarisation_frame": im.polarisation_frame.name,
        "clean_beam": "null" if beam is None and strings else beam,
        "meta": meta_to_json(im.meta),
    }


def image_fields(attrs) -> dict:
    """Image keywords from :func:`image_attributes` (either form).

    Parameters
    ----------
    attrs : mapping
        The attributes (a missing ``clean_beam`` is None, a missing ``meta`` empty).

    Returns
    -------
    dict
        ``wcs`` (astropy WCS, bit-exact), ``polarisation_frame``, ``clean_beam``, ``meta``.
    """
    beam = attrs.get("clean_beam")
    return {
        "wcs": wcs_from_header(fits.Header.fromstring(attrs["wcs_header"])),
        "polarisation_frame": attrs["polarisation_frame"],
        "clean_beam": None if beam is None else meta_from_json(beam),
        "meta": meta_from_json(attrs.get("meta", "{}")),
    }
