"""The built-in gridders on ducc0's wgridder: '2d' (no w-correction), 'ng' and 'wstack' (with).

Conventions (DESIGN §3), pinned by tests against the direct Fourier transform:
``V = Σ S exp(+2πi (u l + v m + w (n - 1)))``; the dirty image is the adjoint, normalised by
the sum of weights, not divided by ``n``. ducc0 is called with ``flip_v=True`` and
``divide_by_n=False``: its image ``[npix_x, npix_y]`` is then the transpose of our
``[ny, nx]`` (RA to the left) and its ``center_x, center_y`` are ``-l0, -m0``. Images are
handed over as contiguous transposed copies: reading or writing through a transposed view
costs ducc0 ~20%, a copy ~2% (giving ducc0 (v, u, w) instead avoids the copy but made its
gridding ~5% slower on Earth-rotation coverage).

Precision follows the visibilities: complex64 data are gridded in single precision
(epsilon must then be ≥ 1e-5, ducc0's single-precision limit) and give float32 images;
complex128 data in double (epsilon ≥ 2e-13).
"""

from __future__ import annotations

import logging
import threading

import numpy as np
from ducc0.misc import resize_thread_pool, thread_pool_size, transpose
from ducc0.wgridder.experimental import dirty2vis, vis2dirty

from uvflow.datamodels import SPEED_OF_LIGHT, Image, Visibility

from .errors import ImagingError, PrecisionError
from .layout import (
    channel_groups,
    check_real_frame,
    image_to_vis_matrix,
    imaging_products,
    uvw_rows,
)
from .pixel_geometry import ImageGeometry, image_geometry, point_source_vis, rephase
from .small_inversion import SmallInversionPlan, plan_small_inversion

__all__ = [
    "Ducc0Gridder",
    "Ducc0Gridder2D",
    "Ducc0GridderWStack",
    "EPSILON_FLOOR",
    "ensure_thread_pool",
]

log = logging.getLogger(__name__)
_POOL_LOCK = threading.Lock()


def ensure_thread_pool(nthreads: int) -> None:
    """Grow ducc0's thread pool to ``nthreads`` when the environment made it smaller.

    ducc0 sizes its pool from ``DUCC0_NUM_THREADS`` or ``OMP_NUM_THREADS``, and Dask
    sets ``OMP_NUM_THREADS=1`` in its worker processes: an explicit ``nthreads=2`` would
    then run on one thread. The pool only ever grows (once per process), under a lock.

    Parameters
    ----------
    nthreads : int
        Threads a gridding call asks for.
    """
    if nthreads <= 1:
        return
    with _POOL_LOCK:
        if thread_pool_size() < nthreads:
            log.debug("growing ducc0's thread pool from %d to %d", thread_pool_size(), nthreads)
            resize_thread_pool(int(nthreads))


EPSILON_FLOOR = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 2e-13}
_UNSET = object()


def check_inputs(vis, model_image, epsilon: float, nthreads: int) -> tuple[ImageGeometry, np.dtype]:
    """Validate the common arguments; the image geometry and the gridding precision."""
    if not isinstance(vis, Visibility):
        raise TypeError(f"vis must be a Visibility, got {type(vis).__name__}")
    if not isinstance(model_image, Image):
        raise TypeError(f"model_image must be an Image, got {type(model_image).__name__}")
    if model_image.data.dtype.kind not in "fiu":
        raise ImagingError(
            f"model image must be real (Jy/pixel), got dtype {model_image.data.dtype}"
        )
    check_real_frame(model_image.polarisation_frame)
    if not (isinstance(nthreads, (int, np.integer)) and nthreads >= 1):
        raise ImagingError(f"nthreads must be an integer >= 1, got {nthreads!r}")
    ensure_thread_pool(int(nthreads))
    rdtype = np.dtype(np.float32) if vis.vis.dtype == np.complex64 else np.dtype(np.float64)
    floor = EPSILON_FLOOR[rdtype]
    if not (np.isfinite(epsilon) and 0 < epsilon < 1):
        raise ImagingError(f"epsilon must be in (0, 1), got {epsilon!r}")
    if epsilon < floor:
        raise PrecisionError(
            f"epsilon {epsilon:g} is below what {vis.vis.dtype} visibilities allow "
            f"(>= {floor:g}); pass epsilon >= {floor:g}"
            + (" or convert the visibilities to complex128" if rdtype == np.float32 else "")
        )
    geom = image_geometry(model_image, vis.phasecentre)
    if geom.nx % 2 or geom.ny % 2 or geom.nx < 32 or geom.ny < 32:
        raise ImagingError(
            f"ducc0 gridders need even image sizes of at least 32 pixels; got {geom.ny} x {geom.nx}"
        )
    return geom, rdtype


