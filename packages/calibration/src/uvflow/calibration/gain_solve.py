"""``solve_gaintable``: antenna gains from visibilities and a model (StefCal).

What is solved
--------------
The data model is ``V_ij = G_i M_ij G_j^H`` on the correlation matrix of each baseline
(``uvflow.calibration.jones``). The solver's shape follows the gain table's Jones type
and ``crosspol``:

- ``'scalar'``: 'T' (and any type on stokesI data): one complex gain per antenna, the same
  for both receptors, fitted to all correlations at once.
- ``'diagonal'``: 'G'/'B' without crosspol: one gain per receptor, fitted to the parallel
  hands (XX and YY, or RR and LL); each receptor is an independent scalar problem. Cross
  hands carry no information about diagonal gains of an unpolarised model and are not used.
- ``'full'``: 'G'/'B' with ``crosspol=True``: a full 2×2 Jones matrix per antenna fitted to
  all four correlations with a weight per correlation.

After the iterations
--------------------
1. ``phase_only``: amplitudes are 1 throughout (each update is the best phase given the
   other antennas). Not available for the full 2×2 solve.
2. ``normalise_gains`` (amplitude solves only): every solution (interval × frequency
   solution) is divided by the mean amplitude of its valid diagonal gains, so that the
   mean gain amplitude is 1 per interval: the flux scale then comes from the model, not
   from the gains. Use ``normalise_gains=False`` to keep absolute amplitudes.
3. ``refant``: gains are rotated so that the reference antenna's gain has phase 0, per
   receptor for scalar/diagonal solutions; for a full 2×2 solution by one common phase
   (the only exact symmetry of a polarised model) from its first diagonal entry. If the
   reference antenna has no data in a solution, the first antenna with data is used.
4. ``weight``: the inverse variance of each gain from the normal equations,
   ``Σ_j w_ij |M_ij|² |g_j|²`` (per receptor; diagonal entries of the normal matrix for
   2×2 solutions; off-diagonal entries 0 unless solved). A solution with no data (all
   flagged, zero weights, a zero model) has gain 1 (identity) and weight 0.
5. ``residual[time, chan, p, q]``: the RMS weighted misfit ``sqrt(Σ w |V − G M G^H|²/Σ w)``
   of correlation pq, computed from the sufficient statistics; 0 where there are no data
   or the correlation is not used by the solve (cross hands of a diagonal solve).
6. ``gt.meta``: ``iterations`` and ``converged`` [ntime, nchan], ``niter``, ``tol``,
   ``solver='stefcal'``, ``mode``.

The StefCal problems themselves, and the memory they take, are in
:mod:`uvflow.calibration.stefcal_batches`.
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.datamodels import GainTable, Visibility

from .errors import CalibrationError
from .gaintable_create import create_gaintable_from_visibility
from .jones import correlation_receptors, jones_diagonal, solve_mode
from .statistics import GainStatistics, accumulate_statistics
from .stefcal_batches import solve_diagonal, solve_full

__all__ = ["gaintable_statistics", "solve_gaintable", "solve_gaintable_from_statistics"]

logger = logging.getLogger(__name__)


def _check_options(niter, tol, refant, nant) -> None:
    if not isinstance(niter, (int, np.integer)) or niter < 1:
        raise CalibrationError(f"niter must be an integer >= 1, got {niter!r}")
    if not (np.isfinite(tol) and tol > 0):
        raise CalibrationError(f"tol must be a positive number, got {tol!r}")
    if not isinstance(refant, (int, np.integer)) or not 0 <= refant < nant:
        raise CalibrationError(f"refant must be an antenna index in 0..{nant - 1}, got {refant!r}")


def _table_for(vis, gt, timeslice, frequencyslice, jones_type) -> GainTable:
    if gt is None:
        return create_gaintable_from_visibility(
            vis, timeslice=timeslice, frequencyslice=frequencyslice, jones_type=jones_type or "T"
        )
    if not isinstance(gt, GainTable):
        raise CalibrationError(f"gt must be a GainTable or None, got {type(gt).__name__}")
    if timeslice is not None or frequencyslice is not None:
        raise CalibrationError(
            "give either gt (whose solution intervals are used) or timeslice/frequencyslice"
        )
    if jones_type is not None and jones_type != gt.jones_type:
        raise CalibrationError(f"jones_type {jones_type!r} differs from gt's {gt.jones_type!r}")
    if gt.nants < vis.nants:
        raise CalibrationError(
            f"gain table has {gt.nants} antennas, the visibilities need {vis.nants}"
        )
    want = vis.polarisation_frame.receptor_frame
    if gt.receptor_frame != want:
        raise CalibrationError(
            f"gain table receptors {gt.receptor_frame.name} do not match the visibilities' "
            f"{want.name} ({vis.polarisation_frame.name})"
        )
    return gt


def gaintable_statistics(
    vis: Visibility,
    modelvis: Visibility | None = None,
    gt: GainTable | None = None,
    crosspol: bool = False,
    timeslice=None,
    frequencyslice=None,
    jones_type: str | None = None,
) -> tuple[GainTable, GainStatistics]:
    """The (unit or given) gain table and the sufficient statistics for solving it.

    The first half of :func:`solve_gaintable`; statistics of several frequency windows
    can be added with :func:`~uvflow.calibration.combine_statistics` and solved jointly
    with :func:`solve_gaintable_from_statistics`.

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]`` complex64 or complex128; ``weight`` float
        and ``flags`` bool of the same shape are honoured.
    modelvis : Visibility, optional
        Model of the same shape and frame; None: a 1 Jy unpolarised point source at the
        phase centre.
    gt : GainTable, optional
        Gives the solution grid: ``gain[nsol_time, nant, nsol_freq, nrec, nrec]``.
    crosspol : bool
        Statistics for a full 2×2 solve (needs four correlations).
    timeslice, frequencyslice, jones_type
        Used to make the table when ``gt`` is None (see :func:`solve_gaintable`).

    Returns
    -------
    (GainTable, GainStatistics)
        The table, and the per-solution, per-baseline sums (see
        :class:`~uvflow.calibration.GainStatistics` for their shapes).

    Raises
    ------
    CalibrationError
        A table that does not fit ``vis``, a mismatched model, negative weights, or
        NaN/inf in unflagged samples.
    """
    gt = _table_for(vis, gt, timeslice, frequencyslice, jones_type)
    mode = solve_mode(gt.jones_type, vis.polarisation_frame, crosspol)
    return gt, accumulate_statistics(vis, modelvis, gt, mode)


def solve_gaintable(
    vis: Visibility,
    modelvis: Visibility | None = None,
    gt: GainTable | None = None,
    phase_only: bool = True,
    niter: int = 200,
    tol: float = 1e-8,
    crosspol: bool = False,
    normalise_gains: bool = True,
    refant: int = 0,
    timeslice=None,
    frequencyslice=None,
    jones_type: str | None = None,
) -> GainTable:
    """Solve antenna gains so that ``vis ≈ G_i modelvis G_j^H`` (see the module notes).

    Parameters
    ----------
    vis : Visibility
        Observed data ``vis[ntime, nbaseline, nchan, npol]``; flags and weights honoured.
    modelvis : Visibility, optional
        Model visibilities of the same shape; None: a 1 Jy unpolarised point source at the
        phase centre (XX = YY = 1, XY = YX = 0, or I = 1).
    gt : GainTable, optional
        Gives the solution intervals and starting gains; None: a unit table made with
        ``create_gaintable_from_visibility(vis, timeslice, frequencyslice, jones_type)``.
    phase_only : bool
        Solve phases only (unit amplitudes).
    niter : int
        Maximum StefCal iterations.
    tol : float
        Convergence: relative change of the gains of a solution between iterations.
    crosspol : bool
        Solve full 2×2 Jones matrices (G, B on four-correlation data).
    normalise_gains : bool
        For amplitude solves, divide each solution by its mean gain amplitude.
    refant : int
        Reference antenna: its gain phase is set to 0.
    timeslice, frequencyslice, jones_type
        Used to make the table when ``gt`` is None (jones_type default 'T').

    Returns
    -------
    GainTable
        A new table: gains ``[ntime, nant, nchan, nrec, nrec]``, weights, residuals and
        ``meta['iterations']``, ``meta['converged']``.
    """
    gt, stats = gaintable_statistics(
        vis, modelvis, gt, crosspol, timeslice, frequencyslice, jones_type
    )
    return solve_gaintable_from_statistics(
        stats, gt, phase_only=phase_only, niter=niter, tol=tol,
        normalise_gains=normalise_gains, refant=refant,
    )  # fmt: skip


def solve_gaintable_from_statistics(
    stats: GainStatistics,
    gt: GainTable,
    phase_only: bool = True,
    niter: int = 200,
    tol: float = 1e-8,
    normalise_gains: bool = True,
    refant: int = 0,
) -> GainTable:
    """Solve ``gt`` (its intervals and starting gains) from sufficient statistics.

    The second half of :func:`solve_gaintable` (the module notes say what is solved and
    what comes back).

    Parameters
    ----------
    stats : GainStatistics
        From :func:`gaintable_statistics` (or several windows' combined with
        :func:`~uvflow.calibration.combine_statistics`) on ``gt``'s grid: sums of shape
        [nsol_time, nsol_freq, nbaseline, ...] (see :class:`~uvflow.calibration.GainStatistics`).
    gt : GainTable
        ``gain[nsol_time, nant, nsol_freq, nrec, nrec]`` complex128: the grid and starting
        gains (entries with weight 0 start at the identity).
    phase_only, niter, tol, normalise_gains, refant
        As for :func:`solve_gaintable`.

    Returns
    -------
    GainTable
        A new table: ``gain`` complex128 and ``weight`` float64
        [nsol_time, nant, nsol_freq, nrec, nrec], ``residual`` float64
        [nsol_time, nsol_freq, nrec, nrec], ``meta['iterations']`` int64 and
        ``meta['converged']`` bool [nsol_time, nsol_freq].

    Raises
    ------
    CalibrationError
        Bad options, statistics that do not fit the table, or ``phase_only`` with a full
        2×2 solve.
    """
    _check_options(niter, tol, refant, gt.nants)
    nts, nfs = stats.nsol
    if (nts, nfs) != (gt.ntimes, gt.nchan) or stats.nant != gt.nants:
        raise CalibrationError(
            f"statistics for {nts}×{nfs} solutions of {stats.nant} antennas do not fit the "
            f"table's {gt.ntimes}×{gt.nchan} solutions of {gt.nants} antennas"
        )
    if stats.mode == "full":
        if phase_only:
            raise CalibrationError(
                "phase_only applies to scalar and diagonal solutions; use phase_only=False "
                "with crosspol=True"
            )
        gain, weight, info = solve_full(stats, gt, niter, tol)
    else:
        gain, weight, info = solve_diagonal(stats, gt, niter, tol, phase_only)
    valid = jones_diagonal(weight) > 0  # [nts, nant, nfs, nrec]
    if normalise_gains and not phase_only:
        scale = _mean_amplitude(jones_diagonal(gain), valid)  # [nts, nfs]
        gain = gain / scale[:, None, :, None, None]
        weight = weight * (scale**2)[:, None, :, None, None]
    gain = _reference(gain, valid, refant, stats.mode)
    gain, weight = _no_data_is_identity(gain, weight, valid, stats.mode)
    residual = _residual(stats, gain)
    iterations, converged = info
    meta = dict(gt.meta)
    meta.update(
        iterations=iterations, converged=converged, niter=int(niter), tol=float(tol),
        solver="stefcal", mode=stats.mode, phase_only=bool(phase_only),
    )  # fmt: skip
    n_bad = int(np.sum(~converged))
    if n_bad:
        logger.warning(
            "%s solve: %d of %d solutions did not converge to tol=%g in %d iterations",
            gt.jones_type, n_bad, converged.size, tol, niter,
        )  # fmt: skip
    for name, arr in (("gain", gain), ("weight", weight), ("residual", residual)):
        if not np.all(np.isfinite(arr)):  # a bug, never a result
            raise FloatingPointError(f"solve_gaintable produced non-finite {name}")
    return gt.replace(gain=gain, weight=weight, residual=residual, meta=meta)


def _mean_amplitude(d: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mean |g| over antennas and receptors of valid gains, [nts, nfs] (1 where none)."""
    amp = np.where(valid, np.abs(d), 0.0).sum(axis=(1, 3))
    n = valid.sum(axis=(1, 3))
    mean = np.where(n > 0, amp / np.maximum(n, 1), 1.0)
    return np.where(mean > 0, mean, 1.0)


