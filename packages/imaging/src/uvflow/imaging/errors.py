"""Exceptions of uvflow.imaging: every one is a ValueError naming what was wrong and what is allowed."""

from __future__ import annotations

__all__ = [
    "ImagingError",
    "FrequencyMismatchError",
    "PhaseCentreMismatchError",
    "PrecisionError",
    "UnknownGridderError",
]


class ImagingError(ValueError):
    """Imaging was asked for something the data or the image cannot give."""


class FrequencyMismatchError(ImagingError):
    """A visibility channel falls in no channel of the image (mismatched frequencies)."""


class PhaseCentreMismatchError(ImagingError):
    """The image cannot be made from these visibilities at their phase centre.

    Raised when the image's reference direction is so far from the visibility phase centre
    that a shifted-grid image would misplace pixels (see :mod:`uvflow.imaging.layout`), or
    when the image reaches beyond the horizon of the phase centre.
    """


class PrecisionError(ImagingError):
    """The requested accuracy is finer than the data's floating-point precision allows."""


class UnknownGridderError(ImagingError):
    """No gridder of that name is installed in the ``uvflow.gridders`` entry-point group."""
