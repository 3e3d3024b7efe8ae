"""``apply_gaintable``: corrupt (``inverse=False``) or correct (``inverse=True``) visibilities.

Convention: ``V_ij → G_i V_ij G_j^H`` (corrupt) and ``V_ij → G_i^{-1} V_ij G_j^{-H}``
(correct), on each baseline's correlation matrix (``uvflow.calibration.jones``).

Which gain a sample uses: **nearest solution**, not interpolation. An integration uses the
solution whose interval contains it (else the nearest in time); a channel the frequency
solution containing it. This is exactly the piecewise-constant gain the solver fits, so a
solve followed by a correction with the same table returns the model; a channel outside a
frequency-dependent table is an error (``CalibrationError``).

Weights follow the propagation of independent noise: for a corrected correlation
``V'_pq = Σ_ab A_pa V_ab B_qb^*`` the variance is ``Σ_ab |A_pa|² |B_qb|² / w_ab``. For
scalar or diagonal gains this is ``w' = w |g_i^p|² |g_j^q|²`` when correcting and
``w' = w / (|g_i^p|² |g_j^q|²)`` when corrupting. A sample is flagged after the apply
when an input correlation it depends on was flagged, or when a gain it needs has
weight 0 (no solution) or cannot be inverted; its value is then left as it was.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import GainTable, Visibility

from .errors import CalibrationError
from .gaintable_create import solution_channel_index, solution_time_index
from .jones import correlation_receptors, receptor_frame_of

__all__ = ["apply_gaintable"]

_BLOCK = 1 << 19


def _check(vis: Visibility, gt: GainTable) -> None:
    if not isinstance(vis, Visibility):
        raise CalibrationError(f"vis must be a Visibility, got {type(vis).__name__}")
    if not isinstance(gt, GainTable):
        raise CalibrationError(f"gt must be a GainTable, got {type(gt).__name__}")
    if vis.nbaseline and max(vis.antenna1.max(), vis.antenna2.max()) >= gt.nants:
        raise CalibrationError(
            f"gain table has {gt.nants} antennas but the visibilities use antenna "
            f"{max(vis.antenna1.max(), vis.antenna2.max())}"
        )
    rec = receptor_frame_of(vis.polarisation_frame)
    if gt.nrec != 1 and gt.receptor_frame != rec:
        raise CalibrationError(
            f"gain table receptors {gt.receptor_frame.name} cannot be applied to "
            f"{vis.polarisation_frame.name} visibilities (receptors {rec.name})"
        )


def apply_gaintable(vis: Visibility, gt: GainTable, inverse: bool = False) -> Visibility:
    """Apply the gains of ``gt`` to ``vis`` (see the module notes).

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]``; any dtype is kept.
    gt : GainTable
        ``gain[ntime, nant, nchan, nrec, nrec]``; a table of one receptor acts as a scalar
        on every correlation.
    inverse : bool
        False: corrupt, ``G_i V G_j^H``. True: correct, ``G_i^{-1} V G_j^{-H}``.

    Returns
    -------
    Visibility
        New visibilities, weights and flags; every other field shared with ``vis``.
    """
    _check(vis, gt)
    tidx = solution_time_index(gt, vis.time)
    cidx = solution_channel_index(gt, vis.frequency)
    off = ~np.eye(gt.nrec, dtype=bool)
    diagonal = gt.nrec == 1 or not np.any(gt.gain[..., off])
    if not diagonal and vis.npol != 4:
        raise CalibrationError(
            f"gain table has off-diagonal (leakage) terms; applying them needs all four "
            f"correlations, the visibilities are {vis.polarisation_frame.name}"
        )
    out_vis = np.empty_like(vis.vis)
    out_w = np.empty_like(vis.weight)
    out_f = np.empty_like(vis.flags)
    nt, nb, nc, npol = vis.vis.shape
    step = max(1, _BLOCK // max(1, nb * nc * npol))
    for start in range(0, nt, step):
        rows = slice(start, min(nt, start + step))
        args = (vis.vis[rows], vis.weight[rows], vis.flags[rows], gt, tidx[rows], cidx)
        if diagonal:
            res = _apply_diagonal(
                *args, vis.antenna1, vis.antenna2, vis.polarisation_frame, inverse
            )
        else:
            res = _apply_full(*args, vis.antenna1, vis.antenna2, inverse)
        out_vis[rows], out_w[rows], out_f[rows] = res
    return vis.replace(vis=out_vis, weight=out_w, flags=out_f)


def _gather(table: np.ndarray, tix, ant, cidx) -> np.ndarray:
    """table[tix, ant, cidx, ...] → [t, nbaseline, nchan, ...]."""
    return table[tix[:, None, None], ant[None, :, None], cidx[None, None, :]]


def _apply_diagonal(v, w, f, gt, tix, cidx, a1, a2, frame, inverse):
    d = np.diagonal(gt.gain, axis1=-2, axis2=-1)  # [nts, nant, nfs, nrec]
    valid = np.diagonal(gt.weight, axis1=-2, axis2=-1) > 0
    if gt.nrec == 1:
        p = q = np.zeros(v.shape[-1], int)
    else:
        p, q = correlation_receptors(frame)
    # The factors per frequency solution used ([t, nb, nsol, npol]), then per channel: the
    # same numbers as gathering them per channel, without computing each nchan/nsol times.
    used, per_channel = np.unique(cidx, return_inverse=True)
    if used.size == cidx.size:  # a solution per channel: gather per channel directly
        used, per_channel = cidx, None
    gi = _gather(d, tix, a1, used)[..., p]
    gj = _gather(d, tix, a2, used)[..., q]
    ok = _gather(valid, tix, a1, used)[..., p] & _gather(valid, tix, a2, used)[..., q]
    factor = gi * np.conj(gj)
    a2f = np.abs(factor) ** 2
    ok &= a2f > 0
    factor = np.where(ok, factor, 1.0)
    a2f = np.where(ok, a2f, 1.0)
    if per_channel is not None and used.size > 1:  # one solution: broadcasts as it is
        factor, a2f, ok = (x[:, :, per_channel.ravel()] for x in (factor, a2f, ok))
    if inverse:
        new_v = v / factor
        new_w = w * a2f
    else:
        new_v = v * factor
        new_w = w / a2f
    return new_v.astype(v.dtype, copy=False), new_w.astype(w.dtype, copy=False), f | ~ok


def _inv2(g: np.ndarray):
    det = g[..., 0, 0] * g[..., 1, 1] - g[..., 0, 1] * g[..., 1, 0]
    scale = np.max(np.abs(g), axis=(-2, -1)) ** 2
    ok = np.abs(det) > 1e-14 * scale
    d = np.where(ok, det, 1.0)
    inv = np.empty_like(g)
    inv[..., 0, 0], inv[..., 1, 1] = g[..., 1, 1] / d, g[..., 0, 0] / d
    inv[..., 0, 1], inv[..., 1, 0] = -g[..., 0, 1] / d, -g[..., 1, 0] / d
    return inv, ok


def _apply_full(v, w, f, gt, tix, cidx, a1, a2, inverse):
    t, nb, nc, _ = v.shape
    valid = np.all(np.diagonal(gt.weight, axis1=-2, axis2=-1) > 0, axis=-1)
    gi = _gather(gt.gain, tix, a1, cidx)  # [t, nb, nc, 2, 2]
    gj = _gather(gt.gain, tix, a2, cidx)
    ok = _gather(valid, tix, a1, cidx) & _gather(valid, tix, a2, cidx)
    if inverse:
        gi, ok_i = _inv2(gi)
        gj, ok_j = _inv2(gj)
        ok &= ok_i & ok_j
    eye = np.eye(2, dtype=complex)
    A = np.where(ok[..., None, None], gi, eye)
    B = np.where(ok[..., None, None], gj, eye)
    V = v.reshape(t, nb, nc, 2, 2)
    new_v = A @ V @ np.conj(np.swapaxes(B, -1, -2))
    # Noise propagation: var'[p,q] = Σ_ab |A_pa|² |B_qb|² var[a,b].
    coef = np.einsum("...pa,...qb->...pqab", np.abs(A) ** 2, np.abs(B) ** 2)
    W, F = w.reshape(t, nb, nc, 2, 2), f.reshape(t, nb, nc, 2, 2)
    bad = F | (W <= 0)
    var = np.where(bad, 0.0, 1.0 / np.where(bad, 1.0, W))
    new_var = np.einsum("...pqab,...ab->...pq", coef, var)
    uses = coef > 0
    new_bad = np.einsum("...pqab,...ab->...pq", uses, bad) > 0
    new_f = (np.einsum("...pqab,...ab->...pq", uses, F) > 0) | ~ok[..., None, None]
    new_w = np.where(new_bad | (new_var <= 0), 0.0, 1.0 / np.where(new_var > 0, new_var, 1.0))
    new_v = np.where(ok[..., None, None], new_v, V)
    shape = v.shape
    return (
        new_v.reshape(shape).astype(v.dtype, copy=False),
        new_w.reshape(shape).astype(w.dtype, copy=False),
        new_f.reshape(shape),
    )
