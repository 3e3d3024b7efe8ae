"""The per-region steps of MPCCAL (model partition calibration), as plain numpy kernels.

These functions never import dask: :mod:`uvflow.pipelines.mpccal` wires them into a graph
with ``rsexecute``. See that module for the algorithm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from uvflow.calibration import apply_gaintable, create_gaintable_from_visibility, solve_gaintable
from uvflow.datamodels import GainTable, Image, SkyModel, Visibility
from uvflow.imaging import CleanSettings, GriddingSettings, deconvolve_cube

__all__ = [
    "MPCCALError",
    "MPCCALSettings",
    "WINDOWS",
    "prepare_region",
    "psf_image",
    "cross_subtract",
    "residual_image",
    "clean_window",
    "update_region",
]

log = logging.getLogger(__name__)

WINDOWS = ("none", "component")


class MPCCALError(ValueError):
    """Bad input to MPCCAL: the message says what was wrong and what is allowed."""


def prepare_region(theta: SkyModel, model: Image, visobs: Visibility, k: int) -> SkyModel:
    """Check one region's SkyModel and fill in what MPCCAL needs.

    An image is added (zeros like ``model``) when the region has none, and a unit phase
    gain table ('T', one solution per integration) when it has no gain table.

    Parameters
    ----------
    theta : SkyModel
        The region: components and/or ``image`` (Jy/pixel, ``model``'s shape), ``mask``
        (1 inside the region, 0 outside; [nchan|1, npol|1, ny, nx] like ``model``), and
        optionally a ``gaintable``.
    model : Image
        The template image: ``data[nchan, npol, ny, nx]``.
    visobs : Visibility
        The observed data (for a new gain table).
    k : int
        Region index (for messages).

    Returns
    -------
    SkyModel
        A new SkyModel (``theta`` is not changed).
    """
    if not isinstance(theta, SkyModel):
        raise MPCCALError(f"theta_list[{k}] must be a SkyModel, got {type(theta).__name__}")
    image = theta.image
    if image is None:
        image = model.copy(zero=True)
    elif image.shape != model.shape:
        raise MPCCALError(
            f"theta_list[{k}].image has shape {list(image.shape)}; MPCCAL needs the model "
            f"image's shape {list(model.shape)} [nchan, npol, ny, nx]"
        )
    if theta.mask is not None and theta.mask.shape[-2:] != model.shape[-2:]:
        raise MPCCALError(
            f"theta_list[{k}].mask has {list(theta.mask.shape[-2:])} pixels [ny, nx], the "
            f"model image {list(model.shape[-2:])}"
        )
    gt = theta.gaintable
    if gt is None:
        gt = create_gaintable_from_visibility(visobs, jones_type="T")
    elif not isinstance(gt, GainTable):
        raise MPCCALError(f"theta_list[{k}].gaintable must be a GainTable or None")
    return theta.replace(image=image, gaintable=gt)


@dataclass(frozen=True)
class MPCCALSettings:
    """How MPCCAL updates a region: gridding, its clean window and minor cycle, its solve.

    Parameters
    ----------
    gridding : GriddingSettings
    clean : CleanSettings
        The minor cycle of each region's image update (``niter=0``: gains only).
    window : {'none', 'component'}
        A region's clean window (:func:`clean_window`).
    solve_niter, solve_tol, refant
        The phase-only gain solve (:func:`uvflow.calibration.solve_gaintable`'s ``niter``,
        ``tol``, ``refant``).
    """

    gridding: GriddingSettings
    clean: CleanSettings
    window: str = "none"
    solve_niter: int = 200
    solve_tol: float = 1e-8
    refant: int = 0

    def __post_init__(self) -> None:
        if self.window not in WINDOWS:
            raise MPCCALError(f"window {self.window!r} unknown; use one of {', '.join(WINDOWS)}")


def psf_image(visobs: Visibility, model: Image, gridding: GriddingSettings) -> Image:
    """The PSF of ``visobs`` on ``model``'s grid (phase-only gains leave the weights, so one
    PSF serves every region and every iteration)."""
    psf, _ = gridding.invert(visobs, model, dopsf=True)
    return psf


def cross_subtract(
    visobs: Visibility, model_vis: list[Visibility], theta_list: list[SkyModel]
) -> tuple[Visibility, ...]:
    """The E-step: corrupt each region's model visibilities and cross-subtract.

    With ``V_k = g_k(M_k)`` (``M_k`` the model visibilities of region k, ``g_k`` its gains,
    ``V_ij → g_i V_ij g_j^H``), the data of region k are ``D_k = V_obs − Σ_{j≠k} V_j``.

    Parameters
    ----------
    visobs : Visibility
        ``vis[ntime, nbaseline, nchan, npol]`` complex, the observed data.
    model_vis : list of Visibility
        ``M_k``, uncorrupted, shaped like ``visobs``.
    theta_list : list of SkyModel
        Gives the gain tables ``g_k``.

    Returns
    -------
    tuple of Visibility
        ``(V_obs − Σ_k V_k, D_0, …, D_{K−1})``: the residual and the data of each region.
    """
    corrupted = [
        apply_gaintable(m, t.gaintable).vis for m, t in zip(model_vis, theta_list, strict=True)
    ]
    total = np.sum(corrupted, axis=0)
    residual = visobs.vis - total
    out = [visobs.replace(vis=residual)]
    out += [visobs.replace(vis=residual + v) for v in corrupted]
    return tuple(out)


def residual_image(residual: Visibility, model: Image, gridding: GriddingSettings) -> Image:
    """The dirty image (Jy/beam) of the residual visibilities on ``model``'s grid."""
    image, _ = gridding.invert(residual, model)
    return image


