"""StefCal (Salvini & Wijnholds 2014): alternating least squares for antenna gains.

Every kernel here is batched: a leading axis runs over independent problems (solution
intervals × frequency solutions × receptors), so all of them iterate together with one
matrix-vector product per iteration (``numpy.matmul`` on ``[nbatch, nant, nant]``).

Scalar update (one complex gain per antenna), for the statistics
``R_ij = Σ w V_ij M_ij^*`` and ``Q_ij = Σ w |M_ij|²`` over the interval::

    g_i ← Σ_j R_ij g_j / Σ_j Q_ij |g_j|²

(the exact least-squares gain of antenna i with the others held fixed). Full 2×2 update,
row ``a`` of ``G_i`` with a weight per correlation::

    G_i[a, :] ← N_i[a, :] · (A_i^(a))^{-1},
    N_i[a, d]     = Σ_j Σ_bc S_ij[a,b,d,c] G_j[b,c]
    A_i^(a)[d, e] = Σ_j Σ_bcf T_ij[a,b,d,c,e,f] G_j[b,c]^* G_j[b,f]

Every second iteration the new iterate is averaged with the previous one (the 0.5
relaxation that makes StefCal converge robustly), and convergence is tested there:
``‖g_new − g_old‖ / ‖g_new‖ ≤ tol`` per problem. Converged problems stop iterating.
An antenna (or receptor row) without data keeps its current value.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "dense_full",
    "dense_scalar",
    "full_normal_matrices",
    "stefcal_full",
    "stefcal_scalar",
]


def _unique_pairs(antenna1: np.ndarray, antenna2: np.ndarray, nant: int) -> bool:
    key = np.minimum(antenna1, antenna2) * nant + np.maximum(antenna1, antenna2)
    return np.unique(key).size == key.size


def dense_scalar(
    values: np.ndarray, antenna1: np.ndarray, antenna2: np.ndarray, nant: int
) -> np.ndarray:
    """Scatter per-baseline sums into Hermitian antenna × antenna matrices.

    Parameters
    ----------
    values : numpy.ndarray of complex128 or float64, shape [nbatch, nbaseline]
    antenna1, antenna2 : numpy.ndarray of int, shape [nbaseline]
        No autocorrelations.
    nant : int

    Returns
    -------
    numpy.ndarray, shape [nbatch, nant, nant]
        ``out[:, a1, a2] = values``, ``out[:, a2, a1] = conj(values)``, zero diagonal.
    """
    nbatch = values.shape[0]
    out = np.zeros((nbatch, nant * nant), dtype=values.dtype)
    other = np.conj(values) if np.iscomplexobj(values) else values
    upper = antenna1 * nant + antenna2
    lower = antenna2 * nant + antenna1
    if _unique_pairs(antenna1, antenna2, nant):
        for k in range(nbatch):  # row by row: ~10x faster than one 2-d fancy assignment
            out[k, upper] = values[k]
            out[k, lower] = other[k]
    else:  # repeated antenna pairs: accumulate (slower, rare)
        np.add.at(out, (slice(None), upper), values)
        np.add.at(out, (slice(None), lower), other)
    return out.reshape(nbatch, nant, nant)


def dense_full(
    S: np.ndarray, T: np.ndarray, antenna1: np.ndarray, antenna2: np.ndarray, nant: int
) -> tuple[np.ndarray, np.ndarray]:
    """Arrange the full-polarisation statistics as matrices for the StefCal products.

    Parameters
    ----------
    S : numpy.ndarray of complex128, shape [nbatch, nbaseline, 2, 2, 2, 2]
        Axes (a, b, d, c) as in the module notes.
    T : numpy.ndarray of complex128, shape [nbatch, nbaseline, 2, 2, 2, 2, 2, 2]
        Axes (a, b, d, c, e, f).

    Returns
    -------
    Smat : numpy.ndarray of complex128, shape [nbatch, nant*4, nant*4]
        Rows (i, a, d), columns (j, b, c).
    Tmat : numpy.ndarray of complex128, shape [nbatch, nant*8, nant*8]
        Rows (i, a, d, e), columns (j, b, c, f).

    Notes
    -----
    The two matrices take ``1280 · nant²`` bytes per problem (84 MB for 256 antennas):
    callers pass batches sized to a memory budget
    (:func:`uvflow.calibration.stefcal_batches.full_solve_batch`), not every interval at once.
    """
    n = S.shape[0]
    sm = np.zeros((n, nant, 2, 2, nant, 2, 2), complex)  # [n, i, a, d, j, b, c]
    tm = np.zeros((n, nant, 2, 2, 2, nant, 2, 2, 2), complex)  # [n, i, a, d, e, j, b, c, f]
    # Baseline (j, i) carries V_ij^H: S_ji[a,b,d,c] = S_ij[b,a,c,d]^*, likewise for T.
    s_fwd = S.transpose(1, 0, 2, 4, 3, 5)  # [nb, n, a, d, b, c]
    s_rev = np.conj(S).transpose(1, 0, 3, 5, 2, 4)
    t_fwd = T.transpose(1, 0, 2, 4, 6, 3, 5, 7)  # [nb, n, a, d, e, b, c, f]
    t_rev = np.conj(T).transpose(1, 0, 3, 5, 7, 2, 4, 6)
    idx = np.s_[:, antenna1, :, :, antenna2]
    ridx = np.s_[:, antenna2, :, :, antenna1]
    tidx = np.s_[:, antenna1, :, :, :, antenna2]
    tridx = np.s_[:, antenna2, :, :, :, antenna1]
    if _unique_pairs(antenna1, antenna2, nant):
        sm[idx], sm[ridx], tm[tidx], tm[tridx] = s_fwd, s_rev, t_fwd, t_rev
    else:
        np.add.at(sm, idx, s_fwd)
        np.add.at(sm, ridx, s_rev)
        np.add.at(tm, tidx, t_fwd)
        np.add.at(tm, tridx, t_rev)
    return sm.reshape(n, nant * 4, nant * 4), tm.reshape(n, nant * 8, nant * 8)


def _unit(g: np.ndarray) -> np.ndarray:
    a = np.abs(g)
    return np.where(a > 0, g / np.where(a > 0, a, 1.0), 1.0 + 0j)


def _iterate(arrays, g0, step, niter, tol, phase_only):
    """The StefCal loop shared by the scalar and full kernels (see the module notes)."""
    nbatch = g0.shape[0]
    project = _unit if phase_only else (lambda x: x)
    g_out = project(np.array(g0, dtype=complex, copy=True))
    iterations = np.full(nbatch, niter, dtype=np.int64)
    converged = np.zeros(nbatch, dtype=bool)
    active = np.arange(nbatch)
    g = g_out.copy()
    live = np.ones(nbatch, dtype=bool)  # positions of `active` not yet converged
    axes = tuple(range(1, g.ndim))
    for it in range(1, niter + 1):
        gn = project(step(arrays, g))
        if it % 2 == 0:
            norm = np.sqrt(np.sum(np.abs(gn) ** 2, axis=axes))
            change = np.sqrt(np.sum(np.abs(gn - g) ** 2, axis=axes)) / np.maximum(norm, 1e-300)
            done = live & (change <= tol)
            if np.any(done):
                g_out[active[done]] = gn[done]
                iterations[active[done]] = it
                converged[active[done]] = True
                live &= ~done
            gn = project(0.5 * (gn + g))
            if not np.any(live):
                return g_out, iterations, converged
            if live.sum() <= 0.75 * live.size:  # drop converged problems from the batch
                arrays = tuple(a[live] for a in arrays)
                gn, active, live = gn[live], active[live], np.ones(int(live.sum()), bool)
        g = gn
    g_out[active[live]] = g[live]
    return g_out, iterations, converged


def _scalar_step(arrays, g):
    R, Q = arrays
    num = np.matmul(R, g[..., None])[..., 0]
    den = np.matmul(Q, (np.abs(g) ** 2)[..., None])[..., 0]
    ok = den > 0
    return np.where(ok, num / np.where(ok, den, 1.0), g)


def stefcal_scalar(
    R: np.ndarray, Q: np.ndarray, g0: np.ndarray, niter: int, tol: float, phase_only: bool
):
    """Solve batched scalar gain problems.

    Parameters
    ----------
    R : numpy.ndarray of complex128, shape [nbatch, nant, nant]
        ``Σ w V_ij M_ij^*`` (Hermitian, zero diagonal).
    Q : numpy.ndarray of float64, shape [nbatch, nant, nant]
        ``Σ w |M_ij|²`` (symmetric, zero diagonal).
    g0 : numpy.ndarray of complex128, shape [nbatch, nant]
        Starting gains.
    niter : int
        Maximum number of iterations.
    tol : float
        Relative change at which a problem has converged.
    phase_only : bool
        Constrain ``|g| = 1`` (each update is then the best phase given the others).

    Returns
    -------
    g : numpy.ndarray of complex128, shape [nbatch, nant]
    iterations : numpy.ndarray of int64, shape [nbatch]
    converged : numpy.ndarray of bool, shape [nbatch]
    """
    return _iterate((R, Q), g0, _scalar_step, niter, tol, phase_only)


def full_normal_matrices(Tmat: np.ndarray, G: np.ndarray) -> np.ndarray:
    """The normal matrices ``A_i^(a)[d, e]`` of the full 2×2 update (module notes).

    Parameters
    ----------
    Tmat : numpy.ndarray of complex128, shape [nbatch, nant*8, nant*8]
        From :func:`dense_full`.
    G : numpy.ndarray of complex128, shape [nbatch, nant, 2, 2]
        Current gains.

    Returns
    -------
    numpy.ndarray of complex128, shape [nbatch, nant, 2, 2, 2]
        Axes (antenna i, row a, d, e).
    """
    n, nant = G.shape[:2]
    H = (np.conj(G)[..., :, None] * G[..., None, :]).reshape(n, nant * 8, 1)
    return np.matmul(Tmat, H).reshape(n, nant, 2, 2, 2)


def _full_step(arrays, G):
    Smat, Tmat = arrays
    n, nant = G.shape[:2]
    num = np.matmul(Smat, G.reshape(n, nant * 4, 1)).reshape(n, nant, 2, 2)
    A = full_normal_matrices(Tmat, G)
    a00, a01, a10, a11 = A[..., 0, 0], A[..., 0, 1], A[..., 1, 0], A[..., 1, 1]
    det = a00 * a11 - a01 * a10
    scale = np.abs(a00) * np.abs(a11)
    ok = (np.abs(det) > 1e-12 * scale) & (scale > 0)
    d = np.where(ok, det, 1.0)
    x0 = (num[..., 0] * a11 - num[..., 1] * a10) / d
    x1 = (-num[..., 0] * a01 + num[..., 1] * a00) / d
    x = np.stack([x0, x1], axis=-1)
    return np.where(ok[..., None], x, G)


def stefcal_full(Smat: np.ndarray, Tmat: np.ndarray, G0: np.ndarray, niter: int, tol: float):
    """Solve batched full 2×2 Jones problems (statistics from :func:`dense_full`).

    Parameters
    ----------
    Smat : numpy.ndarray of complex128, shape [nbatch, nant*4, nant*4]
    Tmat : numpy.ndarray of complex128, shape [nbatch, nant*8, nant*8]
    G0 : numpy.ndarray of complex128, shape [nbatch, nant, 2, 2]
    niter : int
    tol : float

    Returns
    -------
    G : numpy.ndarray of complex128, shape [nbatch, nant, 2, 2]
    iterations : numpy.ndarray of int64, shape [nbatch]
    converged : numpy.ndarray of bool, shape [nbatch]
    """
    return _iterate((Smat, Tmat), G0, _full_step, niter, tol, False)
