"""Where an image's pixels are on the sky, relative to the visibilities' phase centre.

Every gridder (the built-in ducc0 ones, the DFT, plugins) uses these helpers, so all of
them image the same thing: pixel ``(y, x)`` is the direction its WCS gives (unrotated SIN,
CDELT1 < 0 < CDELT2). In the *image frame* — the uvw frame whose w axis points at the
image's reference direction CRVAL — that pixel has direction cosines

    ``l = l0 - (x - nx//2) * cell_x``,   ``m = m0 + (y - ny//2) * cell_y``

with ``(l0, m0)`` those of the centre pixel ``(ny//2, nx//2)`` (zero when CRPIX = N/2 + 1).

- CRVAL at the phase centre (any CRPIX, e.g. a facet cut from a larger image): the image
  frame is the visibilities' frame, and the gridder only shifts its grid to ``(l0, m0)``
  (ducc0's ``center_x/center_y``): exact, no copy of the data.
- CRVAL elsewhere: the visibilities are phase-rotated to the image frame, exactly:
  ``uvw' = R uvw`` and ``V' = V exp(-2πi (w' - w) ν/c)`` (``R`` turns the phase centre's uvw
  axes into CRVAL's). A grid merely shifted in the phase centre's plane would depart from
  the image's WCS by ~``r0 r / cell`` pixels (``r0`` the offset, ``r`` the half field: 0.3
  pixel for a 1-degree image half a degree off), so that is not done.

The image must lie above the phase centre's horizon (PhaseCentreMismatchError otherwise).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from astropy.coordinates import SkyCoord

from uvflow.datamodels import SPEED_OF_LIGHT, Image

from .errors import ImagingError, PhaseCentreMismatchError

__all__ = [
    "ImageGeometry",
    "direction_cosines",
    "uvw_basis",
    "image_geometry",
    "point_source_vis",
    "rephase",
]

log = logging.getLogger(__name__)


def direction_cosines(direction: SkyCoord, phasecentre: SkyCoord):
    """SIN-projected ``(l, m, n)`` of ``direction`` relative to ``phasecentre``.

    ``l = cos δ sin(α-α0)``, ``m = sin δ cos δ0 - cos δ sin δ0 cos(α-α0)``,
    ``n = sqrt(1 - l² - m²)`` (``l`` east, ``m`` north; ICRS angles; ``n`` < 0 behind).

    Returns
    -------
    l, m, n : float or numpy.ndarray of float64, the shape of ``direction``
    """
    d, p = direction.icrs, phasecentre.icrs
    ra, dec = d.ra.rad, d.dec.rad
    ra0, dec0 = p.ra.rad, p.dec.rad
    l = np.cos(dec) * np.sin(ra - ra0)  # noqa: E741
    m = np.sin(dec) * np.cos(dec0) - np.cos(dec) * np.sin(dec0) * np.cos(ra - ra0)
    n = np.sin(dec) * np.sin(dec0) + np.cos(dec) * np.cos(dec0) * np.cos(ra - ra0)
    return l, m, n


def uvw_basis(direction: SkyCoord) -> np.ndarray:
    """Rows: the u, v, w axes of ``direction``'s uvw frame in ICRS Cartesian, float64 [3, 3]."""
    d = direction.icrs
    a, b = d.ra.rad, d.dec.rad
    return np.array(
        [
            [-np.sin(a), np.cos(a), 0.0],
            [-np.sin(b) * np.cos(a), -np.sin(b) * np.sin(a), np.cos(b)],
            [np.cos(b) * np.cos(a), np.cos(b) * np.sin(a), np.sin(b)],
        ]
    )


