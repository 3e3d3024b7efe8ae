"""Where a kernel centred on a pixel overlaps an image, and linear (non-circular) convolution
by ducc0 FFTs (:func:`convolve_same` for one-off convolutions; :class:`ImageConvolver` for
repeated ones with fixed kernels). No scipy: restoring an image imports none of it."""

from __future__ import annotations

import numpy as np

__all__ = ["overlap_slices", "convolve_same", "wrapped_spectrum", "ImageConvolver"]


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
    (cy, cx) = ``centre`` (default the kernel's (ky//2, kx//2)). Only the kernel offsets
    that connect two pixels of the image are used, on an FFT grid of ``ny + (their reach)``
    per axis (ducc0, one thread; no wrap-around reaches the image).

    Parameters
    ----------
    image : numpy.ndarray of float or complex, shape [..., ny, nx]
    kernel : numpy.ndarray of float, shape [..., ky, kx] (broadcast against ``image``)
    centre : (int, int), optional

    Returns
    -------
    numpy.ndarray, shape [broadcast leading dims..., ny, nx]
        float32 (complex64) when both inputs are single precision, else float64 (complex128).
    """
    import ducc0

    image, kernel = np.asarray(image), np.asarray(kernel)
    if np.iscomplexobj(kernel):
        raise ValueError(f"convolve_same: the kernel must be real, got {kernel.dtype}")
    if np.iscomplexobj(image):  # a real kernel: the parts convolve separately
        real = convolve_same(image.real, kernel, centre)
        return real + 1j * convolve_same(image.imag, kernel, centre)
    dtype = np.result_type(image.dtype, kernel.dtype, np.float32)
    ky, kx = kernel.shape[-2:]
    cy, cx = (ky // 2, kx // 2) if centre is None else centre
    if not (0 <= cy < ky and 0 <= cx < kx):
        raise ValueError(f"convolve_same: centre {(cy, cx)} is outside the {ky} x {kx} kernel")
    ny, nx = image.shape[-2:]
    lead = np.broadcast_shapes(image.shape[:-2], kernel.shape[:-2])
    # the kernel offsets d with |d| < n (the others connect no two pixels of the image)
    (y0, y1), (x0, x1) = [(max(0, c - n + 1), min(k, c + n)) for c, n, k in
                          zip((cy, cx), (ny, nx), (ky, kx))]  # fmt: skip
    if y0 >= y1 or x0 >= x1:
        return np.zeros(lead + (ny, nx), dtype)
    kernel = kernel[..., y0:y1, x0:x1]
    cy, cx = cy - y0, cx - x0
    # outputs y' + d in [-cy, ny - 1 + ky - 1 - cy] wrap outside [0, ny) for these sizes
    grid = (
        int(ducc0.fft.good_size(ny + max(cy, y1 - y0 - 1 - cy), True)),
        int(ducc0.fft.good_size(nx + max(cx, x1 - x0 - 1 - cx), True)),
    )
    padded = np.zeros(image.shape[:-2] + grid, dtype)
    padded[..., :ny, :nx] = image
    spectrum = ducc0.fft.r2c(padded, axes=(-2, -1), nthreads=1)
    spectrum = spectrum * wrapped_spectrum(kernel, (cy, cx), grid, dtype)
    out = ducc0.fft.c2r(spectrum, axes=(-2, -1), lastsize=grid[1], forward=False, inorm=2,
                        nthreads=1, allow_overwriting_input=True)  # fmt: skip
    return out[..., :ny, :nx].copy()


def wrapped_spectrum(kernel: np.ndarray, centre, grid, dtype=np.float64) -> np.ndarray:
    """The r2c spectrum of ``kernel`` [..., ky, kx] placed with its ``centre`` at index (0, 0)
    of a ``grid`` (ly, lx) (offsets < 0 wrapped to the grid's end; ky <= ly, kx <= lx):
    complex [..., ly, lx // 2 + 1] of ``dtype``'s precision, unnormalised (ducc0)."""
    import ducc0

    (ly, lx), (cy, cx) = grid, centre
    ky, kx = kernel.shape[-2:]
    out = np.zeros(kernel.shape[:-2] + (ly, lx), dtype)
    out[..., : ky - cy, : kx - cx] = kernel[..., cy:, cx:]
    out[..., : ky - cy, lx - cx :] = kernel[..., cy:, :cx]
    out[..., ly - cy :, : kx - cx] = kernel[..., :cy, cx:]
    out[..., ly - cy :, lx - cx :] = kernel[..., :cy, :cx]
    return ducc0.fft.r2c(out, axes=(-2, -1), nthreads=1)


class ImageConvolver:
    """Linear convolutions of [ny, nx] images with fixed kernels, evaluated on the image, by FFT.

    ``out[y, x] = Σ_{y', x'} image[y', x'] · K[y - y' + cy, x - x' + cx]`` over the pixels of
    the image, for kernels ``K = bases[b] ⊛ extras[q]`` (linear convolution; the extras are
    small odd square kernels centred on their middle pixel, e.g. the blobs of multi-scale
    CLEAN). Only the kernel offsets that can connect two pixels of the image are used, so the
    FFT grid is ``ny + (the kernels' reach)`` per axis, at most about twice the image (a PSF
    of twice the image size and more needs no bigger grid). The spectra of the bases and the
    extras are computed once, and multiplied when used. The transforms are pruned: the rows
    of the grid beyond the image are never transformed along x. ducc0 FFTs, one thread.

    Parameters
    ----------
    shape : (int, int)
        (ny, nx) of the images.
    bases : numpy.ndarray of float, shape [KY, KX] or [nbase, KY, KX]
        Kernels sharing one centre (a PSF; or the moment PSFs of MS-MFS CLEAN).
    base_centre : (int, int)
        The pixel of the bases at offset 0.
    extras : sequence of numpy.ndarray [2h+1, 2h+1], optional
        Default one, the identity [[1]].
    dtype : numpy dtype
        float32 (complex64 spectra) or float64 (complex128).
    """

    def __init__(self, shape, bases, base_centre, extras=None, dtype=np.float64):
        import ducc0

        self._fft = ducc0.fft
        ny, nx = shape
        self.shape = (ny, nx)
        self.dtype = np.dtype(dtype)
        self.cdtype = np.result_type(self.dtype, np.complex64)
        bases = np.asarray(bases)
        bases = bases[None] if bases.ndim == 2 else bases
        extras = [np.ones((1, 1))] if extras is None else list(extras)
        h = max(k.shape[0] // 2 for k in extras)
        # the bases' offsets that reach the image through an extra of half-width <= h
        (y0, y1), (x0, x1) = [
            (max(0, c - (n - 1) - h), min(k, c + n + h))
            for c, n, k in zip(base_centre, (ny, nx), bases.shape[-2:])
        ]
        cut = bases[:, y0:y1, x0:x1].astype(self.dtype)
        lo = (y0 - base_centre[0] - h, x0 - base_centre[1] - h)  # combined offset range
        hi = (y1 - 1 - base_centre[0] + h, x1 - 1 - base_centre[1] + h)
        reach = [max(-a, b) for a, b in zip(lo, hi)]
        self.grid = (
            int(ducc0.fft.good_size(ny + reach[0], False)),
            int(ducc0.fft.good_size(nx + reach[1], True)),
        )
        ly, lx = self.grid
        centre = (base_centre[0] - y0, base_centre[1] - x0)
        self.base_spectra = []
        for k in cut:
            if k.shape == (1, 1):  # a scaled delta: a constant spectrum
                self.base_spectra.append(
                    np.full((ly, lx // 2 + 1), k[0, 0] / (ly * lx), self.cdtype)
                )
            else:
                self.base_spectra.append(
                    wrapped_spectrum(k, centre, self.grid, self.dtype) * (1.0 / (ly * lx))
                )
        self.extra_spectra = [
            None if k.shape == (1, 1) and k[0, 0] == 1
            else wrapped_spectrum(k, (k.shape[0] // 2,) * 2, self.grid, self.dtype)
            for k in extras
        ]  # fmt: skip
        self._rows = np.zeros((ny, lx), self.dtype)
        self._work = np.empty((ly, lx // 2 + 1), self.cdtype)

    @property
    def work(self) -> float:
        """A measure of the cost of one transform: ly · lx · log2(ly · lx)."""
        ly, lx = self.grid
        return float(ly * lx * np.log2(ly * lx))

    def forward(self, image: np.ndarray) -> np.ndarray:
        """The (pruned) spectrum of a real image [ny, nx]: complex [ly, lx // 2 + 1]."""
        ny, nx = self.shape
        rows = self._rows
        rows[:, :nx] = image
        rows[:, nx:] = 0.0
        out = np.empty((self.grid[0], self.grid[1] // 2 + 1), self.cdtype)
        self._fft.r2c(rows, axes=(1,), out=out[:ny], nthreads=1)
        out[ny:] = 0.0
        return self._fft.c2c(out, axes=(0,), forward=True, out=out, nthreads=1)

    def subtract_spectrum(self, spectrum: np.ndarray, plane: np.ndarray, extra=None) -> None:
        """``plane -= image ⊛ K`` where ``spectrum`` is ``forward(image)`` times a base's
        spectrum and K that base convolved with ``extras[extra]`` (None: the identity)."""
        ny, nx = self.shape
        fft, work, rows = self._fft, self._work, self._rows
        spec = None if extra is None else self.extra_spectra[extra]
        if spec is None:
            np.copyto(work, spectrum)
        else:
            np.multiply(spectrum, spec, out=work)
        fft.c2c(work, axes=(0,), forward=False, out=work, nthreads=1)
        fft.c2r(work[:ny], axes=(1,), lastsize=self.grid[1], forward=False, out=rows,
                nthreads=1, allow_overwriting_input=True)  # fmt: skip
        plane -= rows[:, :nx]

    def subtract(self, image: np.ndarray, planes: np.ndarray) -> None:
        """``planes[q] -= image ⊛ bases[0] ⊛ extras[q]`` for every extra q, in place.

        Parameters
        ----------
        image : numpy.ndarray of float or complex, shape [ny, nx]
            Complex images are convolved part by part (the kernels are real).
        planes : numpy.ndarray, shape [nextra, ny, nx], dtype of ``image``'s kind
        """
        parts = [(image.real, planes.real), (image.imag, planes.imag)]
        for part, out in parts if np.iscomplexobj(image) else [(image, planes)]:
            spectrum = self.forward(part)
            spectrum *= self.base_spectra[0]
            for q in range(len(self.extra_spectra)):
                self.subtract_spectrum(spectrum, out[q], q)
