"""Plots of gain tables (PNG files through matplotlib).

matplotlib is an optional extra (``pip install 'uvflow-calibration[plot]'``): it is large,
pulls GUI-related dependencies, and calibration on a cluster never needs it. It is
imported only when a plot is asked for, with the non-interactive Agg canvas (no pyplot,
no global state), so plotting works in worker processes and without a display.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from uvflow.datamodels import GainTable

from .errors import CalibrationError
from .jones import jones_diagonal

__all__ = ["plot_gaintable", "plot_gaintable_spectrum"]


def _figure(nrows: int):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting gain tables needs matplotlib: pip install 'uvflow-calibration[plot]'"
        ) from exc
    fig = Figure(figsize=(9, 3.2 * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, filename) -> pathlib.Path:
    path = pathlib.Path(filename)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format="png", dpi=100)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _antennas(gt: GainTable, antennas) -> np.ndarray:
    ants = np.arange(gt.nants) if antennas is None else np.asarray(antennas, dtype=int)
    if ants.size == 0 or ants.min() < 0 or ants.max() >= gt.nants:
        raise CalibrationError(f"antennas must be indices in 0..{gt.nants - 1}, got {antennas!r}")
    return ants


def plot_gaintable(
    gt: GainTable, filename, channel: int = 0, antennas=None, title: str | None = None
) -> pathlib.Path:
    """Amplitude and phase against time, one line per antenna and receptor.

    Parameters
    ----------
    gt : GainTable
        ``gain[ntime, nant, nchan, nrec, nrec]`` complex128 and ``weight`` float64 of the
        same shape.
    filename : str or path-like
        PNG file to write (written to a temporary name, then renamed).
    channel : int
        Frequency solution to plot.
    antennas : sequence of int, optional
        Antenna indices (default all).
    title : str, optional

    Returns
    -------
    pathlib.Path
        The file written. Solutions with weight 0 are not drawn.
    """
    if not 0 <= channel < gt.nchan:
        raise CalibrationError(f"channel must be in 0..{gt.nchan - 1}, got {channel}")
    hours = (gt.time - gt.time.min()) / 3600.0
    return _plot_lines(
        hours,
        jones_diagonal(gt.gain[:, :, channel]),  # [ntime, nant, nrec]
        jones_diagonal(gt.weight[:, :, channel]) > 0,
        _antennas(gt, antennas),
        gt.receptor_frame.names,
        f"time since {gt.time.min():.1f} s (MJD seconds) / h",
        title or f"{gt.jones_type} gains, {gt.frequency[channel] / 1e6:.3f} MHz",
        filename,
        marker=".",
    )


def plot_gaintable_spectrum(
    gt: GainTable, filename, time: int = 0, antennas=None, title: str | None = None
) -> pathlib.Path:
    """Amplitude and phase against frequency (for bandpass tables), one line per antenna.

    Parameters
    ----------
    gt, filename, antennas, title
        As for :func:`plot_gaintable` (``gain[ntime, nant, nchan, nrec, nrec]`` complex128
        and ``weight`` float64 of the same shape).
    time : int
        Solution interval to plot, 0 … ntime − 1.

    Returns
    -------
    pathlib.Path
        The file written. Solutions with weight 0 are not drawn.

    Raises
    ------
    CalibrationError
        ``time`` or an antenna out of range.
    ImportError
        matplotlib is not installed (the message names the ``plot`` extra).
    """
    if not 0 <= time < gt.ntimes:
        raise CalibrationError(f"time must be in 0..{gt.ntimes - 1}, got {time}")
    order = np.argsort(gt.frequency)
    return _plot_lines(
        gt.frequency[order] / 1e6,
        jones_diagonal(gt.gain[time]).transpose(1, 0, 2)[order],  # [nchan, nant, nrec]
        jones_diagonal(gt.weight[time]).transpose(1, 0, 2)[order] > 0,
        _antennas(gt, antennas),
        gt.receptor_frame.names,
        "frequency / MHz",
        title or f"{gt.jones_type} gains, solution interval {time}",
        filename,
        marker=None,
    )


def _plot_lines(x, gains, valid, ants, receptors, xlabel, title, filename, marker):
    """Amplitude (top) and phase (bottom) of ``gains[nx, nant, nrec]`` against ``x[nx]``:
    a colour per antenna, a line style per receptor, points where ``valid`` only."""
    fig = _figure(2)
    ax_a, ax_p = fig.subplots(2, 1, sharex=True)
    for r, rname in enumerate(receptors):
        ls = "-" if r % 2 == 0 else "--"
        for a in ants:
            ok = valid[:, a, r]
            style = dict(color=f"C{a % 10}", marker=marker, lw=0.8)
            ax_a.plot(x[ok], np.abs(gains[ok, a, r]), ls, **style)
            ax_p.plot(x[ok], np.degrees(np.angle(gains[ok, a, r])), ls, **style)
        ax_a.plot([], [], ls, color="k", label=f"receptor {rname}")
    ax_a.set_ylabel("amplitude")
    ax_p.set_ylabel("phase (deg)")
    ax_p.set_xlabel(xlabel)
    ax_a.legend(loc="best", fontsize="small")
    fig.suptitle(title)
    return _save(fig, filename)
