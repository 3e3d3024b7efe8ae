"""Sufficient statistics of a gain solve: the data reduced to per-solution, per-baseline sums.

For the model ``V_ij = g_i M_ij g_j^*`` with gains constant over a solution interval, the
weighted least-squares problem depends on the data only through, per solution interval
and baseline (and correlation ``pq``)::

    R = Σ w V M^*        Q = Σ w |M|²        P = Σ w |V|²

(sums over the integrations and channels of the interval). The scalar and diagonal
solvers need nothing else, and the residual follows from them without another pass over
the data. For the full 2×2 solve with a weight per correlation the sums are::

    S[a,b,d,c]     = Σ w_ab V[a,b] M[d,c]^*
    T[a,b,d,c,e,f] = Σ w_ab M[d,c] M[e,f]^*
    P[a,b]         = Σ w_ab |V[a,b]|²

These arrays are small next to the visibilities (one entry per baseline and solution, not
per integration and channel) and add up across frequency windows, which is how
``calibrate_list_rsexecute_workflow`` solves a frequency-independent term jointly over
windows without moving visibilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from uvflow.datamodels import GainTable, Visibility

from .errors import CalibrationError
from .gaintable_create import solution_channel_index, solution_time_index
from .jones import SOLVE_MODES, unit_model

__all__ = ["GainStatistics", "accumulate_statistics", "combine_statistics"]

#: Samples (time × baseline × channel × correlation) processed per block: small enough to
#: stay in cache-sized temporaries, large enough that numpy call overheads vanish.
_BLOCK = 1 << 19


@dataclass(kw_only=True, eq=False)
class GainStatistics:
    """Per-solution, per-baseline sums for a gain solve (see the module notes).

    Parameters
    ----------
    mode : {'scalar', 'diagonal', 'full'}
    antenna1, antenna2 : numpy.ndarray of int, shape [nbaseline]
        Cross-correlation baselines only (autocorrelations are dropped).
    nant : int
    time, interval : numpy.ndarray of float64, shape [nsol_time]
        The solution grid in time (from the gain table).
    sums : dict of numpy.ndarray
        'scalar'/'diagonal': ``R`` complex128, ``Q``, ``P`` float64, each
        [nsol_time, nsol_freq, nbaseline, npol]. 'full': ``S`` complex128
        [nsol_time, nsol_freq, nbaseline, 2, 2, 2, 2], ``T`` complex128
        [..., nbaseline, 2, 2, 2, 2, 2, 2], ``P`` float64 [..., nbaseline, 2, 2].
    wsum : numpy.ndarray of float64, shape [nsol_time, nsol_freq, npol]
        Σ w over baselines (for the RMS residual).
    polarisation_frame : str
        Name of the visibilities' polarisation frame.
    meta : dict
        Free-form (e.g. the frequencies the sums came from).
    """

    mode: str
    antenna1: np.ndarray
    antenna2: np.ndarray
    nant: int
    time: np.ndarray
    interval: np.ndarray
    sums: dict
    wsum: np.ndarray
    polarisation_frame: str
    meta: dict = field(default_factory=dict)

    @property
    def nsol(self) -> tuple[int, int]:
        return self.wsum.shape[0], self.wsum.shape[1]

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.sums.values()) + self.wsum.nbytes)


def _model_for(vis: Visibility, modelvis: Visibility | None) -> np.ndarray:
    if modelvis is None:
        return np.broadcast_to(unit_model(vis.polarisation_frame), vis.vis.shape)
    if not isinstance(modelvis, Visibility):
        raise CalibrationError(f"modelvis must be a Visibility or None, got {type(modelvis)}")
    if modelvis.vis.shape != vis.vis.shape:
        raise CalibrationError(
            f"modelvis has shape {list(modelvis.vis.shape)}, the visibilities "
            f"{list(vis.vis.shape)}; they must match [ntime, nbaseline, nchan, npol]"
        )
    if modelvis.polarisation_frame != vis.polarisation_frame:
        raise CalibrationError(
            f"modelvis is in {modelvis.polarisation_frame.name}, the visibilities in "
            f"{vis.polarisation_frame.name}; convert one of them first"
        )
    return modelvis.vis


def _runs(index: np.ndarray, n: int):
    """For each value k < n, the positions where ``index == k`` (a slice when contiguous)."""
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(n + 1))
    for k in range(n):
        rows = order[bounds[k] : bounds[k + 1]]
        if rows.size and rows[-1] - rows[0] + 1 == rows.size and np.all(np.diff(rows) == 1):
            yield k, slice(int(rows[0]), int(rows[-1]) + 1)
        else:
            yield k, rows


def _channel_reducer(cidx: np.ndarray, nfreq: int):
    """A function reducing [..., nchan, X...] (channel axis 1) onto the frequency solutions."""
    nchan = cidx.size
    if nfreq == 1:
        return None
    if nfreq == nchan and np.array_equal(cidx, np.arange(nchan)):
        return lambda x: x
    order = np.argsort(cidx, kind="stable")
    starts = np.searchsorted(cidx[order], np.arange(nfreq))
    present = np.bincount(cidx, minlength=nfreq) > 0

    def reduce(x):
        out = np.zeros((x.shape[0], nfreq) + x.shape[2:], dtype=x.dtype)
        out[:, present] = np.add.reduceat(x[:, order], starts[present], axis=1)
        return out

    return reduce


def accumulate_statistics(
    vis: Visibility, modelvis: Visibility | None, gt: GainTable, mode: str
) -> GainStatistics:
    """Reduce visibilities and model to the sufficient statistics on ``gt``'s solution grid.

    Parameters
    ----------
    vis : Visibility
        Data ``[ntime, nbaseline, nchan, npol]``; flagged samples and samples of weight 0
        do not contribute.
    modelvis : Visibility or None
        Same shape as ``vis``; None: a 1 Jy unpolarised point source at the phase centre.
    gt : GainTable
        Gives the solution intervals in time and frequency.
    mode : {'scalar', 'diagonal', 'full'}

    Returns
    -------
    GainStatistics

    Raises
    ------
    CalibrationError
        Mismatched model, negative weights, or NaN/inf in unflagged data or model.
    """
    if mode not in SOLVE_MODES:
        raise CalibrationError(f"mode {mode!r} unknown; use one of {', '.join(SOLVE_MODES)}")
    model = _model_for(vis, modelvis)
    tidx = solution_time_index(gt, vis.time)
    cidx = solution_channel_index(gt, vis.frequency)
    nts, nfs = gt.ntimes, gt.nchan
    nt, nb, nc, npol = vis.vis.shape
    if mode == "full" and npol != 4:
        raise CalibrationError("the full 2×2 solve needs four correlations per baseline")
    reduce_channels = _channel_reducer(cidx, nfs)
    if mode == "full":
        sums = {
            "S": np.zeros((nts, nfs, nb, 2, 2, 2, 2), complex),
            "T": np.zeros((nts, nfs, nb) + (2,) * 6, complex),
            "P": np.zeros((nts, nfs, nb, 2, 2)),
        }
    else:
        sums = {
            "R": np.zeros((nts, nfs, nb, npol), complex),
            "Q": np.zeros((nts, nfs, nb, npol)),
            "P": np.zeros((nts, nfs, nb, npol)),
        }
    wsum = np.zeros((nts, nfs, npol))
    step = max(1, _BLOCK // max(1, nb * nc * npol))
    for k, rows in _runs(tidx, nts):
        rows_list = (
            [slice(s, min(s + step, rows.stop)) for s in range(rows.start, rows.stop, step)]
            if isinstance(rows, slice)
            else [rows[s : s + step] for s in range(0, rows.size, step)]
        )
        for sel in rows_list:
            v, m = vis.vis[sel], model[sel]
            w = np.where(vis.flags[sel], 0.0, vis.weight[sel]).astype(vis.weight.dtype, copy=False)
            if w.size and w.min() < 0:
                raise CalibrationError("visibility weights must be >= 0; found negative weights")
            # NaN/inf under flags are expected input: no RuntimeWarning; the sums are
            # checked (and the block redone without them) just below.
            with np.errstate(invalid="ignore", over="ignore"):
                block = _block_sums(mode, v, m, w, cidx, nfs, reduce_channels)
            if not all(np.all(np.isfinite(x)) for x in block.values()):
                # NaN/inf in samples that do not count (flagged or weight 0) must not
                # poison the sums: zero them and redo this block.
                if not np.all(np.isfinite(w)):
                    raise CalibrationError(
                        "visibility weights contain NaN/inf in unflagged samples"
                    )
                use = w > 0
                block = _block_sums(
                    mode, np.where(use, v, 0), np.where(use, m, 0), w, cidx, nfs, reduce_channels
                )
                if not all(np.all(np.isfinite(x)) for x in block.values()):
                    raise CalibrationError(
                        f"the data or model contain NaN/inf in unflagged samples (solution "
                        f"interval {k}); flag them before solving"
                    )
            for name, x in block.items():
                if name == "wsum":
                    wsum[k] += x
                else:
                    sums[name][k] += x
    keep = vis.antenna1 != vis.antenna2
    if not np.all(keep):
        sums = {name: arr[:, :, keep] for name, arr in sums.items()}
    return GainStatistics(
        mode=mode,
        antenna1=vis.antenna1[keep],
        antenna2=vis.antenna2[keep],
        nant=gt.nants,
        time=gt.time.copy(),
        interval=gt.interval.copy(),
        sums=sums,
        wsum=wsum,
        polarisation_frame=vis.polarisation_frame.name,
    )


def _block_sums(mode, v, m, w, cidx, nfs, reduce_channels) -> dict:
    if mode == "full":
        return _full_sums(v, m, w, cidx, nfs)
    return _correlation_sums(v, m, w, cidx, nfs, reduce_channels)


def _correlation_sums(v, m, w, cidx, nfs, reduce_channels) -> dict:
    """One block's R, Q, P per correlation, [nsol_freq, nbaseline, npol], and Σ w."""
    wm = w * np.conj(m)
    wv = w * np.conj(v)
    if reduce_channels is None:
        out = {
            "R": np.einsum("tbcp,tbcp->bp", v, wm)[None],
            "Q": np.einsum("tbcp,tbcp->bp", m, wm).real[None],
            "P": np.einsum("tbcp,tbcp->bp", v, wv).real[None],
        }
    else:
        out = {
            "R": reduce_channels(np.einsum("tbcp,tbcp->cbp", v, wm)[None])[0],
            "Q": reduce_channels(np.einsum("tbcp,tbcp->cbp", m, wm).real[None])[0],
            "P": reduce_channels(np.einsum("tbcp,tbcp->cbp", v, wv).real[None])[0],
        }
    ws = np.zeros((nfs, v.shape[-1]))
    np.add.at(ws, cidx, w.sum(axis=(0, 1)))
    out["wsum"] = ws
    return out


