"""Where a kernel centred on a pixel overlaps an image, and linear (non-circular) convolution
(scipy for one-off convolutions; :class:`ImageConvolver` for repeated ones with fixed kernels)."""

from __future__ import annotations

import numpy as np

__all__ = ["overlap_slices", "convolve_same", "ImageConvolver"]


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


class ImageConvolver:
    """Linear convolutions of [ny, nx] images with fixed kernels, evaluated on the image, by FFT.

    For kernel q, ``out_q[y, x] = Σ_{y', x'} image[y', x'] · K_q[y - y' + cy, x - x' + cx]``
    over the pixels of the image, with ``K_q = base ⊛ extras[q]`` (linear convolution; the
    extras are small odd square kernels centred on their middle pixel, e.g. the blobs of
    multi-scale CLEAN). Only the kernel offsets that can connect two pixels of the image are
    used, so the FFT grid is ``ny + (the kernel's reach)`` per axis, at most about twice the
    image (a PSF of twice the image size and more needs no bigger grid); the kernels'
    spectra are computed once. The transforms are pruned: the rows of the grid beyond the
    image are never transformed along x. ducc0 FFTs, one thread.

    Parameters
    ----------
    shape : (int, int)
        (ny, nx) of the images.
    base : numpy.ndarray of float, shape [KY, KX]
    base_centre : (int, int)
        The pixel of ``base`` at offset 0.
    extras : sequence of numpy.ndarray [2h+1, 2h+1], optional
        One kernel per output plane (a 1 x 1 kernel is the identity); default one plane, base.
    dtype : numpy dtype
        float32 (complex64 spectra) or float64 (complex128).
    """

    def __init__(self, shape, base, base_centre, extras=None, dtype=np.float64):
        import ducc0

        self._fft = ducc0.fft
        ny, nx = shape
        self.shape = (ny, nx)
        self.dtype = np.dtype(dtype)
        cdtype = np.result_type(self.dtype, np.complex64)
        extras = [np.ones((1, 1))] if extras is None else list(extras)
        h = max(k.shape[0] // 2 for k in extras)
        # the base's offsets that reach the image through an extra of half-width <= h
        (y0, y1), (x0, x1) = [
            (max(0, c - (n - 1) - h), min(k, c + n + h))
            for c, n, k in zip(base_centre, (ny, nx), base.shape)
        ]
        cut = np.asarray(base[y0:y1, x0:x1], dtype=self.dtype)
        lo = (y0 - base_centre[0] - h, x0 - base_centre[1] - h)  # combined offset range
        hi = (y1 - 1 - base_centre[0] + h, x1 - 1 - base_centre[1] + h)
        reach = [max(-a, b) for a, b in zip(lo, hi)]
        self.grid = (
            int(ducc0.fft.good_size(ny + reach[0], False)),
            int(ducc0.fft.good_size(nx + reach[1], True)),
        )
        ly, lx = self.grid
        if cut.shape == (1, 1):  # a scaled delta: a constant spectrum
            spectrum = np.full((ly, lx // 2 + 1), cut[0, 0] / (ly * lx), cdtype)
        else:
            spectrum = self._wrapped_spectrum(cut, (base_centre[0] - y0, base_centre[1] - x0))
            spectrum *= 1.0 / (ly * lx)
        self.spectra = []
        for k in extras:
            if k.shape == (1, 1):
                self.spectra.append(spectrum * k[0, 0] if k[0, 0] != 1 else spectrum)
            else:
                c = k.shape[0] // 2
                self.spectra.append(spectrum * self._wrapped_spectrum(k, (c, c)))
        self._rows = np.zeros((ny, lx), self.dtype)
        self._buf = np.empty((ly, lx // 2 + 1), cdtype)
        self._work = np.empty_like(self._buf)

    def _wrapped_spectrum(self, kernel, centre):
        """r2c spectrum of ``kernel`` placed with its ``centre`` at grid index (0, 0)."""
        ly, lx = self.grid
        ky, kx = kernel.shape
        (cy, cx), grid = centre, np.zeros((ly, lx), self.dtype)
        # offsets >= 0 at the grid's start, offsets < 0 wrapped to its end
        grid[: ky - cy, : kx - cx] = kernel[cy:, cx:]
        grid[: ky - cy, lx - cx :] = kernel[cy:, :cx]
        grid[ly - cy :, : kx - cx] = kernel[:cy, cx:]
        grid[ly - cy :, lx - cx :] = kernel[:cy, :cx]
        return self._fft.r2c(grid, axes=(0, 1), nthreads=1)

    @property
    def work(self) -> float:
        """A measure of the cost of one convolution: ly · lx · log2(ly · lx)."""
        ly, lx = self.grid
        return float(ly * lx * np.log2(ly * lx))

    def subtract(self, image: np.ndarray, planes: np.ndarray) -> None:
        """``planes[q] -= image ⊛ K_q`` for every kernel q, in place.

        Parameters
        ----------
        image : numpy.ndarray of float or complex, shape [ny, nx]
            Complex images are convolved part by part (the kernels are real).
        planes : numpy.ndarray, shape [nkernel, ny, nx], dtype of ``image``'s kind
        """
        if np.iscomplexobj(image):
            for part, unit in ((image.real, 1.0), (image.imag, 1j)):
                self._subtract_real(part, planes, unit)
        else:
            self._subtract_real(image, planes, 1.0)

    def _subtract_real(self, image, planes, unit) -> None:
        ny, nx = self.shape
        fft, rows, buf, work = self._fft, self._rows, self._buf, self._work
        rows[:, :nx] = image
        fft.r2c(rows, axes=(1,), out=buf[:ny], nthreads=1)
        buf[ny:] = 0.0
        fft.c2c(buf, axes=(0,), forward=True, out=buf, nthreads=1)
        for q, spectrum in enumerate(self.spectra):
            np.multiply(buf, spectrum, out=work)
            fft.c2c(work, axes=(0,), forward=False, out=work, nthreads=1)
            fft.c2r(work[:ny], axes=(1,), lastsize=self.grid[1], forward=False, out=rows,
                    nthreads=1, allow_overwriting_input=True)  # fmt: skip
            if unit == 1.0:
                planes[q] -= rows[:, :nx]
            else:
                planes[q].imag -= rows[:, :nx]
        rows[:, nx:] = 0.0