def _reference(gain, valid, refant, mode):
    """Rotate phases so the reference antenna's (valid) gain is real and positive."""
    nts, nant, nfs, nrec, _ = gain.shape
    # Reference per (time, freq, receptor): refant if valid, else the first valid antenna.
    order = np.concatenate([[refant], np.delete(np.arange(nant), refant)])
    v = valid[:, order]  # [nts, nant, nfs, nrec]
    first = order[np.argmax(v, axis=1)]  # [nts, nfs, nrec]
    d = jones_diagonal(gain)
    ref = np.take_along_axis(d, first[:, None], axis=1)[:, 0]  # [nts, nfs, nrec]
    has = v.any(axis=1)
    if mode == "full":
        ref = np.repeat(ref[..., :1], nrec, axis=-1)
        has = np.repeat(has[..., :1], nrec, axis=-1)
    a = np.abs(ref)
    rot = np.where(has & (a > 0), np.conj(ref) / np.where(a > 0, a, 1.0), 1.0)
    # Column c of every Jones matrix takes receptor c's rotation: G ← G · diag(rot).
    return gain * rot[:, None, :, None, :]


def _no_data_is_identity(gain, weight, valid, mode):
    """Gains without data become 1 (per receptor; the whole matrix for 2×2 solutions)."""
    nrec = gain.shape[-1]
    if mode == "full":
        missing = ~valid.all(axis=-1)
        if np.any(missing):
            gain = np.where(missing[..., None, None], np.eye(nrec, dtype=complex), gain)
            weight = np.where(missing[..., None, None], 0.0, weight)
        return gain, weight
    r = np.arange(nrec)
    d = jones_diagonal(gain)
    gain = gain.copy()
    gain[..., r, r] = np.where(valid, d, 1.0)
    return gain, weight


