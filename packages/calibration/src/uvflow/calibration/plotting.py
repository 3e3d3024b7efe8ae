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
    ants = _antennas(gt, antennas)
    fig = _figure(2)
    ax_a, ax_p = fig.subplots(2, 1, sharex=True)
    hours = (gt.time - gt.time.min()) / 3600.0
    d = np.diagonal(gt.gain[:, :, channel], axis1=-2, axis2=-1)  # [ntime, nant, nrec]
    valid = np.diagonal(gt.weight[:, :, channel], axis1=-2, axis2=-1) > 0
    styles = ["-", "--"]
    for r, rname in enumerate(gt.receptor_frame.names):
        for a in ants:
            ok = valid[:, a, r]
            color = f"C{a % 10}"
            ls = styles[r % 2]
            ax_a.plot(hours[ok], np.abs(d[ok, a, r]), ls, color=color, marker=".", lw=0.8)
            ax_p.plot(
                hours[ok], np.degrees(np.angle(d[ok, a, r])), ls, color=color, marker=".", lw=0.8
            )
        ax_a.plot([], [], styles[r % 2], color="k", label=f"receptor {rname}")
    ax_a.set_ylabel("amplitude")
    ax_p.set_ylabel("phase (deg)")
    ax_p.set_xlabel(f"time since {gt.time.min():.1f} s (MJD seconds) / h")
    ax_a.legend(loc="best", fontsize="small")
    fig.suptitle(title or f"{gt.jones_type} gains, {gt.frequency[channel] / 1e6:.3f} MHz")
    return _save(fig, filename)


def plot_gaintable_spectrum(
    gt: GainTable, filename, time: int = 0, antennas=None, title: str | None = None
) -> pathlib.Path:
    """Amplitude and phase against frequency (for bandpass tables), one line per antenna.

    Parameters
    ----------
    gt : GainTable
        ``gain[ntime, nant, nchan, nrec, nrec]`` complex128 and ``weight`` float64 of the
        same shape.
    filename : str or path-like
        PNG file to write (written to a temporary name, then renamed).
    time : int
        Solution interval to plot, 0 … ntime − 1.
    antennas : sequence of int, optional
        Antenna indices (default all).
    title : str, optional

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
    ants = _antennas(gt, antennas)
    fig = _figure(2)
    ax_a, ax_p = fig.subplots(2, 1, sharex=True)
    mhz = gt.frequency / 1e6
    order = np.argsort(mhz)
    d = np.diagonal(gt.gain[time], axis1=-2, axis2=-1)  # [nant, nchan, nrec]
    valid = np.diagonal(gt.weight[time], axis1=-2, axis2=-1) > 0
    for r in range(gt.nrec):
        for a in ants:
            ok = order[valid[a, order, r]]
            ls = "-" if r == 0 else "--"
            ax_a.plot(mhz[ok], np.abs(d[a, ok, r]), ls, color=f"C{a % 10}", lw=0.8)
            ax_p.plot(mhz[ok], np.degrees(np.angle(d[a, ok, r])), ls, color=f"C{a % 10}", lw=0.8)
    ax_a.set_ylabel("amplitude")
    ax_p.set_ylabel("phase (deg)")
    ax_p.set_xlabel("frequency / MHz")
    fig.suptitle(title or f"{gt.jones_type} gains, solution interval {time}")
    return _save(fig, filename)
