"""How visibilities and an image line up: channels and polarisation products.

Every gridder (the built-in ducc0 ones, the DFT, plugins) uses these helpers, so all of
them image the same thing; the pixel geometry is in :mod:`uvflow.imaging.pixel_geometry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from uvflow.datamodels import (
    Image,
    PolarisationFrame,
    Visibility,
    correlation_weights,
    pol_conversion_matrix,
)

from .errors import FrequencyMismatchError, ImagingError

__all__ = [
    "ChannelGroup",
    "channel_groups",
    "check_real_frame",
    "vis_to_image_matrix",
    "image_to_vis_matrix",
    "imaging_products",
    "Product",
    "uvw_rows",
]


_REAL_PRODUCTS = frozenset({"I", "Q", "U", "V", "XX", "YY", "RR", "LL"})


@dataclass(frozen=True)
class ChannelGroup:
    """One image channel and the visibility channels imaged into (or predicted from) it."""

    image_channel: int
    vis_channels: slice | np.ndarray


def channel_groups(frequency: np.ndarray, image: Image) -> list[ChannelGroup]:
    """Map visibility channels onto image channels.

    An image with one channel is multi-frequency synthesis: every visibility channel goes
    into it. Otherwise each visibility channel goes to the image channel whose band
    (centre ± width/2) contains it.

    Parameters
    ----------
    frequency : numpy.ndarray of float64, shape [nchan_vis]
        Hz.

    Raises
    ------
    FrequencyMismatchError
        A visibility channel lies in no image channel.
    """
    nvc = frequency.size
    if image.nchan == 1:
        return [ChannelGroup(0, slice(0, nvc))]
    fimg = image.frequency
    half = image.channel_bandwidth / 2
    k = np.argmin(np.abs(frequency[:, None] - fimg[None, :]), axis=1)
    bad = np.abs(frequency - fimg[k]) > half[k] * (1 + 1e-9) + 1e-6
    if np.any(bad):
        c = int(np.flatnonzero(bad)[0])
        raise FrequencyMismatchError(
            f"mismatched frequencies: visibility channel {c} at {frequency[c]:.6g} Hz lies in no "
            f"image channel (image has {image.nchan} channels of {2 * half[0]:.6g} Hz centred "
            f"{fimg[0]:.6g}..{fimg[-1]:.6g} Hz); use an image whose channels cover the data, "
            "or a single-channel (MFS) image"
        )
    groups = []
    for kk in np.unique(k):
        idx = np.flatnonzero(k == kk)
        contiguous = idx[-1] - idx[0] + 1 == idx.size
        sel = slice(int(idx[0]), int(idx[-1]) + 1) if contiguous else idx
        groups.append(ChannelGroup(int(kk), sel))
    return groups


def check_real_frame(frame: PolarisationFrame, role: str = "image") -> None:
    """Raise unless every product of ``frame`` is real on the sky (I Q U V XX YY RR LL)."""
    bad = [p for p in frame.names if p not in _REAL_PRODUCTS]
    if bad:
        raise ImagingError(
            f"{role} polarisation frame {frame.name} has products that are complex on the sky "
            f"({', '.join(bad)}); use a Stokes frame (stokesI, stokesIQUV, ...), linearnp or circularnp"
        )


def _clean(m: np.ndarray) -> np.ndarray:
    """Round away least-squares noise: the coefficients are 0, ±1, ±1/2, ±i/2."""
    return np.round(np.asarray(m, dtype=complex), 12) + 0.0


def vis_to_image_matrix(vis_frame, image_frame) -> np.ndarray:
    """``M[npol_image, npol_vis]``, image product = ``M @`` visibility products.

    Raises PolarisationError when the data cannot give a product (e.g. Q from XX only).
    """
    return _clean(pol_conversion_matrix(vis_frame, image_frame))


def image_to_vis_matrix(image_frame, vis_frame) -> np.ndarray:
    """``C[npol_vis, npol_image]``, visibility products = ``C @`` image products.

    Stokes parameters an image does not hold are taken as zero (a Stokes I model predicts
    XX = YY = I and XY = YX = 0).
    """
    to_vis = pol_conversion_matrix("stokesIQUV", vis_frame)  # vis = to_vis @ S
    to_img = pol_conversion_matrix("stokesIQUV", image_frame)  # img = to_img @ S
    return _clean(to_vis @ np.linalg.pinv(to_img))


def uvw_rows(vis: Visibility) -> np.ndarray:
    """uvw as float64 [ntime * nbaseline, 3] metres (a view when already float64)."""
    return np.ascontiguousarray(vis.uvw.reshape(-1, 3), dtype=np.float64)


class Product(NamedTuple):
    """One image product's data for the gridder (see :func:`imaging_products`)."""

    data: np.ndarray
    weight: np.ndarray
    mask: np.ndarray | None


def imaging_products(
    vis: Visibility,
    image_frame: PolarisationFrame,
    channels: slice | np.ndarray,
    real_dtype,
    with_data: bool = True,
) -> list[Product]:
    """The visibilities and gridding weights of every image product, for some channels.

    Parameters
    ----------
    vis : Visibility
    image_frame : PolarisationFrame
    channels : slice or int array
        Visibility channels.
    real_dtype : numpy dtype
        float32 or float64: the precision of the weights returned.
    with_data : bool
        False: only the weights and masks (``data`` is None), e.g. for a PSF.

    Returns
    -------
    list of Product(data, weight, mask), one per image product
        ``data`` complex [nrow, nchan_sel] in ``vis.vis.dtype`` (a view of ``vis.vis`` when
        the product is a visibility product, e.g. imaging Stokes I from Stokes I data);
        ``weight`` [nrow, nchan_sel] of ``real_dtype``: ``vis.weight`` with flagged
        samples 0 (for combined products, the weight of the combination, DESIGN §3);
        ``mask`` uint8 [nrow, nchan_sel], 1 where the weight is non-zero, or None when all
        are: flagged samples are skipped, so NaN in flagged data cannot leak into images.
    """
    src = vis.polarisation_frame
    m = vis_to_image_matrix(src, image_frame)
    nrow = vis.ntime * vis.nbaseline
    v = vis.vis[:, :, channels]
    wts = vis.weight[:, :, channels]
    flg = vis.flags[:, :, channels]
    nch = v.shape[2]
    combined = None
    out = []
    for i in range(image_frame.npol):
        (nz,) = np.nonzero(m[i])
        if nz.size == 1 and m[i, nz[0]] == 1:
            j = int(nz[0])
            w, f = wts[..., j], flg[..., j]
            data = v[..., j].reshape(nrow, nch) if with_data else None
        else:
            if combined is None:
                combined = correlation_weights(wts, flg, src, image_frame, axis=-1)
            w, f = combined[0][..., i], combined[1][..., i]
            data = None
            if with_data:
                data = np.zeros((nrow, nch), dtype=v.dtype)
                for j in nz:
                    data += (v[..., j] * v.dtype.type(m[i, j])).reshape(nrow, nch)
        w = w.reshape(nrow, nch)
        if f.any():
            w = np.where(f.reshape(nrow, nch), 0.0, w)
        w = w.astype(real_dtype, copy=False)
        zero = w == 0
        mask = np.logical_not(zero).view(np.uint8) if zero.any() else None
        out.append(Product(data, w, mask))
    return out