def _full_sums(v, m, w, cidx, nfs) -> dict:
    """One block's S, T, P (2×2 correlations, weight per correlation) and Σ w."""
    t, nb, nc, _ = v.shape
    v4, m4, w4 = v.reshape(t, nb, nc, 2, 2), m.reshape(t, nb, nc, 2, 2), w.reshape(t, nb, nc, 2, 2)
    out = {
        "S": np.zeros((nfs, nb, 2, 2, 2, 2), complex),
        "T": np.zeros((nfs, nb) + (2,) * 6, complex),
        "P": np.zeros((nfs, nb, 2, 2)),
        "wsum": np.zeros((nfs, 4)),
    }
    for f in range(nfs):
        chans = np.flatnonzero(cidx == f)
        if chans.size == 0:
            continue
        if chans.size == nc:
            vv, mm, ww = v4, m4, w4
        else:
            vv, mm, ww = v4[:, :, chans], m4[:, :, chans], w4[:, :, chans]
        wvv = ww * vv
        mc = np.conj(mm)
        out["S"][f] = np.einsum("tbcpq,tbcrs->bpqrs", wvv, mc)
        mm2 = np.einsum("tbcrs,tbcuv->tbcrsuv", mm, mc)
        out["T"][f] = np.einsum("tbcpq,tbcrsuv->bpqrsuv", ww, mm2)
        out["P"][f] = np.einsum("tbcpq,tbcpq->bpq", wvv, np.conj(vv)).real
        out["wsum"][f] = ww.sum(axis=(0, 1, 2)).reshape(4)
    return out


