"""Exceptions of uvflow.calibration (all ``ValueError`` subclasses)."""

from __future__ import annotations

__all__ = ["CalibrationError", "SolverNotFoundError", "check_keywords"]


class CalibrationError(ValueError):
    """Inputs that cannot be calibrated as asked (mismatched tables, unknown Jones types…)."""


class SolverNotFoundError(CalibrationError):
    """No solver of that name is installed in the ``uvflow.solvers`` entry-point group."""


def check_keywords(where: str, given, valid) -> None:
    """Raise ``TypeError`` naming the unknown keys of ``given`` and listing ``valid``."""
    valid = list(valid)
    unknown = [k for k in given if k not in valid]
    if unknown:
        raise TypeError(
            f"{where} got unknown keyword(s) {', '.join(map(repr, unknown))}; "
            f"valid keywords: {', '.join(valid)}"
        )
