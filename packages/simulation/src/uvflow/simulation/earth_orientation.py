"""Earth orientation for uvw, hour angle and elevation: ITRS → GCRS with ERFA, offline.

How the rotation is built for each time (IAU 2006/2000A, IERS Conventions 2010):

1. UT1 − UTC and polar motion (x_p, y_p) are interpolated from astropy's Earth-orientation
   table (``astropy.utils.iers.earth_orientation_table``: the bundled IERS-A/IERS-B data of
   ``astropy-iers-data``, or whatever table the user installed). Downloads are switched off
   for the look-up (``iers.conf.auto_download = False`` temporarily, under a lock): the
   computation never touches the network. Times outside the table get the table's end
   values and a logged warning; |UT1 − UTC| < 0.9 s, so the error is below
   0.9 s × 7.29e-5 rad/s = 6.6e-5 rad of Earth rotation (0.66 m on a 10 km baseline).
2. ``erfa.c2t06a`` gives the GCRS → ITRS matrix (precession, nutation, Earth rotation
   angle, polar motion, TIO locator).
3. Aberration: a baseline measures the delay towards the *apparent* direction of the phase
   centre, displaced from its ICRS direction by the observer's velocity (annual, from
   ``erfa.epv00``, plus diurnal, from the Earth's rotation at the array centre), up to
   ~20.5 arcsec. As casacore does (MBaseline ITRF → J2000 through APP), the baselines are
   turned rigidly by the rotation that carries the apparent phase centre back to its
   J2000 direction. Without it the uvw differ from casacore's by ~1e-4 of the baseline
   length (1 m on 10 km); with it by ~2e-6 (casacore also applies its own approximations:
   a diurnal term along the zenith and interpolated nutation).
4. u, v, w: w towards the phase centre (ICRS), v towards the north celestial pole projected
   on the sky plane, u east.
"""

from __future__ import annotations

import logging
import threading

import erfa
import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time
from astropy.utils import iers

from .errors import SimulationError

__all__ = [
    "EARTH_ROTATION_RATE",
    "SIDEREAL_RATE",
    "earth_orientation",
    "uvw_rotation",
    "elevation_hour_angle",
    "itrs_elevation_hour_angle",
    "transit_time",
]

log = logging.getLogger(__name__)

EARTH_ROTATION_RATE = 7.292115146706979e-5  # rad/s, d(ERA)/dt (IERS Conventions)
SIDEREAL_RATE = EARTH_ROTATION_RATE  # hour angle advances at this rate (rad per UTC second)
_ARCSEC = np.pi / (180.0 * 3600.0)
_AU = 1.495978707e11  # m
_DAY = 86400.0
_C = 299792458.0
_IERS_LOCK = threading.Lock()


def _as_time(mjd_seconds: np.ndarray) -> Time:
    return Time(np.asarray(mjd_seconds, float) / _DAY, format="mjd", scale="utc")


def earth_orientation(time: Time) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """UT1 − UTC (s), polar motion x_p, y_p (rad) and whether the table covered each time.

    Parameters
    ----------
    time : astropy.time.Time, shape [ntime]
        UTC.

    Returns
    -------
    dut1, xp, yp : numpy.ndarray of float64, shape [ntime]
    covered : numpy.ndarray of bool, shape [ntime]
    """
    utc = time.utc
    with _IERS_LOCK, iers.conf.set_temp("auto_download", False):
        table = iers.earth_orientation_table.get()
        dut1, st1 = table.ut1_utc(utc.jd1, utc.jd2, return_status=True)
        xp, yp, st2 = table.pm_xy(utc.jd1, utc.jd2, return_status=True)
    dut1 = np.atleast_1d(np.asarray(getattr(dut1, "value", dut1), float))
    xp = np.atleast_1d(np.asarray(getattr(xp, "value", xp), float)) * _ARCSEC
    yp = np.atleast_1d(np.asarray(getattr(yp, "value", yp), float)) * _ARCSEC
    covered = (np.atleast_1d(st1) >= 0) & (np.atleast_1d(st2) >= 0)
    if not np.all(covered):
        mjd = utc.mjd[~covered] if utc.ndim else np.atleast_1d(utc.mjd)
        log.warning(
            "%d of %d times (MJD %.1f..%.1f) lie outside the IERS Earth-orientation table; "
            "using its end values for UT1-UTC and polar motion (uvw rotated by up to 6.6e-5 rad)",
            int((~covered).sum()), covered.size, float(np.min(mjd)), float(np.max(mjd)),
        )  # fmt: skip
    return dut1, xp, yp, covered


