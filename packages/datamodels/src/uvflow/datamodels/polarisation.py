"""Polarisation frames, receptor frames and conversions between them.

Conventions (IAU/IEEE, as in CASA and RASCIL)::

    XX = I + Q      XY = U + iV      YX = U - iV      YY = I - Q
    RR = I + V      RL = Q + iU      LR = Q - iU      LL = I - V

and the inverses with a factor 1/2, e.g. ``I = (XX + YY) / 2``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PolarisationFrame",
    "ReceptorFrame",
    "PolarisationError",
    "convert_pol",
    "pol_conversion_matrix",
    "correlation_weights",
]


class PolarisationError(ValueError):
    """A polarisation product was asked for that the data cannot give."""


_FRAMES: dict[str, tuple[str, ...]] = {
    "stokesI": ("I",),
    "stokesIQUV": ("I", "Q", "U", "V"),
    "stokesIQ": ("I", "Q"),
    "stokesIV": ("I", "V"),
    "linear": ("XX", "XY", "YX", "YY"),
    "linearnp": ("XX", "YY"),
    "circular": ("RR", "RL", "LR", "LL"),
    "circularnp": ("RR", "LL"),
}

# Every product as a row vector over the Stokes parameters (I, Q, U, V).
_PRODUCT_IN_STOKES: dict[str, tuple[complex, complex, complex, complex]] = {
    "I": (1, 0, 0, 0),
    "Q": (0, 1, 0, 0),
    "U": (0, 0, 1, 0),
    "V": (0, 0, 0, 1),
    "XX": (1, 1, 0, 0),
    "XY": (0, 0, 1, 1j),
    "YX": (0, 0, 1, -1j),
    "YY": (1, -1, 0, 0),
    "RR": (1, 0, 0, 1),
    "RL": (0, 1, 1j, 0),
    "LR": (0, 1, -1j, 0),
    "LL": (1, 0, 0, -1),
}

# FITS STOKES axis codes (AIPS Memo 117 / FITS WCS paper II)
FITS_STOKES_CODES = {
    "I": 1, "Q": 2, "U": 3, "V": 4,
    "RR": -1, "LL": -2, "RL": -3, "LR": -4,
    "XX": -5, "YY": -6, "XY": -7, "YX": -8,
}  # fmt: skip
# MeasurementSet CORR_TYPE codes (casacore Stokes enum)
MS_CORR_CODES = {
    "I": 1, "Q": 2, "U": 3, "V": 4,
    "RR": 5, "RL": 6, "LR": 7, "LL": 8,
    "XX": 9, "XY": 10, "YX": 11, "YY": 12,
}  # fmt: skip


class _NamedFrame:
    """A frame known by its name alone: equal, hashed, shown and pickled by it."""

    __slots__ = ()
    name: str

    def __eq__(self, other) -> bool:
        return isinstance(other, type(self)) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def __reduce__(self):
        return (type(self), (self.name,))


class PolarisationFrame(_NamedFrame):
    """A named ordered set of polarisation products.

    Parameters
    ----------
    name : str
        One of ``stokesI``, ``stokesIQUV``, ``stokesIQ``, ``stokesIV``, ``linear``
        (XX XY YX YY), ``linearnp`` (XX YY), ``circular`` (RR RL LR LL), ``circularnp`` (RR LL).
    """

    __slots__ = ("name",)

    def __init__(self, name: str):
        if isinstance(name, PolarisationFrame):
            name = name.name
        if name not in _FRAMES:
            raise PolarisationError(
                f"polarisation frame {name!r} unknown; use one of {', '.join(_FRAMES)}"
            )
        self.name = name

    @property
    def names(self) -> tuple[str, ...]:
        """The products in order, e.g. ``('XX', 'XY', 'YX', 'YY')``."""
        return _FRAMES[self.name]

    @property
    def npol(self) -> int:
        return len(self.names)

    @property
    def translations(self) -> dict[str, int]:
        """Product name → index along the polarisation axis."""
        return {p: i for i, p in enumerate(self.names)}

    @property
    def is_stokes(self) -> bool:
        return self.name.startswith("stokes")

    @property
    def receptor_frame(self) -> ReceptorFrame:
        if self.name.startswith("linear"):
            return ReceptorFrame("linear")
        if self.name.startswith("circular"):
            return ReceptorFrame("circular")
        return ReceptorFrame("stokesI")

    @classmethod
    def from_names(cls, names) -> PolarisationFrame:
        """The frame whose products are exactly ``names`` (in that order)."""
        names = tuple(str(n).upper() for n in names)
        for frame, prods in _FRAMES.items():
            if prods == names:
                return cls(frame)
        raise PolarisationError(
            f"no polarisation frame has the products {names}; known frames: "
            + "; ".join(f"{k}={' '.join(v)}" for k, v in _FRAMES.items())
        )


class ReceptorFrame(_NamedFrame):
    """The receptors of a feed: ``linear`` (X, Y), ``circular`` (R, L) or ``stokesI`` (one).

    Parameters
    ----------
    name : str or ReceptorFrame
        ``'linear'``, ``'circular'`` or ``'stokesI'`` (a single scalar receptor).
    """

    __slots__ = ("name",)
    _RECEPTORS = {"linear": ("X", "Y"), "circular": ("R", "L"), "stokesI": ("I",)}

    def __init__(self, name: str):
        if isinstance(name, ReceptorFrame):
            name = name.name
        if name not in self._RECEPTORS:
            raise PolarisationError(
                f"receptor frame {name!r} unknown; use one of {', '.join(self._RECEPTORS)}"
            )
        self.name = name

    @property
    def names(self) -> tuple[str, ...]:
        return self._RECEPTORS[self.name]

    @property
    def nrec(self) -> int:
        return len(self.names)


def pol_conversion_matrix(
    from_frame: PolarisationFrame | str, to_frame: PolarisationFrame | str
) -> np.ndarray:
    """The complex matrix ``M[npol_to, npol_from]`` with ``to = M @ from``.

    Parameters
    ----------
    from_frame : PolarisationFrame or str
        The products the data hold (in this frame's order).
    to_frame : PolarisationFrame or str
        The products wanted.

    Returns
    -------
    numpy.ndarray of complex128, shape [npol(to_frame), npol(from_frame)]
        Entries below 1e-15 in magnitude are set to 0 (e.g. ``I = 0.5 XX + 0.5 YY``).

    Raises
    ------
    PolarisationError
        When a product of ``to_frame`` cannot be formed from the products of ``from_frame``
        (e.g. Stokes Q from XX only).
    """
    src = PolarisationFrame(from_frame)
    dst = PolarisationFrame(to_frame)
    a = np.array([_PRODUCT_IN_STOKES[p] for p in src.names], dtype=complex)  # from = a @ s
    b = np.array([_PRODUCT_IN_STOKES[p] for p in dst.names], dtype=complex)  # to = b @ s
    # Need M with M @ a == b; solvable iff each row of b lies in the row space of a.
    m, *_ = np.linalg.lstsq(a.T, b.T, rcond=None)
    m = m.T
    if not np.allclose(m @ a, b, atol=1e-12):
        missing = [
            p for p, row in zip(dst.names, b) if not np.allclose(row @ np.linalg.pinv(a) @ a, row)
        ]
        raise PolarisationError(
            f"cannot form {', '.join(missing)} ({dst.name}) from {' '.join(src.names)} ({src.name})"
        )
    m[np.abs(m) < 1e-15] = 0
    return m


def convert_pol(
    data: np.ndarray,
    from_frame: PolarisationFrame | str,
    to_frame: PolarisationFrame | str,
    axis: int = -1,
) -> np.ndarray:
    """Convert polarisation products along ``axis``.

    Parameters
    ----------
    data : numpy.ndarray
        Any shape with ``npol(from_frame)`` along ``axis``; complex or real.
    from_frame, to_frame : PolarisationFrame or str
    axis : int
        The polarisation axis of ``data``.

    Returns
    -------
    numpy.ndarray
        Same shape but ``npol(to_frame)`` along ``axis``. Real input stays real when the
        conversion matrix is real (e.g. linearnp → stokesI), otherwise complex.
    """
    src = PolarisationFrame(from_frame)
    dst = PolarisationFrame(to_frame)
    if data.shape[axis] != src.npol:
        raise PolarisationError(
            f"data have {data.shape[axis]} products along axis {axis}, {src.name} has {src.npol}"
        )
    if src == dst:
        return data
    m = pol_conversion_matrix(src, dst)
    moved = np.moveaxis(data, axis, -1)
    if not np.iscomplexobj(data) and np.all(m.imag == 0):
        out = moved @ m.real.T.astype(moved.dtype)
    else:
        out = moved @ m.T
    return np.moveaxis(out, -1, axis)


def correlation_weights(
    weight: np.ndarray, flags: np.ndarray, from_frame, to_frame, axis: int = -1
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and flags of converted products.

    A product formed from several correlations is flagged when any of them is flagged, and
    its weight is that of the combination: for ``P = Σ_k m_k C_k`` with independent noise,
    ``1/w_P = Σ_k |m_k|² / w_k`` (so Stokes I from XX, YY with equal weights w gets 2w).

    Parameters
    ----------
    weight : numpy.ndarray of float
        Any shape with ``npol(from_frame)`` along ``axis``; ≤ 0 means no data.
    flags : numpy.ndarray of bool
        The same shape as ``weight``.
    from_frame, to_frame : PolarisationFrame or str
    axis : int
        The polarisation axis.

    Returns
    -------
    (weight, flags) : numpy.ndarray of float64, numpy.ndarray of bool
        ``npol(to_frame)`` along ``axis``; the inputs themselves when the frames agree.
    """
    src = PolarisationFrame(from_frame)
    dst = PolarisationFrame(to_frame)
    if src == dst:
        return weight, flags
    m = np.abs(pol_conversion_matrix(src, dst)) ** 2  # [npol_to, npol_from]
    w = np.moveaxis(np.asarray(weight, dtype=float), axis, -1)
    f = np.moveaxis(np.asarray(flags, dtype=bool), axis, -1)
    used = m > 0
    unusable = (w <= 0) | f
    inv = np.where(unusable, 0.0, 1.0 / np.where(unusable, 1.0, w))
    # only the correlations a product is made of count (0 * inf would poison the others)
    var = inv @ m.T
    missing = (unusable.astype(np.int8) @ used.T.astype(np.int8)) > 0
    out_f = (f.astype(np.int8) @ used.T.astype(np.int8)) > 0
    out_w = np.where(~missing & (var > 0), 1.0 / np.where(var > 0, var, 1.0), 0.0)
    return np.moveaxis(out_w, -1, axis), np.moveaxis(out_f, -1, axis)
