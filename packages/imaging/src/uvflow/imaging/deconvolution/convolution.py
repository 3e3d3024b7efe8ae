"""Where a kernel centred on a pixel overlaps an image, and linear (non-circular) convolution."""

from __future__ import annotations

import numpy as np

__all__ = ["overlap_slices", "convolve_same"]


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
    from scipy.signal import fftconvolve  # imported when first used (1.5 s)

    ky, kx = kernel.shape[-2:]
    cy, cx = (ky // 2, kx // 2) if centre is None else centre
    ny, nx = image.shape[-2:]
    nd = max(image.ndim, kernel.ndim)
    image = image.reshape((1,) * (nd - image.ndim) + image.shape)
    kernel = kernel.reshape((1,) * (nd - kernel.ndim) + kernel.shape)
    full = fftconvolve(image, kernel, mode="full", axes=(-2, -1))
    return full[..., cy : cy + ny, cx : cx + nx]