def _ducc0_args(geom: ImageGeometry, plan: SmallInversionPlan | None, epsilon: float) -> dict:
    common = dict(flip_v=True, divide_by_n=False, center_x=-geom.l0, center_y=-geom.m0)
    if plan is None:
        return dict(pixsize_x=geom.cell_x, pixsize_y=geom.cell_y, epsilon=epsilon, **common)
    return dict(
        pixsize_x=plan.x.coarse_cell, pixsize_y=plan.y.coarse_cell,
        epsilon=plan.epsilon_gridder, **common,
    )  # fmt: skip


class Ducc0Gridder:
    """ducc0 wgridder with w-correction (context 'ng').

    Parameters
    ----------
    small_inversion : bool
        Grid on a coarser image and interpolate where the pixels oversample the uv
        coverage and that is cheaper (:mod:`uvflow.imaging.small_inversion`; accurate to
        epsilon by construction). Default True.
    """

    name = "ng"
    do_wgridding = True

    def __init__(self, *, small_inversion: bool = True):
        self.small_inversion = bool(small_inversion)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, small_inversion={self.small_inversion})"

    @property
    def corrects_w(self) -> bool:
        """Whether the w-term is corrected (see :func:`uvflow.imaging.testing.check_gridder`)."""
        return self.do_wgridding

    def _plan(self, uvw, freq, geom, epsilon, rdtype) -> SmallInversionPlan | None:
        if not self.small_inversion:
            return None
        return plan_small_inversion(
            uvw, freq, geom, epsilon, self.do_wgridding, EPSILON_FLOOR[rdtype]
        )

    def invert(
        self,
        vis: Visibility,
        model_image: Image,
        *,
        dopsf: bool = False,
        normalise: bool = True,
        epsilon: float = 1e-5,
        nthreads: int = 1,
    ) -> tuple[Image, np.ndarray]:
        """Dirty image (or PSF) of ``vis`` on the grid of ``model_image``.

        See :func:`uvflow.imaging.invert` for the parameters and conventions.

        Returns
        -------
        (Image, sumwt)
            Image ``data[nchan, npol, ny, nx]`` float32 (complex64 data) or float64;
            ``sumwt`` float64 [nchan, npol], the sum of gridding weights per plane.
        """
        geom, rdtype = check_inputs(vis, model_image, epsilon, nthreads)
        frame = model_image.polarisation_frame
        out = np.zeros((model_image.nchan, frame.npol, geom.ny, geom.nx), dtype=rdtype)
        sumwt = np.zeros((model_image.nchan, frame.npol))
        uvw, dw = geom.gridding_uvw(uvw_rows(vis))
        for group in channel_groups(vis.frequency, model_image):
            k = group.image_channel
            freq = vis.frequency[group.vis_channels]
            products = imaging_products(vis, frame, group.vis_channels, rdtype, not dopsf)
            plan = _UNSET
            for i, (data, wgt, mask) in enumerate(products):
                s = float(np.sum(wgt, dtype=np.float64))
                sumwt[k, i] = s
                if s == 0:
                    continue
                if plan is _UNSET:
                    plan = self._plan(uvw, freq, geom, epsilon, rdtype)
                    if dopsf:  # a unit point source at the centre pixel
                        psf = point_source_vis(uvw, freq, geom.l0, geom.m0, vis.vis.dtype)
                if dopsf:
                    data = psf
                elif dw is not None:
                    data = rephase(data, dw, freq, -1.0)
                p = plan
                dirty = vis2dirty(
                    uvw=uvw, freq=freq, vis=data, wgt=wgt, mask=mask,
                    npix_x=geom.nx if p is None else p.x.nc,
                    npix_y=geom.ny if p is None else p.y.nc,
                    do_wgridding=self.do_wgridding, nthreads=nthreads,
                    **_ducc0_args(geom, p, epsilon),
                )  # fmt: skip
                # ducc0's [nx, ny] to our [ny, nx]: a transposed copy (ducc0's cache-blocked
                # copy: ~2.5x faster than numpy's strided one for a 2048² image)
                if p is None:
                    transpose(dirty.T, out[k, i], nthreads=nthreads)
                else:
                    out[k, i] = p.to_fine(dirty.T, nthreads)
        if not np.any(sumwt > 0):
            log.warning(
                "invert: every visibility is flagged or has zero weight; returning a zero "
                "image with sumwt 0"
            )
        if normalise:
            for k, i in zip(*np.nonzero(sumwt > 0)):
                out[k, i] /= rdtype.type(sumwt[k, i])
        image = Image(
            data=out,
            wcs=model_image.wcs.deepcopy(),
            polarisation_frame=frame,
            meta={"BUNIT": "JY/BEAM"},
        )
        return image, sumwt

    def predict(
        self, vis: Visibility, model_image: Image, *, epsilon: float = 1e-5, nthreads: int = 1
    ) -> Visibility:
        """Visibilities of the model image (Jy/pixel), in ``vis``'s frame and dtype.

        See :func:`uvflow.imaging.predict`.
        """
        geom, rdtype = check_inputs(vis, model_image, epsilon, nthreads)
        conv = image_to_vis_matrix(model_image.polarisation_frame, vis.polarisation_frame)
        out = np.zeros_like(vis.vis)
        nrow = vis.ntime * vis.nbaseline
        out3 = out.reshape(nrow, vis.nchan, vis.npol)
        uvw, dw = geom.gridding_uvw(uvw_rows(vis))
        for group in channel_groups(vis.frequency, model_image):
            k, cs = group.image_channel, group.vis_channels
            freq = vis.frequency[cs]
            plan = _UNSET
            for i in range(model_image.npol):
                col = conv[:, i]
                plane = model_image.data[k, i]
                if not col.any() or not plane.any():
                    continue
                if plan is _UNSET:
                    plan = self._plan(uvw, freq, geom, epsilon, rdtype)
                p = plan
                if p is not None:
                    plane = p.to_coarse(plane.astype(rdtype, copy=False), nthreads)
                dirty = np.empty(plane.shape[::-1], dtype=rdtype)  # ducc0 layout [nx, ny]
                transpose(plane.T.astype(rdtype, copy=False), dirty, nthreads=nthreads)
                (targets,) = np.nonzero(col)
                # the only product feeding one correlation: ducc0 writes it in place
                direct = (
                    isinstance(cs, slice) and targets.size == 1 and col[targets[0]] == 1
                    and np.count_nonzero(conv[targets[0]]) == 1
                )  # fmt: skip
                pred = dirty2vis(
                    uvw=uvw, freq=freq, dirty=dirty, do_wgridding=self.do_wgridding,
                    nthreads=nthreads, vis=out3[:, cs, targets[0]] if direct else None,
                    **_ducc0_args(geom, p, epsilon),
                )  # fmt: skip
                if dw is not None:
                    pred *= np.exp((2j * np.pi / SPEED_OF_LIGHT) * dw[:, None] * freq[None, :])
                if direct:
                    continue
                for q in targets:
                    c = col[q]
                    if c == 1:
                        out3[:, cs, q] += pred
                    else:
                        out3[:, cs, q] += pred * out.dtype.type(c)
        return vis.replace(vis=out)


class Ducc0Gridder2D(Ducc0Gridder):
    """ducc0 wgridder without w-correction (context '2d': exact for w = 0 or narrow fields)."""

    name = "2d"
    do_wgridding = False


class Ducc0GridderWStack(Ducc0Gridder):
    """ducc0 wgridder with w-correction by w-stacking (context 'wstack', same as 'ng')."""

    name = "wstack"
