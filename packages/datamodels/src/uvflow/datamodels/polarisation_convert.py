"""Polarisation conversions of whole data models (Visibility, Image).

The products follow :mod:`uvflow.datamodels.polarisation` (``I = (XX + YY)/2`` …). For
visibilities the weights and flags follow the correlations a product is made of (DESIGN
§3): Stokes I from linear feeds is flagged when XX or YY is, and its weight is that of
``(XX + YY)/2`` with independent noise, ``1 / (1/(4 w_XX) + 1/(4 w_YY))``.
"""

from __future__ import annotations

import numpy as np

from .image import Image
from .polarisation import PolarisationFrame, convert_pol, correlation_weights
from .stokes_axis import label_stokes_axis
from .visibility import Visibility

__all__ = ["convert_visibility_polarisation", "convert_image_polarisation"]


def convert_visibility_polarisation(
    vis: Visibility, polarisation_frame: PolarisationFrame | str
) -> Visibility:
    """``vis`` with its products converted to ``polarisation_frame``.

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]`` complex; weights and flags the same shape.
    polarisation_frame : PolarisationFrame or str

    Returns
    -------
    Visibility
        New ``vis`` (same complex dtype), ``weight`` and ``flags`` with the new ``npol``;
        the other arrays are shared with ``vis``. The input itself when the frames agree.

    Raises
    ------
    PolarisationError
        A product of the new frame cannot be formed from the data (e.g. Stokes U from XX, YY).
    """
    dst = PolarisationFrame(polarisation_frame)
    src = vis.polarisation_frame
    if dst == src:
        return vis
    data = convert_pol(vis.vis, src, dst, axis=-1).astype(vis.vis.dtype, copy=False)
    weight, flags = correlation_weights(vis.weight, vis.flags, src, dst, axis=-1)
    return vis.replace(vis=data, weight=weight, flags=flags, polarisation_frame=dst)


def _real_if_negligible_imaginary(data: np.ndarray) -> np.ndarray:
    """``data.real`` when every imaginary part is rounding noise, else ``data``.

    Rounding noise: below 16 ulp of the largest magnitude (a few operations of the
    2×2 conversion, each rounding once).
    """
    if not np.iscomplexobj(data) or data.size == 0:
        return data
    eps = np.finfo(data.real.dtype).eps
    scale = float(np.max(np.abs(data)))
    if float(np.max(np.abs(data.imag))) <= 16 * eps * scale:
        return np.ascontiguousarray(data.real)
    return data


def convert_image_polarisation(im: Image, polarisation_frame: PolarisationFrame | str) -> Image:
    """``im`` with its planes converted to ``polarisation_frame``.

    Parameters
    ----------
    im : Image
        ``data[nchan, npol, ny, nx]`` float or complex.
    polarisation_frame : PolarisationFrame or str

    Returns
    -------
    Image
        Correlation products (linear, circular frames) are complex, since XY = U + iV.
        Stokes products are real when their imaginary parts are zero within rounding
        (images made from real Stokes planes), complex otherwise. The WCS STOKES axis
        labels the new planes (plane k has the FITS code of the new frame's k-th product);
        beam and meta are kept. The input itself when the frames agree.

    Raises
    ------
    PolarisationError
        A product cannot be formed from the planes (e.g. Stokes Q from RR, LL).
    """
    dst = PolarisationFrame(polarisation_frame)
    src = im.polarisation_frame
    if dst == src:
        return im
    data = convert_pol(im.data, src, dst, axis=1)
    real_dtype = im.data.real.dtype if im.data.dtype.kind in "fc" else np.dtype(float)
    if np.iscomplexobj(data) or not dst.is_stokes:
        data = data.astype(np.result_type(real_dtype, np.complex64), copy=False)
    else:
        data = data.astype(real_dtype, copy=False)
    if dst.is_stokes:
        data = _real_if_negligible_imaginary(data)
    wcs = label_stokes_axis(im.wcs, dst)
    if wcs is im.wcs:
        wcs = wcs.deepcopy()
    beam = None if im.clean_beam is None else dict(im.clean_beam)
    return Image(data=data, wcs=wcs, polarisation_frame=dst, clean_beam=beam, meta=dict(im.meta))
