"""Exceptions of uvflow.calibration (all ``ValueError`` subclasses)."""

from __future__ import annotations

__all__ = ["CalibrationError", "ControlsError", "H5parmError", "SolverNotFoundError"]


class CalibrationError(ValueError):
    """Inputs that cannot be calibrated as asked (mismatched tables, unknown Jones types…)."""


class SolverNotFoundError(CalibrationError):
    """No solver of that name is installed in the ``uvflow.solvers`` entry-point group."""


class ControlsError(CalibrationError, TypeError):
    """Bad calibration controls: an unknown term, an unknown (misspelt) control key, or a
    bad value. Both a ``CalibrationError`` (``ValueError``) and a ``TypeError``: an unknown
    key is an unknown keyword of the solver, which uvflow reports as ``TypeError``."""


class H5parmError(CalibrationError):
    """An H5parm solutions file that cannot be written or read as asked."""
