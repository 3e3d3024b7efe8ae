"""Imaging weights: natural, uniform and robust (Briggs) weighting, Gaussian and Tukey tapers.

RASCIL's convention: each function returns a new Visibility whose ``weight`` holds the
imaging weights (flags unchanged, other arrays shared); invert then grids with them.

Uniform and robust weighting need the density of weights on the uv grid of the image to be
made. :func:`grid_weights` sums the (flag-zeroed) weights of one Visibility onto that grid;
for several frequency windows sum their grids (:func:`sum_grid_weights`) and hand the total
to :func:`apply_grid_weights` / :func:`weight_visibility` for each window, so that all
windows are weighted by the same density. The grid cell of a sample at (u, v) wavelengths is
``(round(v/dv) + ny//2, round(u/du) + nx//2)`` with ``du = 1/(nx cell_x)``, and each sample is
counted at (u, v) and at (-u, -v) (the visibility at -uv is its conjugate, also imaged).
Samples off the grid (beyond the image's Nyquist limit) see their own weight as density.
(u, v) are those the gridder grids: in the frame of the image's reference direction, i.e.
the phase centre's uvw rotated when the image is centred elsewhere
(:mod:`uvflow.imaging.pixel_geometry`); without the rotation the cells would be off by up to
``|w| sin(offset) · image width`` cells (4 for w = 350 wavelengths 5° off on an 8° image),
which is not negligible.

With ``W_k`` the gridded weights and ``w_i`` a sample's weight in cell ``k(i)``:

- uniform: ``w_i / W_k(i)``;
- robust (Briggs 1995, PhD thesis, New Mexico Tech, §3.2; as CASA/WSClean):
  ``w_i / (1 + W_k(i) f²)``, ``f² = (5 · 10^(-R))² / (Σ_k W_k² / Σ_k W_k)``; R = -2 is
  close to uniform, R = 2 close to natural.

Densities are per image channel and per polarisation product of the data.

All data flagged (or all weights 0): the grid is empty and every imaging weight stays 0 —
no error, a documented empty result — so that a fully flagged window can go through a
workflow; :func:`~uvflow.imaging.invert` then gives its zero image with ``sumwt`` 0.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import SPEED_OF_LIGHT, Image, Visibility, to_radians
from uvflow.datamodels.stokes_axis import label_stokes_axis

from .errors import ImagingError
from .layout import channel_groups, uvw_rows
from .pixel_geometry import image_geometry

__all__ = [
    "WEIGHTINGS",
    "weight_visibility",
    "grid_weights",
    "sum_grid_weights",
    "apply_grid_weights",
    "taper_visibility_gaussian",
    "taper_visibility_tukey",
]


WEIGHTINGS = ("natural", "uniform", "robust")
_TIME_BLOCK = 1 << 20  # samples per block when indexing the grid


def _check_weighting(weighting: str) -> None:
    if weighting not in WEIGHTINGS:
        raise ImagingError(f"weighting {weighting!r} unknown; use natural, uniform or robust")


def _image_uvw(vis: Visibility, geom) -> np.ndarray:
    """uvw [ntime, nbaseline, 3] metres in the image's frame: what the gridder grids.

    The phase centre's uvw for an image whose reference direction (CRVAL) is the phase
    centre; rotated to CRVAL's frame otherwise, exactly as the gridders do
    (:meth:`~uvflow.imaging.pixel_geometry.ImageGeometry.gridding_uvw`).
    """
    if geom.rotation is None:
        return vis.uvw
    rotated, _ = geom.gridding_uvw(uvw_rows(vis))
    return rotated.reshape(vis.uvw.shape)


def _cells(
    vis: Visibility, uvw: np.ndarray, chans: np.ndarray, ts: slice, nx: int, ny: int,
    du: float, dv: float,
):  # fmt: skip
    """Flat grid index [nt, nb, nch] of each sample (−1 off grid) and of its mirror."""
    k = vis.frequency[chans] / SPEED_OF_LIGHT
    u = uvw[ts, :, None, 0] * k
    v = uvw[ts, :, None, 1] * k
    iu = np.rint(u / du).astype(np.int64)
    iv = np.rint(v / dv).astype(np.int64)
    on = (np.abs(iu) < nx // 2) & (np.abs(iv) < ny // 2)
    idx = np.where(on, (iv + ny // 2) * nx + iu + nx // 2, -1)
    mirror = np.where(on, (ny // 2 - iv) * nx + nx // 2 - iu, -1)
    return idx, mirror


def _blocks(vis: Visibility):
    per_time = max(vis.nbaseline * vis.nchan, 1)
    step = max(1, _TIME_BLOCK // per_time)
    for t0 in range(0, vis.ntime, step):
        yield slice(t0, min(t0 + step, vis.ntime))


def grid_weights(vis: Visibility, model_image: Image) -> Image:
    """Sum the weights of ``vis`` on the uv grid of ``model_image``.

    Parameters
    ----------
    vis : Visibility
        ``weight`` and ``flags`` [ntime, nbaseline, nchan, npol] (flagged samples count 0).
    model_image : Image
        Defines the grid (its ny × nx pixels and cell size) and the channels (as invert).

    Returns
    -------
    Image
        ``data`` float64 [nchan_image, npol_vis, ny, nx]: summed weights per uv cell (cell
        (ny//2, nx//2) is u = v = 0), in the data's polarisation frame, the model's WCS for
        reference. Sum such grids over frequency windows with :func:`sum_grid_weights`.
    """
    geom = image_geometry(model_image, vis.phasecentre)
    nx, ny = geom.nx, geom.ny
    du, dv = 1.0 / (nx * geom.cell_x), 1.0 / (ny * geom.cell_y)
    uvw = _image_uvw(vis, geom)
    data = np.zeros((model_image.nchan, vis.npol, ny * nx))
    for group in channel_groups(vis.frequency, model_image):
        chans = np.arange(vis.nchan)[group.vis_channels]
        for ts in _blocks(vis):
            idx, mirror = _cells(vis, uvw, chans, ts, nx, ny, du, dv)
            w = np.where(vis.flags[ts][:, :, chans], 0.0, vis.weight[ts][:, :, chans])
            on = idx >= 0
            for p in range(vis.npol):
                wp = w[..., p][on]
                plane = data[group.image_channel, p]
                plane += np.bincount(idx[on], weights=wp, minlength=ny * nx)
                plane += np.bincount(mirror[on], weights=wp, minlength=ny * nx)
    wcs = label_stokes_axis(model_image.wcs.deepcopy(), vis.polarisation_frame)
    return Image(
        data=data.reshape(model_image.nchan, vis.npol, ny, nx),
        wcs=wcs,
        polarisation_frame=vis.polarisation_frame,
        meta={"GRIDDED": "uv weights"},
    )


def sum_grid_weights(grids) -> Image:
    """The sum of weight grids from several frequency windows (same image, same frame).

    Parameters
    ----------
    grids : iterable of Image
        From :func:`grid_weights` for the same image: data float64
        [nchan_image, npol_vis, ny, nx] each, in one polarisation frame.

    Returns
    -------
    Image
        data float64 [nchan_image, npol_vis, ny, nx], the cell-by-cell sum, with the first
        grid's WCS and frame.

    Raises
    ------
    ImagingError
        No grids, or grids of different shapes or frames.
    """
    grids = list(grids)
    if not grids:
        raise ImagingError("sum_grid_weights needs at least one grid")
    first = grids[0]
    for g in grids[1:]:
        if g.data.shape != first.data.shape or g.polarisation_frame != first.polarisation_frame:
            raise ImagingError(
                f"weight grids differ: {list(g.data.shape)} {g.polarisation_frame.name} vs "
                f"{list(first.data.shape)} {first.polarisation_frame.name}; grid every window "
                "on the same image"
            )
    return first.replace(data=np.sum([g.data for g in grids], axis=0), wcs=first.wcs.deepcopy())


def apply_grid_weights(
    vis: Visibility, grid: Image, weighting: str = "uniform", robustness: float = 0.0
) -> Visibility:
    """Reweight ``vis`` by the gridded density ``grid`` (from :func:`grid_weights`).

    Parameters
    ----------
    vis : Visibility
    grid : Image
        Summed weights [nchan_image, npol_vis, ny, nx] on the uv grid of the image to be made.
    weighting : {'natural', 'uniform', 'robust'}
    robustness : float
        Briggs' R (for 'robust').

    Returns
    -------
    Visibility
        New ``weight`` (float64, 0 where flagged or where the weight was 0); other arrays shared.
    """
    _check_weighting(weighting)
    if weighting == "natural":
        return vis.replace()
    if not np.isfinite(robustness):
        raise ImagingError(f"robustness must be a finite number, got {robustness!r}")
    if grid.polarisation_frame != vis.polarisation_frame:
        raise ImagingError(
            f"weight grid is in {grid.polarisation_frame.name}, visibilities in "
            f"{vis.polarisation_frame.name}; grid the same polarisation frame"
        )
    geom = image_geometry(grid, vis.phasecentre)
    nx, ny = geom.nx, geom.ny
    du, dv = 1.0 / (nx * geom.cell_x), 1.0 / (ny * geom.cell_y)
    uvw = _image_uvw(vis, geom)
    dens = grid.data.reshape(grid.nchan, grid.npol, ny * nx)
    f2 = np.zeros(dens.shape[:2])
    if weighting == "robust":
        total = dens.sum(axis=-1)
        sq = (dens * dens).sum(axis=-1)
        good = total > 0
        f2[good] = (5.0 * 10.0 ** (-robustness)) ** 2 / (sq[good] / total[good])
    out = np.zeros(vis.weight.shape)
    for group in channel_groups(vis.frequency, grid):
        chans = np.arange(vis.nchan)[group.vis_channels]
        k = group.image_channel
        for ts in _blocks(vis):
            idx, _ = _cells(vis, uvw, chans, ts, nx, ny, du, dv)
            w = np.where(vis.flags[ts][:, :, chans], 0.0, vis.weight[ts][:, :, chans])
            on = idx >= 0
            for p in range(vis.npol):
                wp = w[..., p]
                density = np.where(on, dens[k, p][np.maximum(idx, 0)], wp)
                if weighting == "uniform":
                    new = np.divide(wp, density, out=np.zeros_like(wp), where=density > 0)
                else:
                    new = wp / (1.0 + density * f2[k, p])
                block = out[ts]
                block[:, :, chans, p] = new
    return vis.replace(weight=out)


def weight_visibility(
    vis: Visibility,
    model_image: Image,
    weighting: str = "natural",
    robustness: float = 0.0,
    grid_weights: Image | None = None,
) -> Visibility:
    """Imaging weights for ``vis`` and the image ``model_image``.

    Parameters
    ----------
    vis : Visibility
    model_image : Image
        The image to be made (its uv grid sets the density cells).
    weighting : {'natural', 'uniform', 'robust'}
    robustness : float
        Briggs' R, for 'robust'.
    grid_weights : Image, optional
        A density already gridded (e.g. summed over all frequency windows); default: the
        density of ``vis`` alone.

    Returns
    -------
    Visibility
        New object whose ``weight`` holds the imaging weights.

    Raises
    ------
    ImagingError
        Unknown weighting ("weighting 'briggs2' unknown; use natural, uniform or robust").
    """
    _check_weighting(weighting)
    if weighting == "natural":
        return vis.replace()
    grid = grid_weights if grid_weights is not None else _grid(vis, model_image)
    return apply_grid_weights(vis, grid, weighting, robustness)


_grid = grid_weights  # the parameter of weight_visibility shadows the function's name


def _uvdist(vis: Visibility) -> np.ndarray:
    """sqrt(u² + v²) in wavelengths, float64 [ntime, nbaseline, nchan]."""
    r = np.hypot(vis.uvw[..., 0], vis.uvw[..., 1])
    return r[:, :, None] * (vis.frequency / SPEED_OF_LIGHT)[None, None, :]


def taper_visibility_gaussian(vis: Visibility, beam) -> Visibility:
    """Multiply the weights by a Gaussian in uv that smooths the image to ``beam``.

    Parameters
    ----------
    vis : Visibility
    beam : float, str or Quantity
        FWHM (radians if a float, or e.g. "30arcsec") of the image-plane Gaussian the
        taper convolves the PSF with: weights × ``exp(-(π² beam² / (4 ln 2)) (u² + v²))``,
        uv in wavelengths.

    Returns
    -------
    Visibility
        New ``weight``; other arrays shared.
    """
    b = to_radians(beam)
    if not b > 0:
        raise ImagingError(f"taper beam must be > 0, got {beam!r}")
    r = _uvdist(vis)
    taper = np.exp(-(np.pi**2 * b * b / (4 * np.log(2))) * r * r)
    return vis.replace(weight=vis.weight * taper[..., None])


def taper_visibility_tukey(vis: Visibility, tukey_range: tuple[float, float]) -> Visibility:
    """Multiply the weights by an outer Tukey (raised-cosine) taper in uv distance.

    Parameters
    ----------
    vis : Visibility
    tukey_range : (inner, outer)
        Wavelengths: weights are kept up to ``inner``, multiplied by
        ``(1 + cos(π (r - inner) / (outer - inner))) / 2`` between, and 0 beyond ``outer``.

    Returns
    -------
    Visibility
        New ``weight``; other arrays shared.
    """
    try:
        inner, outer = (float(x) for x in tukey_range)
    except (TypeError, ValueError):
        raise ImagingError(
            f"tukey_range must be (inner, outer) in wavelengths, got {tukey_range!r}"
        ) from None
    if not (0 <= inner < outer and np.isfinite(outer)):
        raise ImagingError(f"tukey_range needs 0 <= inner < outer, got ({inner}, {outer})")
    r = _uvdist(vis)
    x = np.clip((r - inner) / (outer - inner), 0.0, 1.0)
    taper = 0.5 * (1 + np.cos(np.pi * x))
    return vis.replace(weight=vis.weight * taper[..., None])
