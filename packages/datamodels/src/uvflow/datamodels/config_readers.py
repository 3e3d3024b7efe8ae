"""Antenna layouts from files: CASA ``.cfg``, CSV and whitespace tables.

Coordinate frames of the positions in a file (``frame=``):

``'itrf'``
    Geocentric X, Y, Z in metres (CASA ``# coordsys=XYZ``; tables whose positions are
    ~6.4e6 m from the Earth's centre, e.g. pyvisgen's ``meerkat.txt``).
``'enu'``
    East, North, Up in metres from the array centre (CASA ``# coordsys=LOC``, the local
    tangent plane; CSV files such as ``LOWBD2.csv``).
``'local_xyz'``
    Earth-centred axes turned to the array's meridian (X: equator at the array's
    longitude, Y: 90° east of it, Z: the pole), metres from the array centre: the classic
    VLA/AIPS antenna frame. Tables whose positions are small (pyvisgen's ``vla.txt``) are
    read this way: rotated by the VLA longitude they match CASA's ``vla.b.cfg`` to 0.1 m.

The network is closed here, so array centres come from :data:`KNOWN_ARRAY_CENTRES`, not
``EarthLocation.of_site``.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
from astropy.coordinates import EarthLocation

from ._validation import DataModelError
from .configuration import Configuration

__all__ = [
    "KNOWN_ARRAY_CENTRES",
    "POSITION_FRAMES",
    "array_centre",
    "create_configuration_from_file",
    "limit_configuration_radius",
]

log = logging.getLogger(__name__)

POSITION_FRAMES = ("itrf", "enu", "local_xyz")
_FORMATS = ("cfg", "csv", "table")
# (kind, a, b, c): 'geodetic' lon deg, lat deg, height m; 'geocentric' X, Y, Z m.
KNOWN_ARRAY_CENTRES: dict[str, tuple[str, float, float, float]] = {
    # lon/lat from the MeerKAT reference position; height = mean antenna height in meerkat.txt
    "MEERKAT": ("geodetic", 21.4439, -30.7130, 1095.0),
    "SKA1-LOW": ("geodetic", 116.7644, -26.8247, 300.0),
    # the origin of pyvisgen's vla.txt (fitted to CASA's vla.b.cfg, 0.08 m rms): CASA's VLA
    # position, lon -107.61833, lat 34.07881, h 2114.9 m (~45 m from astropy's 'VLA' site)
    "VLA": ("geocentric", -1601185.4, -5041977.5, 3554875.9),
}
_CENTRE_ALIASES = {"MEERKAT": "MEERKAT", "MEERKAT+": "MEERKAT", "MKAT": "MEERKAT",
                   "SKA1-LOW": "SKA1-LOW", "SKA1LOW": "SKA1-LOW", "SKALOW": "SKA1-LOW",
                   "SKA-LOW": "SKA1-LOW", "LOW": "SKA1-LOW", "LOWBD2": "SKA1-LOW",
                   "VLA": "VLA", "EVLA": "VLA", "JVLA": "VLA"}  # fmt: skip
_EARTH_RADIUS_RANGE = (6.30e6, 6.42e6)  # metres: geocentric positions on the surface


def array_centre(name: str) -> EarthLocation:
    """The centre of a known array.

    Parameters
    ----------
    name : str
        ``MEERKAT``, ``SKA1-LOW``, ``VLA`` … (case-insensitive; see ``KNOWN_ARRAY_CENTRES``).

    Returns
    -------
    astropy.coordinates.EarthLocation

    Raises
    ------
    DataModelError
        An unknown name (the known ones are listed).
    """
    key = _CENTRE_ALIASES.get(str(name).upper().replace("_", "-"))
    if key is None:
        raise DataModelError(
            f"array centre of {name!r} unknown; known: {', '.join(KNOWN_ARRAY_CENTRES)} "
            "(or pass an astropy EarthLocation)"
        )
    kind, a, b, c = KNOWN_ARRAY_CENTRES[key]
    if kind == "geodetic":
        return EarthLocation.from_geodetic(lon=a, lat=b, height=c)
    return EarthLocation.from_geocentric(a, b, c, unit="m")


def _location(location) -> EarthLocation | None:
    if location is None or isinstance(location, EarthLocation):
        return location
    if isinstance(location, str):
        return array_centre(location)
    raise TypeError(f"location must be an EarthLocation or an array name, not {type(location)}")


def _geocentric(loc: EarthLocation) -> np.ndarray:
    return np.array([v.to_value("m") for v in loc.to_geocentric()])


def enu_to_itrf(enu: np.ndarray, location: EarthLocation) -> np.ndarray:
    """ITRF xyz [n, 3] of East/North/Up offsets [n, 3] (metres) from ``location``."""
    lon, lat = location.lon.rad, location.lat.rad
    sl, cl, sp, cp = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
    rot = np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])
    return _geocentric(location) + np.asarray(enu, float) @ rot


def local_xyz_to_itrf(lxyz: np.ndarray, location: EarthLocation) -> np.ndarray:
    """ITRF xyz [n, 3] of meridian-frame offsets [n, 3] (metres) from ``location``."""
    lon = location.lon.rad
    c, s = np.cos(lon), np.sin(lon)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return _geocentric(location) + np.asarray(lxyz, float) @ rot.T


def _to_itrf(pos: np.ndarray, frame: str, location: EarthLocation | None, path) -> np.ndarray:
    if frame == "itrf":
        return pos
    if location is None:
        raise DataModelError(
            f"{path}: positions are {frame} offsets and need the array centre: pass "
            f"location= an EarthLocation or one of {', '.join(KNOWN_ARRAY_CENTRES)}"
        )
    return enu_to_itrf(pos, location) if frame == "enu" else local_xyz_to_itrf(pos, location)


def _numeric_rows(lines: list[str], path, sep: str | None) -> list[list[str]]:
    rows = []
    for n, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            rows.append((n, [t.strip() for t in text.split(sep)] if sep else text.split()))
    return rows


def _floats(tokens: list[str], path, lineno: int) -> list[float]:
    try:
        return [float(t) for t in tokens]
    except ValueError:
        raise DataModelError(f"{path} line {lineno}: expected numbers, got {tokens}") from None


def _read_cfg(path: Path, text: str) -> dict:
    params = {}
    for line in text.splitlines():
        m = re.match(r"^\s*#\s*([A-Za-z_]+)\s*=\s*(.*?)\s*$", line)
        if m:
            params[m.group(1).lower()] = m.group(2)
    coordsys = params.get("coordsys", "XYZ").split()[0].upper()
    frames = {"XYZ": "itrf", "LOC": "enu"}
    if coordsys not in frames:
        raise DataModelError(
            f"{path}: coordsys={coordsys} is not supported; use XYZ (ITRF) or LOC (local tangent plane)"
        )
    pos, dia, names = [], [], []
    for lineno, tok in _numeric_rows(text.splitlines(), path, None):
        if len(tok) < 4:
            raise DataModelError(f"{path} line {lineno}: expected 'X Y Z diameter [name]'")
        x, y, z, d = _floats(tok[:4], path, lineno)
        pos.append((x, y, z))
        dia.append(d)
        names.append(tok[4] if len(tok) > 4 else None)
    observatory = params.get("observatory")
    return {"pos": pos, "diameter": dia, "names": names, "frame": frames[coordsys],
            "observatory": observatory}  # fmt: skip


def _read_csv(path: Path, text: str) -> dict:
    rows = _numeric_rows(text.splitlines(), path, ",")
    if rows and not re.match(r"^[-+.0-9eE]+$", rows[0][1][0]):
        rows = rows[1:]  # a header line
    pos, dia = [], []
    for lineno, tok in rows:
        values = _floats(tok, path, lineno)
        if len(values) not in (3, 4):
            raise DataModelError(f"{path} line {lineno}: expected x,y,z[,diameter], got {tok}")
        pos.append(values[:3])
        dia.append(values[3] if len(values) == 4 else None)
    return {"pos": pos, "diameter": dia, "names": [None] * len(pos), "frame": "enu"}


_NAME_COLS = ("station_name", "station", "name", "pad", "antenna")
_DIA_COLS = ("dish_dia", "diameter", "dish_diameter", "dia", "diam")


def _read_table(path: Path, text: str) -> dict:
    rows = _numeric_rows(text.splitlines(), path, None)
    if not rows:
        raise DataModelError(f"{path} has no antenna rows")
    header = [h.lower() for h in rows[0][1]]
    if not {"x", "y", "z"} <= set(header):
        raise DataModelError(
            f"{path}: the first line must name the columns, with X, Y and Z; got {rows[0][1]}"
        )
    ix, iy, iz = header.index("x"), header.index("y"), header.index("z")
    iname = next((header.index(c) for c in _NAME_COLS if c in header), None)
    idia = next((header.index(c) for c in _DIA_COLS if c in header), None)
    pos, dia, names = [], [], []
    for lineno, tok in rows[1:]:
        if len(tok) != len(header):
            raise DataModelError(
                f"{path} line {lineno}: {len(tok)} columns, the header names {len(header)}"
            )
        pos.append(_floats([tok[ix], tok[iy], tok[iz]], path, lineno))
        dia.append(_floats([tok[idia]], path, lineno)[0] if idia is not None else None)
        names.append(tok[iname] if iname is not None else None)
    r = np.median(np.linalg.norm(np.asarray(pos, float), axis=1))
    geocentric = _EARTH_RADIUS_RANGE[0] < r < _EARTH_RADIUS_RANGE[1]
    return {"pos": pos, "diameter": dia, "names": names,
            "frame": "itrf" if geocentric else "local_xyz"}  # fmt: skip


def limit_configuration_radius(
    config: Configuration, rmax: float, centre: str = "location"
) -> Configuration:
    """The antennas within horizontal distance ``rmax`` (metres) of the centre.

    Parameters
    ----------
    config : Configuration
    rmax : float
        Metres, > 0; distances in the local East/North plane.
    centre : {'location', 'mean'}
        Measure from ``config.location`` or from the mean antenna position.

    Returns
    -------
    Configuration
        The selected antennas (``xyz`` float64 [nant_kept, 3]), in their original order.
    """
    if centre not in ("location", "mean"):
        raise DataModelError(f"centre {centre!r} unknown; use 'location' or 'mean'")
    if not rmax > 0:
        raise DataModelError(f"rmax must be > 0 metres, got {rmax}")
    enu = config.enu()
    if centre == "mean":
        enu = enu - enu.mean(axis=0)
    keep = np.hypot(enu[:, 0], enu[:, 1]) <= rmax
    if not keep.any():
        raise DataModelError(
            f"no antenna of {config.name} lies within rmax={rmax} m of the {centre}"
        )
    return config.select(np.flatnonzero(keep))


def create_configuration_from_file(
    path: str | os.PathLike,
    *,
    location: EarthLocation | str | None = None,
    name: str | None = None,
    frame: str | None = None,
    file_format: str | None = None,
    diameter: float | None = None,
    mount: str = "altaz",
    rmax: float | None = None,
    centre: str = "location",
) -> Configuration:
    """Read an antenna layout.

    Parameters
    ----------
    path : str or os.PathLike
        ``.cfg`` (CASA simobserve: ``# observatory=``, ``# coordsys=XYZ|LOC``, rows
        ``X Y Z diameter name``), ``.csv`` (rows ``x,y,z[,diameter]``, ENU metres) or any
        other name: a whitespace table whose first line names the columns (``station_name X
        Y Z dish_dia ...``).
    location : EarthLocation or str, optional
        The array centre, or a name in :data:`KNOWN_ARRAY_CENTRES`. Default: the ``.cfg``
        file's observatory if known, else (ITRF positions) the mean antenna position.
        Required for local positions without a known observatory.
    name : str, optional
        Configuration name; default the observatory or the file's stem. Generated antenna
        names are ``<name>_<row>`` (row counted from 0 in the file).
    frame : {'itrf', 'enu', 'local_xyz'}, optional
        Override the frame of the positions (see the module notes for the defaults).
    file_format : {'cfg', 'csv', 'table'}, optional
        Override the format chosen from the file extension.
    diameter : float, optional
        Metres; overrides the file's, required when the file has none.
    mount : str
    rmax : float, optional
        Keep antennas within this horizontal distance (metres) of ``centre``.
    centre : {'location', 'mean'}
        What ``rmax`` is measured from.
    """
    path = Path(path)
    fmt = file_format or {".cfg": "cfg", ".csv": "csv"}.get(path.suffix.lower(), "table")
    if fmt not in _FORMATS:
        raise DataModelError(f"file_format {fmt!r} unknown; use one of {', '.join(_FORMATS)}")
    if frame is not None and frame not in POSITION_FRAMES:
        raise DataModelError(f"frame {frame!r} unknown; use one of {', '.join(POSITION_FRAMES)}")
    loc = _location(location)
    text = path.read_text()
    parsed = {"cfg": _read_cfg, "csv": _read_csv, "table": _read_table}[fmt](path, text)
    if not parsed["pos"]:
        raise DataModelError(f"{path} has no antenna rows")
    pos = np.asarray(parsed["pos"], dtype=float)
    frame = frame or parsed["frame"]
    observatory = parsed.get("observatory")
    if loc is None and observatory:
        try:
            loc = array_centre(observatory)
        except DataModelError:
            log.info("%s: observatory %s is not in the table of array centres", path, observatory)
    if loc is None and frame == "itrf":
        loc = EarthLocation.from_geocentric(*pos.mean(axis=0), unit="m")
    xyz = _to_itrf(pos, frame, loc, path)
    name = name or observatory or path.stem
    names = [n if n is not None else f"{name}_{i}" for i, n in enumerate(parsed["names"])]
    if diameter is not None:
        dia = np.full(len(pos), float(diameter))
    elif any(d is None for d in parsed["diameter"]):
        raise DataModelError(f"{path} gives no antenna diameters: pass diameter= (metres)")
    else:
        dia = np.asarray(parsed["diameter"], dtype=float)
    config = Configuration(name=name, location=loc, names=names, xyz=xyz, diameter=dia, mount=mount)
    log.debug("read %r from %s (%s, %s positions)", config, path, fmt, frame)
    if rmax is not None:
        config = limit_configuration_radius(config, rmax, centre)
    return config
