"""Small inversion: grid on a coarser image and Fourier-interpolate to the requested pixels.

When the requested pixels oversample what the uv coverage needs, the gridder can work on a
coarser image of the same field and the result be interpolated to the requested pixels
(DESIGN §5). Done naively (zero-padding the coarse image's FFT) this is *not* accurate: the
dirty image is band-limited but not periodic over the field, and the established imagers
accept ~1% errors near the edges. Here the interpolation is exact to a requested tolerance:

1. The dirty image ``I`` has, along x, spatial frequencies at most
   ``B_x = max_k (|u_k| + s |w_k|)`` (wavelengths), ``s = max |l|/n`` over the field: ``|u|``
   from the uv coverage and ``s |w|`` from the w-term's chirp (zero for the '2d' context).
2. The coarse grid covers the field plus a margin of ``W`` coarse pixels each side. On it,
   ``h = I · φ`` with ``φ`` a "flat-top" window: exactly 1 over the requested field, falling
   to 0 across the margin as the integral of an exponential-of-semicircle (ES) kernel of
   width ``W`` and shape ``β`` (``φ = rect * ES``). ``h`` vanishes at the edges of the period,
   and its spectrum is ``I``'s (≤ B) widened by the ES kernel's, which beyond
   ``β / (π W Δc)`` is below ~``exp(-β)``.
3. With the coarse pixel ``Δc ≤ (1/2 - β/(π W)) / B`` the coarse samples of ``h`` hold all
   of it, so zero-padding their FFT gives ``h`` — hence ``I``, since ``φ = 1`` there — on the
   fine pixels, to ``~exp(-β)``. We take ``β = ln(5/ε) + 1`` (interpolation error ≤ ε/10 on a
   pure tone, measured) and grid the coarse image at ``0.8 ε``.

It is used only where it is cheaper: the coarse image must have at most
``MAX_AREA_FRACTION`` of the fine image's pixels (with w-stacking, whose FFT per w-plane
dominates) or ``MAX_AREA_FRACTION_2D`` (without). Large w-terms raise ``B`` and so the coarse
size; past those limits it is off, so it never costs accuracy, only sometimes speed.
The interpolation ``to_fine`` and its exact transpose ``to_coarse`` keep invert and
predict adjoint.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass

import ducc0
import numpy as np

from uvflow.datamodels import SPEED_OF_LIGHT

from .pixel_geometry import ImageGeometry

__all__ = [
    "MAX_AREA_FRACTION",
    "MAX_AREA_FRACTION_2D",
    "AxisPlan",
    "SmallInversionPlan",
    "band_limits",
    "plan_small_inversion",
]

log = logging.getLogger(__name__)

MAX_AREA_FRACTION = 0.5  # with w-stacking
MAX_AREA_FRACTION_2D = 0.25  # without: one FFT only, gridding dominates


def _es(z: np.ndarray, beta: float) -> np.ndarray:
    out = np.zeros_like(z)
    inside = np.abs(z) < 1
    out[inside] = np.exp(beta * (np.sqrt(1.0 - z[inside] ** 2) - 1.0))
    return out


@functools.cache
def _quadrature(n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes (ascending) and weights on [-1, 1]: numpy's ``leggauss(n)``
    to 1e-14, from ducc0's (0.6 ms; leggauss's eigenvalue problem takes 0.1–0.3 s)."""
    import ducc0

    nodes = np.cos(ducc0.misc.GL_thetas(n))
    weights = ducc0.misc.GL_weights(n, 1) / (2.0 * np.pi)  # per ring of one longitude
    order = np.argsort(nodes)
    return nodes[order], weights[order]


@functools.lru_cache(maxsize=64)
def _flat_window(nc: int, half: float, width: int, beta: float) -> np.ndarray:
    """φ at coarse samples ``j - nc//2``: 1 for |x| ≤ half, ES-integral roll-off over ``width``.

    Cached (every major cycle's invert and predict of an image plan the same windows; the
    quadrature costs ~30 ms per axis): the array returned is read-only.
    """
    x = np.arange(nc, dtype=float) - nc // 2
    a = width / 2.0
    zq, wq = _quadrature()
    norm = a * np.sum(wq * _es(zq, beta))

    def cdf(t):  # ∫_{-a}^{t} ES / norm
        t = np.clip(t, -a, a)
        h = (t + a) / 2
        mid = (t - a) / 2
        return (_es((mid[:, None] + h[:, None] * zq[None, :]) / a, beta) @ wq) * h / norm

    r = half + a
    phi = cdf(x + r) - cdf(x - r)
    phi[np.abs(x) <= half] = 1.0
    phi.flags.writeable = False
    return phi


