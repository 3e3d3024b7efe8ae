"""The tables of a UVFITS file: antennas (AN), sources (SU), frequencies (FQ), and their frames.

What :func:`~uvflow.datamodels.io.uvfits_read.read_uvfits` takes from the tables around
the random groups, converted to uvflow's conventions (the MS's, DESIGN §3; the reasons and
the checks on a real file are in :mod:`uvflow.datamodels.io.uvfits_read`):

*Antennas.* AN table STABXYZ relative to ARRAYX/Y/Z. With FRAME = 'ITRF' (or an array
centre of 0) they are ITRF offsets (absolute positions); old VLA files without FRAME use
the VLA on-line frame with X through the array's meridian, rotated here by the array
longitude about Z (as CASA's importuvfits does); XYZHAND = 'LEFT' flips y. The AN table's
TIMSYS gives the time scale of the DATE parameters (UTC if absent).

*Phase centre and uvw frame.* SU table RAEPO/DECEPO (multi-source files), else the RA/DEC
axes' CRVAL, at the SU EPOCH or the header's EQUINOX/EPOCH (1950 → FK4 B1950; 2000 → J2000,
taken as ICRS; other values → FK5 at that Julian equinox), converted to ICRS. AIPS gives
uvw in the mean frame of that epoch; uvflow's are J2000, so uvw are turned by
:func:`uvw_to_j2000`.

*Frequencies.* The FREQ axis, offset per IF by the FQ table's IF FREQ with its CH WIDTH.
"""

from __future__ import annotations

import logging

import numpy as np
from astropy.coordinates import FK4, FK5, EarthLocation, FK4NoETerms, SkyCoord
from astropy.time import Time

from ..configuration import Configuration

__all__ = [
    "UVFITSError",
    "antenna_configuration",
    "channel_frequencies",
    "source_directions",
    "uvw_to_j2000",
]

log = logging.getLogger(__name__)

_MOUNTS = {0: "altaz", 1: "equatorial", 2: "orbiting", 3: "xy", 4: "naismith-r", 5: "naismith-l"}
_DIAMETERS = {"VLA": 25.0, "EVLA": 25.0, "JVLA": 25.0, "VLBA": 25.0, "ATCA": 22.0, "GMRT": 45.0,
              "MEERKAT": 13.5, "ALMA": 12.0, "WSRT": 25.0, "SMA": 6.0, "ATA": 6.1}  # fmt: skip
_TIMESYS = {"IAT": "tai", "TAI": "tai", "UTC": "utc", "TT": "tt", "TDT": "tt", "GPS": "tai"}


class UVFITSError(ValueError):
    """A UVFITS file is malformed or does not hold what was asked for."""


