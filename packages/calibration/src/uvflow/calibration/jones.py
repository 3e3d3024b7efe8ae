"""How visibility correlations map onto the 2×2 (or 1×1) Jones-matrix picture.

A visibility frame's correlations are the entries of a coherency matrix, ordered as the
frame orders them: linear ``XX XY YX YY`` ↔ ``[[XX, XY], [YX, YY]]`` (and circular alike),
``linearnp``/``circularnp`` (``XX YY``) are its diagonal, ``stokesI`` is a 1×1 matrix.
Gains act as ``V_ij = G_i V_model_ij G_j^H`` on that matrix.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import PolarisationFrame, ReceptorFrame

from .errors import CalibrationError

__all__ = [
    "SOLVE_MODES",
    "correlation_receptors",
    "jones_diagonal",
    "receptor_frame_of",
    "solve_mode",
    "unit_model",
]

#: The three solver shapes: one scalar per antenna, one per receptor, a full 2×2 Jones.
SOLVE_MODES = ("scalar", "diagonal", "full")

_CALIBRATABLE = ("stokesI", "linear", "linearnp", "circular", "circularnp")


def _frame(frame) -> PolarisationFrame:
    frame = PolarisationFrame(frame)
    if frame.name not in _CALIBRATABLE:
        raise CalibrationError(
            f"cannot calibrate visibilities in polarisation frame {frame.name!r}: gains act on "
            f"correlations; use one of {', '.join(_CALIBRATABLE)}"
        )
    return frame


def receptor_frame_of(frame) -> ReceptorFrame:
    """The receptors behind a visibility frame (stokesI → one scalar receptor).

    Parameters
    ----------
    frame : PolarisationFrame or str
        stokesI, linear, linearnp, circular or circularnp.

    Returns
    -------
    ReceptorFrame

    Raises
    ------
    CalibrationError
        A frame gains cannot act on (e.g. stokesIQUV).
    """
    return _frame(frame).receptor_frame


def correlation_receptors(frame) -> tuple[np.ndarray, np.ndarray]:
    """Receptor indices ``(p, q)`` of every correlation: correlation k is ``<p_k q_k*>``.

    Parameters
    ----------
    frame : PolarisationFrame or str
        A calibratable visibility frame (see :func:`receptor_frame_of`).

    Returns
    -------
    p, q : numpy.ndarray of int, shape [npol]
    """
    frame = _frame(frame)
    if frame.npol == 1:
        return np.zeros(1, int), np.zeros(1, int)
    if frame.npol == 2:
        return np.array([0, 1]), np.array([0, 1])
    return np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])


def unit_model(frame) -> np.ndarray:
    """A 1 Jy unpolarised point source at the phase centre, per correlation.

    Parameters
    ----------
    frame : PolarisationFrame or str
        A calibratable visibility frame.

    Returns
    -------
    numpy.ndarray of complex128, shape [npol]
        ``I = 1`` for stokesI; ``XX = YY = 1, XY = YX = 0`` (or RR, LL) for feeds.
    """
    p, q = correlation_receptors(frame)
    return (p == q).astype(complex)


def solve_mode(jones_type: str, frame, crosspol: bool) -> str:
    """Which solver shape a term needs on data in ``frame``.

    ``'scalar'`` for T and for any term on stokesI data; ``'full'`` (2×2) for G/B with
    ``crosspol=True`` on four-correlation data; ``'diagonal'`` otherwise.

    Parameters
    ----------
    jones_type : str
        The table's Jones type.
    frame : PolarisationFrame or str
        The visibilities' frame.
    crosspol : bool
        Whether a full 2×2 solve is asked for.

    Returns
    -------
    {'scalar', 'diagonal', 'full'}

    Raises
    ------
    CalibrationError
        ``crosspol`` on data without four correlations, or an uncalibratable frame.
    """
    frame = _frame(frame)
    if jones_type == "T" or frame.npol == 1:
        return "scalar"
    if crosspol:
        if frame.npol != 4:
            raise CalibrationError(
                f"crosspol=True needs all four correlations; the data are {frame.name} "
                f"({' '.join(frame.names)})"
            )
        return "full"
    return "diagonal"


def jones_diagonal(a: np.ndarray) -> np.ndarray:
    """The diagonal entries (per receptor) of a stack of Jones matrices.

    Parameters
    ----------
    a : numpy.ndarray, shape [..., nrec, nrec]
        E.g. a gain table's ``gain`` (complex128) or ``weight`` (float64).

    Returns
    -------
    numpy.ndarray, shape [..., nrec]
        A read-only view (``numpy.diagonal``), same dtype.
    """
    return np.diagonal(a, axis1=-2, axis2=-1)
