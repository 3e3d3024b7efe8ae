"""WSClean's imaging-weight grid (WSClean 3.1, ``ImageWeights`` and ``ImageWeightCache``).

Pure numpy kernels (no Dask, no data models) behind :mod:`uvflow.imaging.weighting`; the
definition, with the WSClean source it follows, is in docs/conventions.md ("Imaging
weights"). In short, for an image of ``nx × ny`` pixels of ``cell_x × cell_y`` radians:

- the weighting grid is the *padded* image's uv grid: ``P = ceil(n · padding)`` rounded up
  to a multiple of 4 (WSClean's ``-padding``, default 1.2), then ``W = round(P /
  super_weight)`` made even; cells are ``1 / (W cell)`` wavelengths wide;
- only the half plane ``v ≥ 0`` is kept: a sample with ``v < 0`` is counted at ``(-u, -v)``
  (its conjugate), once; its cell is ``x = floor(u W cell_x + W/2)``,
  ``y = floor(v H cell_y)`` (floor, not round: the cell of ``x`` spans
  ``[(x - W/2) du, (x - W/2 + 1) du)``), on the grid when ``0 ≤ x < W`` and ``y < H/2``;
- a sample off the grid (beyond the pixel scale's Nyquist limit) gets weight 0.

The plane of *factors* (what a sample's weight is multiplied by) is made from the summed
density ``D`` in this order: uniform ``1/D`` (0 where ``D = 0``), Briggs
``1 / (1 + D s²)`` with ``s² = (5·10^-R)² / (Σ D² / Σ D)`` (every cell, also the empty ones:
WSClean 3.1), natural 1; then the rank filter, the Gaussian taper, the inner and outer uv
limits — the last two evaluated at the cell's corner ``((x - W/2) du, y dv)``, not at the
sample.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "weight_grid_shape",
    "half_grid_cells",
    "cell_corner_uv",
    "density_factors",
    "rank_filter",
    "gaussian_taper",
    "uv_range",
    "imaging_factors",
]


def _padded(n: int, padding: float) -> int:
    """WSClean's padded size: ``ceil(n · padding)`` rounded up to a multiple of 4."""
    p = math.ceil(n * padding)
    return p + (4 - p % 4) % 4


def weight_grid_shape(
    nx: int, ny: int, padding: float = 1.2, super_weight: float = 1.0
) -> tuple[int, int]:
    """Width and height ``(W, H)`` of WSClean's full weighting grid (both even).

    Parameters
    ----------
    nx, ny : int
        Image pixels along RA (x) and Dec (y), without padding.
    padding : float
        WSClean's ``-padding`` (>= 1).
    super_weight : float
        WSClean's ``-super-weight`` (> 0): cells ``super_weight`` times larger.

    Returns
    -------
    (int, int)
        The half grid kept is ``[H // 2, W]``.
    """
    out = []
    for n in (nx, ny):
        w = math.floor(_padded(n, padding) / super_weight + 0.5)  # C round(), positive
        out.append(w + w % 2)
    return out[0], out[1]