@dataclass(frozen=True)
class ImageGeometry:
    """Pixel grid of an image in its own frame (see the module docstring).

    ``cell_x``, ``cell_y`` radians (> 0); ``(l0, m0)`` the centre pixel's direction
    cosines in the image frame; ``rotation`` the matrix R [3, 3] taking the visibility
    phase centre's uvw to the image frame's, or None when they are the same frame.
    """

    nx: int
    ny: int
    cell_x: float
    cell_y: float
    l0: float
    m0: float
    rotation: np.ndarray | None = None

    def pixel_l(self) -> np.ndarray:
        """Image-frame ``l`` of every column, float64 [nx]."""
        return self.l0 - (np.arange(self.nx) - self.nx // 2) * self.cell_x

    def pixel_m(self) -> np.ndarray:
        """Image-frame ``m`` of every row, float64 [ny]."""
        return self.m0 + (np.arange(self.ny) - self.ny // 2) * self.cell_y

    def max_radius(self, pad: float = 1.0) -> float:
        """Largest image-frame ``sqrt(l² + m²)`` over the image grown ``pad`` times."""
        hx = pad * (self.nx / 2 + 0.5) * self.cell_x
        hy = pad * (self.ny / 2 + 0.5) * self.cell_y
        return float(np.hypot(abs(self.l0) + hx, abs(self.m0) + hy))

    def to_phasecentre_frame(self, l, m):  # noqa: E741
        """Image-frame direction cosines → the phase centre's ``(l, m, n)``."""
        n = np.sqrt(1.0 - l * l - m * m)
        if self.rotation is None:
            return l, m, n
        vec = np.stack(np.broadcast_arrays(l, m, n), axis=-1) @ self.rotation  # R^T applied
        return vec[..., 0], vec[..., 1], vec[..., 2]

    def pixel_lmn(self):
        """The phase centre's ``(l, m, n)`` of every pixel, each float64 [ny, nx]."""
        l, m = np.meshgrid(self.pixel_l(), self.pixel_m())  # noqa: E741
        return self.to_phasecentre_frame(l, m)

    def centre_lmn(self):
        """The phase centre's ``(l, m, n)`` of the centre pixel (ny//2, nx//2)."""
        return tuple(
            float(c) for c in self.to_phasecentre_frame(np.float64(self.l0), np.float64(self.m0))
        )

    def gridding_uvw(self, uvw: np.ndarray):
        """uvw [nrow, 3] in the image frame, and ``w' - w`` [nrow] (None without rotation)."""
        if self.rotation is None:
            return uvw, None
        rotated = uvw @ self.rotation.T
        return rotated, rotated[:, 2] - uvw[:, 2]


def _check_wcs(image: Image) -> tuple[float, float]:
    w = image.wcs.wcs
    ctype = [str(w.ctype[0]).upper(), str(w.ctype[1]).upper()]
    if not all(c.endswith("SIN") for c in ctype):
        raise ImagingError(
            f"imaging needs a SIN projection (RA---SIN, DEC--SIN); image has {ctype}"
        )
    pc = image.wcs.celestial.wcs.get_pc()
    if not np.allclose(pc, np.eye(2), atol=1e-12):
        raise ImagingError(f"imaging needs an unrotated image (PC = identity); image has PC {pc}")
    cdelt1, cdelt2 = float(w.cdelt[0]), float(w.cdelt[1])
    if not (cdelt1 < 0 < cdelt2):
        raise ImagingError(
            f"imaging needs CDELT1 < 0 < CDELT2 (RA increasing to the left); "
            f"image has CDELT1={cdelt1}, CDELT2={cdelt2}"
        )
    return np.deg2rad(-cdelt1), np.deg2rad(cdelt2)


def image_geometry(image: Image, phasecentre: SkyCoord) -> ImageGeometry:
    """The pixel grid of ``image`` for visibilities phased to ``phasecentre``.

    Raises
    ------
    ImagingError
        Not an unrotated SIN image with CDELT1 < 0 < CDELT2.
    PhaseCentreMismatchError
        The image reaches its own horizon, or lies (partly) behind the phase centre's.
    """
    cell_x, cell_y = _check_wcs(image)
    nx, ny = image.nx, image.ny
    crpix = image.wcs.wcs.crpix
    l0 = -cell_x * (nx // 2 - (crpix[0] - 1.0))
    m0 = cell_y * (ny // 2 - (crpix[1] - 1.0))
    ref = image.phasecentre
    a, b, c = direction_cosines(ref, phasecentre)
    same = np.hypot(a, b) <= 1e-12 and c > 0
    rotation = None if same else uvw_basis(ref) @ uvw_basis(phasecentre).T
    geom = ImageGeometry(nx, ny, cell_x, cell_y, float(l0), float(m0), rotation)
    if geom.max_radius() >= 1.0:
        raise PhaseCentreMismatchError(
            f"the {ny}x{nx} image of {np.rad2deg(cell_x):.4g}-degree pixels reaches beyond the "
            "horizon of its centre (l² + m² >= 1); use fewer or smaller pixels"
        )
    if not same:
        hx, hy = (nx // 2 + 1) * cell_x, (ny // 2 + 1) * cell_y
        corners_l = l0 + np.array([-hx, hx, -hx, hx])
        corners_m = m0 + np.array([-hy, -hy, hy, hy])
        _, _, n = geom.to_phasecentre_frame(corners_l, corners_m)
        if np.min(n) <= 0:
            raise PhaseCentreMismatchError(
                f"image reference direction ({ref.ra.deg:.6f}, {ref.dec.deg:.6f}) deg: the image "
                "reaches behind the horizon of the visibility phase centre "
                f"({phasecentre.icrs.ra.deg:.6f}, {phasecentre.icrs.dec.deg:.6f}) deg; "
                "image within 90 degrees of the phase centre"
            )
        log.debug(
            "image frame rotated from the phase centre by %.4g deg",
            np.rad2deg(np.arcsin(np.hypot(a, b))),
        )
    return geom


def point_source_vis(uvw: np.ndarray, frequency: np.ndarray, l, m, dtype) -> np.ndarray:  # noqa: E741
    """``exp(+2πi ν/c (u l + v m + w (n - 1)))`` [nrow, nchan] of ``dtype``.

    Broadcast ones (no copy) when ``l = m = 0``.
    """
    nrow, nch = uvw.shape[0], frequency.size
    if l == 0 and m == 0:
        return np.broadcast_to(np.ones((1, 1), dtype=dtype), (nrow, nch))
    n = np.sqrt(1.0 - l * l - m * m)
    path = uvw @ np.array([l, m, n - 1.0])
    phase = (2 * np.pi / SPEED_OF_LIGHT) * path[:, None] * frequency[None, :]
    return np.exp(1j * phase).astype(dtype, copy=False)


def rephase(data: np.ndarray, dw: np.ndarray, frequency: np.ndarray, sign: float) -> np.ndarray:
    """``data × exp(sign 2πi dw ν/c)``, a new [nrow, nchan] array of ``data``'s dtype."""
    phase = (sign * 2 * np.pi / SPEED_OF_LIGHT) * dw[:, None] * frequency[None, :]
    return (data * np.exp(1j * phase)).astype(data.dtype, copy=False)
