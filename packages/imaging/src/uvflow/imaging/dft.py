"""Exact direct Fourier transforms: the oracle every gridder is tested against.

``predict_dft`` evaluates ``V = Σ_k S_k exp(+2πi ν/c (u l_k + v m_k + w (n_k - 1)))`` over
point sources, Gaussian components or the non-zero pixels of a model image; ``invert_dft``
is its adjoint, ``I(l, m) = Σ_j w_j Re(V_j exp(-2πi …)) / Σ_j w_j`` (DESIGN §3). They share
the channel, polarisation and pixel-geometry rules of the gridders
(:mod:`uvflow.imaging.layout`), compute in float64/complex128, and work in chunks so that
no temporary exceeds ``chunk`` elements of the [rows, sources] phase matrix (~48 MB at
the default).

A Gaussian component of FWHM ``bmaj``, ``bmin`` (radians) and position angle ``bpa``
(radians, east of north) multiplies its point-source visibility by
``exp(-(π² / (4 ln 2)) (bmaj² u'² + bmin² v'²))``, ``u' = u sin bpa + v cos bpa`` (along the
major axis) and ``v' = u cos bpa - v sin bpa``, uv in wavelengths: the Fourier transform of a
Gaussian of unit integral laid flat on the phase centre's tangent plane.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from uvflow.datamodels import SPEED_OF_LIGHT, Image, SkyComponent, Visibility

from .errors import FrequencyMismatchError, ImagingError
from .layout import (
    channel_groups,
    check_real_frame,
    image_to_vis_matrix,
    imaging_products,
    uvw_rows,
)
from .pixel_geometry import direction_cosines, image_geometry, point_source_vis

__all__ = ["DEFAULT_CHUNK", "predict_dft", "invert_dft"]

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 2**21
_GAUSS = np.pi**2 / (4 * np.log(2))


def _chunks(nrow: int, nsrc: int, chunk: int):
    if not (isinstance(chunk, (int, np.integer)) and chunk >= 1):
        raise ImagingError(f"chunk must be a positive integer, got {chunk!r}")
    ns = int(min(max(nsrc, 1), max(256, chunk // max(nrow, 1))))
    nr = int(min(max(nrow, 1), max(1, chunk // ns)))
    for r0 in range(0, nrow, nr):
        for s0 in range(0, nsrc, ns):
            yield slice(r0, min(r0 + nr, nrow)), slice(s0, min(s0 + ns, nsrc))


def _predict_sources(uvw, freq, lmn1, flux, shapes, out, chunk):
    """out[row, chan, pol] += Σ_s flux[chan, s, pol] exp(2πi ν/c uvw·lmn1_s) · gauss_s.

    lmn1 [3, ns] (l, m, n-1); flux complex [nchan, ns, npol]; shapes None or
    [3, ns] (bmaj, bmin, bpa; 0, 0, 0 for points).
    """
    for c, f in enumerate(freq):
        k = f / SPEED_OF_LIGHT
        for rs, ss in _chunks(uvw.shape[0], lmn1.shape[1], chunk):
            phase = uvw[rs] @ lmn1[:, ss]
            phase *= 2 * np.pi * k
            e = np.exp(1j * phase)
            if shapes is not None:
                bmaj, bmin, bpa = shapes[:, ss]
                u, v = uvw[rs, 0:1] * k, uvw[rs, 1:2] * k
                up = u * np.sin(bpa) + v * np.cos(bpa)
                vp = u * np.cos(bpa) - v * np.sin(bpa)
                e *= np.exp(-_GAUSS * ((bmaj * up) ** 2 + (bmin * vp) ** 2))
            out[rs, c, :] += e @ flux[c, ss, :]


def _component_sources(vis: Visibility, comps: Sequence[SkyComponent]):
    l, m, n = np.empty((3, len(comps)))  # noqa: E741
    flux = np.zeros((vis.nchan, len(comps), vis.npol), dtype=complex)
    shapes = np.zeros((3, len(comps)))
    for s, comp in enumerate(comps):
        if not isinstance(comp, SkyComponent):
            raise TypeError(f"predict_dft takes SkyComponents, got {type(comp).__name__}")
        l[s], m[s], n[s] = direction_cosines(comp.direction, vis.phasecentre)
        if n[s] <= 0:
            raise ImagingError(f"component {comp.name!r} is behind the phase centre's horizon")
        conv = image_to_vis_matrix(comp.polarisation_frame, vis.polarisation_frame)
        if comp.nchan == 1:
            f = np.broadcast_to(comp.flux[0], (vis.nchan, comp.npol))
        elif comp.nchan == vis.nchan and np.allclose(comp.frequency, vis.frequency, rtol=1e-9):
            f = comp.flux
        else:
            raise FrequencyMismatchError(
                f"mismatched frequencies: component {comp.name!r} has {comp.nchan} channels "
                f"({comp.frequency[0]:.6g}..{comp.frequency[-1]:.6g} Hz), the visibilities "
                f"{vis.nchan} ({vis.frequency[0]:.6g}..{vis.frequency[-1]:.6g} Hz); give one "
                "channel (flat spectrum) or the visibilities' channels"
            )
        flux[:, s, :] = f @ conv.T
        if comp.shape == "gaussian":
            shapes[:, s] = [comp.params["bmaj"], comp.params["bmin"], comp.params["bpa"]]
    return np.stack([l, m, n - 1]), flux, (shapes if np.any(shapes) else None)


def predict_dft(
    vis: Visibility,
    model: Image | SkyComponent | Sequence[SkyComponent],
    chunk: int = DEFAULT_CHUNK,
) -> Visibility:
    """Exact visibilities of a model image (Jy/pixel) or of sky components.

    Parameters
    ----------
    vis : Visibility
        Gives uvw, frequencies, phase centre, polarisation frame and dtype.
    model : Image, SkyComponent or sequence of SkyComponent
        An image as for :func:`uvflow.imaging.predict` (only its non-zero pixels cost
        time); components point or Gaussian, with one channel (flat spectrum) or the
        visibilities' channels, in any polarisation frame (missing Stokes are zero).
    chunk : int
        Largest [rows, sources] block computed at once.

    Returns
    -------
    Visibility
        A new Visibility with the model's visibilities (weights and flags shared).
    """
    uvw = uvw_rows(vis)
    nrow = uvw.shape[0]
    out = np.zeros((nrow, vis.nchan, vis.npol), dtype=np.complex128)
    if isinstance(model, Image):
        check_real_frame(model.polarisation_frame, "model image")
        geom = image_geometry(model, vis.phasecentre)
        conv = image_to_vis_matrix(model.polarisation_frame, vis.polarisation_frame)
        ys, xs = np.nonzero(np.any(model.data != 0, axis=(0, 1)))
        l, m, n = (c[ys, xs] for c in geom.pixel_lmn())  # noqa: E741
        lmn1 = np.stack([l, m, n - 1])
        for group in channel_groups(vis.frequency, model):
            chans = np.arange(vis.nchan)[group.vis_channels]
            pix = model.data[group.image_channel][:, ys, xs].T.astype(complex)  # [ns, npol_img]
            flux = np.broadcast_to(pix @ conv.T, (chans.size, *pix.shape[:1], vis.npol))
            part = np.zeros((nrow, chans.size, vis.npol), dtype=np.complex128)
            _predict_sources(uvw, vis.frequency[chans], lmn1, flux, None, part, chunk)
            out[:, chans, :] += part
    else:
        comps = [model] if isinstance(model, SkyComponent) else list(model)
        if comps:
            lmn1, flux, shapes = _component_sources(vis, comps)
            _predict_sources(uvw, vis.frequency, lmn1, flux, shapes, out, chunk)
    return vis.replace(vis=out.reshape(vis.vis.shape).astype(vis.vis.dtype, copy=False))


def invert_dft(
    vis: Visibility,
    model_image: Image,
    dopsf: bool = False,
    normalise: bool = True,
    chunk: int = DEFAULT_CHUNK,
) -> tuple[Image, np.ndarray]:
    """Exact dirty image (or PSF) of ``vis`` on the grid of ``model_image``.

    Parameters and results as :func:`uvflow.imaging.invert` (the image is float64
    whatever the data's precision); ``chunk`` bounds the [rows, pixels] temporaries.
    Cost ∝ visibilities × pixels: for tests and small images. All data flagged (or zero
    weights) gives, as invert, a zero image and zero ``sumwt`` with a logged warning.
    """
    if not isinstance(model_image, Image):
        raise TypeError(f"model_image must be an Image, got {type(model_image).__name__}")
    frame = model_image.polarisation_frame
    check_real_frame(frame)
    geom = image_geometry(model_image, vis.phasecentre)
    l, m, n = (c.ravel() for c in geom.pixel_lmn())  # noqa: E741
    lmn1 = np.stack([l, m, n - 1])
    uvw = uvw_rows(vis)
    lc, mc, _ = geom.centre_lmn()
    out = np.zeros((model_image.nchan, frame.npol, geom.ny * geom.nx))
    sumwt = np.zeros((model_image.nchan, frame.npol))
    for group in channel_groups(vis.frequency, model_image):
        k = group.image_channel
        chans = np.arange(vis.nchan)[group.vis_channels]
        products = imaging_products(vis, frame, group.vis_channels, np.float64, not dopsf)
        sumwt[k] = [np.sum(p.weight) for p in products]
        if dopsf:  # a unit point source at the centre pixel
            psf = point_source_vis(uvw, vis.frequency[chans], lc, mc, np.complex128)
            products = [p._replace(data=psf) for p in products]
        # a[i, row, chan]: weighted data of image product i (0 where the weight is, even if NaN)
        a = np.stack([np.where(p.weight != 0, p.weight * p.data, 0) for p in products])
        a = a.astype(np.complex128, copy=False)
        for ci, c in enumerate(chans):
            kk = 2 * np.pi * vis.frequency[c] / SPEED_OF_LIGHT
            for rs, ps in _chunks(uvw.shape[0], lmn1.shape[1], chunk):
                phase = uvw[rs] @ lmn1[:, ps]
                phase *= kk
                ac = a[:, rs, ci]
                out[k, :, ps] += ac.real @ np.cos(phase) + ac.imag @ np.sin(phase)
    if not np.any(sumwt > 0):
        log.warning("invert_dft: every visibility is flagged or has zero weight; zero image")
    if normalise:
        good = sumwt > 0
        out[good] /= sumwt[good][:, None]
    image = Image(
        data=out.reshape(model_image.nchan, frame.npol, geom.ny, geom.nx),
        wcs=model_image.wcs.deepcopy(),
        polarisation_frame=frame,
        meta={"BUNIT": "JY/BEAM"},
    )
    return image, sumwt