def antenna_configuration(an, header, diameter) -> tuple[Configuration, dict[int, int], str]:
    """The array of the AN table, its antenna numbers, and the time scale of the file.

    Parameters
    ----------
    an : astropy.io.fits.BinTableHDU
        The ``AIPS AN`` table (STABXYZ, NOSTA, ANNAME, optional MNTSTA and DIAMETER).
    header : astropy.io.fits.Header
        The primary header (TELESCOP when the table has no ARRNAM).
    diameter : float or numpy.ndarray of float64 [nant], or None
        Dish diameters in metres; None: the table's DIAMETER, else the known array's
        (NaN with a warning when unknown).

    Returns
    -------
    (Configuration, dict of int to int, str)
        The array (ITRF xyz [nant, 3] metres, see the module notes), the AN row of each
        antenna number (NOSTA), and the astropy time scale of TIMSYS ('utc' if absent).

    Raises
    ------
    UVFITSError
        An unknown TIMSYS.
    """
    h = an.header
    centre = np.array(
        [float(h.get("ARRAYX", 0.0)), float(h.get("ARRAYY", 0.0)), float(h.get("ARRAYZ", 0.0))]
    )
    stab = np.array(an.data["STABXYZ"], dtype=float)
    if str(h.get("XYZHAND", "RIGHT")).strip().upper() == "LEFT":
        stab[:, 1] = -stab[:, 1]
    array_name = str(h.get("ARRNAM", header.get("TELESCOP", "unknown"))).strip() or "unknown"
    frame = str(h.get("FRAME", "")).strip().upper()
    if np.allclose(centre, 0):
        xyz = stab
    elif frame == "ITRF" or array_name.upper() not in ("VLA", "EVLA", "JVLA"):
        xyz = stab + centre
    else:
        lon = np.arctan2(centre[1], centre[0])
        rot = np.array(
            [[np.cos(lon), -np.sin(lon), 0.0], [np.sin(lon), np.cos(lon), 0.0], [0.0, 0.0, 1.0]]
        )
        xyz = stab @ rot.T + centre
        log.info(
            "AN table of %s without FRAME: VLA frame rotated by the array longitude", array_name
        )
    numbers = [int(n) for n in an.data["NOSTA"]]
    names = [str(n).strip() for n in an.data["ANNAME"]]
    if len(set(names)) != len(names):
        names = [f"{n}#{k}" for n, k in zip(names, numbers)]
    mounts = (
        [_MOUNTS.get(int(m), "altaz") for m in an.data["MNTSTA"]]
        if "MNTSTA" in an.columns.names
        else None
    )
    if diameter is None:
        if "DIAMETER" in an.columns.names and np.any(an.data["DIAMETER"] > 0):
            diameter = np.asarray(an.data["DIAMETER"], float)
        elif array_name.upper() in _DIAMETERS:
            diameter = _DIAMETERS[array_name.upper()]
        else:
            log.warning(
                "UVFITS array %s: dish diameter unknown (pass diameter=); using NaN", array_name
            )
            diameter = np.nan
    loc_xyz = centre if not np.allclose(centre, 0) else xyz.mean(axis=0)
    config = Configuration(
        name=array_name,
        location=EarthLocation.from_geocentric(*loc_xyz, unit="m"),
        names=np.array(names),
        xyz=xyz,
        diameter=diameter,
        mount=None if mounts is None else np.array(mounts),
    )
    timsys = str(h.get("TIMSYS", "")).strip().upper()
    if not timsys:
        log.warning("UVFITS AN table has no TIMSYS: times taken as UTC")
        timsys = "UTC"
    if timsys not in _TIMESYS:
        raise UVFITSError(f"UVFITS TIMSYS {timsys!r} unknown; known: {', '.join(_TIMESYS)}")
    return config, {n: i for i, n in enumerate(numbers)}, _TIMESYS[timsys]


def _equinox_frame(equinox: float, e_terms: bool):
    """The astropy frame of a file's EPOCH/EQUINOX: FK4 B1950, J2000 (= ICRS to 23 mas:
    None) or FK5 at another Julian equinox."""
    if abs(equinox - 1950.0) < 1.0:
        return FK4(equinox="B1950") if e_terms else FK4NoETerms(equinox="B1950")
    if abs(equinox - 2000.0) < 1.0:
        return None
    return FK5(equinox=Time(equinox, format="jyear"))


def _direction(ra_deg: float, dec_deg: float, equinox: float) -> SkyCoord:
    """The ICRS direction of coordinates given at the file's equinox."""
    frame = _equinox_frame(equinox, e_terms=True)
    if frame is None:
        return SkyCoord(ra=ra_deg, dec=dec_deg, unit="deg", frame="icrs")
    c = SkyCoord(ra=ra_deg, dec=dec_deg, unit="deg", frame=frame).icrs
    return SkyCoord(ra=c.ra, dec=c.dec, frame="icrs")


def _uvw_basis(s: np.ndarray) -> np.ndarray:
    """Rows u (east), v (north), w (towards ``s``) for the unit vector ``s`` [3]."""
    ra, dec = np.arctan2(s[1], s[0]), np.arcsin(np.clip(s[2], -1.0, 1.0))
    sa, ca, sd, cd = np.sin(ra), np.cos(ra), np.sin(dec), np.cos(dec)
    return np.array([[-sa, ca, 0.0], [-sd * ca, -sd * sa, cd], s])