def _terrestrial_to_celestial(time: Time) -> tuple[np.ndarray, Time]:
    """ITRS → GCRS rotation matrices [ntime, 3, 3] (transpose of ERFA's c2t06a), and TT."""
    dut1, xp, yp, _ = earth_orientation(time)
    utc = time.utc
    with _IERS_LOCK, iers.conf.set_temp("auto_download", False):
        tt = utc.tt
    ut1a, ut1b = erfa.utcut1(utc.jd1, utc.jd2, dut1)
    rc2t = erfa.c2t06a(tt.jd1, tt.jd2, ut1a, ut1b, xp, yp)
    return np.swapaxes(np.atleast_3d(rc2t).reshape(-1, 3, 3), 1, 2), tt


def _unit(ra: float, dec: float) -> np.ndarray:
    return np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotations [n, 3, 3] taking unit vectors a [3] to b [n, 3] about a × b (Rodrigues)."""
    v = np.cross(a[None, :], b)
    s2 = np.sum(v * v, axis=-1)
    c = np.einsum("ti,i->t", b, a)
    k = np.zeros(b.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2] = -v[..., 2], v[..., 1]
    k[..., 1, 0], k[..., 1, 2] = v[..., 2], -v[..., 0]
    k[..., 2, 0], k[..., 2, 1] = -v[..., 1], v[..., 0]
    factor = np.where(s2 > 0, (1.0 - c) / np.where(s2 > 0, s2, 1.0), 0.5)
    return np.eye(3) + k + np.einsum("tij,tjk->tik", k, k) * factor[..., None, None]


def _apparent_direction(s0: np.ndarray, t2c: np.ndarray, tt: Time, location) -> np.ndarray:
    """Aberrated (apparent, GCRS axes) unit vectors [ntime, 3] of the ICRS direction s0."""
    pvh, pvb = erfa.epv00(tt.jd1, tt.jd2)  # TDB ~ TT to 2 ms: irrelevant here
    pvh, pvb = np.atleast_1d(pvh), np.atleast_1d(pvb)
    v_earth = pvb["v"] * (_AU / _DAY)  # m/s, BCRS
    site = np.array([v.to_value("m") for v in location.to_geocentric()])
    site_gcrs = np.einsum("tij,j->ti", t2c, site)
    pole = t2c[:, :, 2]
    v_site = EARTH_ROTATION_RATE * np.cross(pole, site_gcrs)
    beta = (v_earth + v_site) / _C
    sun_dist = np.linalg.norm(pvh["p"], axis=-1)
    bm1 = np.sqrt(1.0 - np.sum(beta * beta, axis=-1))
    return erfa.ab(np.broadcast_to(s0, beta.shape), beta, sun_dist, bm1)


def uvw_rotation(
    time_mjd_seconds, location: EarthLocation, phasecentre: SkyCoord
) -> tuple[np.ndarray, np.ndarray]:
    """Matrices turning ITRF baseline vectors into (u, v, w) of the phase centre.

    Parameters
    ----------
    time_mjd_seconds : numpy.ndarray of float64, shape [ntime]
        UTC, MJD seconds.
    location : EarthLocation
        The array centre (for the diurnal aberration and the site's apparent direction).
    phasecentre : SkyCoord
        Any frame; its ICRS direction defines the u, v, w axes.

    Returns
    -------
    rot : numpy.ndarray of float64, shape [ntime, 3, 3]
        ``uvw = rot[t] @ (xyz2 - xyz1)`` in metres.
    s_itrs : numpy.ndarray of float64, shape [ntime, 3]
        The apparent phase-centre direction in the ITRS (for elevation and hour angle).
    """
    time = _as_time(np.atleast_1d(time_mjd_seconds))
    t2c, tt = _terrestrial_to_celestial(time)
    icrs = phasecentre.icrs
    ra, dec = float(icrs.ra.rad), float(icrs.dec.rad)
    s0 = _unit(ra, dec)
    s_app = _apparent_direction(s0, t2c, tt, location)
    r_ab = _rotation_between(s0, s_app)  # J2000 -> apparent
    basis = np.array(
        [
            [-np.sin(ra), np.cos(ra), 0.0],
            [-np.sin(dec) * np.cos(ra), -np.sin(dec) * np.sin(ra), np.cos(dec)],
            s0,
        ]
    )
    rot = np.einsum("ij,tkj,tkl->til", basis, r_ab, t2c)
    s_itrs = np.einsum("tji,tj->ti", t2c, s_app)
    return rot, s_itrs


def itrs_elevation_hour_angle(s_itrs: np.ndarray, location: EarthLocation):
    """Elevation and hour angle of ITRS directions at ``location``.

    Parameters
    ----------
    s_itrs : numpy.ndarray of float64, shape [ntime, 3]
        Unit vectors in the ITRS (e.g. the second result of :func:`uvw_rotation`).
    location : EarthLocation
        Where they are seen from (geodetic vertical).

    Returns
    -------
    elevation, hour_angle : numpy.ndarray of float64, shape [ntime] each
        Radians; hour angle in [−π, π), positive west of the meridian.
    """
    lon, lat = float(location.lon.rad), float(location.lat.rad)
    up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    alt = np.arcsin(np.clip(np.einsum("ti,i->t", s_itrs, up), -1.0, 1.0))
    ha = lon - np.arctan2(s_itrs[:, 1], s_itrs[:, 0])
    ha = (ha + np.pi) % (2 * np.pi) - np.pi
    return alt, ha


def elevation_hour_angle(
    time_mjd_seconds, location: EarthLocation, phasecentre: SkyCoord
) -> tuple[np.ndarray, np.ndarray]:
    """Geometric elevation and local hour angle of the apparent phase centre at ``location``
    (geodetic vertical, no refraction).

    Parameters
    ----------
    time_mjd_seconds : float or array of float64, shape [ntime]
        UTC, MJD seconds.
    location : EarthLocation
        The array centre.
    phasecentre : SkyCoord
        Scalar, any frame.

    Returns
    -------
    elevation, hour_angle : numpy.ndarray of float64, shape [ntime] each
        Radians; hour angle in [−π, π), positive west of the meridian.
    """
    _, s_itrs = uvw_rotation(time_mjd_seconds, location, phasecentre)
    return itrs_elevation_hour_angle(s_itrs, location)


def transit_time(utc_time: Time, location: EarthLocation, phasecentre: SkyCoord) -> float:
    """The first transit of the phase centre at or after ``utc_time``, MJD seconds (UTC).

    Newton iterations on the local hour angle; converges to < 1 ms.

    Parameters
    ----------
    utc_time : astropy.time.Time
        Scalar; the search starts here.
    location : EarthLocation
        The array centre (its meridian).
    phasecentre : SkyCoord
        Scalar, any frame.

    Returns
    -------
    float
        The transit time, UTC MJD seconds (float64).

    Raises
    ------
    SimulationError
        ``utc_time`` is not a scalar astropy Time.
    """
    if not isinstance(utc_time, Time) or not utc_time.isscalar:
        raise SimulationError(f"utc_time must be a scalar astropy Time, got {utc_time!r}")
    t0 = float(utc_time.utc.mjd) * _DAY
    _, ha0 = elevation_hour_angle([t0], location, phasecentre)
    t = t0 + ((-ha0[0]) % (2 * np.pi)) / SIDEREAL_RATE
    for _ in range(4):
        _, ha = elevation_hour_angle([t], location, phasecentre)
        step = -ha[0] / SIDEREAL_RATE
        t += step
        if abs(step) < 1e-4:
            break
    return t