def _good_even(n: int, parity_with: int = 0) -> int:
    """Smallest FFT-friendly size ≥ n with ``size - parity_with`` even."""
    n = max(int(n), 2)
    while True:
        g = ducc0.fft.good_size(n, True)
        if (g - parity_with) % 2 == 0:
            return g
        n = g + 1


@dataclass(frozen=True)
class AxisPlan:
    """Coarse grid along one axis.

    ``n`` fine pixels of ``cell`` radians; ``nc`` coarse pixels of ``coarse_cell`` covering
    ``nfe`` fine pixels (one period); ``window`` is φ at the coarse pixels, float64 [nc]
    (None until the plan is accepted).
    """

    n: int
    nc: int
    nfe: int
    width: int
    cell: float
    coarse_cell: float
    window: np.ndarray | None


def _plan_axis(n: int, cell: float, band: float, beta: float) -> AxisPlan:
    best = None
    for width in range(8, 400, 2):
        kappa = beta / (np.pi * width)
        if kappa >= 0.45:
            continue
        ratio = (0.5 - kappa) / (band * cell)  # largest coarse_cell / cell
        nc = int(np.ceil(n / ratio + 2 * width))
        while True:
            nc = max(_good_even(nc), 32)
            nfe = _good_even(int(np.ceil(n / (1 - 2 * width / nc))), parity_with=n)
            if nfe / nc <= ratio:
                break
            nc += 2
        if best is None or nc < best[0]:
            best = (nc, nfe, width)
        elif nc > 1.2 * best[0]:
            break
    nc, nfe, width = best
    return AxisPlan(n, nc, nfe, width, cell, nfe * cell / nc, None)


def _with_window(p: AxisPlan, beta: float) -> AxisPlan:
    half = p.n * p.nc / (2 * p.nfe)  # requested half-field in coarse pixels
    return dataclasses.replace(p, window=_flat_window(p.nc, half, p.width, beta))


def band_limits(
    uvw: np.ndarray, fmax: float, geom: ImageGeometry, do_wgridding: bool, pad: float = 1.0
) -> tuple[float, float]:
    """Largest spatial frequency (wavelengths) of the dirty image along x and y.

    ``max_k (|u_k| + s |w_k|)`` with ``s = r/n`` at the largest radius ``r`` of the image
    grown ``pad`` times (the w-term's local frequency ``w l / n``); ``s = 0`` without w.
    uvw in metres [nrow, 3]; ``fmax`` the highest frequency in Hz.
    """
    scale = fmax / SPEED_OF_LIGHT
    if uvw.shape[0] == 0:
        return 0.0, 0.0
    au = np.abs(uvw[:, 0])
    av = np.abs(uvw[:, 1])
    if do_wgridding:
        r = min(geom.max_radius(pad), 0.999)
        s = r / np.sqrt(1 - r * r)
        aw = s * np.abs(uvw[:, 2])
        au, av = au + aw, av + aw
    return float(au.max() * scale), float(av.max() * scale)


@dataclass(frozen=True)
class SmallInversionPlan:
    """A coarse grid (x, y axes) and the interpolation between it and the fine pixels."""

    x: AxisPlan
    y: AxisPlan
    beta: float
    epsilon_gridder: float

    def to_fine(self, coarse: np.ndarray, nthreads: int = 1) -> np.ndarray:
        """Interpolate a coarse image [nc_y, nc_x] to the fine pixels [ny, nx]."""
        out = _axis(coarse, 0, self.y, nthreads)
        return _axis(out, 1, self.x, nthreads)

    def to_coarse(self, fine: np.ndarray, nthreads: int = 1) -> np.ndarray:
        """The exact transpose of :meth:`to_fine`: fine [ny, nx] → coarse [nc_y, nc_x]."""
        out = _axis_t(fine, 0, self.y, nthreads)
        return _axis_t(out, 1, self.x, nthreads)


def _shape(ndim: int, axis: int, n: int) -> list:
    s = [1] * ndim
    s[axis] = n
    return s


def _rfft(a: np.ndarray, axis: int, nthreads: int) -> np.ndarray:
    """``scipy.fft.rfft(a, axis=axis)`` by ducc0."""
    return ducc0.fft.r2c(a, axes=(axis,), nthreads=nthreads)


