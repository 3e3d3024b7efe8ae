"""The tables of a UVFITS file written by :func:`~uvflow.datamodels.io.uvfits_write.write_uvfits`.

``AIPS AN`` (antennas), ``AIPS FQ`` (the IF's frequency offset, channel width, total
bandwidth and sideband) and ``AIPS SU`` (the sources of a multi-source file), with the
columns, formats and keywords of AIPS Memo 117 as AIPS FITTP and CASA's exportuvfits write
them, so that AIPS FITLD, CASA's importuvfits and
:func:`~uvflow.datamodels.read_uvfits` read them.

*Antenna positions.* Written as CASA's exportuvfits and the EVLA write them: ARRAYX/Y/Z = 0
and STABXYZ the absolute ITRF positions (metres), FRAME = 'ITRF', XYZHAND = 'RIGHT'. A
non-zero array centre with offsets would be taken by CASA for the rotated frame of old VLA
archive files when ARRNAM is 'VLA'. Read back, the configuration's ``location`` is
therefore the antennas' mean position (the reader's rule for an array centre of 0), and the
positions are exact (STABXYZ is float64).

*Time keywords.* RDATE is the day (UTC) of the first integration, TIMSYS 'UTC'. GSTIA0
(Greenwich mean sidereal time at 0h on RDATE) and DEGPDY (its rate, degrees per day) are
astropy's IAU 2006 GMST with UT1 taken as UTC (UT1UTC = 0 is written): that neglects
|UT1 − UTC| < 0.9 s, ≤ 0.004° of sidereal time, and needs no IERS table. IATUTC is TAI −
UTC on RDATE (astropy's leap-second table).

*Apparent places.* SU RAAPP/DECAPP are the geocentric true-equator, true-equinox
coordinates of date (astropy's TETE frame: precession-nutation, annual aberration, light
deflection; no IERS table) at 0h UTC on RDATE. AIPS keeps them as information.
"""

from __future__ import annotations

import logging

import numpy as np
from astropy.coordinates import TETE, SkyCoord
from astropy.io import fits
from astropy.time import Time

from ..configuration import Configuration
from .uvfits_tables import UVFITSError

__all__ = [
    "antenna_table",
    "apparent_places",
    "frequency_table",
    "sidereal_keywords",
    "source_table",
]

log = logging.getLogger(__name__)

#: AIPS MNTSTA codes of uvflow's (and the MS's) mount names
MOUNT_CODES = {
    "altaz": 0, "alt-az": 0, "equatorial": 1, "orbiting": 2, "xy": 3, "x-y": 3,
    "naismith-r": 4, "nasmyth-r": 4, "alt-az+nasmyth-r": 4,
    "naismith-l": 5, "nasmyth-l": 5, "alt-az+nasmyth-l": 5,
}  # fmt: skip
#: AN POLTYA/POLTYB of a polarisation frame's receptors (blank for Stokes frames)
_RECEPTORS = {"linear": "XY", "linearnp": "XY", "circular": "RL", "circularnp": "RL"}
SOURCE_NAME_WIDTH = 20  # SU SOURCE is 20A, as CASA and pyuvdata write it


def sidereal_keywords(rdate_jd: float) -> dict[str, float]:
    """AN-table time keywords for the day that starts at ``rdate_jd`` (0h UTC).

    Parameters
    ----------
    rdate_jd : float
        Julian date (UTC) of 0h on the reference day (an integer + 0.5).

    Returns
    -------
    dict of str to float
        ``GSTIA0`` (degrees, GMST at 0h UTC, UT1 taken as UTC), ``DEGPDY`` (degrees of
        sidereal rotation per UTC day), ``IATUTC`` (TAI − UTC, seconds), ``UT1UTC`` (0).
    """
    t = Time([rdate_jd, rdate_jd + 1.0], format="jd", scale="utc")
    t.delta_ut1_utc = 0.0  # UT1 taken as UTC: no IERS table needed
    gmst = t.sidereal_time("mean", "greenwich", model="IAU2006").rad
    tai = t[0].tai
    return {
        "GSTIA0": float(np.degrees(gmst[0])),
        "DEGPDY": float(360.0 + np.degrees((gmst[1] - gmst[0]) % (2 * np.pi))),
        "IATUTC": float(round(((tai.jd1 - t[0].jd1) + (tai.jd2 - t[0].jd2)) * 86400.0, 6)),
        "UT1UTC": 0.0,
    }


