"""Direction cosines (l, m) on the SIN projection about a phase centre, and back."""

from __future__ import annotations

import numpy as np
from astropy.coordinates import SkyCoord

from uvflow.datamodels import SkyComponent

from .errors import SimulationError

__all__ = ["as_direction_list", "lm_to_skycoord", "skycoord_to_lmn", "unit_vectors"]


def lm_to_skycoord(ell, m, phasecentre: SkyCoord) -> SkyCoord:
    """ICRS directions of direction cosines about ``phasecentre`` (SIN projection).

    Parameters
    ----------
    ell : float or array of float64, any shape
        Direction cosine l (towards the east).
    m : float or array of float64, the shape of ``ell`` (or broadcastable)
        Direction cosine m (towards the north).
    phasecentre : SkyCoord
        Scalar, any frame (its ICRS direction is used).

    Returns
    -------
    SkyCoord
        ICRS, of the broadcast shape of ``ell`` and ``m`` (scalar for scalars).

    Raises
    ------
    ValueError
        Where l² + m² > 1 (no direction there).
    """
    ell, m = np.asarray(ell, float), np.asarray(m, float)
    r2 = ell * ell + m * m
    if np.any(r2 > 1.0):
        raise ValueError("direction cosines with l² + m² > 1 have no direction")
    n = np.sqrt(1.0 - r2)
    pc = phasecentre.icrs
    ra0, dec0 = pc.ra.rad, pc.dec.rad
    dec = np.arcsin(np.clip(m * np.cos(dec0) + n * np.sin(dec0), -1.0, 1.0))
    ra = ra0 + np.arctan2(ell, n * np.cos(dec0) - m * np.sin(dec0))
    return SkyCoord(ra=np.mod(ra, 2 * np.pi), dec=dec, unit="rad", frame="icrs")


def skycoord_to_lmn(direction: SkyCoord, phasecentre: SkyCoord) -> np.ndarray:
    """Direction cosines (l, m, n) of ``direction`` about ``phasecentre`` (SIN projection).

    Parameters
    ----------
    direction : SkyCoord
        Scalar or array of shape [...], any frame.
    phasecentre : SkyCoord
        Scalar, any frame.

    Returns
    -------
    numpy.ndarray of float64, shape [..., 3]
        l towards the east, m towards the north, n = sqrt(1 − l² − m²) (negative beyond
        90° from the phase centre); (0, 0, 1) at the phase centre.
    """
    d = direction.icrs
    pc = phasecentre.icrs
    ra, dec = d.ra.rad, d.dec.rad
    ra0, dec0 = pc.ra.rad, pc.dec.rad
    dra = ra - ra0
    ell = np.cos(dec) * np.sin(dra)
    m = np.sin(dec) * np.cos(dec0) - np.cos(dec) * np.sin(dec0) * np.cos(dra)
    n = np.sin(dec) * np.sin(dec0) + np.cos(dec) * np.cos(dec0) * np.cos(dra)
    return np.stack([ell, m, n], axis=-1)


def unit_vectors(direction: SkyCoord) -> np.ndarray:
    """ICRS Cartesian unit vectors of ``direction``.

    Parameters
    ----------
    direction : SkyCoord
        Scalar or array of shape [...], any frame.

    Returns
    -------
    numpy.ndarray of float64, shape [..., 3]
    """
    d = direction.icrs
    ra, dec = d.ra.rad, d.dec.rad
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def as_direction_list(directions) -> list[SkyCoord]:
    """Scalar SkyCoords from a SkyCoord (scalar or array), or a list of SkyCoords/SkyComponents.

    Parameters
    ----------
    directions : SkyCoord, SkyComponent, or sequence of SkyCoord or SkyComponent

    Returns
    -------
    list of SkyCoord
        Scalars, in the given order (a component gives its direction).

    Raises
    ------
    SimulationError
        Empty input, or items that are neither.
    """
    if isinstance(directions, SkyCoord):
        dirs = [directions] if directions.isscalar else list(directions)
    elif isinstance(directions, SkyComponent):
        dirs = [directions.direction]
    else:
        dirs = [d.direction if isinstance(d, SkyComponent) else d for d in directions]
    if not dirs:
        raise SimulationError("no directions given: need at least one SkyCoord or SkyComponent")
    for d in dirs:
        if not isinstance(d, SkyCoord) or not d.isscalar:
            raise SimulationError(
                f"directions must be SkyCoords or SkyComponents, got {type(d).__name__}"
            )
    return dirs
