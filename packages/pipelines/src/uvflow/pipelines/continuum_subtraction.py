"""uv-plane continuum subtraction: a low-order polynomial in frequency fitted per sample and removed.

For every (time, baseline, polarisation) the complex visibilities of the line-free channels
are fitted, by weighted least squares, with a polynomial of degree ``degree`` in the
normalised frequency ``x = (ν − ν_mid) / (ν_max − ν_min)·2``; the polynomial is then
subtracted from every channel. A source of smooth spectrum near the phase centre (where its
visibility varies slowly with frequency) is removed; a spectral line, excluded from the fit
by ``line_free_channels``, is kept. A kernel: numpy only.

Where it is valid. A source at angular distance θ from the phase centre has the visibility
phase ``2π ν/c (u l + v m + w (n − 1))``, which turns across a band of fractional width
``f = Δν/ν`` by up to ``α ≈ 2π f θ / θ_b`` on the longest baseline ``B`` (``θ_b = λ/B``,
about the synthesised beam). A polynomial of degree d follows ``exp(iαx/2)``, x in [−1, 1],
to (least squares, worst sample) about ``α/2`` for d = 0, ``0.65 (α/2)²/2`` for d = 1
and ``0.38 (α/2)³/6`` for d = 2 of the source's flux; 1 % is reached at α = 0.02, 0.35, 1.1
and 2.1 for d = 0, 1, 2, 3. So a degree-1 fit is good to 1 % for θ ≲ 0.056 θ_b / f:
19 beams from the phase centre for f = 0.3 % (4 MHz at 1.4 GHz), 0.56 beam for f = 10 %.
Farther sources must be subtracted as a model first (``continuum_model_imagelist`` of the
spectral-line pipeline) or fitted over narrower windows. The source's spectrum adds its own
curvature (a power law of index a over f leaves about ``a(a−1) f²/12`` at degree 1). The image
of a channel shows less than the worst sample: only the longest baselines reach α, and the
odd (first-order) part of the misfit images as a dipole around the source, not as flux at
its position (tests: tests/pipelines/test_pipe_spectral.py, test_pipe_cli_spectral.py).
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.datamodels import Visibility

from .errors import PipelineError

__all__ = ["uv_continuum_subtraction"]

logger = logging.getLogger(__name__)


def _normalised_frequency(freq: np.ndarray) -> np.ndarray:
    span = float(freq.max() - freq.min())
    mid = 0.5 * float(freq.max() + freq.min())
    return (freq - mid) / (span / 2) if span > 0 else np.zeros_like(freq)


def uv_continuum_subtraction(
    vis: Visibility, degree: int = 1, line_free_channels=None
) -> Visibility:
    """Subtract a polynomial-in-frequency fit of the line-free channels from every channel.

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]`` complex, with ``weight`` and ``flags`` of the
        same shape.
    degree : int
        Polynomial degree, >= 0 (0: subtract the weighted mean).
    line_free_channels : sequence of int or bool array [nchan], optional
        Channels to fit (default: all). At least ``degree + 1`` are needed.

    Returns
    -------
    Visibility
        New visibilities (weights kept). Samples with fewer than ``degree + 1`` unflagged,
        positively weighted line-free channels cannot be fitted: they are flagged in every
        channel (logged).

    Raises
    ------
    PipelineError
        A bad degree or channel selection.
    """
    if not isinstance(vis, Visibility):
        raise PipelineError(f"vis must be a Visibility, got {type(vis).__name__}")
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 0:
        raise PipelineError(f"degree must be an integer >= 0, got {degree!r}")
    nchan = vis.nchan
    use = np.ones(nchan, dtype=bool)
    if line_free_channels is not None:
        sel = np.asarray(line_free_channels)
        if sel.dtype == bool:
            if sel.shape != (nchan,):
                raise PipelineError(
                    f"line_free_channels as a mask needs {nchan} values, got {sel.shape}"
                )
            use = sel.copy()
        else:
            if sel.size and (sel.min() < 0 or sel.max() >= nchan):
                raise PipelineError(
                    f"line_free_channels must be in 0..{nchan - 1}, got {sel.tolist()}"
                )
            use = np.zeros(nchan, dtype=bool)
            use[sel.astype(int)] = True
    if use.sum() < degree + 1:
        raise PipelineError(
            f"a degree-{degree} fit needs at least {degree + 1} line-free channels, got {use.sum()}"
        )
    x = _normalised_frequency(np.asarray(vis.frequency, dtype=float))
    basis = np.vander(x, degree + 1, increasing=True)  # [nchan, nterm]
    # samples as rows: [ntime, nbaseline, npol, nchan]
    data = np.moveaxis(vis.vis, 2, -1)
    wt = np.where(np.moveaxis(vis.flags, 2, -1), 0.0, np.moveaxis(vis.weight, 2, -1))
    wt = np.where(np.isfinite(data), wt, 0.0) * use
    safe = np.where(wt > 0, data, 0.0)
    normal = np.einsum("...c,ci,cj->...ij", wt, basis, basis)
    rhs = np.einsum("...c,ci,...c->...i", wt, basis, safe)
    nfit = np.count_nonzero(wt > 0, axis=-1)
    ok = nfit >= degree + 1
    eye = np.eye(degree + 1)
    normal = np.where(ok[..., None, None], normal, eye)
    coef = np.linalg.solve(normal, np.where(ok[..., None], rhs, 0.0)[..., None])[..., 0]
    fit = np.einsum("...i,ci->...c", coef, basis)
    out = np.moveaxis(data - fit, -1, 2).astype(vis.vis.dtype, copy=False)
    flags = vis.flags
    nbad = int(np.count_nonzero(~ok))
    if nbad:
        logger.info("uv_continuum_subtraction: %d samples without enough line-free channels "
                    "flagged", nbad)  # fmt: skip
        flags = vis.flags | np.moveaxis(np.broadcast_to(~ok[..., None], data.shape), -1, 2)
        out = np.where(flags, vis.vis, out)
    return vis.replace(vis=out, flags=flags)
