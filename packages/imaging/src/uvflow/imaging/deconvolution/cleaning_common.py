"""What every CLEAN minor cycle shares: parameter checks, thresholds, windows, PSF support,
the overlap of a PSF patch with the image, linear (non-circular) convolution, and a fast
peak finder.

Conventions
-----------
* A PSF plane of shape ``(py, px)`` has its peak at pixel ``(py // 2, px // 2)`` (as
  ``invert(..., dopsf=True)`` makes it); it may be larger than the dirty image (a PSF of
  twice the image size lets the minor cycle subtract sidelobes across the whole image).
* A *window* is a float array of weights in [0, 1] (1 = components allowed, 0 = not);
  the peak search maximises ``|residual| · window`` and the stopping test uses that value.
* The stopping threshold of a plane is ``max(threshold, fractional_threshold · peak)``
  with ``peak = max |dirty · window|`` of that plane at the start of the minor cycle.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.signal import fftconvolve

from uvflow.datamodels import Image

from .errors import DeconvolutionError

__all__ = [
    "WINDOW_SHAPES",
    "check_clean_parameters",
    "clean_threshold",
    "create_window",
    "window_plane",
    "crop_psf",
    "check_psf_centre",
    "overlap_slices",
    "convolve_same",
    "PeakTracker",
    "Scratch",
    "subtract_scaled",
]

log = logging.getLogger(__name__)

WINDOW_SHAPES = (None, "quarter", "no_edge")


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


def create_window(
    dirty: Image,
    window_shape: str | None = None,
    window_edge: int = 16,
    mask: Image | np.ndarray | None = None,
) -> np.ndarray | None:
    """The clean window of ``dirty``: a shape rule times an optional mask.

    Parameters
    ----------
    dirty : Image
        Only its shape is used.
    window_shape : None, 'quarter' or 'no_edge'
        None: the whole image; 'quarter': the inner quarter (pixels ``ny//4 : 3*ny//4`` and
        likewise in x); 'no_edge': all but ``window_edge`` pixels at each border.
    window_edge : int
        Border width in pixels for 'no_edge'.
    mask : Image or numpy.ndarray, optional
        bool, 0/1 or weights in [0, 1], shape [ny, nx] or [nchan|1, npol|1, ny, nx].

    Returns
    -------
    numpy.ndarray of float64, shape [nchan|1, npol|1, ny, nx], or None for no window.
    """
    nchan, npol, ny, nx = dirty.shape
    if window_shape not in WINDOW_SHAPES:
        raise DeconvolutionError(
            f"window_shape {window_shape!r} unknown; use None, 'quarter' or 'no_edge'"
        )
    window = None
    if window_shape == "quarter":
        window = np.zeros((1, 1, ny, nx))
        window[..., ny // 4 : 3 * ny // 4, nx // 4 : 3 * nx // 4] = 1.0
    elif window_shape == "no_edge":
        edge = int(window_edge)
        if edge < 0 or 2 * edge >= min(ny, nx):
            raise DeconvolutionError(
                f"window_edge must be >= 0 and leave pixels inside a {ny} x {nx} image; got {window_edge}"
            )
        window = np.zeros((1, 1, ny, nx))
        window[..., edge : ny - edge, edge : nx - edge] = 1.0
    if mask is not None:
        m = np.asarray(mask.data if isinstance(mask, Image) else mask)
        if m.dtype.kind not in "biuf":
            raise DeconvolutionError(f"mask must be bool or real numbers, got dtype {m.dtype}")
        if m.ndim == 2:
            m = m[None, None]
        ok = (
            m.ndim == 4
            and m.shape[2:] == (ny, nx)
            and m.shape[0] in (1, nchan)
            and m.shape[1] in (1, npol)
        )
        if not ok:
            raise DeconvolutionError(
                f"mask has shape {list(m.shape)}; expected [{ny}, {nx}] or "
                f"[1 or {nchan}, 1 or {npol}, {ny}, {nx}] to match the dirty image"
            )
        m = m.astype(np.float64)
        if not np.all((m >= 0.0) & (m <= 1.0)):
            raise DeconvolutionError("mask values must lie in [0, 1] (0/1, bool or weights)")
        window = m if window is None else window * m
    if window is not None and not np.any(window > 0):
        raise DeconvolutionError("the clean window/mask excludes every pixel")
    return window


def window_plane(window: np.ndarray | None, chan: int, pol: int) -> np.ndarray | None:
    """The [ny, nx] window of plane (chan, pol) of a window made by :func:`create_window`."""
    if window is None:
        return None
    return window[min(chan, window.shape[0] - 1), min(pol, window.shape[1] - 1)]


def crop_psf(psf: Image, psf_support: int | None) -> Image:
    """The PSF cut to ``psf_support`` pixels either side of its centre (a view; CRPIX shifted).

    ``None``, or a support at least half the PSF, keeps it whole. The result has odd size
    ``2 * psf_support + 1`` along a cropped axis, with the peak at its centre pixel.
    """
    if psf_support is None:
        return psf
    if isinstance(psf_support, bool) or not isinstance(psf_support, (int, np.integer)):
        raise DeconvolutionError(
            f"psf_support must be a positive integer (pixels), got {psf_support!r}"
        )
    if psf_support < 1:
        raise DeconvolutionError(f"psf_support must be >= 1 pixel, got {psf_support}")
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
        raise DeconvolutionError(
            f"{what} must peak at its centre pixel ({py // 2}, {px // 2}) with a positive value; "
            f"its maximum {peak:.4g} is at ({iy}, {ix}) and the centre holds {centre:.4g}"
        )
    return centre


def overlap_slices(
    y: int, x: int, image_shape: tuple[int, int], kernel_shape: tuple[int, int], centre
) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Where a kernel centred on image pixel (y, x) overlaps the image.

    Returns ``(image_slices, kernel_slices)`` such that ``image[image_slices]`` and
    ``kernel[kernel_slices]`` are the same-shaped overlapping parts; ``centre`` is the
    kernel pixel (cy, cx) placed on (y, x).
    """
    ny, nx = image_shape
    ky, kx = kernel_shape
    oy, ox = y - centre[0], x - centre[1]
    y0, y1 = max(0, oy), min(ny, oy + ky)
    x0, x1 = max(0, ox), min(nx, ox + kx)
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))


