"""Imaging weights as WSClean defines them: natural, uniform, Briggs, rank filter, uv range.

Each function returns a new Visibility whose ``weight`` holds the imaging weights (flags
unchanged, other arrays shared); invert then grids with them. The definition (WSClean 3.1,
pinned by tests against ``wsclean -store-imaging-weights`` and its dirty images) is in
docs/conventions.md, "Imaging weights", and the kernels in :mod:`.weighting_wsclean`:

- the weights are gridded on the half uv plane (``v >= 0``: a sample with ``v < 0`` counts
  at ``(-u, -v)``, once) of the *padded* image (``ceil(n · 1.2)`` rounded up to a multiple
  of 4 cells per axis), each sample and channel in cell
  ``(floor(v H cell_y), floor(u W cell_x + W/2))``; samples off that grid (beyond the pixel
  scale's Nyquist limit) get weight 0;
- factors per cell: uniform ``1/D``, Briggs ``1 / (1 + D s²)`` with
  ``s² = (5·10^-R)² / (Σ D² / Σ D)``, natural 1; then the rank filter (factors above
  ``rank_filter`` × the mean of the non-zero factors of the 16 × 16 cells around are set to
  that), the Gaussian taper and the uv range (``minuv_l``, ``maxuv_l``), both at the cell's
  corner;
- a sample's imaging weight is its data weight (0 where flagged) × its cell's factor.

Several frequency windows (or chunks) share one grid: :func:`grid_weights` sums the weights
of one Visibility, :func:`sum_grid_weights` (or ``+`` of the arrays) adds the windows' grids,
and :func:`apply_grid_weights` weights each window by the total. Densities are per image
channel and per polarisation product of the data. ``(u, v)`` are those the gridder grids: in
the frame of the image's reference direction (the phase centre's uvw rotated when the image
is centred elsewhere, :mod:`uvflow.imaging.pixel_geometry`).

All data flagged (or all weights 0): the grid is empty and every imaging weight is 0 — no
error, a documented empty result; :func:`~uvflow.imaging.invert` then gives its zero image
with ``sumwt`` 0. RASCIL and CASA differ (the full uv plane of the unpadded image, no rank
filter): see the conventions page.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import SPEED_OF_LIGHT, Image, Visibility, to_radians
from uvflow.datamodels.stokes_axis import label_stokes_axis

from .errors import ImagingError
from .layout import channel_groups, uvw_rows
from .pixel_geometry import direction_cosines, image_geometry, uvw_basis
from .weighting_wsclean import half_grid_cells, imaging_factors, weight_grid_shape

__all__ = [
    "WEIGHTINGS",
    "WEIGHT_OPTIONS",
    "weight_visibility",
    "grid_weights",
    "sum_grid_weights",
    "apply_grid_weights",
    "taper_visibility_gaussian",
    "taper_visibility_tukey",
]


WEIGHTINGS = ("natural", "uniform", "robust")
#: apply_grid_weights' options beyond the weighting and R, with their (WSClean) defaults
WEIGHT_OPTIONS = {
    "rank_filter": 3.0,
    "rank_filter_size": 16,
    "minuv_l": 0.0,
    "maxuv_l": 0.0,
    "taper": None,
}
_TIME_BLOCK = 1 << 20  # samples per block when indexing the grid
_META = ("WGTCELLX", "WGTCELLY", "WGTPAD", "WGTSUPER")


def _check_weighting(weighting: str) -> None:
    if weighting not in WEIGHTINGS:
        raise ImagingError(f"weighting {weighting!r} unknown; use natural, uniform or robust")


def _rotation(image: Image, phasecentre) -> np.ndarray | None:
    """R [3, 3] taking the phase centre's uvw to the image frame (None: the same frame);
    as :func:`~uvflow.imaging.pixel_geometry.image_geometry` computes it."""
    a, b, c = direction_cosines(image.phasecentre, phasecentre)
    if np.hypot(a, b) <= 1e-12 and c > 0:
        return None
    return uvw_basis(image.phasecentre) @ uvw_basis(phasecentre).T


def _image_uvw(vis: Visibility, rotation) -> np.ndarray:
    """uvw [ntime, nbaseline, 3] metres in the image's frame: what the gridder grids."""
    if rotation is None:
        return vis.uvw
    return (uvw_rows(vis) @ rotation.T).reshape(vis.uvw.shape)


