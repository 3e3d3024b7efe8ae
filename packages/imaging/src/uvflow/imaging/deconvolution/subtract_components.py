"""Components of a CLEAN minor cycle: what they do to the residual planes, and their subtraction.

A component of kind p (a point, or a multi-scale blob) at pixel (y, x) with amplitude a adds
``a · blob_p`` to the model there and changes residual plane q by ``-a · B[q, p]`` centred
there (:class:`ComponentModel`). :class:`ComponentSubtractor` applies many components to the
full planes at once, by whichever is cheaper: patch by patch, or one FFT convolution of the
model increment per plane (:class:`~.convolution.ImageConvolver`, built on first use).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .convolution import ImageConvolver, overlap_slices
from .peak_tracker import Scratch, subtract_scaled

__all__ = ["ComponentModel", "ComponentSubtractor", "add_components"]

# relative cost of a pixel of patch subtraction and of one unit of ImageConvolver.work
# (measured with numpy and ducc0 on one core: 1-3 ns per pixel, ~0.35 ns per unit and transform)
_DIRECT_COST, _FFT_COST = 5.0, 1.0


@dataclass
class ComponentModel:
    """What a component of kind p does (kinds and planes share indices: plane p picks kind p).

    Attributes
    ----------
    kernels : numpy.ndarray of float, shape [nplane, nplane, KY, KX]
        ``B[q, p]``: the change of plane q per unit component of kind p, ``psf ⊛ blob_p ⊛
        blob_q``, its offset 0 at ``centre``.
    centre : (int, int)
    coupling : numpy.ndarray of float, shape [nplane]
        A component of kind p picked where plane p holds R is ``gain · R / coupling[p]``.
    blobs : list of numpy.ndarray [2h+1, 2h+1]
        The model shape of a unit component of each kind (1 x 1 [[1]] for a point).
    psf : numpy.ndarray of float, shape [py, px]
        The PSF the kernels are made of, peak at (py // 2, px // 2).
    """

    kernels: np.ndarray
    centre: tuple[int, int]
    coupling: np.ndarray
    blobs: list
    psf: np.ndarray


class ComponentSubtractor:
    """Subtract components from the full planes: patch by patch, or by FFT when cheaper."""

    def __init__(self, comp: ComponentModel, shape, dtype):
        self.comp, self.shape, self.dtype = comp, shape, np.dtype(dtype)
        self.real = np.abs(np.zeros(1, self.dtype)).dtype
        self.conv = None
        self.work = Scratch()

    def _convolver(self) -> ImageConvolver:
        if self.conv is None:
            psf = self.comp.psf
            self.conv = ImageConvolver(
                self.shape, psf, (psf.shape[0] // 2, psf.shape[1] // 2), self.comp.blobs, self.real
            )
        return self.conv

    def __call__(self, values: np.ndarray, model: np.ndarray, picks) -> None:
        """Add the picks to ``model`` (in order) and subtract their effect from ``values``."""
        comp, (ny, nx) = self.comp, self.shape
        kshape = comp.kernels.shape[-2:]
        add_components(model, comp.blobs, picks)
        groups: dict = {}
        for p, y, x, amp in picks:
            groups[(p, y, x)] = groups.get((p, y, x), 0) + amp
        area = 0
        for _p, y, x in groups:
            (iy, ix), _ = overlap_slices(y, x, (ny, nx), kshape, comp.centre)
            area += (iy.stop - iy.start) * (ix.stop - ix.start)
        nq = values.shape[0]
        if _DIRECT_COST * area * nq <= _FFT_COST * self._fft_work(nq, np.iscomplexobj(values)):
            for (p, y, x), amp in groups.items():
                (iy, ix), (ky, kx) = overlap_slices(y, x, (ny, nx), kshape, comp.centre)
                subtract_scaled(values[:, iy, ix], amp, comp.kernels[:, p, ky, kx], self.work)
            return
        increment = np.zeros((ny, nx), values.dtype)
        add_components(increment, comp.blobs, [(*k, a) for k, a in groups.items()])
        self._convolver().subtract(increment, values)

    def _fft_work(self, nq: int, complex_values: bool) -> float:
        """The FFT route's cost in ImageConvolver.work units, its set-up included if due."""
        ffts = (1 + nq) * (2 if complex_values else 1)
        if self.conv is not None:
            return ffts * self.conv.work
        # the grid ImageConvolver would choose, without making it: about ny + reach per axis
        psf, h = self.comp.psf, max(b.shape[0] // 2 for b in self.comp.blobs)
        n = [min(2 * s - 1, s + k // 2) + 2 * h for s, k in zip(self.shape, psf.shape)]
        spectra = 1 + sum(b.shape != (1, 1) for b in self.comp.blobs)
        return (ffts + spectra) * float(n[0] * n[1] * np.log2(n[0] * n[1]))


def add_components(model, blobs, picks) -> None:
    """``model += amp · blob_p`` placed at (y, x) for every pick, in order."""
    if all(b.shape == (1, 1) and b[0, 0] == 1 for b in blobs):
        if picks:
            _, y, x, amp = zip(*picks)
            np.add.at(model, (np.array(y), np.array(x)), np.array(amp))  # in order, unbuffered
        return
    for p, y, x, amp in picks:
        h = blobs[p].shape[0] // 2
        (my, mx), (ky, kx) = overlap_slices(y, x, model.shape, blobs[p].shape, (h, h))
        model[my, mx] += amp * blobs[p][ky, kx]