def convolve_same(image: np.ndarray, kernel: np.ndarray, centre=None) -> np.ndarray:
    """Linear (zero-padded, not circular) convolution keeping the image's shape, by FFT.

    ``out[..., y, x] = Σ image[..., y', x'] · kernel[..., y - y' + cy, x - x' + cx]`` where
    (cy, cx) = ``centre`` (default the kernel's (ky//2, kx//2)).

    Parameters
    ----------
    image : numpy.ndarray of float or complex, shape [..., ny, nx]
    kernel : numpy.ndarray of float, shape [..., ky, kx] (broadcast against ``image``)
    """
    ky, kx = kernel.shape[-2:]
    cy, cx = (ky // 2, kx // 2) if centre is None else centre
    ny, nx = image.shape[-2:]
    nd = max(image.ndim, kernel.ndim)
    image = image.reshape((1,) * (nd - image.ndim) + image.shape)
    kernel = kernel.reshape((1,) * (nd - kernel.ndim) + kernel.shape)
    full = fftconvolve(image, kernel, mode="full", axes=(-2, -1))
    return full[..., cy : cy + ny, cx : cx + nx]


def _block_size(ny: int, nx: int) -> int:
    """Side of the square blocks of :class:`PeakTracker` (≈ the fourth root of the pixels)."""
    n = max(ny, nx)
    return int(min(64, max(8, 2 ** round(np.log2(np.sqrt(n))))))


def padded_shape(ny: int, nx: int) -> tuple[int, int, int]:
    """(block, PY, PX): the tracker's block size and the plane shape padded to whole blocks."""
    b = _block_size(ny, nx)
    return b, -(-ny // b) * b, -(-nx // b) * b


class PeakTracker:
    """The maximum of ``|values[s]| · weights[s] · factors[s]`` over planes s and pixels.

    Keeps the maximum of each ``block × block`` tile of every plane, so that finding the
    peak costs a search over the tile maxima plus one tile, and a change to a region of the
    planes costs a recomputation of the tiles it touches (:meth:`update`) — instead of a
    full-image search per minor-cycle iteration.

    Parameters
    ----------
    values : numpy.ndarray of float or complex, shape [nplanes, PY, PX]
        Planes padded with zeros to whole blocks (``padded_shape``); held by reference:
        the caller changes them in place and then calls :meth:`update`.
    weights : numpy.ndarray of float, shape [nplanes, PY, PX], or None
        Zero in the padding when given.
    factors : sequence of float [nplanes], optional
        A per-plane multiplier of the criterion (e.g. a scale bias).
    block : int
    """

    def __init__(self, values, weights=None, factors=None, block: int = 16):
        self.values = values
        self.weights = weights
        ns, py, px = values.shape
        if py % block or px % block:
            raise ValueError(f"planes {py} x {px} are not whole {block}-pixel blocks")
        self.block = block
        self.nby, self.nbx = py // block, px // block
        self.factors = None if factors is None else np.asarray(factors, float)[:, None, None]
        self.bmax = np.zeros((ns, self.nby, self.nbx))
        self._work = Scratch()
        self.update(0, py, 0, px)

    def update(self, y0: int, y1: int, x0: int, x1: int) -> None:
        """Recompute the tile maxima of every plane over pixels [y0:y1, x0:x1]."""
        b = self.block
        by0, by1 = y0 // b, -(-y1 // b)
        bx0, bx1 = x0 // b, -(-x1 // b)
        sl = (slice(None), slice(by0 * b, by1 * b), slice(bx0 * b, bx1 * b))
        region = self.values[sl]
        a = self._work.get(region.shape, np.float64)
        np.abs(region, out=a)
        if self.weights is not None:
            a *= self.weights[sl]
        ns, nby, nbx = a.shape[0], by1 - by0, bx1 - bx0
        # rows first (element-wise maxima of contiguous rows), then within each tile's row:
        # several times faster than one reduction over the two strided tile axes
        a = a.reshape(ns, nby, b, nbx * b).max(axis=2)
        self.bmax[:, by0:by1, bx0:bx1] = a.reshape(ns, nby, nbx, b).max(axis=3)

    def peak(self) -> tuple[int, int, int, float]:
        """(plane, y, x, criterion) of the maximum of the criterion."""
        crit = self.bmax if self.factors is None else self.bmax * self.factors
        k = int(np.argmax(crit))
        s, by, bx = np.unravel_index(k, crit.shape)
        b = self.block
        sl = (s, slice(by * b, (by + 1) * b), slice(bx * b, (bx + 1) * b))
        a = np.abs(self.values[sl])
        if self.weights is not None:
            a *= self.weights[sl]
        j = int(np.argmax(a))
        dy, dx = divmod(j, b)
        return int(s), int(by * b + dy), int(bx * b + dx), float(crit.flat[k])


class Scratch:
    """A reusable work buffer: views of the requested shape into one growing allocation.

    Minor-cycle iterations need temporaries of up to a few MB each; allocating them afresh
    every iteration costs page faults (the allocator maps and zeroes new pages), which can
    take as long as the arithmetic.
    """

    def __init__(self):
        self._buf = {}

    def get(self, shape, dtype, slot: int = 0) -> np.ndarray:
        """An uninitialised contiguous array of ``shape`` (valid until the next ``get`` of
        the same ``slot`` and dtype; use different slots for temporaries alive together)."""
        key = (np.dtype(dtype), slot)
        size = int(np.prod(shape))
        buf = self._buf.get(key)
        if buf is None or buf.size < size:
            buf = self._buf[key] = np.empty(size, key[0])
        return buf[:size].reshape(shape)


def subtract_scaled(target: np.ndarray, scale, patch: np.ndarray, work: Scratch) -> None:
    """``target -= scale * patch`` in place, without allocating a temporary."""
    tmp = work.get(patch.shape, np.result_type(patch, scale))
    np.multiply(patch, scale, out=tmp)
    np.subtract(target, tmp, out=target)


def pad_planes(planes: np.ndarray, py: int, px: int, dtype=None) -> np.ndarray:
    """``planes`` [..., ny, nx] copied into zeros of shape [..., py, px] (top-left aligned)."""
    out = np.zeros(planes.shape[:-2] + (py, px), dtype=dtype or planes.dtype)
    out[..., : planes.shape[-2], : planes.shape[-1]] = planes
    return out
