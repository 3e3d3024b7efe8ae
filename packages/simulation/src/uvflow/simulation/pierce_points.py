"""Pierce points: where each antenna's line of sight to a source crosses a thin flat screen.

For a screen at height ``h`` above the array centre, antenna a at local East/North/Up
``(E_a, N_a, U_a)`` (metres from the array centre, ``Configuration.enu()``) and a source at
azimuth A (east of north) and zenith angle z, the line of sight crosses the screen at

``(E_a, N_a) + (h − U_a) tan z (sin A, cos A)``

on the screen plane (East, North metres from the array centre). The direction is the
source's apparent direction at the array centre (:func:`uvflow.simulation.uvw_rotation`:
precession, nutation, Earth rotation, polar motion, aberration; no refraction); the screen
is flat, as RASCIL's (no Earth curvature: at 300 km height and 60° zenith angle a spherical
shell would be crossed 6% nearer the array). A source at or below the horizon has no pierce
point (NaN).

RASCIL's ``find_pierce_points`` puts the antennas on the plane normal to the source and
moves the pierce point by the source's (l, m) offset from the phase centre, as seen at the
window's mean hour angle; uvflow uses the geometry above at every time.
"""

from __future__ import annotations

import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord

from uvflow.datamodels import Configuration, Visibility

from .directions import as_direction_list
from .earth_orientation import uvw_rotation
from .errors import SimulationError

__all__ = ["azimuth_elevation", "direction_enu", "pierce_point_extent", "pierce_points"]


def direction_enu(time_mjd_seconds, location: EarthLocation, direction: SkyCoord) -> np.ndarray:
    """Unit vectors (East, North, Up) of the apparent direction at ``location``.

    Parameters
    ----------
    time_mjd_seconds : float or array of float64, shape [ntime]
        UTC, MJD seconds.
    location : EarthLocation
        Geodetic vertical.
    direction : SkyCoord
        Scalar, any frame.

    Returns
    -------
    numpy.ndarray of float64, shape [ntime, 3]
    """
    _, s_itrs = uvw_rotation(np.atleast_1d(time_mjd_seconds), location, direction)
    lon, lat = float(location.lon.rad), float(location.lat.rad)
    sl, cl, sp, cp = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
    rot = np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])
    return s_itrs @ rot.T


def azimuth_elevation(
    time_mjd_seconds, location: EarthLocation, direction: SkyCoord
) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth (east of north) and geometric elevation of the apparent direction.

    Parameters
    ----------
    time_mjd_seconds : float or array of float64, shape [ntime]
        UTC, MJD seconds.
    location : EarthLocation
    direction : SkyCoord
        Scalar, any frame.

    Returns
    -------
    azimuth, elevation : numpy.ndarray of float64, shape [ntime] each
        Radians; azimuth in [0, 2π).
    """
    enu = direction_enu(time_mjd_seconds, location, direction)
    az = np.mod(np.arctan2(enu[:, 0], enu[:, 1]), 2 * np.pi)
    return az, np.arcsin(np.clip(enu[:, 2], -1.0, 1.0))


def pierce_points(
    config: Configuration, time_mjd_seconds, direction: SkyCoord, height: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pierce points of every antenna's line of sight on a screen at ``height`` (module notes).

    Parameters
    ----------
    config : Configuration
        Antennas (``enu()`` about ``config.location``).
    time_mjd_seconds : float or array of float64, shape [ntime]
        UTC, MJD seconds.
    direction : SkyCoord
        Scalar, any frame.
    height : float
        Metres above the array centre (> 0).

    Returns
    -------
    points : numpy.ndarray of float64, shape [ntime, nant, 2]
        (East, North) on the screen plane, metres from the array centre; NaN where the
        source is at or below the horizon.
    elevation : numpy.ndarray of float64, shape [ntime]
        Radians.
    """
    if not (np.isfinite(height) and height > 0):
        raise SimulationError(f"screen height must be finite and > 0 metres, got {height}")
    enu = config.enu()  # [nant, 3]
    s = direction_enu(time_mjd_seconds, config.location, direction)  # [ntime, 3]
    up = s[:, 2]
    above = up > 0
    slope = np.where(above[:, None], s[:, :2] / np.where(above, up, 1.0)[:, None], np.nan)
    lever = height - enu[:, 2]  # [nant]
    points = enu[None, :, :2] + lever[None, :, None] * slope[:, None, :]
    return points, np.arcsin(np.clip(up, -1.0, 1.0))


def pierce_point_extent(vis: Visibility, directions, height: float):
    """The box holding the pierce points of ``vis``'s unflagged times towards ``directions``.

    Parameters
    ----------
    vis : Visibility
        With a configuration; times with every sample flagged are left out.
    directions : SkyCoord (array), SkyComponent, or list of SkyCoord or SkyComponent
    height : float
        Metres.

    Returns
    -------
    dict or None
        ``{'extent': (east_min, east_max, north_min, north_max), 'separation': float,
        'frequency': (f_min, f_max)}``: metres, the smallest non-zero horizontal distance
        between two antennas (0 if none), Hz; None when no unflagged time has the
        sources above the horizon.
    """
    if vis.configuration is None:
        raise SimulationError("pierce points need vis.configuration (the antenna positions)")
    keep = ~np.all(vis.flags.reshape(vis.ntime, -1), axis=1)
    pts = [pierce_points(vis.configuration, vis.time[keep], d, height)[0]
           for d in as_direction_list(directions)] if keep.any() else []  # fmt: skip
    pts = np.concatenate([p.reshape(-1, 2) for p in pts]) if pts else np.zeros((0, 2))
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if pts.shape[0] == 0:
        return None
    enu = vis.configuration.enu()[:, :2]
    dist = np.hypot(*(enu[:, None, :] - enu[None, :, :]).transpose(2, 0, 1))
    positive = dist[dist > 0]
    return {
        "extent": (float(pts[:, 0].min()), float(pts[:, 0].max()),
                   float(pts[:, 1].min()), float(pts[:, 1].max())),
        "separation": float(positive.min()) if positive.size else 0.0,
        "frequency": (float(np.min(vis.frequency)), float(np.max(vis.frequency))),
    }  # fmt: skip