def combine_statistics(stats: list[GainStatistics]) -> GainStatistics:
    """Sum statistics of several frequency windows on the same time grid and baselines.

    Parameters
    ----------
    stats : list of GainStatistics
        One per window, in the order they are added (so every executor gives the same
        sums bit for bit); sums of shape [nsol_time, nsol_freq, nbaseline, ...].

    Returns
    -------
    GainStatistics
        The element-wise sums (the first window's metadata).

    Raises
    ------
    CalibrationError
        The pieces differ in mode, antennas, baselines or solution times.
    """
    if not stats:
        raise CalibrationError("combine_statistics needs at least one GainStatistics")
    first = stats[0]
    for i, s in enumerate(stats[1:], start=1):
        what = None
        if s.mode != first.mode:
            what = f"mode {s.mode} vs {first.mode}"
        elif s.nant != first.nant or not (
            np.array_equal(s.antenna1, first.antenna1)
            and np.array_equal(s.antenna2, first.antenna2)
        ):
            what = "antennas/baselines"
        elif s.time.shape != first.time.shape or not np.allclose(
            s.time, first.time, rtol=0, atol=1e-3
        ):
            what = "solution times"
        elif s.wsum.shape != first.wsum.shape:
            what = f"shape {s.wsum.shape} vs {first.wsum.shape}"
        if what:
            raise CalibrationError(
                f"cannot combine statistics of window {i} with window 0: {what} differ"
            )
    # Added in list order, so every executor gives bit-identical sums.
    sums = {name: arr.copy() for name, arr in first.sums.items()}
    wsum = first.wsum.copy()
    for s in stats[1:]:
        for name in sums:
            sums[name] += s.sums[name]
        wsum += s.wsum
    return GainStatistics(
        mode=first.mode, antenna1=first.antenna1, antenna2=first.antenna2, nant=first.nant,
        time=first.time, interval=first.interval, sums=sums, wsum=wsum,
        polarisation_frame=first.polarisation_frame, meta=dict(first.meta),
    )  # fmt: skip
