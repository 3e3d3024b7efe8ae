"""Components → model image (Jy/pixel), and a test image made of random components.

Pixel and flux conventions
--------------------------
A model image is in Jy per pixel: the sum of the pixels a component touches is its flux.
The position of a component is its pixel coordinate through the image's WCS (SIN
projection, 0-based, x along RA decreasing, y along Dec increasing).

- Point components, ``insert_method``:
  ``'nearest'`` (default) all the flux on the nearest pixel (exact for a source at a pixel
  centre, the usual case in tests); ``'bilinear'`` shared among the four surrounding pixels
  with bilinear weights (preserves the flux and the centroid); ``'lanczos'`` a
  Lanczos-3 windowed sinc over 6 × 6 pixels, normalised to sum to 1 (band-limited
  interpolation, preserves the flux).
- Gaussian components are integrated over each pixel (midpoint rule on a sub-grid fine
  enough that the sum differs from the exact integral by < 1e-6 of the flux), within
  ±6σ of the centre; the flat-sky (local tangent plane) approximation is used for the
  shape. A Gaussian whose minor axis is below 0.05 pixel is inserted as a point.
"""

from __future__ import annotations

import logging

import numpy as np
from astropy.coordinates import SkyCoord

from uvflow.datamodels import Image, PolarisationFrame, SkyComponent, create_image

from .errors import SimulationError
from .seeding import SeedLike
from .skycomponents import component_flux_at, create_random_skycomponents

__all__ = ["INSERT_METHODS", "skycomponents_to_image", "create_test_image"]

log = logging.getLogger(__name__)

INSERT_METHODS = ("nearest", "bilinear", "lanczos")
_FWHM_TO_SIGMA = 1.0 / np.sqrt(8.0 * np.log(2.0))
_LANCZOS_A = 3


def _lanczos(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < _LANCZOS_A, np.sinc(x) * np.sinc(x / _LANCZOS_A), 0.0)


def _point_stencil(x: float, y: float, method: str):
    """Pixel indices (iy, ix) and weights summing to 1 for a point at (x, y)."""
    if method == "nearest":
        return np.array([int(np.floor(y + 0.5))]), np.array([int(np.floor(x + 0.5))]), np.ones(1)
    if method == "bilinear":
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        iy = np.array([y0, y0, y0 + 1, y0 + 1])
        ix = np.array([x0, x0 + 1, x0, x0 + 1])
        w = np.array([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy])
        return iy, ix, w
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    offs = np.arange(-_LANCZOS_A + 1, _LANCZOS_A + 1)
    wx, wy = _lanczos(x - (x0 + offs)), _lanczos(y - (y0 + offs))
    w = np.outer(wy, wx)
    w /= w.sum()
    iy, ix = np.meshgrid(y0 + offs, x0 + offs, indexing="ij")
    return iy.ravel(), ix.ravel(), w.ravel()


