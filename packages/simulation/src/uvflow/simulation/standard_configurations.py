"""RASCIL's standard SKA-MID and SKA-LOW observations: sites, bands, layouts and time chunks.

=========== ====================================== ============================= =========
telescope   array centre (RASCIL's)                bands (Hz), channel width 1e7 elevation
=========== ====================================== ============================= =========
MID         lon 21.443803, lat −30.712925, h 0     B1 0.765e9, B2 1.36e9,        15°
                                                   Ku 12.179e9
LOW         lon 116.76444824, lat −26.824722084,   B 1.5e8                       45°
            h 300 m
=========== ====================================== ============================= =========

**Layouts.** RASCIL reads ``<shared_directory>/ska1mid_local.cfg`` and ``ska1low_local.cfg``
(:func:`create_configuration_from_MIDfile`). uvflow reads them when they are there; else
LOW uses the LOWBD2 layout (``LOWBD2.csv`` in ``shared_directory``, through
:func:`uvflow.simulation.named_configuration`, whose ``rmax`` is the horizontal distance from
the mean station position), and MID, whose layout is not available to uvflow, uses the
MeerKAT configuration (the 64 MeerKAT dishes that are part of SKA-Mid; 63 in uvflow's
shipped layout; ``rmax`` the horizontal distance from the MID array centre), with a
logged warning. A fallback layout keeps its antenna positions and takes RASCIL's array
centre as its location.

**Times.** As RASCIL's: chunk starts ``arange(time_range[0] · 3600, time_range[1] · 3600,
time_chunk)`` and samples ``arange(start, start + time_chunk, integration_time)`` are
hour-angle seconds, the hour angles ``t · π / 43200`` radians.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from astropy.coordinates import EarthLocation

from uvflow.datamodels import Configuration, create_named_configuration, limit_configuration_radius

from .errors import SimulationError
from .named_observations import named_configuration

__all__ = [
    "LOW_BANDS",
    "LOW_LOCATION",
    "MID_BANDS",
    "MID_LOCATION",
    "STANDARD_CHANNEL_BANDWIDTH",
    "STANDARD_ELEVATION_LIMITS",
    "create_configuration_from_MIDfile",
    "standard_configuration",
    "standard_frequency",
    "standard_time_chunks",
]

log = logging.getLogger(__name__)

MID_LOCATION = EarthLocation.from_geodetic(lon=21.443803, lat=-30.712925, height=0.0)
LOW_LOCATION = EarthLocation.from_geodetic(lon=116.76444824, lat=-26.824722084, height=300.0)
#: band name -> centre frequency, Hz
MID_BANDS = {"B1": 0.765e9, "B2": 1.36e9, "Ku": 12.179e9}
LOW_BANDS = {"B": 1.5e8}
STANDARD_CHANNEL_BANDWIDTH = 1.0e7
#: degrees
STANDARD_ELEVATION_LIMITS = {"MID": 15.0, "LOW": 45.0}
_LAYOUT_FILES = {"MID": "ska1mid_local.cfg", "LOW": "ska1low_local.cfg"}
_MOUNTS = {"azel": "altaz"}
_warned_mid_fallback = False


def _enu_to_itrf(enu: np.ndarray, location: EarthLocation) -> np.ndarray:
    lon, lat = location.lon.rad, location.lat.rad
    sl, cl, sp, cp = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
    rot = np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])
    centre = np.array([v.to_value("m") for v in location.to_geocentric()])
    return centre + np.asarray(enu, float) @ rot


def create_configuration_from_MIDfile(
    antfile, location: EarthLocation | None = None, mount: str = "azel", rmax=None, name: str = ""
) -> Configuration:
    """RASCIL's reader of SKA ``*_local.cfg`` layouts.

    The file: five header lines, then rows ``X Y Z Diam Station`` separated by blanks, with
    X east, Y north, Z up (metres) from ``location``.

    Parameters
    ----------
    antfile : str or os.PathLike
    location : EarthLocation
        The array centre (required).
    mount : str
        ``'azel'`` (RASCIL's name) is stored as uvflow's ``'altaz'``.
    rmax : float, optional
        Keep antennas closer than this (3-D distance from the mean antenna position, as RASCIL).
    name : str

    Returns
    -------
    Configuration
        ITRF ``xyz`` float64 [nant, 3], diameters from the file, names from its last column.

    Raises
    ------
    SimulationError
        No location, an unreadable row, no antennas, or none within ``rmax``.
    """
    if not isinstance(location, EarthLocation):
        raise SimulationError("create_configuration_from_MIDfile needs location= an EarthLocation")
    path = Path(antfile)
    rows = []
    for lineno, line in enumerate(path.read_text().splitlines()[5:], start=6):
        tok = line.split()
        if not tok:
            continue
        if len(tok) < 5:
            raise SimulationError(
                f"{path} line {lineno}: expected 'X Y Z Diam Station', got {line!r}"
            )
        try:
            rows.append(([float(v) for v in tok[:4]], tok[4]))
        except ValueError:
            raise SimulationError(f"{path} line {lineno}: expected numbers, got {line!r}") from None
    if not rows:
        raise SimulationError(f"{path} has no antenna rows after its 5 header lines")
    values = np.array([r[0] for r in rows])
    names = np.array([r[1] for r in rows])
    enu = values[:, :3]
    if rmax is not None:
        keep = np.linalg.norm(enu - enu.mean(axis=0), axis=1) < float(rmax)
        if not keep.any():
            raise SimulationError(
                f"no antenna of {path} lies within rmax={rmax} m of the mean position"
            )
        enu, values, names = enu[keep], values[keep], names[keep]
    return Configuration(
        name=name or path.stem, location=location, names=names, xyz=_enu_to_itrf(enu, location),
        diameter=values[:, 3], mount=_MOUNTS.get(mount, mount),
    )  # fmt: skip


def _relocated(config: Configuration, location: EarthLocation, name: str) -> Configuration:
    return Configuration(name=name, location=location, names=config.names, xyz=config.xyz,
                         diameter=config.diameter, mount=config.mount)  # fmt: skip


def standard_configuration(
    telescope: str, rmax, shared_directory: str | os.PathLike | None
) -> Configuration:
    """The layout of RASCIL's standard MID or LOW simulation (see the module notes).

    Parameters
    ----------
    telescope : {'MID', 'LOW'}
    rmax : float or None
        Metres.
    shared_directory : str or os.PathLike or None
        Where ``ska1mid_local.cfg`` / ``ska1low_local.cfg`` (and for LOW ``LOWBD2.csv``) are.

    Returns
    -------
    Configuration
        Located at RASCIL's array centre.
    """
    global _warned_mid_fallback
    location = MID_LOCATION if telescope == "MID" else LOW_LOCATION
    if shared_directory is not None:
        path = Path(shared_directory) / _LAYOUT_FILES[telescope]
        if path.is_file():
            return create_configuration_from_MIDfile(path, location=location, rmax=rmax,
                                                     name=f"SKA1-{telescope}")  # fmt: skip
    if telescope == "LOW":
        if shared_directory is None:
            raise SimulationError(
                "the standard LOW simulation needs shared_directory= holding ska1low_local.cfg "
                "or LOWBD2.csv (e.g. '../shared/data/layouts')"
            )
        return _relocated(named_configuration("LOWBD2", rmax=rmax, layout_path=shared_directory),
                          LOW_LOCATION, "SKA1-LOW (LOWBD2)")  # fmt: skip
    if not _warned_mid_fallback:
        log.warning(
            "no ska1mid_local.cfg in %s: the standard MID simulation uses the MeerKAT dishes "
            "(the 64 MeerKAT dishes of SKA-Mid) at the MID array centre", shared_directory
        )  # fmt: skip
        _warned_mid_fallback = True
    config = _relocated(create_named_configuration("MEERKAT"), MID_LOCATION, "SKA1-MID (MeerKAT)")
    if rmax is not None:
        try:
            config = limit_configuration_radius(config, float(rmax), centre="location")
        except ValueError as exc:
            raise SimulationError(str(exc)) from None
    return config


def standard_frequency(telescope: str, band: str) -> float:
    """Hz: the band's frequency for ``telescope`` ('MID' or 'LOW').

    Raises
    ------
    SimulationError
        An unknown band (the message lists the telescope's bands).
    """
    bands = MID_BANDS if telescope == "MID" else LOW_BANDS
    if band not in bands:
        known = ", ".join(f"{k} ({v / 1e9:g} GHz)" for k, v in bands.items())
        raise SimulationError(f"band {band!r} unknown for SKA-{telescope}; known: {known}")
    return bands[band]


def standard_time_chunks(time_range, time_chunk, integration_time) -> tuple[np.ndarray, list]:
    """RASCIL's chunking of an hour-angle range (see the module notes).

    Parameters
    ----------
    time_range : (float, float)
        Hour angles, hours; start < end.
    time_chunk : float
        Seconds (> 0).
    integration_time : float
        Seconds (> 0).

    Returns
    -------
    starts : numpy.ndarray of float64, shape [nchunk]
        Chunk start hour angles, radians (each chunk ends ``time_chunk`` later).
    samples : list of numpy.ndarray of float64
        Per chunk, the sample hour angles in radians.

    Raises
    ------
    SimulationError
        A ``time_range`` that is not two finite hours in increasing order, or a
        ``time_chunk`` or ``integration_time`` that is not finite and > 0.
    """
    try:
        t0, t1 = (float(v) for v in time_range)
    except (TypeError, ValueError):
        raise SimulationError(
            f"time_range must be (start, end) hour angles in hours, got {time_range!r}"
        ) from None
    if not (np.isfinite(t0) and np.isfinite(t1) and t0 < t1):
        raise SimulationError(
            f"time_range must be finite hours with start < end, got {time_range!r}"
        )
    for name, value in (("time_chunk", time_chunk), ("integration_time", integration_time)):
        if not (np.isfinite(float(value)) and float(value) > 0):
            raise SimulationError(f"{name} must be finite and > 0 seconds, got {value!r}")
    s2r = np.pi / 43200.0
    starts = np.arange(t0 * 3600.0, t1 * 3600.0, float(time_chunk))
    samples = [np.arange(s, s + float(time_chunk), float(integration_time)) * s2r for s in starts]
    return starts * s2r, samples