def half_grid_cells(
    u: np.ndarray, v: np.ndarray, cell_x: float, cell_y: float, width: int, height: int
) -> np.ndarray:
    """Flat index ``y · W + x`` of each sample's cell in the half grid, −1 off the grid.

    Parameters
    ----------
    u, v : numpy.ndarray of float64, any (same) shape
        Wavelengths.
    cell_x, cell_y : float
        Image pixel sizes, radians.
    width, height : int
        The full weighting grid (:func:`weight_grid_shape`).

    Returns
    -------
    numpy.ndarray of int64, the shape of ``u``
    """
    flip = v < 0
    u = np.where(flip, -u, u)
    v = np.where(flip, -v, v)
    x = np.floor(u * width * cell_x + width // 2)
    y = np.floor(v * height * cell_y)
    on = (x >= 0) & (x < width) & (y < height // 2)
    return np.where(on, y * width + x, -1).astype(np.int64)


def cell_corner_uv(width: int, height: int, cell_x: float, cell_y: float):
    """``(u, v)`` wavelengths of each half-grid cell's corner, each float64 [H//2, W]."""
    cu = (np.arange(width) - width // 2) / (width * cell_x)
    cv = np.arange(height // 2) / (height * cell_y)
    return np.broadcast_to(cu[None, :], (height // 2, width)), np.broadcast_to(
        cv[:, None], (height // 2, width)
    )


def density_factors(density: np.ndarray, weighting: str, robustness: float = 0.0) -> np.ndarray:
    """Factors of one half grid from its summed weights (WSClean's ``FinishGridding``).

    Parameters
    ----------
    density : numpy.ndarray of float64, shape [H//2, W]
        Summed (flag-zeroed) data weights per cell; unused for 'natural'.
    weighting : {'natural', 'uniform', 'robust'}
    robustness : float
        Briggs' R.

    Returns
    -------
    numpy.ndarray of float64, shape [H//2, W]
        Natural: 1. Uniform: ``1/D``, 0 where ``D = 0``. Robust: ``1 / (1 + D s²)`` in every
        cell (empty ones give 1, as in WSClean 3.1), all 0 when the grid is empty.
    """
    if weighting == "natural":
        return np.ones(density.shape)
    if weighting == "uniform":
        return np.divide(1.0, density, out=np.zeros(density.shape), where=density != 0)
    total = density.sum()
    if not total > 0:
        return np.zeros(density.shape)
    s2 = (5.0 * 10.0 ** (-robustness)) ** 2 / (np.square(density).sum() / total)
    return 1.0 / (1.0 + density * s2)


def _box_sums(a: np.ndarray, d: int) -> np.ndarray:
    """Sum of ``a`` over the window rows ``[y-d, y+d)``, columns ``[x-d, x+d)`` (clipped).

    Separable sums of ``2d`` terms each (zero padding = clipping), not differences of
    cumulative sums: those would lose digits where the local values are small.
    """
    for axis in (1, 0):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (d, d)
        windows = np.lib.stride_tricks.sliding_window_view(np.pad(a, pad), 2 * d, axis=axis)
        a = windows.sum(axis=-1)[: a.shape[0], : a.shape[1]]
    return a


def rank_filter(factors: np.ndarray, level: float, size: int = 16) -> np.ndarray:
    """WSClean's weighting rank filter: cap each factor at ``level`` × its local mean.

    The local mean of cell ``(y, x)`` is over the non-zero cells of the window of rows
    ``[y - size//2, y + size//2)`` and columns ``[x - size//2, x + size//2)`` of the half
    grid (clipped at its edges), taken from the unfiltered factors.

    Parameters
    ----------
    factors : numpy.ndarray of float64, shape [H//2, W]
    level : float
        ``< 1``: no filtering (WSClean's rule).
    size : int
        Window size in cells (WSClean's ``-weighting-rank-filter-size``, default 16).

    Returns
    -------
    numpy.ndarray of float64, shape [H//2, W]
    """
    d = int(size) // 2
    if level < 1.0 or d == 0:  # size 1: an empty window, as in WSClean
        return factors
    total = _box_sums(factors, d)
    count = _box_sums((factors != 0).astype(np.float64), d)
    cap = level * np.divide(total, count, out=np.full(total.shape, np.inf), where=count > 0)
    return np.where((factors != 0) & (factors > cap), cap, factors)


def gaussian_taper(factors: np.ndarray, cu: np.ndarray, cv: np.ndarray, fwhm: float) -> np.ndarray:
    """Multiply by WSClean's Gaussian taper at the cells' corners.

    ``exp(-(u² + v²) / (2 σ²))`` with ``σ = 2 sqrt(2 ln 2) / (2π fwhm)`` wavelengths, i.e.
    ``exp(-π² fwhm² (u² + v²) / (4 ln 2))``: the image-plane Gaussian of FWHM ``fwhm``
    (radians).
    """
    sigma = 1.0 / (fwhm * 2.0 * math.pi) * (2.0 * math.sqrt(2.0 * math.log(2.0)))
    return factors * np.exp((cu * cu + cv * cv) / (-2.0 * sigma * sigma))


def uv_range(
    factors: np.ndarray, cu: np.ndarray, cv: np.ndarray, minuv: float, maxuv: float
) -> np.ndarray:
    """Zero the cells whose corner lies inside ``minuv`` or beyond ``maxuv`` (0: no limit)."""
    r2 = cu * cu + cv * cv
    out = factors
    if minuv > 0:
        out = np.where(r2 < minuv * minuv, 0.0, out)
    if maxuv > 0:
        out = np.where(r2 > maxuv * maxuv, 0.0, out)
    return out


def imaging_factors(
    density: np.ndarray,
    cell_x: float,
    cell_y: float,
    weighting: str,
    robustness: float = 0.0,
    rank_filter_level: float = 3.0,
    rank_filter_size: int = 16,
    taper: float | None = None,
    minuv: float = 0.0,
    maxuv: float = 0.0,
) -> np.ndarray:
    """The factors of one half grid: density → weighting, rank filter, taper, uv range.

    Parameters
    ----------
    density : numpy.ndarray of float64, shape [H//2, W]
        Summed weights per cell (any values for 'natural': only the shape is used).
    cell_x, cell_y : float
        Image pixel sizes, radians.
    weighting : {'natural', 'uniform', 'robust'}
    robustness : float
    rank_filter_level : float
        WSClean's ``-weighting-rank-filter`` (< 1: off).
    rank_filter_size : int
    taper : float, optional
        Gaussian taper FWHM, radians.
    minuv, maxuv : float
        uv range in wavelengths (0: no limit).

    Returns
    -------
    numpy.ndarray of float64, shape [H//2, W]
        What a sample's (flag-zeroed) data weight is multiplied by.
    """
    height, width = 2 * density.shape[0], density.shape[1]
    f = density_factors(density, weighting, robustness)
    f = rank_filter(f, rank_filter_level, rank_filter_size)
    if taper is not None or minuv > 0 or maxuv > 0:
        cu, cv = cell_corner_uv(width, height, cell_x, cell_y)
        if taper is not None:
            f = gaussian_taper(f, cu, cv, taper)
        f = uv_range(f, cu, cv, minuv, maxuv)
    return f
