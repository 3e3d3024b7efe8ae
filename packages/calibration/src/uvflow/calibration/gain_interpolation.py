"""Gain tables joined in time and interpolated to other times (transfer to a target).

Interpolation is per antenna, frequency solution and Jones element, over the solutions
that have data (weight > 0): the amplitude linearly in time, the phase linearly after
unwrapping along time (so a phase that winds through ±π between two calibrator scans is
followed, not cut short) — what CASA's ``applycal(interp='linear')`` and DP3's
``applycal`` do with amplitude/phase solutions. Outside the first and last solution the
nearest one is used. An element with no valid solution at all stays the identity with
weight 0 (its data are flagged when the table is applied).
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import GainTable, Visibility

from .apply import apply_gaintable
from .errors import CalibrationError
from .gaintable_create import solution_channel_coverage

__all__ = ["concatenate_gaintables", "correct_with_solutions", "interpolate_gaintable"]


def concatenate_gaintables(tables) -> GainTable:
    """One table holding the solutions of several, sorted by time.

    Parameters
    ----------
    tables : list of GainTable
        Same antennas, frequency solutions, receptors and Jones type (e.g. one per scan).

    Returns
    -------
    GainTable
        ``gain``, ``weight`` [Σ ntime, nant, nchan, nrec, nrec] and ``residual`` joined and
        ordered by ``time``; ``meta`` of the first, with ``meta['sources']`` the index of
        the table each solution came from.
    """
    tables = list(tables)
    if not tables:
        raise CalibrationError("concatenate_gaintables needs at least one table")
    first = tables[0]
    for k, t in enumerate(tables[1:], 1):
        if t.gain.shape[1:] != first.gain.shape[1:] or t.jones_type != first.jones_type:
            raise CalibrationError(
                f"table {k} ({t.jones_type}, {list(t.gain.shape[1:])}) does not match table 0 "
                f"({first.jones_type}, {list(first.gain.shape[1:])}): same antennas, "
                "frequencies, receptors and Jones type needed"
            )
        if not np.allclose(t.frequency, first.frequency, rtol=1e-12):
            raise CalibrationError(f"table {k} has other frequency solutions than table 0")
    time = np.concatenate([t.time for t in tables])
    order = np.argsort(time, kind="stable")
    source = np.concatenate([np.full(t.ntimes, k) for k, t in enumerate(tables)])

    def join(name):
        return np.concatenate([getattr(t, name) for t in tables])[order]

    meta = {k: v for k, v in first.meta.items() if k not in ("iterations", "converged")}
    meta["sources"] = source[order]
    return first.replace(gain=join("gain"), weight=join("weight"), residual=join("residual"),
                         time=time[order], interval=join("interval"), meta=meta)  # fmt: skip


def _interp_columns(t_new, t, values) -> np.ndarray:
    """Complex series ``values`` [ntime, n] at times ``t`` [ntime] (sorted) interpolated
    to ``t_new`` [nnew]: amplitude and unwrapped phase linear, the nearest solution outside
    ``t``; complex128 [nnew, n]."""
    if t.size == 1:
        return np.broadcast_to(values[:1], (t_new.size, values.shape[1]))
    k = np.clip(np.searchsorted(t, t_new, side="right") - 1, 0, t.size - 2)
    dt = t[k + 1] - t[k]
    w = np.clip((t_new - t[k]) / np.where(dt > 0, dt, 1.0), 0.0, 1.0)[:, None]
    amp, phase = np.abs(values), np.unwrap(np.angle(values), axis=0)
    amp = amp[k] * (1 - w) + amp[k + 1] * w
    return amp * np.exp(1j * (phase[k] * (1 - w) + phase[k + 1] * w))


def interpolate_gaintable(gt: GainTable, times, intervals=None) -> GainTable:
    """``gt`` interpolated to ``times`` (see the module notes).

    Parameters
    ----------
    gt : GainTable
        ``gain[ntime, nant, nchan, nrec, nrec]``; its solutions need not be sorted.
    times : numpy.ndarray of float64, shape [nnew]
        MJD seconds (e.g. a target's integrations).
    intervals : numpy.ndarray of float64, shape [nnew], optional
        The new solutions' widths, seconds; default the spacing of ``times`` (or 1 s).

    Returns
    -------
    GainTable
        ``gain`` complex128 [nnew, nant, nchan, nrec, nrec]; ``weight`` the valid
        solutions' mean weight where an element had any valid solution, else 0;
        ``residual`` 0; ``meta['interpolated_from']`` the source table's number of
        solutions.
    """
    t_new = np.atleast_1d(np.asarray(times, float))
    if intervals is None:
        step = float(np.median(np.diff(t_new))) if t_new.size > 1 else 1.0
        intervals = np.full(t_new.size, step)
    order = np.argsort(gt.time, kind="stable")
    t, gain, weight = gt.time[order], gt.gain[order], gt.weight[order]
    nt, na, nc, nr, _ = gain.shape
    out = np.zeros((t_new.size, na, nc, nr, nr), complex)  # off-diagonal: 0 unless solved
    wout = np.zeros(out.shape)
    flat_g = gain.reshape(nt, -1)
    flat_w = weight.reshape(nt, -1)
    flat_out, flat_wout = out.reshape(t_new.size, -1), wout.reshape(t_new.size, -1)
    # elements with every solution valid (the usual case): all at once
    full = np.all(flat_w > 0, axis=0)
    flat_out[:, full] = _interp_columns(t_new, t, flat_g[:, full])
    flat_wout[:, full] = flat_w[:, full].mean(axis=0)
    # the others one by one, over their valid solutions (identity where none)
    for e in np.flatnonzero(~full):
        valid = flat_w[:, e] > 0
        if valid.any():
            flat_out[:, e] = _interp_columns(t_new, t[valid], flat_g[valid, e, None])[:, 0]
            flat_wout[:, e] = flat_w[valid, e].mean()
        elif (e // nr) % nr == e % nr:  # a diagonal element (receptor pair r, r)
            flat_out[:, e] = 1.0  # no solution: identity (weight 0)
    meta = {k: v for k, v in gt.meta.items() if k not in ("iterations", "converged", "sources")}
    meta["interpolated_from"] = int(nt)
    return gt.replace(gain=out, weight=wout, residual=np.zeros((t_new.size, nc, nr, nr)),
                      time=t_new, interval=np.asarray(intervals, float), meta=meta)  # fmt: skip


def correct_with_solutions(vis: Visibility, tables) -> Visibility:
    """``vis`` corrected by each table that covers its channels, in turn, interpolated to
    its integrations.

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]``.
    tables : sequence of GainTable
        Applied in order (e.g. bandpass, then gains), each inverted
        (:func:`~uvflow.calibration.apply_gaintable` with ``inverse=True``) after
        :func:`interpolate_gaintable` to ``vis``'s times; samples without a valid
        solution are flagged. A table whose frequency intervals hold none of the channels
        (another spectral window's) is skipped.

    Returns
    -------
    Visibility

    Raises
    ------
    CalibrationError
        A table covers only some of the channels, or no table covers them.
    """
    times = np.unique(vis.time)
    applied = 0
    for k, gt in enumerate(tables):
        covered = solution_channel_coverage(gt, vis.frequency)
        if not covered.any():
            continue
        if not covered.all():
            raise CalibrationError(
                f"solution table {k} ({gt.jones_type}) covers {int(covered.sum())} of the "
                f"{covered.size} channels at {vis.frequency[0] / 1e6:.6g}-"
                f"{vis.frequency[-1] / 1e6:.6g} MHz: a table must cover a window's channels "
                "or none"
            )
        vis = apply_gaintable(vis, interpolate_gaintable(gt, times), inverse=True)
        applied += 1
    if tables and not applied:
        raise CalibrationError(
            f"no solution table covers the channels at {vis.frequency[0] / 1e6:.6g}-"
            f"{vis.frequency[-1] / 1e6:.6g} MHz"
        )
    return vis
