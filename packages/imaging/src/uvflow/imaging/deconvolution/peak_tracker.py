"""Fast peak finding for minor cycles: per-tile maxima, reusable scratch buffers.

Each minor-cycle iteration changes only the pixels a PSF patch touches; keeping the
maximum of each tile of the planes makes the next peak search a search over the tile
maxima plus one tile, instead of a search of the whole image.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PeakTracker", "Scratch", "subtract_scaled", "pad_planes", "padded_shape"]


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
