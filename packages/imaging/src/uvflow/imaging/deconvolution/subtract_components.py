"""Components of a CLEAN minor cycle: what they do to the residual planes, and their subtraction.

A component of kind p (a point, or a multi-scale blob) at pixel (y, x) with amplitudes
``a_k`` (one per Taylor term k; one term but for MS-MFS CLEAN) adds ``a_k · blob_p`` to
moment k of the model there, and changes moment m of residual plane q by
``-Σ_k a_k · B[q, p, m + k]`` centred there (:class:`ComponentModel`).
:class:`ComponentSubtractor` applies many components to the full planes at once, by
whichever is cheaper: patch by patch, or by FFT — the model increment of each term
transformed once, times the PSFs' and the blobs' spectra, one inverse transform per
(plane, moment) (:class:`~.convolution.ImageConvolver`, built on first use).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .convolution import ImageConvolver, overlap_slices
from .peak_tracker import Scratch, subtract_scaled

__all__ = ["ComponentModel", "ComponentSubtractor", "OffsetKernels", "add_components"]

# relative cost of a pixel of patch subtraction and of one unit of ImageConvolver.work
# (measured with numpy and ducc0 on one core: 1-3 ns per pixel, ~0.35 ns per unit and transform)
_DIRECT_COST, _FFT_COST = 5.0, 1.0


@dataclass
class ComponentModel:
    """What a component of kind p does (kinds and planes share indices: plane p picks kind p).

    Attributes
    ----------
    kernels : numpy.ndarray of float, shape [nplane, nplane, nterm, KY, KX]
        ``B[q, p, j] = psfs[j] ⊛ blob_p ⊛ blob_q``, offset 0 at ``centre``; ``nterm = 2 ·
        nmoment - 1`` (1 with one moment).
    centre : (int, int)
    coupling : numpy.ndarray of float, shape [nplane]
        Without ``solve``: a component of kind p picked where plane p holds R is
        ``gain · R / coupling[p]``.
    blobs : list of numpy.ndarray [2h+1, 2h+1]
        The model shape of a unit component of each kind (1 x 1 [[1]] for a point).
    psfs : numpy.ndarray of float, shape [nterm, py, px]
        The PSFs the kernels are made of, peaks at (py // 2, px // 2).
    solve : numpy.ndarray of float, shape [nplane, nmoment, nmoment], optional
        MS-MFS CLEAN (any nmoment; ``coupling`` then unused): the components are
        ``gain · solve[p] @ R`` (R the moments there; the inverse Hessian of scale p).
    """

    kernels: np.ndarray
    centre: tuple[int, int]
    coupling: np.ndarray
    blobs: list
    psfs: np.ndarray
    solve: np.ndarray | None = None


class OffsetKernels:
    """``B[q, p, j][y' - y + cy, x' - x + cx]`` for arrays of pixels (y', x') and a pixel
    (y, x): the kernels of :class:`ComponentModel` at the offsets between pixels.

    Flat indices ``base(y', x') + offset(y, x)`` into the kernels, padded with zero columns
    (so that no x offset wraps into the next row) and a zero row above and below (taken with
    mode 'clip', rows beyond land on them) unless the kernels already reach every offset.
    """

    def __init__(self, kernels: np.ndarray, centre, shape):
        ky, kx = kernels.shape[-2:]
        (cy, cx), (ny, nx) = centre, shape
        self.kernels, self._flat = kernels, {}
        self.covers = min(cy, ky - 1 - cy) >= ny - 1 and min(cx, kx - 1 - cx) >= nx - 1
        if self.covers:
            self.width, self.top, self.left = kx, cy, cx
            return
        self.pad = (max(0, nx - 1 - cx), max(0, nx - kx + cx))
        self.width, self.top, self.left = kx + sum(self.pad), cy + 1, cx + self.pad[0]

    def flat(self, q: int, p: int, j: int) -> np.ndarray:
        """Kernel ``B[q, p, j]`` flattened (padded first if need be; kept for the next call)."""
        if (q, p, j) not in self._flat:
            k = self.kernels[q, p, j]
            if not self.covers:
                k = np.pad(k, ((1, 1), self.pad))
            self._flat[(q, p, j)] = np.ascontiguousarray(k).ravel()
        return self._flat[(q, p, j)]

    def base(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        return y.astype(np.int64) * self.width + x

    def offset(self, y: int, x: int) -> int:
        return (self.top - y) * self.width + (self.left - x)


class ComponentSubtractor:
    """Subtract components from the full planes [nplane, nmoment, ny, nx]: patch by patch,
    or by FFT when cheaper."""

    def __init__(self, comp: ComponentModel, shape):
        self.comp, self.shape = comp, shape
        self.conv = None
        self.work = Scratch()

    def _convolver(self, dtype) -> ImageConvolver:
        if self.conv is None:
            psfs = self.comp.psfs
            centre = (psfs.shape[-2] // 2, psfs.shape[-1] // 2)
            self.conv = ImageConvolver(self.shape, psfs, centre, self.comp.blobs, dtype)
        return self.conv

    def __call__(self, values: np.ndarray, model: np.ndarray, picks) -> None:
        """Add the picks (p, y, x, amplitude or amplitudes [nmoment]) to ``model`` [nmoment,
        ny, nx] in order, and subtract their effect from ``values``."""
        comp, (ny, nx) = self.comp, self.shape
        nq, nm = values.shape[:2]
        kshape = comp.kernels.shape[-2:]
        add_components(model, comp.blobs, picks)
        groups: dict = {}
        for p, y, x, amp in picks:
            groups[(p, y, x)] = groups.get((p, y, x), 0) + amp
        area = 0
        for _p, y, x in groups:
            (iy, ix), _ = overlap_slices(y, x, (ny, nx), kshape, comp.centre)
            area += (iy.stop - iy.start) * (ix.stop - ix.start)
        complex_values = np.iscomplexobj(values)
        if _DIRECT_COST * area * nq * nm * nm <= _FFT_COST * self._fft_work(nq, nm, complex_values):
            for (p, y, x), amp in groups.items():
                (iy, ix), (ky, kx) = overlap_slices(y, x, (ny, nx), kshape, comp.centre)
                patch = comp.kernels[:, p, :, ky, kx]  # [nq, nterm, h, w]
                if nm == 1:
                    subtract_scaled(values[:, 0, iy, ix], amp, patch[:, 0], self.work)
                    continue
                for m in range(nm):  # values[:, m] -= Σ_k amp_k B[:, p, m + k]
                    change = patch[:, m] * amp[0]
                    for k in range(1, nm):
                        change += patch[:, m + k] * amp[k]
                    values[:, m, iy, ix] -= change
            return
        increment = np.zeros((nm, ny, nx), values.dtype)
        add_components(increment, comp.blobs, [(*k, a) for k, a in groups.items()])
        conv = self._convolver(np.abs(increment[:1, :1, :1]).dtype)
        parts = [(increment.real, values.real), (increment.imag, values.imag)]
        for inc, out in parts if complex_values else [(increment, values)]:
            spectra = [conv.forward(inc[k]) for k in range(nm)]
            for m in range(nm):  # moment m of every plane q: Σ_k increment_k ⊛ psf_{m+k} ⊛ blob_q
                total = spectra[0] * conv.base_spectra[m]
                for k in range(1, nm):
                    total += spectra[k] * conv.base_spectra[m + k]
                for q in range(nq):
                    conv.subtract_spectrum(total, out[q, m], q)

    def _fft_work(self, nq: int, nm: int, complex_values: bool) -> float:
        """The FFT route's cost in ImageConvolver.work units, its set-up included if due."""
        ffts = (nm + nq * nm) * (2 if complex_values else 1)
        if self.conv is not None:
            return ffts * self.conv.work
        # the grid ImageConvolver would choose, without making it: about ny + reach per axis
        psfs, h = self.comp.psfs, max(b.shape[0] // 2 for b in self.comp.blobs)
        n = [min(2 * s - 1, s + k // 2) + 2 * h for s, k in zip(self.shape, psfs.shape[-2:])]
        spectra = len(psfs) + sum(b.shape != (1, 1) for b in self.comp.blobs)
        return (ffts + spectra) * float(n[0] * n[1] * np.log2(n[0] * n[1]))


def add_components(model, blobs, picks) -> None:
    """``model[k] += amp_k · blob_p`` placed at (y, x) for every pick, in order.

    ``model`` [nmoment, ny, nx]; a pick's amplitude is a scalar with one moment, else an
    array [nmoment].
    """
    if model.shape[0] == 1 and all(b.shape == (1, 1) and b[0, 0] == 1 for b in blobs):
        if picks:
            _, y, x, amp = zip(*picks)
            np.add.at(model[0], (np.array(y), np.array(x)), np.array(amp))  # in order
        return
    for p, y, x, amp in picks:
        h = blobs[p].shape[0] // 2
        (my, mx), (ky, kx) = overlap_slices(y, x, model.shape[-2:], blobs[p].shape, (h, h))
        if model.shape[0] == 1:
            model[0, my, mx] += amp * blobs[p][ky, kx]
        else:
            model[:, my, mx] += amp[:, None, None] * blobs[p][ky, kx]
