"""The stopping rule every CLEAN minor cycle shares: parameter checks and the threshold.

The stopping threshold of a plane is ``max(threshold, fractional_threshold · peak)`` with
``peak = max |dirty · window|`` of that plane at the start of the minor cycle (a *window*
is a float array of weights in [0, 1]; see :mod:`.clean_window`).
"""

from __future__ import annotations

import numpy as np

from .errors import DeconvolutionError

__all__ = ["check_clean_parameters", "clean_threshold"]


def check_clean_parameters(
    niter: int, gain: float, threshold: float, fractional_threshold: float
) -> None:
    """Raise DeconvolutionError (a ValueError) naming a bad minor-cycle parameter."""
    if isinstance(niter, bool) or not isinstance(niter, (int, np.integer)):
        raise DeconvolutionError(f"niter must be an integer >= 0, got {niter!r}")
    if niter < 0:
        raise DeconvolutionError(f"niter must be >= 0, got {niter}")
    if not (np.isfinite(gain) and 0.0 < gain < 2.0):
        raise DeconvolutionError(f"gain must be in the open interval (0, 2), got {gain}")
    if not (np.isfinite(threshold) and threshold >= 0.0):
        raise DeconvolutionError(
            f"threshold must be a finite value >= 0 (Jy/beam), got {threshold}"
        )
    if not (np.isfinite(fractional_threshold) and 0.0 <= fractional_threshold < 1.0):
        raise DeconvolutionError(
            f"fractional_threshold must be in [0, 1), got {fractional_threshold}"
        )


def clean_threshold(
    dirty: np.ndarray, window: np.ndarray | None, threshold: float, fractional_threshold: float
) -> float:
    """The absolute stopping threshold ``max(threshold, fractional_threshold · max|dirty · window|)``.

    Parameters
    ----------
    dirty : numpy.ndarray of float or complex, any shape ending in [ny, nx]
        A plane, or several planes (the peak is taken over all of them: a threshold shared
        by facets or channels).
    window : numpy.ndarray of float, broadcastable to ``dirty``, or None
    """
    a = np.abs(dirty)
    if window is not None:
        a = a * window
    peak = float(a.max()) if a.size else 0.0
    return max(float(threshold), float(fractional_threshold) * peak)