def _blocks(vis: Visibility):
    per_time = max(vis.nbaseline * vis.nchan, 1)
    step = max(1, _TIME_BLOCK // per_time)
    for t0 in range(0, vis.ntime, step):
        yield slice(t0, min(t0 + step, vis.ntime))


def _sample_cells(vis, uvw, chans, ts, cell_x, cell_y, width, height) -> np.ndarray:
    """Half-grid cell [nt, nb, nch] of every sample of some times and channels (−1: off)."""
    wavelength = SPEED_OF_LIGHT / vis.frequency[chans]
    u = uvw[ts, :, None, 0] / wavelength
    v = uvw[ts, :, None, 1] / wavelength
    return half_grid_cells(u, v, cell_x, cell_y, width, height)


def grid_weights(
    vis: Visibility, model_image: Image, *, padding: float = 1.2, super_weight: float = 1.0
) -> Image:
    """Sum the weights of ``vis`` on WSClean's weighting grid for ``model_image``.

    Parameters
    ----------
    vis : Visibility
        ``weight`` and ``flags`` [ntime, nbaseline, nchan, npol] (flagged samples count 0).
    model_image : Image
        The image to be made: its pixels and cell size set the grid, its channels the
        channel groups (as invert).
    padding : float
        WSClean's ``-padding`` (>= 1, default 1.2): the grid is the padded image's.
    super_weight : float
        WSClean's ``-super-weight`` (> 0, default 1).

    Returns
    -------
    Image
        ``data`` float64 [nchan_image, npol_vis, H // 2, W]: summed weights per cell of the
        half plane ``v >= 0`` (row ``y``, column ``x``: ``v`` in ``[y, y+1) dv``, ``u`` in
        ``[x - W/2, x - W/2 + 1) du``), the model's WCS for reference and the grid's cell
        sizes in ``meta``. Sum such grids over windows with :func:`sum_grid_weights`.
    """
    if not (np.isfinite(padding) and padding >= 1):
        raise ImagingError(f"padding must be >= 1, got {padding!r}")
    if not (np.isfinite(super_weight) and super_weight > 0):
        raise ImagingError(f"super_weight must be > 0, got {super_weight!r}")
    geom = image_geometry(model_image, vis.phasecentre)
    width, height = weight_grid_shape(geom.nx, geom.ny, padding, super_weight)
    uvw = _image_uvw(vis, geom.rotation)
    ncell = (height // 2) * width
    data = np.zeros((model_image.nchan, vis.npol, ncell))
    for group in channel_groups(vis.frequency, model_image):
        chans = np.arange(vis.nchan)[group.vis_channels]
        for ts in _blocks(vis):
            idx = _sample_cells(vis, uvw, chans, ts, geom.cell_x, geom.cell_y, width, height)
            w = np.where(vis.flags[ts][:, :, chans], 0.0, vis.weight[ts][:, :, chans])
            on = idx >= 0
            for p in range(vis.npol):
                plane = data[group.image_channel, p]
                plane += np.bincount(idx[on], weights=w[..., p][on], minlength=ncell)
    wcs = label_stokes_axis(model_image.wcs.deepcopy(), vis.polarisation_frame)
    meta = dict(zip(_META, (geom.cell_x, geom.cell_y, float(padding), float(super_weight))))
    return Image(
        data=data.reshape(model_image.nchan, vis.npol, height // 2, width),
        wcs=wcs,
        polarisation_frame=vis.polarisation_frame,
        meta={"GRIDDED": "uv weights (WSClean half plane)", **meta},
    )


def sum_grid_weights(grids) -> Image:
    """The sum of weight grids from several frequency windows (same image, same frame).

    Parameters
    ----------
    grids : iterable of Image
        From :func:`grid_weights` for the same image and grid options: data float64
        [nchan_image, npol_vis, H // 2, W] each, in one polarisation frame.

    Returns
    -------
    Image
        data float64 [nchan_image, npol_vis, H // 2, W], the cell-by-cell sum, with the first
        grid's WCS, frame and meta.

    Raises
    ------
    ImagingError
        No grids, or grids of different shapes, frames or grid options.
    """
    grids = list(grids)
    if not grids:
        raise ImagingError("sum_grid_weights needs at least one grid")
    first = grids[0]
    for g in grids[1:]:
        same_meta = all(g.meta.get(k) == first.meta.get(k) for k in _META)
        if (
            g.data.shape != first.data.shape
            or g.polarisation_frame != first.polarisation_frame
            or not same_meta
        ):
            raise ImagingError(
                f"weight grids differ: {list(g.data.shape)} {g.polarisation_frame.name} vs "
                f"{list(first.data.shape)} {first.polarisation_frame.name}; grid every window "
                "on the same image with the same padding"
            )
    return first.replace(data=np.sum([g.data for g in grids], axis=0), wcs=first.wcs.deepcopy())


def _check_options(options: dict) -> dict:
    unknown = set(options) - set(WEIGHT_OPTIONS)
    if unknown:
        raise ImagingError(
            f"unknown weighting options {sorted(unknown)}; valid: {', '.join(WEIGHT_OPTIONS)}"
        )
    o = {**WEIGHT_OPTIONS, **options}
    level, size = o["rank_filter"], o["rank_filter_size"]
    if not (np.isfinite(level) and (level == 0 or level >= 1)):
        raise ImagingError(f"rank_filter must be 0 (off) or >= 1, got {level!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ImagingError(f"rank_filter_size must be an integer >= 1, got {size!r}")
    lo, hi = o["minuv_l"], o["maxuv_l"]
    if not (np.isfinite(lo) and np.isfinite(hi) and lo >= 0 and hi >= 0):
        raise ImagingError(f"minuv_l and maxuv_l must be >= 0 (0: no limit), got {lo}, {hi}")
    if 0 < hi <= lo:
        raise ImagingError(f"minuv_l ({lo}) must be below maxuv_l ({hi})")
    if o["taper"] is not None:
        o["taper"] = to_radians(o["taper"])
        if not o["taper"] > 0:
            raise ImagingError(f"taper must be > 0 (image-plane FWHM), got {options['taper']!r}")
    return o


def apply_grid_weights(
    vis: Visibility, grid: Image, weighting: str = "uniform", robustness: float = 0.0, **options
) -> Visibility:
    """Reweight ``vis`` by the summed density ``grid`` (from :func:`grid_weights`).

    Parameters
    ----------
    vis : Visibility
    grid : Image
        Summed weights [nchan_image, npol_vis, H // 2, W] of all the data on the weighting
        grid of the image to be made (for 'natural' only its cells are used).
    weighting : {'natural', 'uniform', 'robust'}
    robustness : float
        Briggs' R (for 'robust').
    **options
        ``rank_filter`` (default 3; 0: off), ``rank_filter_size`` (16), ``minuv_l``,
        ``maxuv_l`` (wavelengths; 0: no limit) and ``taper`` (Gaussian, image-plane FWHM,
        radians or e.g. "20asec"; None: none), as WSClean's options of those names.

    Returns
    -------
    Visibility
        New ``weight`` float64 [ntime, nbaseline, nchan, npol]: the data weight (0 where
        flagged) × its cell's factor, 0 off the grid; other arrays shared.
    """
    _check_weighting(weighting)
    o = _check_options(options)
    if not np.isfinite(robustness):
        raise ImagingError(f"robustness must be a finite number, got {robustness!r}")
    if grid.polarisation_frame != vis.polarisation_frame:
        raise ImagingError(
            f"weight grid is in {grid.polarisation_frame.name}, visibilities in "
            f"{vis.polarisation_frame.name}; grid the same polarisation frame"
        )
    if any(k not in grid.meta for k in _META):
        raise ImagingError("grid has no weighting-grid geometry; make it with grid_weights")
    cell_x, cell_y = grid.meta["WGTCELLX"], grid.meta["WGTCELLY"]
    height, width = 2 * grid.data.shape[2], grid.data.shape[3]
    factors = np.empty((grid.nchan, grid.npol, (height // 2) * width))
    for k in range(grid.nchan):
        for p in range(grid.npol):
            factors[k, p] = imaging_factors(
                grid.data[k, p], cell_x, cell_y, weighting, robustness,
                o["rank_filter"], o["rank_filter_size"], o["taper"], o["minuv_l"], o["maxuv_l"],
            ).ravel()  # fmt: skip
    uvw = _image_uvw(vis, _rotation(grid, vis.phasecentre))
    out = np.zeros(vis.weight.shape)
    for group in channel_groups(vis.frequency, grid):
        chans = np.arange(vis.nchan)[group.vis_channels]
        for ts in _blocks(vis):
            idx = _sample_cells(vis, uvw, chans, ts, cell_x, cell_y, width, height)
            w = np.where(vis.flags[ts][:, :, chans], 0.0, vis.weight[ts][:, :, chans])
            on = idx >= 0
            for p in range(vis.npol):
                f = np.where(on, factors[group.image_channel, p][np.maximum(idx, 0)], 0.0)
                block = out[ts]
                block[:, :, chans, p] = w[..., p] * f
    return vis.replace(weight=out)


def weight_visibility(
    vis: Visibility,
    model_image: Image,
    weighting: str = "natural",
    robustness: float = 0.0,
    grid_weights: Image | None = None,
    **options,
) -> Visibility:
    """Imaging weights for ``vis`` and the image ``model_image`` (WSClean's definition).

    Parameters
    ----------
    vis : Visibility
    model_image : Image
        The image to be made (its padded uv grid sets the density cells).
    weighting : {'natural', 'uniform', 'robust'}
    robustness : float
        Briggs' R, for 'robust'.
    grid_weights : Image, optional
        A density already gridded (e.g. summed over all frequency windows); default: the
        density of ``vis`` alone.
    **options
        As :func:`apply_grid_weights` (``rank_filter`` defaults to 3, as in WSClean).

    Returns
    -------
    Visibility
        New object whose ``weight`` holds the imaging weights; natural weighting without a
        taper or uv range keeps the weights (the same array).

    Raises
    ------
    ImagingError
        Unknown weighting ("weighting 'briggs2' unknown; use natural, uniform or robust").
    """
    _check_weighting(weighting)
    o = _check_options(options)
    if weighting == "natural" and o["taper"] is None and not (o["minuv_l"] or o["maxuv_l"]):
        return vis.replace()
    grid = grid_weights if grid_weights is not None else _grid(vis, model_image)
    return apply_grid_weights(vis, grid, weighting, robustness, **options)


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
