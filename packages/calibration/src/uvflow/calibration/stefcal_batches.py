"""StefCal on the sufficient statistics: the batched problems of a gain solve, and their memory.

:func:`solve_diagonal` and :func:`solve_full` take a solve's statistics
(:mod:`uvflow.calibration.statistics`) on a gain table's grid, arrange them as dense
antenna × antenna matrices with one batch axis over the independent problems (solution
intervals × frequency solutions × receptors) and run the StefCal iterations
(:mod:`uvflow.calibration.stefcal_iterations`) on them. They return the raw gains,
their weights and the convergence record; :func:`~uvflow.calibration.solve_gaintable`
normalises, references and checks them (:mod:`uvflow.calibration.gain_solve`).

Memory
------
The statistics are per solution and baseline: R, Q, P of ``nbaseline × npol`` values for
scalar/diagonal solves, but ``S`` and ``T`` of 16 + 64 complex values per baseline for a
full 2×2 solve (``nsolution × nbaseline × 1.3 KiB``: 4.3 GB for 256 antennas and 100
intervals, more than the 1.7 GB of 4-correlation complex64 visibilities of 100
integrations × 16 channels they come from). The StefCal iterations work on dense antenna × antenna
matrices: ``[n, nant, nant]`` per receptor for the scalar and diagonal solves
(16 bytes · nant² per problem), but ``[n, 4·nant, 4·nant]`` and ``[n, 8·nant, 8·nant]``
for the full 2×2 solve (1280 bytes · nant² per problem: 84 MB at 256 antennas, 6.7 GB for
100 intervals at once). The full solve therefore works through the problems in batches
of :func:`full_solve_batch` (as many as fit :data:`FULL_SOLVE_MEMORY`, 512 MiB, at least
one), and computes its residuals one interval at a time; the results do not depend on
the batching.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import GainTable

from .jones import correlation_receptors, jones_diagonal
from .statistics import GainStatistics
from .stefcal_iterations import (
    dense_full,
    dense_scalar,
    full_normal_matrices,
    stefcal_full,
    stefcal_scalar,
)

__all__ = ["FULL_SOLVE_MEMORY", "full_solve_batch", "solve_diagonal", "solve_full"]

#: Bytes allowed for the dense matrices of the full 2×2 solve at a time (see the module
#: notes): problems are solved in batches of :func:`full_solve_batch` so that the peak
#: stays near this, plus the statistics, whatever the number of solution intervals.
FULL_SOLVE_MEMORY = 512 * 2**20


def _start(gt: GainTable) -> np.ndarray:
    """Starting gains from the table: invalid or zero entries start at 1."""
    g = gt.gain.copy()
    d = jones_diagonal(g)
    bad = (np.abs(d) == 0) | ~np.isfinite(d) | (jones_diagonal(gt.weight) <= 0)
    if np.any(bad):
        eye = np.eye(gt.nrec, dtype=complex)
        g = np.where(bad.any(axis=-1)[..., None, None], eye, g)
    return g


def solve_diagonal(
    stats: GainStatistics, gt: GainTable, niter: int, tol: float, phase_only: bool
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """StefCal for a scalar or diagonal solve: one batch of every interval × frequency ×
    receptor problem.

    Parameters
    ----------
    stats : GainStatistics
        Mode 'scalar' or 'diagonal', on ``gt``'s grid (``R`` complex128, ``Q`` float64,
        [nsol_time, nsol_freq, nbaseline, npol]).
    gt : GainTable
        ``gain[nsol_time, nant, nsol_freq, nrec, nrec]`` complex128: the starting gains
        (entries with weight 0, zero or non-finite start at 1).
    niter, tol, phase_only
        As for :func:`~uvflow.calibration.solve_gaintable`.

    Returns
    -------
    gain : numpy.ndarray of complex128, shape [nsol_time, nant, nsol_freq, nrec, nrec]
        Diagonal matrices (a scalar solve repeats its gain on every receptor).
    weight : numpy.ndarray of float64, same shape
        ``Σ_j Q_ij |g_j|²`` on the diagonal, 0 elsewhere.
    (iterations, converged) : numpy.ndarray of int64 and of bool, shape [nsol_time, nsol_freq]
        The most iterations over the receptors, and whether all converged.
    """
    nts, nfs = stats.nsol
    nant, nrec = gt.nants, gt.nrec
    p, q = correlation_receptors(stats.polarisation_frame)
    R, Q = stats.sums["R"], stats.sums["Q"]
    a1, a2 = stats.antenna1, stats.antenna2
    g0 = jones_diagonal(_start(gt))  # [nts, nant, nfs, nrec]
    if stats.mode == "scalar":
        Rb, Qb = R.sum(axis=-1)[..., None], Q.sum(axis=-1)[..., None]  # one receptor problem
        g0 = g0[..., :1]
    else:
        par = np.flatnonzero(p == q)  # parallel hands, ordered by receptor
        Rb, Qb = R[..., par], Q[..., par]
    nr = Rb.shape[-1]
    # batch axis (time, freq, receptor)
    Rd = dense_scalar(Rb.transpose(0, 1, 3, 2).reshape(-1, Rb.shape[2]), a1, a2, nant)
    Qd = dense_scalar(Qb.transpose(0, 1, 3, 2).reshape(-1, Qb.shape[2]), a1, a2, nant)
    gstart = g0.transpose(0, 2, 3, 1).reshape(-1, nant)
    g, it, conv = stefcal_scalar(Rd, Qd, gstart, niter, tol, phase_only)
    w = np.matmul(Qd, (np.abs(g) ** 2)[..., None])[..., 0]  # Σ_j Q_ij |g_j|²
    g = g.reshape(nts, nfs, nr, nant).transpose(0, 3, 1, 2)  # [nts, nant, nfs, nr]
    w = w.reshape(nts, nfs, nr, nant).transpose(0, 3, 1, 2)
    if stats.mode == "scalar":
        g, w = np.repeat(g, nrec, axis=-1), np.repeat(w, nrec, axis=-1)
    gain = np.zeros((nts, nant, nfs, nrec, nrec), complex)
    weight = np.zeros(gain.shape)
    r = np.arange(nrec)
    gain[..., r, r] = g
    weight[..., r, r] = w
    it = it.reshape(nts, nfs, nr).max(axis=-1)
    conv = conv.reshape(nts, nfs, nr).all(axis=-1)
    return gain, weight, (it, conv)


def full_solve_batch(nant: int, nproblems: int, budget: int | None = None) -> int:
    """How many full 2×2 problems (solution intervals × frequency solutions) are solved
    together so that their dense matrices fit in ``budget`` bytes (at least one).

    One problem of ``nant`` antennas needs ``Smat`` [4·nant, 4·nant] and ``Tmat``
    [8·nant, 8·nant] complex128: ``80 · nant² · 16`` bytes (84 MB for 256 antennas).

    Parameters
    ----------
    nant : int
        Antennas of the gain table.
    nproblems : int
        Solutions to solve (intervals × frequency solutions).
    budget : int, optional
        Bytes; default :data:`FULL_SOLVE_MEMORY`.

    Returns
    -------
    int
        Batch size, 1 … nproblems.
    """
    budget = FULL_SOLVE_MEMORY if budget is None else budget
    return int(max(1, min(nproblems, budget // (80 * 16 * nant * nant))))


def solve_full(
    stats: GainStatistics, gt: GainTable, niter: int, tol: float
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """StefCal for a full 2×2 solve, in batches of :func:`full_solve_batch` problems.

    Parameters
    ----------
    stats : GainStatistics
        Mode 'full', on ``gt``'s grid (``S``, ``T`` complex128, see the statistics).
    gt : GainTable
        ``gain[nsol_time, nant, nsol_freq, 2, 2]`` complex128: the starting gains.
    niter, tol
        As for :func:`~uvflow.calibration.solve_gaintable`.

    Returns
    -------
    gain : numpy.ndarray of complex128, shape [nsol_time, nant, nsol_freq, 2, 2]
    weight : numpy.ndarray of float64, same shape
        ``|A_i^(a)[d, d]|``: the diagonal of each row's normal matrix.
    (iterations, converged) : numpy.ndarray of int64 and of bool, shape [nsol_time, nsol_freq]
    """
    nts, nfs = stats.nsol
    nant = gt.nants
    nb = stats.antenna1.size
    n = nts * nfs
    S = stats.sums["S"].reshape(n, nb, 2, 2, 2, 2)
    T = stats.sums["T"].reshape((n, nb) + (2,) * 6)
    G0 = _start(gt).transpose(0, 2, 1, 3, 4).reshape(n, nant, 2, 2)
    G = np.empty_like(G0)
    w = np.empty((n, nant, 2, 2))
    it = np.empty(n, np.int64)
    conv = np.empty(n, bool)
    # The problems are independent: solve them in batches whose dense matrices fit the
    # memory budget (one batch of everything would need 1280·nant²·n bytes).
    step = full_solve_batch(nant, n)
    for lo in range(0, n, step):
        part = slice(lo, min(n, lo + step))
        Smat, Tmat = dense_full(S[part], T[part], stats.antenna1, stats.antenna2, nant)
        G[part], it[part], conv[part] = stefcal_full(Smat, Tmat, G0[part], niter, tol)
        A = full_normal_matrices(Tmat, G[part])  # [batch, nant, a, d, e]
        w[part] = np.abs(np.diagonal(A, axis1=-2, axis2=-1))  # [batch, nant, a, d]
        del Smat, Tmat, A
    gain = G.reshape(nts, nfs, nant, 2, 2).transpose(0, 2, 1, 3, 4)
    weight = w.reshape(nts, nfs, nant, 2, 2).transpose(0, 2, 1, 3, 4)
    # A receptor row without data has a zero normal matrix: no solution for that antenna.
    return gain, weight, (it.reshape(nts, nfs), conv.reshape(nts, nfs))