def _irfft(spec: np.ndarray, n: int, axis: int, nthreads: int) -> np.ndarray:
    """``scipy.fft.irfft(spec, n=n, axis=axis)`` by ducc0: the first ``n // 2 + 1``
    coefficients of ``spec`` along ``axis`` (zeros beyond its length), divided by n."""
    m = n // 2 + 1
    shape = list(spec.shape)
    shape[axis] = m
    full = np.zeros(shape, dtype=spec.dtype)
    k = min(m, spec.shape[axis])
    full[_take(spec.ndim, axis, slice(0, k))] = spec[_take(spec.ndim, axis, slice(0, k))]
    return ducc0.fft.c2r(full, axes=(axis,), lastsize=n, forward=False, inorm=2,
                         nthreads=nthreads, allow_overwriting_input=True)  # fmt: skip


def _take(ndim: int, axis: int, sl: slice) -> tuple:
    idx = [slice(None)] * ndim
    idx[axis] = sl
    return tuple(idx)


def _axis(a: np.ndarray, axis: int, p: AxisPlan, nthreads: int) -> np.ndarray:
    # samples j ↔ x = (j - nc/2) Δc and fine p ↔ (p - nfe/2) Δ: both shifts by half an even
    # period are (-1)^k in frequency and cancel, so no fftshift is needed.
    phi = p.window.astype(a.dtype).reshape(_shape(a.ndim, axis, p.nc))
    spec = _rfft(a * phi, axis, nthreads)
    spec = spec[_take(a.ndim, axis, slice(0, p.nc // 2))]
    full = _irfft(spec, p.nfe, axis, nthreads)
    off = (p.nfe - p.n) // 2
    out = full[_take(a.ndim, axis, slice(off, off + p.n))]
    out *= a.dtype.type(p.nfe / p.nc)
    return out


def _axis_t(a: np.ndarray, axis: int, p: AxisPlan, nthreads: int) -> np.ndarray:
    off = (p.nfe - p.n) // 2
    shape = list(a.shape)
    shape[axis] = p.nfe
    ext = np.zeros(shape, dtype=a.dtype)
    ext[_take(a.ndim, axis, slice(off, off + p.n))] = a
    spec = _rfft(ext, axis, nthreads)
    spec = spec[_take(a.ndim, axis, slice(0, p.nc // 2))]
    out = _irfft(spec, p.nc, axis, nthreads)
    out *= p.window.astype(a.dtype).reshape(_shape(a.ndim, axis, p.nc))
    return out


def plan_small_inversion(
    uvw: np.ndarray,
    frequency: np.ndarray,
    geom: ImageGeometry,
    epsilon: float,
    do_wgridding: bool,
    epsilon_floor: float,
    max_area_fraction: float | None = None,
) -> SmallInversionPlan | None:
    """The small-inversion plan for these data and image, or None where it would not pay.

    Parameters
    ----------
    uvw : numpy.ndarray of float64, shape [nrow, 3]
        Metres, in the image frame.
    frequency : numpy.ndarray of float64, shape [nchan]
        Hz, the channels gridded together.
    geom : ImageGeometry
    epsilon : float
        Requested accuracy; the plan's interpolation is accurate to ε/10.
    do_wgridding : bool
        Whether the gridder corrects the w-term (its chirp widens the image's band).
    epsilon_floor : float
        The smallest epsilon the gridder accepts for this precision.
    max_area_fraction : float, optional
        Use only if coarse pixels ≤ this × fine pixels (default ``MAX_AREA_FRACTION`` or
        ``MAX_AREA_FRACTION_2D``).
    """
    if max_area_fraction is None:
        max_area_fraction = MAX_AREA_FRACTION if do_wgridding else MAX_AREA_FRACTION_2D
    beta = float(np.log(5.0 / epsilon) + 1.0)
    fmax = float(np.max(frequency))
    pad = 1.0
    for _ in range(4):  # the margin widens the field, whose edge sets the w-term band
        bx, by = band_limits(uvw, fmax, geom, do_wgridding, pad)
        if bx <= 0 or by <= 0:
            return None
        px = _plan_axis(geom.nx, geom.cell_x, bx, beta)
        py = _plan_axis(geom.ny, geom.cell_y, by, beta)
        if px.nc * py.nc > max_area_fraction * geom.nx * geom.ny:
            return None
        need = max(px.nfe / px.n, py.nfe / py.n)
        if need <= pad:
            break
        pad = need
    else:
        return None
    px, py = _with_window(px, beta), _with_window(py, beta)
    eps_g = max(0.8 * epsilon, epsilon_floor)
    log.debug(
        "small inversion: coarse %dx%d for %dx%d (band %.4g, %.4g wavelengths, beta %.3g)",
        px.nc, py.nc, geom.nx, geom.ny, bx, by, beta,
    )  # fmt: skip
    return SmallInversionPlan(px, py, beta, eps_g)
