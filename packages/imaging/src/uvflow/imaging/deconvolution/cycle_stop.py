"""Where a minor cycle stops, WSClean's way: thresholds from the residual's noise, an
automatic mask, a total component budget.

WSClean (and Radler) define the stopping rules that ``uvflow image`` follows:

- ``-threshold T``: no component below T Jy/beam;
- ``-mgain g``: a minor cycle cleans the peak down by the fraction g: it stops at
  ``(1 − g) · peak`` (uvflow's ``fractional_threshold = 1 − g``), after which a major cycle
  computes the exact residual;
- ``-auto-threshold s``: the threshold is ``s · σ``, with σ the robust noise of the residual
  measured at every major cycle (1.4826 × its median absolute deviation);
- ``-auto-mask m``: clean without a mask down to ``m · σ``, then only where components
  have been found (the model's nonzero pixels, which for multi-scale include each
  component's extent), down to the threshold;
- ``-local-rms``: σ is an image, the RMS in a window of ``-local-rms-window`` beams around
  each pixel; the peak search compares ``|residual| / σ(x)`` (a weight ``σ_min / σ(x)``
  on the clean window) and the thresholds are in units of ``σ_min``;
- ``-niter N``: at most N components in all (over every major cycle).

:func:`cycle_stop` computes a minor cycle's :class:`CycleStop` from the residual at its
start; the workflows compute it in the task that sees the whole cube, and the clean tasks
use it. :class:`NoiseThresholds` holds the noise-related settings
(:class:`~uvflow.imaging.CleanSettings` ``noise``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DeconvolutionError

__all__ = ["NoiseThresholds", "CycleStop", "robust_sigma", "local_rms", "cycle_stop"]

#: MAD → standard deviation for Gaussian noise
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class NoiseThresholds:
    """Thresholds from the residual's noise (WSClean's ``-auto-threshold``, ``-auto-mask``,
    ``-local-rms``).

    Parameters
    ----------
    auto_threshold : float, optional
        Stop at this many σ (the residual's robust noise at each major cycle).
    auto_mask : float, optional
        Clean unmasked down to this many σ, then only where components were found; must
        exceed ``auto_threshold`` when both are given.
    local_rms : bool
        σ varies across the image (an RMS in a sliding window) instead of one number.
    local_rms_window : float
        The window's width in beams (the PSF's main-lobe width), > 0.
    """

    auto_threshold: float | None = None
    auto_mask: float | None = None
    local_rms: bool = False
    local_rms_window: float = 25.0

    def __post_init__(self) -> None:
        for name in ("auto_threshold", "auto_mask"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
                raise DeconvolutionError(f"{name} must be a number of sigmas > 0, got {v!r}")
        if (
            self.auto_mask is not None
            and self.auto_threshold is not None
            and self.auto_mask <= self.auto_threshold
        ):
            raise DeconvolutionError(
                f"auto_mask ({self.auto_mask}) must be above auto_threshold "
                f"({self.auto_threshold}): the mask is made first, then cleaned to the threshold"
            )
        w = self.local_rms_window
        if not (isinstance(w, (int, float)) and np.isfinite(w) and w > 0):
            raise DeconvolutionError(f"local_rms_window must be > 0 beams, got {w!r}")

    @property
    def active(self) -> bool:
        """Whether any threshold comes from the noise."""
        return self.auto_threshold is not None or self.auto_mask is not None


@dataclass(frozen=True)
class CycleStop:
    """A minor cycle's stopping rule, from the residual at its start.

    Parameters
    ----------
    stop : float
        Absolute threshold of this minor cycle, Jy/beam (in units of ``σ_min`` with a local
        RMS: compared with the peak weighted by ``weights``).
    peak : float
        The residual's peak (weighted like the stop), Jy/beam.
    sigma : float
        The robust noise (the smallest of the local RMS map), Jy/beam; 0 when not measured.
    final : float
        The threshold the cleaning ends at (not mgain's): ``max(threshold, auto_threshold σ)``.
    masked : bool
        Clean only where the model has components (the auto-mask phase).
    weights : numpy.ndarray of float, shape [ny, nx], optional
        ``σ_min / σ(x)`` with a local RMS (multiplies the clean window), else None.
    """

    stop: float
    peak: float
    sigma: float
    final: float
    masked: bool = False
    weights: np.ndarray | None = None

    @property
    def done(self) -> bool:
        """Whether the residual is already at or below the final threshold."""
        return self.peak <= self.final


def robust_sigma(data: np.ndarray) -> float:
    """1.4826 × the median absolute deviation of the finite values of ``data`` (any shape)."""
    a = np.asarray(data, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return 0.0
    return float(MAD_TO_SIGMA * np.median(np.abs(a - np.median(a))))


def local_rms(plane: np.ndarray, width: int) -> np.ndarray:
    """The RMS of ``plane`` [ny, nx] in a ``width`` × ``width`` window around each pixel.

    A robust RMS would need a sliding median; this is the plain RMS (as WSClean's default
    ``-local-rms-method rms``) of the plane with its mean removed, by box filtering of its
    square, clipped below at 1e-3 of its largest value so that no weight divides by zero.
    """
    from scipy import ndimage

    width = max(int(width), 3)
    p = np.asarray(plane, dtype=np.float64)
    p = p - np.mean(p)
    rms = np.sqrt(np.maximum(ndimage.uniform_filter(p * p, size=width, mode="reflect"), 0.0))
    return np.maximum(rms, 1e-3 * float(rms.max()) if rms.max() > 0 else 1.0)


def cycle_stop(
    residual: np.ndarray,
    window: np.ndarray | None,
    threshold: float,
    fractional_threshold: float,
    noise: NoiseThresholds | None = None,
    beam_pixels: float = 3.0,
) -> CycleStop:
    """The stopping rule of a minor cycle (see the module notes).

    Parameters
    ----------
    residual : numpy.ndarray of float, shape [nchan, npol, ny, nx]
        The residual (or dirty) cube at the start of the minor cycle, Jy/beam.
    window : numpy.ndarray of float, broadcastable to ``residual``, or None
        The clean window (weights in [0, 1]): the peak is that of ``|residual| · window``.
    threshold : float
        Absolute threshold, Jy/beam (``-threshold``).
    fractional_threshold : float
        In [0, 1): stop at this fraction of the peak (``1 − mgain``).
    noise : NoiseThresholds, optional
    beam_pixels : float
        The PSF's main-lobe width in pixels (the local RMS window is in beams).

    Returns
    -------
    CycleStop
    """
    if residual.ndim != 4:
        raise DeconvolutionError(f"residual must be [nchan, npol, ny, nx], got {residual.shape}")
    a = np.abs(residual)
    sigma, weights = 0.0, None
    if noise is not None and noise.active:
        plane = np.mean(residual[:, 0], axis=0)  # the frequency-averaged first polarisation
        if noise.local_rms:
            rms = local_rms(plane, int(round(noise.local_rms_window * beam_pixels)))
            sigma = float(rms.min())
            weights = sigma / rms
            a = a * weights
        else:
            sigma = robust_sigma(plane)
    if window is not None:
        a = a * window
    peak = float(a.max()) if a.size else 0.0
    final = float(threshold)
    if noise is not None and noise.auto_threshold is not None:
        final = max(final, noise.auto_threshold * sigma)
    stop = max(final, float(fractional_threshold) * peak)
    masked = False
    if noise is not None and noise.auto_mask is not None:
        level = noise.auto_mask * sigma
        if peak > level:
            stop = max(stop, level)  # the unmasked phase ends at the auto-mask level
        else:
            masked = True
    return CycleStop(stop=stop, peak=peak, sigma=sigma, final=final, masked=masked,
                     weights=weights)  # fmt: skip
