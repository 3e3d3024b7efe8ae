"""Scale basis functions of multi-scale CLEAN and the convolutions built from them.

A scale of width ``s`` pixels (Cornwell 2008, IEEE JSTSP 2, 793) is the tapered paraboloid
``ψ(r) (1 - r²)`` for ``r = d / (s/2) < 1`` (``d`` the distance in pixels from the centre,
``ψ`` the prolate spheroidal wave function of Schwab 1984, m = 6, α = 1, which tapers it
smoothly to zero), normalised to unit sum; scale 0 is a single pixel (a delta). Kernels are
square with odd side ``2h + 1``, ``h = ceil(s / 2)``, centred on pixel (h, h).
"""

from __future__ import annotations

import math

import ducc0
import numpy as np

from .convolution import ImageConvolver, convolve_same
from .errors import DeconvolutionError

__all__ = [
    "spheroidal",
    "scale_kernel",
    "check_scales",
    "scale_bias_factors",
    "convolve_scale_stack",
    "cross_scale_psf",
    "scale_windows",
]

# Rational approximation of the m = 6, α = 1 spheroidal function on two ranges of ν
# (Schwab 1984, "Optimal gridding of visibility data"): ψ = P(η) / Q(η), η = ν² - ν_end².
_SPH_P = np.array(
    [
        [8.203343e-2, -3.644705e-1, 6.278660e-1, -5.335581e-1, 2.312756e-1],
        [4.028559e-3, -3.697768e-2, 1.021332e-1, -1.201436e-1, 6.412774e-2],
    ]
)
_SPH_Q = np.array([[1.0, 8.212018e-1, 2.078043e-1], [1.0, 9.599102e-1, 2.918724e-1]])


def spheroidal(nu: np.ndarray) -> np.ndarray:
    """ψ(ν) for ν in [0, 1] (0 outside), float64 of ``nu``'s shape."""
    nu = np.abs(np.asarray(nu, dtype=np.float64))
    part = (nu >= 0.75).astype(int)
    nu_end = np.where(part == 1, 1.0, 0.75)
    eta = nu**2 - nu_end**2
    top = np.zeros_like(nu)
    for k in range(4, -1, -1):  # Horner
        top = top * eta + _SPH_P[part, k]
    bot = np.zeros_like(nu)
    for k in range(2, -1, -1):
        bot = bot * eta + _SPH_Q[part, k]
    out = np.where((nu <= 1.0) & (bot != 0.0), top / np.where(bot == 0, 1.0, bot), 0.0)
    return np.maximum(out, 0.0)


def scale_kernel(scale: float) -> np.ndarray:
    """The unit-sum basis function of width ``scale`` pixels, float64 [2h+1, 2h+1]."""
    if scale == 0:
        return np.ones((1, 1))
    h = math.ceil(scale / 2.0)
    d = np.arange(-h, h + 1, dtype=float)
    r = np.hypot(d[:, None], d[None, :]) / (scale / 2.0)
    k = np.where(r < 1.0, spheroidal(r) * (1.0 - r**2), 0.0)
    return k / k.sum()


def check_scales(scales) -> tuple[float, ...]:
    """Scales as a tuple of non-negative, distinct pixel widths (a DeconvolutionError otherwise)."""
    try:
        out = tuple(float(s) for s in np.atleast_1d(scales))
    except (TypeError, ValueError):
        raise DeconvolutionError(f"scales must be numbers (pixels), got {scales!r}") from None
    if not out:
        raise DeconvolutionError("scales must hold at least one scale (0 = point components)")
    if any(not np.isfinite(s) or s < 0 for s in out):
        raise DeconvolutionError(f"scales must be finite and >= 0 pixels, got {out}")
    if len(set(out)) != len(out):
        raise DeconvolutionError(f"scales must be distinct, got {out}")
    return out


def scale_bias_factors(scales, scale_bias: float) -> np.ndarray:
    """Per-scale weights ``1 - scale_bias · s / max(scales)`` of the peak search (favour small scales).

    ``scale_bias`` in [0, 1); 0 treats all scales alike.
    """
    if not (np.isfinite(scale_bias) and 0.0 <= scale_bias < 1.0):
        raise DeconvolutionError(f"scale_bias must be in [0, 1), got {scale_bias}")
    s = np.asarray(scales, float)
    smax = s.max()
    return 1.0 - scale_bias * s / smax if smax > 0 else np.ones_like(s)


