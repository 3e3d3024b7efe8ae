"""Exceptions of uvflow.calibration (all ``ValueError`` subclasses)."""

from __future__ import annotations

import difflib

__all__ = ["CalibrationError", "ControlsError", "SolverNotFoundError", "check_keywords"]


class CalibrationError(ValueError):
    """Inputs that cannot be calibrated as asked (mismatched tables, unknown Jones types…)."""


class SolverNotFoundError(CalibrationError):
    """No solver of that name is installed in the ``uvflow.solvers`` entry-point group."""


class ControlsError(CalibrationError, TypeError):
    """Bad calibration controls: an unknown term, an unknown (misspelt) control key, or a
    bad value. Both a ``CalibrationError`` (``ValueError``) and a ``TypeError``: an unknown
    key is an unknown keyword of the solver, which uvflow reports as ``TypeError``."""


def check_keywords(where: str, given, valid, error=TypeError) -> None:
    """Raise ``error`` (a ``TypeError``) naming the unknown keys of ``given``, listing ``valid``.

    Parameters
    ----------
    where : str
        What the keywords are for (starts the message).
    given : iterable of str
        The keys given.
    valid : iterable of str
        The keys allowed (listed in the message, in this order).
    error : type
        Exception class to raise (``TypeError`` or a subclass such as ``ControlsError``).

    Raises
    ------
    TypeError
        Some key of ``given`` is not in ``valid`` (with a "did you mean" hint when one is
        close).
    """
    valid = list(valid)
    unknown = [k for k in given if k not in valid]
    if unknown:
        hints = [
            f"did you mean {close[0]!r} for {k!r}?"
            for k in unknown
            if (close := difflib.get_close_matches(str(k), valid, n=1))
        ]
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise error(
            f"{where} got unknown keyword(s) {', '.join(map(repr, unknown))}; "
            f"valid keywords: {', '.join(valid)}{hint}"
        )
