"""Kolmogorov phase screens: generation (FFT + subharmonics), screen Images and sampling.

A phase screen is a thin layer of turbulence at a height above the array whose phase (radians,
at a reference frequency) varies over the screen plane with the Kolmogorov structure
function ``D(r) = <(φ(x + r) − φ(x))²> = 6.88 (r / r0)^(5/3)`` (r0 the Fried parameter).

**Generation.** The FFT method (e.g. Schmidt, *Numerical Simulation of Optical Wave
Propagation*, 2010, ch. 9): complex Gaussian modes with the Kolmogorov phase spectrum
``Φ(f) = c r0^(-5/3) f^(-11/3)`` (f in cycles per metre; ``c = 0.02288`` is computed so that
the spectrum integrates to exactly 6.88 (r/r0)^(5/3), the rounded textbook value is 0.023) on
a grid ``padding`` (2) times larger than the screen, so the screen never sees the FFT's
periodic copy of itself, cropped to the screen. An FFT grid of side L has no power below
1/L, where most of the Kolmogorov power is: the deficit falls only as (r/L)^(1/3), so padding
alone cannot fix it (×2 padding still leaves 20% at r = L/8). Sixteen levels of subharmonics
(Lane et al. 1992; Johansson & Gavel 1994: 3×3 grids of modes at 1/(3^p L)) fill it in,
and the modes next to the origin (the FFT cells within 3 of it and every subharmonic) get
the spectrum integrated over their cell, weighted by f² (the small-r form of 1 − cos), not
its value at the cell centre, which undercounts a steep spectrum. The expected structure
function of the result is then within 1% of 6.88 (r/r0)^(5/3) from 4 pixels to a quarter
of the screen (2.2% low at 2 pixels, 7.5% at 1: the power above the Nyquist frequency is
absent: choose the cell size below a quarter of the separations that matter).

**Screen Images.** uvflow's Image has axes RA, DEC, STOKES, FREQ, so a screen is an Image
whose axes 1 and 2 are named ``RA`` and ``DEC`` without a projection code (WCSLIB treats
them as linear) and hold East and North on the screen plane in metres, relative to the
array centre, as RASCIL's ``XX``/``YY`` axes do: ``E = CRVAL1 + CDELT1 (x + 1 − CRPIX1)``
(0-based pixel x; the PC matrix of axes 1–2 is honoured). ``data[0, 0]`` (one channel, one
plane) is the phase in radians at the reference frequency ``meta['REFFREQ']`` (Hz; if absent
the image's FREQ axis, channel 0), for Fried parameter ``meta['R0']`` (m; if absent 5000 m,
RASCIL's reference r0). RASCIL's screens also have a TIME axis (a screen per hour angle);
uvflow's are frozen.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from astropy.wcs import WCS
from scipy.fft import next_fast_len

from uvflow.datamodels import Image, PolarisationFrame

from .errors import SimulationError
from .seeding import SeedLike, make_rng

__all__ = [
    "KOLMOGOROV_PSD_COEFFICIENT",
    "SCREEN_R0",
    "SCREEN_REFERENCE_FREQUENCY",
    "create_kolmogorov_screen",
    "kolmogorov_phase_screen",
    "phase_structure_function",
    "sample_screen",
    "screen_pixel_coordinates",
    "screen_r0",
    "screen_reference_frequency",
]

log = logging.getLogger(__name__)

_GAMMA_INTEGRAL = math.gamma(1 / 6) / (2 ** (5 / 3) * (5 / 3) * math.gamma(11 / 6))
#: c of the phase spectrum c r0^(-5/3) f^(-11/3) (f in cycles/m) whose structure function is
#: exactly 6.88 (r/r0)^(5/3): 2 ∫ Φ(f) (1 − cos 2π f·r) d²f = 4π c (2π)^(5/3) Γ-integral
KOLMOGOROV_PSD_COEFFICIENT = 6.88 / (4 * np.pi * (2 * np.pi) ** (5 / 3) * _GAMMA_INTEGRAL)
#: ``Image.meta`` keys of a screen: its Fried parameter (m) and reference frequency (Hz)
SCREEN_R0 = "R0"
SCREEN_REFERENCE_FREQUENCY = "REFFREQ"
_DEFAULT_SCREEN_R0 = 5000.0  # RASCIL scales its screens relative to r0 = 5 km
_NLOW = 3  # FFT cells within this many of the origin get cell-integrated power
_NSUB = 16  # quadrature points per cell side for those cells


def _psd(f: np.ndarray, r0: float) -> np.ndarray:
    f = np.asarray(f, dtype=float)
    with np.errstate(divide="ignore"):
        p = KOLMOGOROV_PSD_COEFFICIENT * r0 ** (-5 / 3) * f ** (-11 / 3)
    return np.where(f > 0, p, 0.0)


def _cell_power(fx: np.ndarray, fy: np.ndarray, df: float, r0: float) -> np.ndarray:
    """Variance of the modes at (fx, fy) [n]: ∫_cell Φ f² d²f / f_centre² (cell side df)."""
    s = (np.arange(_NSUB) + 0.5) / _NSUB - 0.5
    f = np.hypot(
        fx[:, None, None] + s[None, :, None] * df, fy[:, None, None] + s[None, None, :] * df
    )
    mean = np.mean(_psd(f, r0) * f * f, axis=(1, 2))
    return mean * df * df / (fx * fx + fy * fy)


def kolmogorov_phase_screen(
    shape, cellsize: float, r0: float, seed: SeedLike = None, nlevels: int = 16, padding: int = 2
) -> np.ndarray:
    """A Kolmogorov phase screen (radians) on a regular grid (see the module notes).

    Parameters
    ----------
    shape : (int, int)
        (ny, nx) pixels, each >= 2.
    cellsize : float
        Pixel size, metres (> 0).
    r0 : float
        Fried parameter, metres (> 0).
    seed : int, SeedSequence, Generator or None
        Draws, in this order: the FFT modes' real then imaginary parts [2, n, n], then for
        each subharmonic level the real then imaginary parts [2, 3, 3].
    nlevels : int
        Subharmonic levels (>= 0).
    padding : int
        The FFT grid is ``padding`` times the larger side (>= 1), then cropped.

    Returns
    -------
    numpy.ndarray of float64, shape [ny, nx]
        Mean zero.
    """
    ny, nx = (int(v) for v in shape)
    if ny < 2 or nx < 2:
        raise SimulationError(f"a phase screen needs at least 2 x 2 pixels, got {ny} x {nx}")
    for name, value in (("cellsize", cellsize), ("r0", r0)):
        if not (np.isfinite(value) and value > 0):
            raise SimulationError(f"{name} must be finite and > 0 metres, got {value}")
    if int(nlevels) < 0 or int(padding) < 1:
        raise SimulationError(f"nlevels must be >= 0 and padding >= 1, got {nlevels}, {padding}")
    rng = make_rng(seed)
    n = next_fast_len(int(padding) * max(ny, nx))
    df = 1.0 / (n * cellsize)
    k = np.fft.fftfreq(n, 1.0 / n)
    kx, ky = np.meshgrid(k, k)
    power = _psd(np.hypot(kx, ky) * df, r0) * df * df
    low = (np.maximum(np.abs(kx), np.abs(ky)) <= _NLOW) & ((kx != 0) | (ky != 0))
    power[low] = _cell_power(kx[low] * df, ky[low] * df, df, r0)
    draws = rng.standard_normal((2, n, n))
    modes = (draws[0] + 1j * draws[1]) * np.sqrt(power)
    screen = (np.fft.ifft2(modes) * (n * n))[:ny, :nx].real
    # Subharmonics, each mode c (exp(2πi f·x) − 1) with x from the screen centre (the −1 takes
    # the piston out exactly; exp(iφ) − 1 = 2i sin(φ/2) exp(iφ/2) keeps small phases exact).
    x = (np.arange(nx) - nx / 2) * cellsize
    y = (np.arange(ny) - ny / 2) * cellsize
    for p in range(1, int(nlevels) + 1):
        dfp = df / 3**p
        f3 = np.array([-1.0, 0.0, 1.0]) * dfp
        fx, fy = np.meshgrid(f3, f3)  # [b (y), a (x)]
        pw = np.zeros(9)
        off = (fx.ravel() != 0) | (fy.ravel() != 0)
        pw[off] = _cell_power(fx.ravel()[off], fy.ravel()[off], dfp, r0)
        d = rng.standard_normal((2, 3, 3))
        c = (d[0] + 1j * d[1]) * np.sqrt(pw.reshape(3, 3))
        px, py = 2 * np.pi * np.outer(f3, x), 2 * np.pi * np.outer(f3, y)  # [3, nx], [3, ny]
        exm = 2j * np.sin(px / 2) * np.exp(0.5j * px)
        eym = 2j * np.sin(py / 2) * np.exp(0.5j * py)
        # Σ c_ba (ex_a ey_b − 1) = Σ c_ba (exm_a eym_b + exm_a + eym_b)
        sub = eym.T @ c @ exm + (c.sum(axis=0) @ exm)[None, :] + (eym.T @ c.sum(axis=1))[:, None]
        screen = screen + sub.real
    return screen - screen.mean()


def phase_structure_function(phase: np.ndarray, lags) -> np.ndarray:
    """The structure function of a gridded screen at whole-pixel lags along both axes.

    Parameters
    ----------
    phase : numpy.ndarray of float, shape [ny, nx]
    lags : array of int, shape [nlag]
        Pixels, 1 <= lag < min(ny, nx).

    Returns
    -------
    numpy.ndarray of float64, shape [nlag]
        ``mean((φ(x + lag) − φ(x))²)`` over every pair along x and along y, the two averaged.
    """
    phase = np.asarray(phase, dtype=float)
    out = []
    for lag in np.atleast_1d(lags).astype(int):
        if not 1 <= lag < min(phase.shape):
            raise SimulationError(f"lag {lag} outside 1..{min(phase.shape) - 1} pixels")
        dx = phase[:, lag:] - phase[:, :-lag]
        dy = phase[lag:, :] - phase[:-lag, :]
        out.append(0.5 * (np.mean(dx * dx) + np.mean(dy * dy)))
    return np.asarray(out)


def create_kolmogorov_screen(
    extent, r0: float, cellsize: float, reference_frequency: float, seed: SeedLike = None
) -> Image:
    """A Kolmogorov screen Image covering ``extent`` (see the module notes for its axes).

    Parameters
    ----------
    extent : (float, float, float, float)
        (east_min, east_max, north_min, north_max) on the screen plane, metres.
    r0 : float
        Fried parameter at ``reference_frequency``, metres.
    cellsize : float
        Metres.
    reference_frequency : float
        Hz: the frequency at which the phases are given (FREQ axis and ``meta['REFFREQ']``).
    seed : int, SeedSequence, Generator or None
        See :func:`kolmogorov_phase_screen`.

    Returns
    -------
    Image
        ``data`` float64 [1, 1, ny, nx] radians; pixel (0, 0) at (east_min, north_min);
        ``meta``: BUNIT 'RAD', R0, REFFREQ, SCREEN 'KOLMOGOROV'.
    """
    e0, e1, n0, n1 = (float(v) for v in extent)
    if not (np.all(np.isfinite([e0, e1, n0, n1])) and e1 >= e0 and n1 >= n0):
        raise SimulationError(f"screen extent {extent} must be finite with min <= max")
    if not (np.isfinite(reference_frequency) and reference_frequency > 0):
        raise SimulationError(f"reference_frequency must be > 0 Hz, got {reference_frequency}")
    nx = max(2, int(np.ceil((e1 - e0) / cellsize)) + 1)
    ny = max(2, int(np.ceil((n1 - n0) / cellsize)) + 1)
    phase = kolmogorov_phase_screen((ny, nx), cellsize, r0, seed=seed)
    wcs = WCS(naxis=4)
    wcs.wcs.ctype = ["RA", "DEC", "STOKES", "FREQ"]
    wcs.wcs.crpix = [nx // 2 + 1, ny // 2 + 1, 1.0, 1.0]
    wcs.wcs.crval = [e0 + (nx // 2) * cellsize, n0 + (ny // 2) * cellsize, 1.0, reference_frequency]
    wcs.wcs.cdelt = [cellsize, cellsize, 1.0, 1.0]
    meta = {"BUNIT": "RAD", SCREEN_R0: float(r0), SCREEN_REFERENCE_FREQUENCY: float(reference_frequency),
            "SCREEN": "KOLMOGOROV"}  # fmt: skip
    log.debug("Kolmogorov screen %d x %d of %.3g m cells, r0 %.3g m", ny, nx, cellsize, r0)
    return Image(data=phase[None, None], wcs=wcs, polarisation_frame=PolarisationFrame("stokesI"),
                 meta=meta)  # fmt: skip


def _check_screen(screen) -> None:
    if not isinstance(screen, Image):
        raise SimulationError(
            f"screen must be a uvflow Image (or None), got {type(screen).__name__}"
        )
    if screen.data.shape[:2] != (1, 1):
        raise SimulationError(
            f"a screen Image has one channel and one plane (data [1, 1, ny, nx]), got "
            f"{list(screen.data.shape)}"
        )


def screen_pixel_coordinates(screen: Image, east, north) -> tuple[np.ndarray, np.ndarray]:
    """0-based fractional pixels (x, y) of screen-plane positions (the linear axes 1–2).

    Parameters
    ----------
    screen : Image
    east, north : array of float64, any (common) shape
        Metres.

    Returns
    -------
    (x, y) : numpy.ndarray of float64, the shape of ``east``
    """
    _check_screen(screen)
    w = screen.wcs.wcs
    pc = np.asarray(w.get_pc())[:2, :2]
    cdelt = np.asarray(w.get_cdelt())[:2]
    world = np.stack([np.asarray(east, float), np.asarray(north, float)], axis=-1)
    inter = (world - np.asarray(w.crval[:2])) / cdelt
    pix = inter @ np.linalg.inv(pc).T + np.asarray(w.crpix[:2]) - 1.0
    return pix[..., 0], pix[..., 1]


def sample_screen(screen: Image, east, north) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear interpolation of ``screen.data[0, 0]`` at screen-plane positions.

    Parameters
    ----------
    screen : Image
    east, north : array of float64, any (common) shape
        Metres; NaN for "no position".

    Returns
    -------
    phase : numpy.ndarray of float64, the shape of ``east``
        Screen units (radians); 0 outside the screen.
    inside : numpy.ndarray of bool, the shape of ``east``
    """
    x, y = screen_pixel_coordinates(screen, east, north)
    data = np.asarray(screen.data[0, 0], dtype=float)
    ny, nx = data.shape
    inside = np.isfinite(x) & np.isfinite(y) & (x >= 0) & (x <= nx - 1) & (y >= 0) & (y <= ny - 1)
    xs, ys = np.where(inside, x, 0.0), np.where(inside, y, 0.0)
    i0 = np.clip(np.floor(xs).astype(int), 0, nx - 2)
    j0 = np.clip(np.floor(ys).astype(int), 0, ny - 2)
    fx, fy = xs - i0, ys - j0
    value = (
        data[j0, i0] * (1 - fx) * (1 - fy) + data[j0, i0 + 1] * fx * (1 - fy)
        + data[j0 + 1, i0] * (1 - fx) * fy + data[j0 + 1, i0 + 1] * fx * fy
    )  # fmt: skip
    return np.where(inside, value, 0.0), inside


def screen_reference_frequency(screen: Image) -> float:
    """Hz: ``screen.meta['REFFREQ']``, else the screen's FREQ axis (channel 0)."""
    _check_screen(screen)
    value = float(screen.meta.get(SCREEN_REFERENCE_FREQUENCY, screen.frequency[0]))
    if not (np.isfinite(value) and value > 0):
        raise SimulationError(f"screen reference frequency must be > 0 Hz, got {value}")
    return value


def screen_r0(screen: Image) -> float:
    """Metres: ``screen.meta['R0']``, else 5000 (the r0 RASCIL scales its screens from)."""
    _check_screen(screen)
    value = float(screen.meta.get(SCREEN_R0, _DEFAULT_SCREEN_R0))
    if not (np.isfinite(value) and value > 0):
        raise SimulationError(f"screen r0 must be > 0 metres, got {value}")
    return value