def antenna_table(config: Configuration, frame_name: str, ref_freq: float,
                  rdate_jd: float) -> fits.BinTableHDU:  # fmt: skip
    """The ``AIPS AN`` table of ``config`` (antenna numbers NOSTA = index + 1).

    Parameters
    ----------
    config : Configuration
        Names, ITRF ``xyz`` float64 [nant, 3] metres, ``diameter`` [nant], ``mount`` [nant].
    frame_name : str
        The data's polarisation frame (POLTYA/POLTYB: X/Y, R/L; blank for Stokes frames).
    ref_freq : float
        Hz, the FREQ axis's reference value.
    rdate_jd : float
        Julian date (UTC) of 0h on the reference day.

    Returns
    -------
    astropy.io.fits.BinTableHDU
    """
    nant = config.nants
    names = [str(n) for n in config.names]
    width = max(8, max(len(n) for n in names))
    if width > 8:
        log.warning("UVFITS AN table: antenna names longer than 8 characters (%s); AIPS "
                    "keeps 8", max(names, key=len))  # fmt: skip
    mounts = []
    for m in config.mount:
        code = MOUNT_CODES.get(str(m).strip().lower())
        if code is None:
            log.warning("UVFITS AN table: mount %r has no AIPS code; written as alt-az (0)", m)
            code = 0
        mounts.append(code)
    pol = _RECEPTORS.get(frame_name, "  ")
    diameter = np.nan_to_num(np.asarray(config.diameter, float), nan=0.0)
    zeros, empty = np.zeros(nant), np.zeros((nant, 0))
    cols = [
        fits.Column("ANNAME", f"{width}A", array=np.array(names)),
        fits.Column("STABXYZ", "3D", unit="METERS", array=np.asarray(config.xyz, float)),
        fits.Column("ORBPARM", "0D", array=empty),
        fits.Column("NOSTA", "1J", array=np.arange(1, nant + 1)),
        fits.Column("MNTSTA", "1J", array=np.array(mounts)),
        fits.Column("STAXOF", "1E", unit="METERS", array=zeros),
        fits.Column("POLTYA", "1A", array=np.full(nant, pol[0])),
        fits.Column("POLAA", "1E", unit="DEGREES", array=zeros),
        fits.Column("POLCALA", "0E", array=empty),
        fits.Column("POLTYB", "1A", array=np.full(nant, pol[1])),
        fits.Column("POLAB", "1E", unit="DEGREES", array=zeros),
        fits.Column("POLCALB", "0E", array=empty),
        fits.Column("DIAMETER", "1E", unit="METERS", array=diameter),
    ]
    an = fits.BinTableHDU.from_columns(cols, name="AIPS AN")
    h = an.header
    h["EXTVER"] = 1
    for key in ("ARRAYX", "ARRAYY", "ARRAYZ"):
        h[key] = (0.0, "STABXYZ are ITRF positions")
    h.update(sidereal_keywords(rdate_jd))
    h["FREQ"] = (float(ref_freq), "reference frequency, Hz")
    h["RDATE"] = (Time(rdate_jd, format="jd", scale="utc").isot[:10], "reference date")
    h["POLARX"], h["POLARY"], h["DATUTC"] = 0.0, 0.0, 0.0
    h["TIMSYS"] = ("UTC", "time system of the DATE random parameters")
    h["ARRNAM"] = str(config.name)
    h["XYZHAND"] = "RIGHT"
    h["FRAME"] = "ITRF"
    h["NUMORB"], h["NOPCAL"], h["FREQID"] = 0, 0, 1
    h["POLTYPE"] = " "
    return an


def frequency_table(channel_width: float, nchan: int) -> fits.BinTableHDU:
    """The ``AIPS FQ`` table of one IF (FRQSEL 1) at the FREQ axis's reference value.

    Parameters
    ----------
    channel_width : float
        Hz, signed (negative when the frequency decreases along the axis); CH WIDTH is
        float32 ('1E', as AIPS defines it).
    nchan : int

    Returns
    -------
    astropy.io.fits.BinTableHDU
        IF FREQ 0, CH WIDTH, TOTAL BANDWIDTH ``nchan · |width|``, SIDEBAND ±1.
    """
    cols = [
        fits.Column("FRQSEL", "1J", array=[1]),
        fits.Column("IF FREQ", "1D", unit="HZ", array=[0.0]),
        fits.Column("CH WIDTH", "1E", unit="HZ", array=[channel_width]),
        fits.Column("TOTAL BANDWIDTH", "1E", unit="HZ", array=[nchan * abs(channel_width)]),
        fits.Column("SIDEBAND", "1J", array=[1 if channel_width > 0 else -1]),
    ]
    fq = fits.BinTableHDU.from_columns(cols, name="AIPS FQ")
    fq.header["EXTVER"] = 1
    fq.header["NO_IF"] = 1
    return fq