def clean_window(theta: SkyModel, model: Image, window: str) -> np.ndarray:
    """Where region ``theta`` may be cleaned: float [ny, nx] in [0, 1].

    ``'none'``: the region's mask (everywhere when it has none). ``'component'``: only the
    pixels (nearest) of the region's components, inside its mask.
    """
    if window not in WINDOWS:
        raise MPCCALError(f"window {window!r} unknown; use one of {', '.join(WINDOWS)}")
    if theta.mask is None:
        plane = np.ones(model.shape[-2:])
    else:
        plane = np.asarray(theta.mask.data[0, 0], dtype=float)
    if window == "component":
        pixels = np.zeros(model.shape[-2:])
        for comp in theta.components:
            x, y = model.sky_to_pixel(comp.direction)
            ix, iy = int(np.round(float(x))), int(np.round(float(y)))
            if 0 <= iy < model.ny and 0 <= ix < model.nx:
                pixels[iy, ix] = 1.0
        plane = plane * pixels
    return plane


def update_region(
    data: Visibility,
    model_vis: Visibility,
    theta: SkyModel,
    psf: Image,
    model: Image,
    settings: MPCCALSettings,
) -> SkyModel:
    """The M-step of one region: a phase-only gain solve, then an image update.

    1. Gains: ``solve_gaintable(D_k, M_k, gt=g_k, phase_only=True)``, starting from the
       region's current gains.
    2. Image: the region's data corrected by the new gains minus its model,
       ``g_k⁻¹(D_k) − M_k``, is imaged, deconvolved with ``psf`` inside the region's clean
       window (:func:`clean_window`), and the clean components are added to the region's
       image. A ``fixed`` SkyModel keeps its image (its gains are still solved).

    Parameters
    ----------
    data : Visibility
        ``D_k``, complex ``vis[ntime, nbaseline, nchan, npol]``.
    model_vis : Visibility
        ``M_k``, the region's uncorrupted model visibilities, shaped like ``data``.
    theta : SkyModel
        The region (with image and gain table, see :func:`prepare_region`).
    psf : Image
        ``data[nchan, npol, ny, nx]``, the PSF on ``model``'s grid.
    model : Image
        Template image.
    settings : MPCCALSettings

    Returns
    -------
    SkyModel
        A new SkyModel with the updated ``image`` and ``gaintable``.
    """
    gt = solve_gaintable(
        data, model_vis, gt=theta.gaintable, phase_only=True, niter=settings.solve_niter,
        tol=settings.solve_tol, refant=settings.refant,
    )  # fmt: skip
    if theta.fixed or settings.clean.niter == 0:
        return theta.replace(gaintable=gt)
    window = clean_window(theta, model, settings.window)
    if not np.any(window > 0):
        return theta.replace(gaintable=gt)
    corrected = apply_gaintable(data, gt, inverse=True)
    resid = corrected.replace(vis=corrected.vis - model_vis.vis)
    dirty, _ = settings.gridding.invert(resid, model)
    components, _ = deconvolve_cube(dirty, psf, settings.clean, mask=window)
    image = theta.image.replace(data=theta.image.data + components.data)
    log.debug(
        "mpccal region: %s clean components, gain residual %.3g",
        components.meta.get("NITER"), float(np.mean(gt.residual)),
    )  # fmt: skip
    return theta.replace(image=image, gaintable=gt)