def _gaussian_stencil(x: float, y: float, params: dict, cell: float):
    """Pixel indices and weights (pixel integrals of a unit-flux Gaussian)."""
    smaj = params["bmaj"] * _FWHM_TO_SIGMA / cell
    smin = params["bmin"] * _FWHM_TO_SIGMA / cell
    if smin < 0.05:
        return None
    pa = params["bpa"]
    major = np.array([-np.sin(pa), np.cos(pa)])  # pixel (x, y): x grows to the west
    minor = np.array([major[1], -major[0]])
    cov = smaj**2 * np.outer(major, major) + smin**2 * np.outer(minor, minor)
    icov = np.linalg.inv(cov)
    half = int(np.ceil(6.0 * smaj)) + 1
    x0, y0 = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
    ss = int(min(64, max(3, np.ceil(2.0 / smin)))) | 1  # odd, sub-pixel step <= smin / 2
    ss = max(1, min(ss, 6000 // (2 * half + 1))) | 1  # bound the work for long thin shapes
    sub = (np.arange(ss) - (ss - 1) / 2) / ss
    px = x0 + np.arange(-half, half + 1)
    py = y0 + np.arange(-half, half + 1)
    dx = (px[:, None] + sub[None, :]).ravel() - x
    dy = (py[:, None] + sub[None, :]).ravel() - y
    qx, qy = np.meshgrid(dx, dy, indexing="xy")
    q = icov[0, 0] * qx * qx + 2 * icov[0, 1] * qx * qy + icov[1, 1] * qy * qy
    dens = np.exp(-0.5 * q) / (2 * np.pi * smaj * smin * ss * ss)
    n = px.size
    w = dens.reshape(n, ss, n, ss).sum(axis=(1, 3))  # [ny, nx]
    iy, ix = np.meshgrid(py, px, indexing="ij")
    return iy.ravel(), ix.ravel(), w.ravel()


def skycomponents_to_image(image: Image, components, insert_method: str = "nearest") -> Image:
    """A new image: ``image`` plus the components, in Jy/pixel (see the module notes).

    Parameters
    ----------
    image : Image
        data [nchan, npol, ny, nx] real; the template (its values are kept and added to).
    components : SkyComponent or list of SkyComponent
        Fluxes are taken at the image's channel frequencies (see
        :func:`component_flux_at`) and converted to its polarisation frame.
    insert_method : {'nearest', 'bilinear', 'lanczos'}
        For point components.

    Returns
    -------
    Image
        Same WCS and dtype, ``meta['BUNIT'] = 'JY/PIXEL'``. Components (or stencil pixels)
        outside the image are skipped, with a logged warning.
    """
    if insert_method not in INSERT_METHODS:
        raise SimulationError(
            f"insert_method {insert_method!r} unknown; use one of {', '.join(INSERT_METHODS)}"
        )
    if np.iscomplexobj(image.data):
        raise SimulationError("skycomponents_to_image needs a real image, not a uv grid")
    comps = [components] if isinstance(components, SkyComponent) else list(components)
    out = image.copy()
    ny, nx = image.ny, image.nx
    cell = image.cellsize
    freq = image.frequency
    outside = 0
    for comp in comps:
        if not isinstance(comp, SkyComponent):
            raise SimulationError(f"components must be SkyComponents, got {type(comp).__name__}")
        x, y = (float(v) for v in image.sky_to_pixel(comp.direction))
        if not (np.isfinite(x) and np.isfinite(y)):
            outside += 1
            continue
        stencil = _gaussian_stencil(x, y, comp.params, cell) if comp.shape == "gaussian" else None
        if stencil is None:
            stencil = _point_stencil(x, y, insert_method)
        iy, ix, w = stencil
        inside = (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx)
        if not inside.any():
            outside += 1
            continue
        flux = component_flux_at(comp, freq, image.polarisation_frame)  # [nchan, npol]
        flux = np.real(flux).astype(out.data.dtype)
        np.add.at(
            out.data,
            (slice(None), slice(None), iy[inside], ix[inside]),
            flux[:, :, None] * w[inside][None, None, :],
        )
    if outside:
        log.warning("%d of %d components lie outside the image: skipped", outside, len(comps))
    out.meta["BUNIT"] = "JY/PIXEL"
    return out


def create_test_image(
    phasecentre: SkyCoord,
    frequency,
    npixel: int = 256,
    cellsize: float = 2e-5,
    channel_bandwidth=None,
    polarisation_frame: PolarisationFrame | str = "stokesI",
    nsources: int = 20,
    flux_limits: tuple[float, float] = (0.05, 2.0),
    gaussian_fraction: float = 0.3,
    seed: SeedLike = 0,
    insert_method: str = "nearest",
) -> Image:
    """A model image (Jy/pixel) of ``nsources`` random components in its central 80 %.

    Equivalent to ``skycomponents_to_image(create_image(...),
    create_random_skycomponents(phasecentre, 0.8 * npixel * cellsize, frequency,
    nsources=nsources, flux_limits=flux_limits, slope=2.5, gaussian_fraction=...,
    gaussian_size=(2 * cellsize, 10 * cellsize), polarisation_frame=..., seed=seed))``: call
    that to get the components too.

    Parameters
    ----------
    phasecentre : SkyCoord
    frequency : float or array of float [nchan]
        Hz, evenly spaced.
    npixel : int
    cellsize : float
        Radians.
    channel_bandwidth : float, optional
        Hz.
    polarisation_frame : PolarisationFrame or str
    nsources : int
    flux_limits : (float, float)
        Jy.
    gaussian_fraction : float
    seed : int, SeedSequence, Generator or None
    insert_method : str
        For the point components.
    """
    image = create_image(
        npixel, cellsize, phasecentre, frequency, channel_bandwidth=channel_bandwidth,
        polarisation_frame=polarisation_frame,
    )  # fmt: skip
    comps = create_random_skycomponents(
        phasecentre, 0.8 * npixel * cellsize, frequency, nsources=nsources,
        flux_limits=flux_limits, slope=2.5, gaussian_fraction=gaussian_fraction,
        gaussian_size=(2 * cellsize, 10 * cellsize), polarisation_frame=polarisation_frame,
        seed=seed,
    )  # fmt: skip
    return skycomponents_to_image(image, comps, insert_method=insert_method)
