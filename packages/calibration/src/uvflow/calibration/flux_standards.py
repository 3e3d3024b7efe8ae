"""Flux-density standards: the spectra of the calibrators that set an observation's scale.

Perley & Butler 2017 (ApJS 230, 7; "PB2017", the scale CASA's ``setjy`` and the VLA use):
``log10 S[Jy] = Σ_k a_k (log10 ν[GHz])^k``, from their Table 6, for the sources below, each
within the frequency range the paper gives for it (outside it the polynomial is an
extrapolation and is refused). Sources are found by name (``'3C286'``, ``'3C 286'``,
``'J1331+3030'``, ``'1331+305'``, common names such as ``'Cyg A'``) or by position (within
:data:`MATCH_RADIUS` of the J2000 position).

3C286, 3C295 and 3C196 vary by under 5 % per century; 3C48, 3C138 and 3C147 vary by a
few per cent over years, and their spectra hold for the paper's epoch (2016). Perley &
Butler 2013 is not included: PB2017 supersedes it over the same sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .errors import CalibrationError

__all__ = [
    "FLUX_STANDARDS",
    "MATCH_RADIUS",
    "FluxStandard",
    "find_flux_standard",
    "flux_density",
]

#: How close (radians) a field must be to a standard's position to be taken for it (1′)
MATCH_RADIUS = np.deg2rad(1.0 / 60.0)


@dataclass(frozen=True)
class FluxStandard:
    """One source of a flux-density standard.

    Parameters
    ----------
    name : str
        The 3C (or common) name.
    aliases : tuple of str
        Other names (J2000 and B1950 designations, common names).
    ra_deg, dec_deg : float
        J2000 position, degrees.
    coefficients : tuple of float
        ``a_0 … a_n`` of ``log10 S = Σ a_k (log10 ν_GHz)^k``.
    fmin_hz, fmax_hz : float
        Where the spectrum is valid.
    """

    name: str
    aliases: tuple
    ra_deg: float
    dec_deg: float
    coefficients: tuple
    fmin_hz: float
    fmax_hz: float

    def flux_density(self, frequency) -> np.ndarray:
        """Stokes I flux density (Jy) at ``frequency`` (Hz; scalar or array), float64.

        Raises
        ------
        CalibrationError
            A frequency outside the standard's range for this source.
        """
        f = np.asarray(frequency, dtype=np.float64)
        if np.any(~np.isfinite(f)) or np.any(f < self.fmin_hz) or np.any(f > self.fmax_hz):
            raise CalibrationError(
                f"{self.name}: the Perley-Butler 2017 spectrum is valid from "
                f"{self.fmin_hz / 1e9:g} to {self.fmax_hz / 1e9:g} GHz; got "
                f"{np.min(f) / 1e9:g}-{np.max(f) / 1e9:g} GHz"
            )
        x = np.log10(f / 1e9)
        return 10.0 ** np.polynomial.polynomial.polyval(x, self.coefficients)


def _hms(h, m, s) -> float:
    return 15.0 * (h + m / 60.0 + s / 3600.0)


def _dms(d, m, s) -> float:
    return np.sign(d) * (abs(d) + m / 60.0 + s / 3600.0)


# Perley & Butler 2017: the coefficients of their Table 6 and each source's frequency range.
FLUX_STANDARDS = {
    s.name: s
    for s in (
        FluxStandard("3C48", ("J0137+3309", "0134+329"), _hms(1, 37, 41.2994),
                     _dms(33, 9, 35.133), (1.3253, -0.7553, -0.1914, 0.0498), 50e6, 50e9),
        FluxStandard("3C123", ("J0437+2940", "0433+295"), _hms(4, 37, 4.3753),
                     _dms(29, 40, 13.819), (1.8017, -0.7884, -0.1035, -0.0248, 0.0090),
                     50e6, 50e9),
        FluxStandard("3C138", ("J0521+1638", "0518+165"), _hms(5, 21, 9.8860),
                     _dms(16, 38, 22.052), (1.0088, -0.4981, -0.155, -0.010, 0.022),
                     200e6, 50e9),
        FluxStandard("3C147", ("J0542+4951", "0538+498"), _hms(5, 42, 36.1379),
                     _dms(49, 51, 7.234), (1.4516, -0.6961, -0.201, 0.064, -0.046, 0.029),
                     50e6, 50e9),
        FluxStandard("3C196", ("J0813+4813", "0809+483"), _hms(8, 13, 36.0561),
                     _dms(48, 13, 2.636), (1.2872, -0.8530, -0.153, -0.0200, 0.0201),
                     50e6, 50e9),
        FluxStandard("3C286", ("J1331+3030", "1328+307", "1331+305"), _hms(13, 31, 8.2881),
                     _dms(30, 30, 32.959), (1.2481, -0.4507, -0.1798, 0.0357), 50e6, 50e9),
        FluxStandard("3C295", ("J1411+5212", "1409+524"), _hms(14, 11, 20.519),
                     _dms(52, 12, 9.97), (1.4701, -0.7658, -0.2780, -0.0347, 0.0399),
                     50e6, 50e9),
    )
}  # fmt: skip


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).upper()


_BY_NAME = {_key(n): s for s in FLUX_STANDARDS.values() for n in (s.name, *s.aliases)} | {
    _key(a.replace("+", "")): s for s in FLUX_STANDARDS.values() for a in s.aliases
}


def find_flux_standard(name: str | None = None, direction=None) -> FluxStandard:
    """The standard source called ``name`` (any of its names; case, spaces and dashes
    ignored) or at ``direction`` (an astropy SkyCoord within :data:`MATCH_RADIUS`).

    Raises
    ------
    CalibrationError
        Neither matches; the message lists the sources of the standard.
    """
    if name is not None and _key(name) in _BY_NAME:
        return _BY_NAME[_key(name)]
    if direction is not None:
        d = direction.icrs
        ra, dec = d.ra.rad, d.dec.rad
        for s in FLUX_STANDARDS.values():
            r0, d0 = np.deg2rad(s.ra_deg), np.deg2rad(s.dec_deg)
            cos = np.sin(dec) * np.sin(d0) + np.cos(dec) * np.cos(d0) * np.cos(ra - r0)
            if np.arccos(np.clip(cos, -1.0, 1.0)) <= MATCH_RADIUS:
                return s
    where = f"named {name!r}" if name is not None else "at that position"
    raise CalibrationError(
        f"no Perley-Butler 2017 flux standard {where}; the standard's sources: "
        + ", ".join(f"{s.name} ({s.aliases[0]})" for s in FLUX_STANDARDS.values())
    )


def flux_density(source, frequency, direction=None) -> np.ndarray:
    """Stokes I flux density (Jy, float64) of a standard source at ``frequency`` (Hz).

    Parameters
    ----------
    source : str or FluxStandard or None
        A name :func:`find_flux_standard` knows (None: find it by ``direction``).
    frequency : float or array of float
        Hz, within the source's range.
    direction : astropy.coordinates.SkyCoord, optional
        The field's direction, when ``source`` is None or not a known name.
    """
    if not isinstance(source, FluxStandard):
        source = find_flux_standard(source, direction)
    return source.flux_density(frequency)
