"""The PSF of a minor cycle: its centre checked, and its support cut.

A PSF plane of shape ``(py, px)`` has its peak at pixel ``(py // 2, px // 2)`` (as
``invert(..., dopsf=True)`` makes it); it may be larger than the dirty image (a PSF of
twice the image size lets the minor cycle subtract sidelobes across the whole image).
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import Image

from .errors import DeconvolutionError

__all__ = ["crop_psf", "check_psf_centre", "check_psf_support", "far_sidelobe"]


def check_psf_support(psf_support) -> None:
    """Raise DeconvolutionError unless ``psf_support`` is None or an integer >= 1 (pixels)."""
    if psf_support is None:
        return
    if isinstance(psf_support, bool) or not isinstance(psf_support, (int, np.integer)):
        raise DeconvolutionError(
            f"psf_support must be a positive integer (pixels), got {psf_support!r}"
        )
    if psf_support < 1:
        raise DeconvolutionError(f"psf_support must be >= 1 pixel, got {psf_support}")


def crop_psf(psf: Image, psf_support: int | None) -> Image:
    """The PSF cut to ``psf_support`` pixels either side of its centre (a view; CRPIX shifted).

    ``None``, or a support at least half the PSF, keeps it whole. The result has odd size
    ``2 * psf_support + 1`` along a cropped axis, with the peak at its centre pixel.
    """
    if psf_support is None:
        return psf
    check_psf_support(psf_support)
    from ..facets import image_window

    py, px = psf.ny, psf.nx
    cy, cx = py // 2, px // 2
    y0, y1 = max(0, cy - psf_support), min(py, cy + psf_support + 1)
    x0, x1 = max(0, cx - psf_support), min(px, cx + psf_support + 1)
    if (y0, y1, x0, x1) == (0, py, 0, px):
        return psf
    # keep the peak at the centre pixel of the cut: make the cut symmetric about (cy, cx)
    hy, hx = min(cy - y0, y1 - 1 - cy), min(cx - x0, x1 - 1 - cx)
    return image_window(psf, cy - hy, cy + hy + 1, cx - hx, cx + hx + 1)


def check_psf_centre(psf: np.ndarray, what: str = "psf") -> float:
    """The peak of a PSF plane [py, px], checked to be the maximum and at (py//2, px//2).

    Raises DeconvolutionError when the plane's maximum is elsewhere or not positive.
    """
    py, px = psf.shape
    centre = float(psf[py // 2, px // 2])
    peak = float(psf.max())
    if not centre > 0.0 or centre < peak * (1.0 - 1e-6):
        iy, ix = np.unravel_index(int(np.argmax(psf)), psf.shape)
        if centre > 0.0 and centre >= peak * (1.0 - 1e-3):  # a tie, up to rounding
            raise DeconvolutionError(
                f"{what} has no single peak: pixel ({iy}, {ix}) reaches its centre's value "
                f"{centre:.6g} (the uv samples lie on a line or a lattice: too few baselines "
                "or times to image)"
            )
        raise DeconvolutionError(
            f"{what} must peak at its centre pixel ({py // 2}, {px // 2}) with a positive value; "
            f"its maximum {peak:.4g} is at ({iy}, {ix}) and the centre holds {centre:.4g}"
        )
    return centre


def far_sidelobe(psf: np.ndarray, lobe: float = 0.2) -> float:
    """The largest ``|psf|`` beyond its main lobe.

    The main lobe is the square of half-width h about the centre (py // 2, px // 2), h the
    first Chebyshev radius (up to 64) on which every ``|psf|`` is below ``lobe`` times the
    centre value.
    """
    a = np.abs(psf)
    (cy, cx), (py, px) = (psf.shape[0] // 2, psf.shape[1] // 2), psf.shape
    reach = min(64, cy, cx, py - 1 - cy, px - 1 - cx)
    box = a[cy - reach : cy + reach + 1, cx - reach : cx + reach + 1]
    d = np.arange(-reach, reach + 1)
    ring = np.maximum(np.abs(d)[:, None], np.abs(d)[None, :]).ravel()
    rings = np.zeros(reach + 1)
    np.maximum.at(rings, ring, box.ravel())
    small = np.nonzero(rings[1:] < lobe * a[cy, cx])[0]
    h = int(small[0]) + 1 if small.size else reach
    parts = [
        a[: cy - h],
        a[cy + h + 1 :],
        a[cy - h : cy + h + 1, : cx - h],
        a[cy - h : cy + h + 1, cx + h + 1 :],
    ]
    return max((float(p.max()) for p in parts if p.size), default=0.0)
