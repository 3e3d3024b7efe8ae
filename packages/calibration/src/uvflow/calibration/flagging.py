"""Flagging of the obvious: autocorrelations, zero and non-finite data, the start of each scan
(quack), and antennas or baselines named by the user.

:func:`flag_obvious` returns a new Visibility (new ``flags``; ``vis``, ``weight`` and the rest
shared, the input untouched) and a summary of what it flagged. The reasons are applied in
the order below, and each counts the samples it flags that were not flagged before it, so
``before + Σ reasons = after``:

``autocorrelation``  baselines with ``antenna1 == antenna2``;
``nonfinite``        samples whose visibility or weight is NaN or infinite;
``zero``             samples whose visibility is exactly 0 (real and imaginary);
``quack``            integrations in the first ``quack_seconds`` of each scan;
``antenna``          baselines with an antenna named in ``antennas``;
``baseline``         baselines named in ``baselines``.

Scans: the Visibility carries no scan numbers, so unless they are given (``scans=``) they are
derived from the times as AIPS' INDXR does: sorted by time, a new scan starts where
consecutive integrations' mid-times are further apart than ``scan_gap`` seconds (default:
twice the longer of the two integration times, so one missing integration does not split a
scan). Quack (AIPS QUACK, CASA ``flagdata(mode='quack', quackmode='beg')``) flags an
integration when any part of it lies within the first ``quack_seconds`` of its scan, the
scan starting where its first integration starts: ``quack_seconds = n ×`` the integration
time flags exactly ``n`` integrations. (CASA compares mid-times with the scan start plus
``quackinterval``, inclusive; to flag ``n`` integrations there, give a little less than
``n`` integration times.)

Antennas are names of the configuration or indices; baselines are ``'ANT1&ANT2'`` strings
(CASA's selection syntax for one baseline) or pairs of names or indices, in either order.
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.datamodels import Visibility

from .errors import CalibrationError

__all__ = ["FLAG_REASONS", "flag_obvious", "scan_numbers"]

log = logging.getLogger(__name__)

#: The reasons of :func:`flag_obvious`, in the order they are applied.
FLAG_REASONS = ("autocorrelation", "nonfinite", "zero", "quack", "antenna", "baseline")


def scan_numbers(time, integration_time, scan_gap: float | None = None) -> np.ndarray:
    """Scan number of each integration, from gaps in time.

    Parameters
    ----------
    time : numpy.ndarray of float64, shape [ntime]
        Integration mid-points (MJD seconds), in any order.
    integration_time : numpy.ndarray of float64, shape [ntime]
        Seconds.
    scan_gap : float, optional
        A new scan starts where consecutive mid-times (in time order) differ by more than
        this many seconds; None: twice the longer of the two integration times.

    Returns
    -------
    numpy.ndarray of int64, shape [ntime]
        0 for the first scan, then 1, 2, … in time order (equal times share a scan).
    """
    time = np.asarray(time, dtype=float)
    dt = np.broadcast_to(np.asarray(integration_time, dtype=float), time.shape)
    if scan_gap is not None and not (np.isfinite(scan_gap) and scan_gap > 0):
        raise CalibrationError(f"scan_gap must be a positive number of seconds, got {scan_gap}")
    order = np.argsort(time, kind="stable")
    t, d = time[order], dt[order]
    gap = np.diff(t)
    limit = 2 * np.maximum(d[1:], d[:-1]) if scan_gap is None else scan_gap
    scan_sorted = np.concatenate([[0], np.cumsum(gap > limit)]).astype(np.int64)
    out = np.empty(time.size, np.int64)
    out[order] = scan_sorted[: time.size]
    return out


def _quack_rows(vis: Visibility, quack_seconds: float, scans) -> tuple[np.ndarray, int]:
    """Integrations to quack [ntime] and the number of scans."""
    if scans is None:
        scans = scan_numbers(vis.time, vis.integration_time, None)
    scans = np.asarray(scans)
    if scans.shape != (vis.ntime,):
        raise CalibrationError(
            f"scans must have one entry per integration ({vis.ntime}), got {scans.shape}"
        )
    start = vis.time - vis.integration_time / 2
    rows = np.zeros(vis.ntime, bool)
    ids = np.unique(scans)
    if quack_seconds > 0:
        for s in ids:
            inscan = scans == s
            rows |= inscan & (start < start[inscan].min() + quack_seconds)
    return rows, int(ids.size)


def _antenna_index(vis: Visibility, antenna) -> int:
    names = [] if vis.configuration is None else [str(n) for n in vis.configuration.names]
    if isinstance(antenna, (int, np.integer)) and not isinstance(antenna, bool):
        if not 0 <= int(antenna) < vis.nants:
            raise CalibrationError(f"antenna index {antenna} out of range 0..{vis.nants - 1}")
        return int(antenna)
    if isinstance(antenna, str):
        if antenna in names:
            return names.index(antenna)
        known = ", ".join(names) if names else "none (the Visibility has no configuration)"
        raise CalibrationError(f"antenna {antenna!r} unknown; the antennas are: {known}")
    raise CalibrationError(f"an antenna is a name or an index, got {antenna!r}")


def _baseline_pair(vis: Visibility, baseline) -> tuple[int, int]:
    if isinstance(baseline, str):
        parts = baseline.split("&")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise CalibrationError(f"baseline {baseline!r} is not of the form 'ANT1&ANT2'")
        baseline = tuple(p.strip() for p in parts)
    if not isinstance(baseline, (tuple, list)) or len(baseline) != 2:
        raise CalibrationError(
            f"a baseline is 'ANT1&ANT2' or a pair of antenna names or indices, got {baseline!r}"
        )
    return _antenna_index(vis, baseline[0]), _antenna_index(vis, baseline[1])


def _as_tuple(value, what: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, (str, int, np.integer)):
        raise CalibrationError(
            f"{what} must be a list or tuple, got {value!r} (wrap it: [{value!r}])"
        )
    return tuple(value)


def flag_obvious(
    vis: Visibility,
    autocorrelations: bool = True,
    nonfinite: bool = True,
    zeros: bool = True,
    quack_seconds: float = 0.0,
    scans=None,
    scan_gap: float | None = None,
    antennas=(),
    baselines=(),
) -> tuple[Visibility, dict]:
    """Flag what is obviously bad or unwanted (module notes) and report the fractions.

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]`` complex, ``weight`` float and ``flags`` bool
        of the same shape; not modified.
    autocorrelations : bool
        Flag baselines with ``antenna1 == antenna2``.
    nonfinite : bool
        Flag samples whose visibility or weight is NaN or infinite.
    zeros : bool
        Flag samples whose visibility is exactly 0.
    quack_seconds : float
        Flag the integrations within this many seconds of the start of each scan (0: none).
    scans : numpy.ndarray of int, shape [ntime], optional
        Scan number of each integration; None: derived from time gaps (:func:`scan_numbers`).
    scan_gap : float, optional
        Seconds; the gap that starts a new scan when scans are derived (see :func:`scan_numbers`).
    antennas : sequence of str or int
        Antennas to flag, by configuration name or index.
    baselines : sequence of str or pair
        Baselines to flag: ``'ANT1&ANT2'`` or ``(ant1, ant2)`` with names or indices.

    Returns
    -------
    Visibility
        New ``flags`` bool [ntime, nbaseline, nchan, npol]; every other array shared with ``vis``.
    dict
        ``nvis`` (samples), ``nscans``, ``before`` and ``after`` (flagged fractions), one
        fraction per reason of :data:`FLAG_REASONS` (samples it newly flagged / ``nvis``),
        and ``counts``: the same as numbers of samples.

    Raises
    ------
    CalibrationError
        An unknown antenna name (the message lists the names), an index out of range, a
        malformed baseline, a negative ``quack_seconds`` or scans of the wrong length.
    """
    if not isinstance(vis, Visibility):
        raise CalibrationError(f"vis must be a Visibility, got {type(vis).__name__}")
    if not (np.isfinite(quack_seconds) and quack_seconds >= 0):
        raise CalibrationError(f"quack_seconds must be >= 0, got {quack_seconds}")
    bad_antennas = sorted({_antenna_index(vis, a) for a in _as_tuple(antennas, "antennas")})
    pairs = [_baseline_pair(vis, b) for b in _as_tuple(baselines, "baselines")]
    a1, a2 = vis.antenna1, vis.antenna2
    quack, nscans = _quack_rows(vis, float(quack_seconds), scans)
    baseline_set = {frozenset(p) for p in pairs}
    named = np.array([frozenset((int(i), int(j))) in baseline_set for i, j in zip(a1, a2)], bool)
    # Each reason as a mask that broadcasts to [ntime, nbaseline, nchan, npol].
    masks = {
        "autocorrelation": (a1 == a2)[None, :, None, None] if autocorrelations else None,
        "nonfinite": ~(np.isfinite(vis.vis) & np.isfinite(vis.weight)) if nonfinite else None,
        "zero": (vis.vis == 0) if zeros else None,
        "quack": quack[:, None, None, None],
        "antenna": (np.isin(a1, bad_antennas) | np.isin(a2, bad_antennas))[None, :, None, None],
        "baseline": named.reshape(1, -1, 1, 1),
    }
    flags = vis.flags.copy()
    nvis = int(flags.size)
    counts = {"before": int(flags.sum())}
    for reason in FLAG_REASONS:
        mask = masks[reason]
        if mask is None or not np.any(mask):
            counts[reason] = 0
            continue
        new = np.broadcast_to(mask, flags.shape) & ~flags
        counts[reason] = int(new.sum())
        flags |= new
    counts["after"] = int(flags.sum())
    summary = {"nvis": nvis, "nscans": nscans}
    summary.update({k: (v / nvis if nvis else 0.0) for k, v in counts.items()})
    summary["counts"] = counts
    log.debug(
        "flagged %.2f%% -> %.2f%% of %d visibilities (%s)",
        100 * summary["before"], 100 * summary["after"], nvis,
        ", ".join(f"{r} {100 * summary[r]:.2f}%" for r in FLAG_REASONS),
    )  # fmt: skip
    return vis.replace(flags=flags), summary