def apparent_places(ra_deg: np.ndarray, dec_deg: np.ndarray, jd_utc: float):
    """Geocentric true-equator, true-equinox RA/Dec of date of ICRS directions (degrees).

    Parameters
    ----------
    ra_deg, dec_deg : numpy.ndarray of float64, shape [nsource]
        ICRS, degrees.
    jd_utc : float
        Julian date (UTC) of the apparent places.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray) of float64, shape [nsource]
        RA in [0, 360) and Dec, degrees (astropy's TETE frame).
    """
    obstime = Time(jd_utc, format="jd", scale="utc")
    c = SkyCoord(ra=ra_deg, dec=dec_deg, unit="deg", frame="icrs").transform_to(
        TETE(obstime=obstime)
    )
    return np.asarray(c.ra.wrap_at("360d").deg, float), np.asarray(c.dec.deg, float)


def source_table(names: list[str], quals: list[int], ra_deg: np.ndarray, dec_deg: np.ndarray,
                 bandwidth: float, rdate_jd: float) -> fits.BinTableHDU:  # fmt: skip
    """The ``AIPS SU`` table: source ``k`` (0-based) has ``ID. NO.`` k + 1.

    Parameters
    ----------
    names : list of str
        Source names (at most 20 ASCII characters).
    quals : list of int
        AIPS qualifiers (QUAL): sources of the same name at different positions differ by it.
    ra_deg, dec_deg : numpy.ndarray of float64, shape [nsource]
        J2000 (ICRS) coordinates in degrees (RAEPO/DECEPO, EPOCH 2000).
    bandwidth : float
        Hz, the IF's total bandwidth.
    rdate_jd : float
        Julian date (UTC) of 0h on the reference day (the epoch of RAAPP/DECAPP).

    Returns
    -------
    astropy.io.fits.BinTableHDU
        Fluxes, velocities, rest frequencies and proper motions 0; CALCODE blank.

    Raises
    ------
    UVFITSError
        A name longer than 20 characters or not ASCII.
    """
    for name in names:
        if len(name) > SOURCE_NAME_WIDTH or not name.isascii():
            raise UVFITSError(
                f"source name {name!r}: the UVFITS SU table holds ASCII names of at most "
                f"{SOURCE_NAME_WIDTH} characters"
            )
    n = len(names)
    ra_app, dec_app = apparent_places(ra_deg, dec_deg, rdate_jd)
    zf, zd = np.zeros(n, np.float32), np.zeros(n)
    cols = [fits.Column("ID. NO.", "1J", array=np.arange(1, n + 1)),
            fits.Column("SOURCE", f"{SOURCE_NAME_WIDTH}A", array=np.array(names)),
            fits.Column("QUAL", "1J", array=np.asarray(quals)),
            fits.Column("CALCODE", "4A", array=np.full(n, "    "))]  # fmt: skip
    cols += [
        fits.Column(k, "1E", unit="JY", array=zf) for k in ("IFLUX", "QFLUX", "UFLUX", "VFLUX")
    ]
    for key, unit, values in (
        ("FREQOFF", "HZ", zd), ("BANDWIDTH", "HZ", np.full(n, float(bandwidth))),
        ("RAEPO", "DEGREES", ra_deg), ("DECEPO", "DEGREES", dec_deg),
        ("EPOCH", "YEARS", np.full(n, 2000.0)), ("RAAPP", "DEGREES", ra_app),
        ("DECAPP", "DEGREES", dec_app), ("LSRVEL", "M/SEC", zd), ("RESTFREQ", "HZ", zd),
        ("PMRA", "DEG/DAY", zd), ("PMDEC", "DEG/DAY", zd),
    ):  # fmt: skip
        cols.append(fits.Column(key, "1D", unit=unit, array=np.asarray(values, float)))
    su = fits.BinTableHDU.from_columns(cols, name="AIPS SU")
    su.header["EXTVER"] = 1
    su.header.update({"NO_IF": 1, "FREQID": 1, "VELDEF": "RADIO", "VELTYP": "TOPOCENT"})
    return su
