"""The numerics of fitting a clean beam, in numpy only (restoring needs no scipy).

:func:`main_lobe` finds the connected region of a PSF above a level around its centre (as
``scipy.ndimage.label`` would, 4-connected); :func:`fit_gaussian_form` refines the quadratic
form of an elliptical Gaussian with its peak fixed to 1 by Levenberg–Marquardt (as
``scipy.optimize.least_squares(method='lm')`` would; three parameters, an analytic
Jacobian). Importing scipy.ndimage and scipy.optimize costs over a second of a command's
start-up; these are a few lines of numpy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["main_lobe", "fit_gaussian_form"]


def main_lobe(p: np.ndarray, cy: int, cx: int, level: float) -> np.ndarray:
    """Pixels of ``p`` above ``level`` connected (4-neighbours) to ``(cy, cx)``.

    Parameters
    ----------
    p : numpy.ndarray of float, shape [ny, nx]
        The PSF divided by its peak.
    cy, cx : int
        The centre pixel (``p[cy, cx] > level``, or the result holds no pixel).
    level : float

    Returns
    -------
    numpy.ndarray of bool, shape [ny, nx]
    """
    above = p > level
    lobe = np.zeros_like(above)
    if not above[cy, cx]:
        return lobe
    ny, nx = p.shape
    half = 8
    while True:  # grow a box round the centre until the region does not touch its edge
        y0, y1, x0, x1 = (
            max(cy - half, 0),
            min(cy + half + 1, ny),
            max(cx - half, 0),
            min(cx + half + 1, nx),
        )
        region = _flood(above[y0:y1, x0:x1], cy - y0, cx - x0)
        edge = (region[0].any() and y0 > 0) or (region[-1].any() and y1 < ny)
        edge = edge or (region[:, 0].any() and x0 > 0) or (region[:, -1].any() and x1 < nx)
        if not edge:
            lobe[y0:y1, x0:x1] = region
            return lobe
        half *= 2


def _flood(mask: np.ndarray, y: int, x: int) -> np.ndarray:
    """The 4-connected component of ``mask`` holding (y, x), by repeated dilation."""
    grown = np.zeros_like(mask)
    grown[y, x] = True
    while True:
        new = grown.copy()
        new[1:] |= grown[:-1]
        new[:-1] |= grown[1:]
        new[:, 1:] |= grown[:, :-1]
        new[:, :-1] |= grown[:, 1:]
        new &= mask
        if np.array_equal(new, grown):
            return grown
        grown = new


def fit_gaussian_form(
    e: np.ndarray, n: np.ndarray, v: np.ndarray, start: np.ndarray, max_iter: int = 200
) -> tuple[np.ndarray, float]:
    """Least-squares fit of ``exp(-½ (a e² + 2 b e n + c n²))`` to ``v``.

    Parameters
    ----------
    e, n : numpy.ndarray of float, shape [m]
        Offsets east and north of the samples.
    v : numpy.ndarray of float, shape [m]
        The values (peak 1 at the origin).
    start : numpy.ndarray of float, shape [3]
        ``(a, b, c)`` to start from.
    max_iter : int
        Levenberg–Marquardt steps at most.

    Returns
    -------
    (numpy.ndarray of float [3], float)
        ``(a, b, c)`` and the rms misfit.
    """
    phi = np.stack([e * e, 2.0 * e * n, n * n], axis=1)  # [m, 3]
    q = np.asarray(start, dtype=np.float64).copy()

    def residual(q):
        model = np.exp(-0.5 * (phi @ q))
        return model - v, model

    r, model = residual(q)
    cost = float(r @ r)
    lam = 1e-3
    for _ in range(max_iter):
        jac = -0.5 * phi * model[:, None]
        jtj, jtr = jac.T @ jac, jac.T @ r
        scale = np.diag(jtj).copy()
        scale[scale <= 0] = 1.0
        improved = False
        while lam < 1e16:
            step = np.linalg.solve(jtj + lam * np.diag(scale), -jtr)
            r_new, model_new = residual(q + step)
            cost_new = float(r_new @ r_new)
            if cost_new <= cost:
                improved = True
                break
            lam *= 10.0
        if not improved:
            break
        converged = cost - cost_new <= 1e-15 * max(cost, 1e-300) or np.all(
            np.abs(step) <= 1e-12 * (np.abs(q) + 1e-12)
        )
        q, r, model, cost = q + step, r_new, model_new, cost_new
        lam = max(lam / 10.0, 1e-12)
        if converged:
            break
    return q, float(np.sqrt(cost / max(v.size, 1)))