def _residual(stats: GainStatistics, gain: np.ndarray) -> np.ndarray:
    """RMS misfit per solution and correlation from the statistics, [nts, nfs, nrec, nrec]."""
    nts, nfs = stats.nsol
    nrec = gain.shape[-1]
    a1, a2 = stats.antenna1, stats.antenna2
    if stats.mode == "full":
        G = gain.transpose(0, 2, 1, 3, 4)  # [nts, nfs, nant, nrec, nrec]
        S, T, P = stats.sums["S"], stats.sums["T"], stats.sums["P"]
        chi2 = np.empty((nts, nfs, 4))
        for k in range(nts):  # one interval at a time: temporaries the size of T[k]
            gi, gj = G[k][:, a1], G[k][:, a2]  # [nfs, nb, nrec, nrec]
            cross = np.einsum("...ad,...bc,...abdc->...ab", gi, np.conj(gj), np.conj(S[k]))
            quad = np.einsum(
                "...ad,...bc,...ae,...bf,...abdcef->...ab", gi, np.conj(gj), np.conj(gi), gj,
                T[k], optimize=True,
            )  # fmt: skip
            chi2[k] = (P[k] - 2 * cross.real + quad.real).sum(axis=1).reshape(nfs, 4)
        used = np.ones(4, bool)
    else:
        p, q = correlation_receptors(stats.polarisation_frame)
        R, Q, P = stats.sums["R"], stats.sums["Q"], stats.sums["P"]
        d = np.diagonal(gain, axis1=-2, axis2=-1).transpose(0, 2, 1, 3)  # [nts, nfs, nant, nrec]
        chi2 = np.empty(stats.wsum.shape)
        for k in range(nts):  # one interval at a time: cache-sized temporaries
            prod = d[k][:, a1][..., p] * np.conj(d[k][:, a2][..., q])  # [nfs, nb, npol]
            chi2[k] = (
                P[k] - 2 * (np.conj(R[k]) * prod).real + (prod * np.conj(prod)).real * Q[k]
            ).sum(axis=1)
        used = np.ones(p.size, bool) if stats.mode == "scalar" else p == q
    ws = stats.wsum
    rms = np.sqrt(np.clip(chi2, 0, None) / np.where(ws > 0, ws, 1.0))
    rms = np.where((ws > 0) & used, rms, 0.0)
    out = np.zeros((nts, nfs, nrec, nrec))
    p, q = correlation_receptors(stats.polarisation_frame)
    out[:, :, p, q] = rms
    return out
