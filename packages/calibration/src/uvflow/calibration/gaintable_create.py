"""Gain tables on a visibility's solution grid, and the maps from data to solutions.

Solution intervals
------------------
Time: ``timeslice=None`` or ``'auto'`` gives one solution per integration (centred on
it, as wide as it). A number of seconds cuts time into bins of that width starting at
the beginning of the first integration; an integration belongs to the bin holding its
mid-point; bins holding no integration are dropped. A solution's ``time`` is its bin
centre and ``interval`` its width, so every integration lies inside its solution.

Frequency: ``frequencyslice=None`` gives one solution for all channels for 'T' and 'G'
(centred on the mean channel frequency) and one per channel for 'B'; a width in Hz cuts
the band into bins of that width like time. The width of every frequency solution is
kept in ``gt.meta['frequency_interval']`` (Hz).

Mapping data onto a table (for solving and applying): an integration uses the solution
whose interval contains its mid-point, or else the nearest one in time; a channel uses
the frequency solution whose interval contains it (a 'T' or 'G' table with one frequency
solution applies to every channel). A channel outside all frequency intervals of a
table is an error, never a silent extrapolation.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import JONES_TYPES, GainTable, Visibility

from .errors import CalibrationError
from .jones import receptor_frame_of

__all__ = [
    "create_gaintable_from_visibility",
    "solution_channel_coverage",
    "solution_channel_index",
    "solution_time_index",
]


def _seconds(value, what: str) -> float:
    if hasattr(value, "to_value"):  # astropy Quantity
        value = value.to_value("s") if what == "timeslice" else value.to_value("Hz")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise CalibrationError(
            f"{what} must be None, 'auto' (timeslice only) or a positive number, got {value!r}"
        ) from None
    if not np.isfinite(value) or value <= 0:
        raise CalibrationError(f"{what} must be positive and finite, got {value}")
    return value


def _bins(centres: np.ndarray, widths: np.ndarray, slice_width: float):
    """Group samples (centre ± width/2) into bins of ``slice_width``; returns centres, widths."""
    lo = float(np.min(centres - widths / 2))
    k = np.floor((centres - lo) / slice_width + 1e-9).astype(np.int64)
    used = np.unique(k)
    return lo + (used + 0.5) * slice_width, np.full(used.size, slice_width)


def create_gaintable_from_visibility(
    vis: Visibility, timeslice=None, frequencyslice=None, jones_type: str = "T"
) -> GainTable:
    """A unit gain table on the solution grid of ``vis`` (see the module notes).

    Parameters
    ----------
    vis : Visibility
        Supplies times, channels, antennas and the receptor frame (stokesI data give one
        scalar receptor, linear/circular data two).
    timeslice : None, 'auto', float or astropy Quantity
        None or 'auto': one solution per integration; a number: interval width in seconds.
    frequencyslice : None, float or astropy Quantity
        None: one frequency solution for 'T'/'G', one per channel for 'B'; a number: width
        of the frequency intervals in Hz.
    jones_type : {'T', 'G', 'B'}

    Returns
    -------
    GainTable
        ``gain[ntime, nant, nchan, nrec, nrec]`` complex128 identity matrices, weight 1,
        residual 0, ``jones_type`` as given.
    """
    if jones_type not in JONES_TYPES:
        raise CalibrationError(
            f"jones_type {jones_type!r} unknown; the built-in types are {', '.join(JONES_TYPES)} "
            "(other terms are created by their solver: uvflow.calibration.get_solver(name))"
        )
    if vis.ntime == 0 or vis.nchan == 0 or vis.nbaseline == 0:
        raise CalibrationError(f"cannot make a gain table from an empty Visibility: {vis!r}")
    receptors = receptor_frame_of(vis.polarisation_frame)
    if timeslice is None or (isinstance(timeslice, str) and timeslice == "auto"):
        order = np.argsort(vis.time, kind="stable")
        t, keep = np.unique(vis.time[order], return_index=True)
        times, intervals = t, vis.integration_time[order][keep].astype(float)
    else:
        if isinstance(timeslice, str):
            raise CalibrationError(f"timeslice {timeslice!r} unknown; use None, 'auto' or seconds")
        times, intervals = _bins(vis.time, vis.integration_time, _seconds(timeslice, "timeslice"))
    f, bw = vis.frequency, vis.channel_bandwidth
    if frequencyslice is not None:
        freqs, fwidth = _bins(f, bw, _seconds(frequencyslice, "frequencyslice"))
    elif jones_type == "B":
        order = np.argsort(f, kind="stable")
        freqs, fwidth = f[order].copy(), bw[order].copy()
    else:
        lo, hi = float(np.min(f - bw / 2)), float(np.max(f + bw / 2))
        freqs, fwidth = np.array([float(np.mean(f))]), np.array([hi - lo])
    nrec = receptors.nrec
    shape = (times.size, vis.nants, freqs.size, nrec, nrec)
    gain = np.zeros(shape, complex)
    gain[..., np.arange(nrec), np.arange(nrec)] = 1.0
    return GainTable(
        gain=gain,
        weight=np.ones(shape),
        residual=np.zeros((times.size, freqs.size, nrec, nrec)),
        time=times,
        interval=intervals,
        frequency=freqs,
        receptor_frame=receptors,
        phasecentre=vis.phasecentre,
        configuration=vis.configuration,
        jones_type=jones_type,
        meta={"frequency_interval": fwidth},
    )


def solution_time_index(gt: GainTable, times: np.ndarray) -> np.ndarray:
    """Index of the solution used by each time: the one containing it, else the nearest.

    Parameters
    ----------
    gt : GainTable
    times : numpy.ndarray of float64, shape [ntime]
        MJD seconds.

    Returns
    -------
    numpy.ndarray of int64, shape [ntime]
    """
    times = np.asarray(times, dtype=float)
    order = np.argsort(gt.time, kind="stable")
    centre, half = gt.time[order], gt.interval[order] / 2
    n = centre.size
    start = centre - half
    k = np.clip(np.searchsorted(start, times, side="right") - 1, 0, n - 1)
    eps = 1e-6 + 1e-9 * half[k]
    inside = np.abs(times - centre[k]) <= half[k] + eps
    # Not inside any interval (a gap, or beyond the ends): nearest centre of k, k+1.
    k1 = np.clip(k + 1, 0, n - 1)
    nearer = np.abs(times - centre[k1]) < np.abs(times - centre[k])
    k = np.where(inside, k, np.where(nearer, k1, k))
    return order[k]


def _frequency_widths(gt: GainTable) -> np.ndarray:
    widths = gt.meta.get("frequency_interval")
    if widths is not None and np.shape(widths) == (gt.nchan,):
        return np.asarray(widths, dtype=float)
    if gt.nchan == 1:
        return np.array([np.inf])
    f = np.sort(gt.frequency)
    gaps = np.diff(f)
    left = np.concatenate([[gaps[0]], gaps])
    right = np.concatenate([gaps, [gaps[-1]]])
    return np.minimum(left, right)[np.argsort(np.argsort(gt.frequency))]


def _nearest_solution(gt: GainTable, frequency: np.ndarray):
    """The nearest frequency solution of each channel [nchan] int64, and whether the
    channel lies in its interval [nchan] bool."""
    widths = _frequency_widths(gt)
    k = np.argmin(np.abs(frequency[:, None] - gt.frequency[None, :]), axis=1)
    inside = np.abs(frequency - gt.frequency[k]) <= widths[k] / 2 * (1 + 1e-9) + 1e-3
    return k.astype(np.int64), inside


def solution_channel_coverage(gt: GainTable, frequency: np.ndarray) -> np.ndarray:
    """Whether each channel (``frequency`` [nchan] float64, Hz) lies in one of the table's
    frequency intervals: bool [nchan]. A one-solution 'T' or 'G' table without recorded
    widths (``meta['frequency_interval']``) covers every channel, as it applies to every
    channel."""
    return _nearest_solution(gt, np.asarray(frequency, dtype=float))[1]


def solution_channel_index(gt: GainTable, frequency: np.ndarray) -> np.ndarray:
    """Index of the frequency solution used by each channel.

    Parameters
    ----------
    gt : GainTable
    frequency : numpy.ndarray of float64, shape [nchan]
        Channel centres, Hz.

    Returns
    -------
    numpy.ndarray of int64, shape [nchan]

    Raises
    ------
    CalibrationError
        A channel lies outside every frequency interval of the table.
    """
    frequency = np.asarray(frequency, dtype=float)
    if gt.nchan == 1 and gt.jones_type != "B":
        return np.zeros(frequency.size, np.int64)
    k, inside = _nearest_solution(gt, frequency)
    if not np.all(inside):
        bad = frequency[~inside]
        raise CalibrationError(
            f"{gt.jones_type} gain table has {gt.nchan} frequency solutions at "
            f"{gt.frequency.min() / 1e6:.6g}–{gt.frequency.max() / 1e6:.6g} MHz that do not cover "
            f"{bad.size} visibility channel(s) (e.g. {bad[0] / 1e6:.6g} MHz); make or solve a "
            "table for these channels"
        )
    return k