def uvw_to_j2000(direction: SkyCoord, equinox: float) -> np.ndarray:
    """Rotation R [3, 3] float64 with ``uvw_J2000 = R @ uvw_file`` for uvw given in the
    mean equatorial frame of ``equinox`` (AIPS: the epoch of the source coordinates).

    The baseline vector is carried from the file's frame to J2000 (ICRS) by the frame
    rotation M (precession; FK4 → FK5 for B1950, without the E-terms, which are an
    aberration, not a rotation) and projected on the J2000 (u, v, w) axes of ``direction``:
    ``R = B(s) Mᵀ B(M s)ᵀ`` with B(s) the (u, v, w) basis of the unit vector s. w stays
    towards the source; u and v turn by the change of position angle between the frames
    (128 arcsec for 3C273 from B1950 to J2000). Identity for J2000 files.

    Parameters
    ----------
    direction : astropy.coordinates.SkyCoord
        The phase centre (scalar, any frame; its ICRS direction defines J2000 u, v, w).
    equinox : float
        Years: 1950 (FK4 B1950), 2000 (J2000/ICRS) or another Julian equinox (FK5).

    Returns
    -------
    numpy.ndarray of float64, shape [3, 3]
        Orthogonal; ``uvw_j2000 = uvw_file @ R.T`` for uvw arrays [..., 3].
    """
    frame = _equinox_frame(equinox, e_terms=False)
    if frame is None:
        return np.eye(3)
    axes = SkyCoord(x=np.eye(3)[0], y=np.eye(3)[1], z=np.eye(3)[2], frame="icrs",
                    representation_type="cartesian")  # fmt: skip
    moved = axes.transform_to(frame).cartesian.xyz.value  # column j: ICRS axis j in the frame
    u_, _, vt = np.linalg.svd(moved)  # the nearest rotation (astropy's is one to 1e-16)
    m = u_ @ vt  # x_frame = m @ x_icrs
    s = direction.icrs.cartesian.xyz.value
    return _uvw_basis(s) @ m.T @ _uvw_basis(m @ s).T


def source_directions(hdul, header, axes) -> dict[int, tuple[str, SkyCoord, float]]:
    """Source id → (name, ICRS direction, equinox of the file's coordinates and uvw).

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        The file (its ``AIPS SU`` table when there is one).
    header : astropy.io.fits.Header
        The primary header (OBJECT, EQUINOX/EPOCH, OBSRA/OBSDEC of a single-source file).
    axes : dict
        The data axes by CTYPE (their RA/DEC CRVAL for a single-source file).

    Returns
    -------
    dict of int to (str, SkyCoord, float)
        By SU ``ID. NO.`` (1 for a single-source file).

    Raises
    ------
    UVFITSError
        No SU table, RA/DEC axes or OBSRA/OBSDEC: no phase centre.
    """
    if "AIPS SU" in hdul:
        su = hdul["AIPS SU"].data
        cols = {c.upper(): c for c in su.columns.names}
        ids = su[cols.get("ID. NO.", cols.get("ID. NO", "ID. NO."))]
        eq = su[cols["EPOCH"]] if "EPOCH" in cols else np.full(len(su), 2000.0)
        return {
            int(i): (str(n).strip(), _direction(float(ra), float(dec), float(e)), float(e))
            for i, n, ra, dec, e in zip(
                ids, su[cols["SOURCE"]], su[cols["RAEPO"]], su[cols["DECEPO"]], eq
            )
        }
    equinox = float(header.get("EQUINOX", header.get("EPOCH", 2000.0)))
    if "RA" in axes and "DEC" in axes:
        ra, dec = axes["RA"]["crval"], axes["DEC"]["crval"]
    elif "OBSRA" in header:
        ra, dec = float(header["OBSRA"]), float(header["OBSDEC"])
    else:
        raise UVFITSError(
            "UVFITS file has no SU table, RA/DEC axes or OBSRA/OBSDEC: no phase centre"
        )
    name = str(header.get("OBJECT", "unknown")).strip() or "unknown"
    return {1: (name, _direction(ra, dec, equinox), equinox)}


def channel_frequencies(hdul, axes) -> tuple[np.ndarray, np.ndarray]:
    """Channel frequencies and widths from the FREQ axis and the FQ table.

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        The file (its ``AIPS FQ`` table when there is one: the first FRQSEL is used).
    axes : dict
        The data axes by CTYPE (FREQ, and IF when present).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray) of float64, shape [nif, nchan]
        Frequencies and channel widths (positive) in Hz.
    """
    f = axes["FREQ"]
    nif = axes["IF"]["n"] if "IF" in axes else 1
    chan = np.arange(f["n"]) + 1 - f["crpix"]
    offsets, widths = np.zeros(nif), np.full(nif, f["cdelt"])
    if "AIPS FQ" in hdul:
        fq = hdul["AIPS FQ"].data
        if len(fq) > 1:
            log.warning("UVFITS FQ table has %d rows; using FRQSEL of the first", len(fq))
        offsets = np.atleast_1d(np.asarray(fq["IF FREQ"][0], float)).reshape(-1)[:nif]
        widths = np.atleast_1d(np.asarray(fq["CH WIDTH"][0], float)).reshape(-1)[:nif]
    freq = f["crval"] + offsets[:, None] + chan[None, :] * widths[:, None]
    return freq, np.broadcast_to(np.abs(widths)[:, None], freq.shape).copy()