def convolve_scale_stack(image: np.ndarray, kernels) -> np.ndarray:
    """``image`` [..., ny, nx] convolved with each kernel (linearly): [nscales, ..., ny, nx].

    A single plane is convolved by :class:`~.convolution.ImageConvolver` (one forward FFT for
    all kernels), in single precision when it is float32; stacks by
    :func:`~.convolution.convolve_same`.
    """
    if image.ndim == 2 and image.dtype.kind == "f":
        dtype = np.float32 if image.dtype == np.float32 else np.float64
        out = np.zeros((len(kernels),) + image.shape, dtype)
        wide = [s for s, k in enumerate(kernels) if k.shape != (1, 1)]
        if wide:
            conv = ImageConvolver(
                image.shape, -np.ones((1, 1)), (0, 0), [kernels[s] for s in wide], dtype
            )
            contiguous = wide == list(range(wide[0], wide[-1] + 1))
            planes = out[wide[0] : wide[-1] + 1] if contiguous else np.zeros_like(out[wide])
            conv.subtract(image, planes)  # planes -= image ⊛ (-k): the convolutions
            if not contiguous:
                out[wide] = planes
        for s, k in enumerate(kernels):
            if k.shape == (1, 1):  # a delta: the image itself, exactly
                out[s] = image * k[0, 0] if k[0, 0] != 1 else image
        return out
    return np.stack([image if k.shape == (1, 1) else convolve_same(image, k) for k in kernels])


def _fast(n: int) -> int:
    return ducc0.fft.good_size(n, True)


def cross_scale_psf(psf: np.ndarray, kernels) -> tuple[np.ndarray, tuple[int, int]]:
    """All ``psf ⊛ k_s ⊛ k_p`` (linear convolutions, computed once by FFT).

    Parameters
    ----------
    psf : numpy.ndarray of float, shape [..., py, px]
        Peak(s) at (py // 2, px // 2).
    kernels : list of numpy.ndarray [2h_s+1, 2h_s+1]

    Returns
    -------
    stack : numpy.ndarray, shape [nscales, nscales, ..., py + 2H, px + 2H]
        ``H = 2 max(h_s)``: padded so that no part of any convolution is cut off. float32
        (computed in single precision) for a float32 PSF, else float64.
    centre : (int, int)
        The pixel of the stack on which the PSF centre lies: (py // 2 + H, px // 2 + H).
    """
    hs = [k.shape[0] // 2 for k in kernels]
    H = 2 * max(hs)
    py, px = psf.shape[-2:]
    PY, PX = py + 2 * H, px + 2 * H
    fy, fx = _fast(PY), _fast(PX)
    dtype = np.float32 if psf.dtype == np.float32 else np.float64
    # the PSF placed with its centre at (py//2 + H, px//2 + H) of the padded grid
    grid = np.zeros(psf.shape[:-2] + (fy, fx), dtype)
    grid[..., H : H + py, H : H + px] = psf
    fpsf = ducc0.fft.r2c(grid, axes=(-2, -1))
    fk = []
    for k, h in zip(kernels, hs):  # kernels centred on (0, 0), wrapped: a pure convolution
        g = np.zeros((fy, fx), dtype)
        d = np.arange(-h, h + 1)
        g[np.ix_(d % fy, d % fx)] = k
        fk.append(ducc0.fft.r2c(g, axes=(0, 1)))
    ns = len(kernels)
    out = np.zeros((ns, ns) + psf.shape[:-2] + (PY, PX), dtype)
    for s in range(ns):
        for p in range(s, ns):
            spec = fpsf * (fk[s] * fk[p])
            conv = ducc0.fft.c2r(spec, axes=(-2, -1), lastsize=fx, forward=False, inorm=2,
                                 allow_overwriting_input=True)[..., :PY, :PX]  # fmt: skip
            out[s, p] = conv
            if p != s:
                out[p, s] = conv
    return out, (py // 2 + H, px // 2 + H)


def scale_windows(
    window: np.ndarray | None, kernels, shape: tuple[int, int], dtype=np.float64
) -> np.ndarray | None:
    """Per-scale windows [nscales, ny, nx] of ``dtype``: where a scale's blob may be centred.

    A blob of scale s (half-width h) may be centred on a pixel when it lies wholly inside
    the image (at least h pixels from every border: a blob cut by the border would make the
    model and the residual update disagree) and at least 90 % of it lies in the window
    (``(window > 0) ⊛ k_s > 0.9``); the window's weights are kept there. None when there is
    no window and only scale 0.
    """
    if window is None and all(k.shape == (1, 1) for k in kernels):
        return None
    out = np.ones((len(kernels),) + tuple(shape), dtype)
    if window is not None:  # (without one, every blob away from the borders lies inside)
        base = np.asarray(window, dtype=float)
        covered = convolve_scale_stack((base > 0).astype(float), kernels)
        for w, k, cover in zip(out, kernels, covered):
            w[...] = base if k.shape[0] == 1 else np.where(cover > 0.9, base, 0.0)
    for w, k in zip(out, kernels):
        h = k.shape[0] // 2
        if h:
            w[:h], w[-h:], w[:, :h], w[:, -h:] = 0.0, 0.0, 0.0, 0.0
    return out
