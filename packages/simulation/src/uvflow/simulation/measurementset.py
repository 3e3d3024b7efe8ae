"""Write simulated visibilities (one or many windows) as one MeasurementSet."""

from __future__ import annotations

import logging
import os

import numpy as np

from uvflow.datamodels import Visibility, concatenate_visibility, write_ms

from .errors import SimulationError

__all__ = ["combine_windows", "write_simulated_ms"]

log = logging.getLogger(__name__)


def combine_windows(vis_list) -> Visibility:
    """Join the windows of one simulation (by frequency, time or both) into one Visibility.

    Windows with the same times are joined along frequency (sorted by frequency); the
    resulting time blocks are joined along time (sorted by time).

    Parameters
    ----------
    vis_list : Visibility or list of Visibility
        e.g. the computed result of ``simulate_list_rsexecute_workflow``.

    Raises
    ------
    SimulationError
        Nothing to join.
    uvflow.datamodels.DataModelError
        Windows that do not tile one observation (different configurations, phase
        centres, overlapping channels …).
    """
    windows = [vis_list] if isinstance(vis_list, Visibility) else list(vis_list)
    if not windows:
        raise SimulationError("no visibilities to combine: the list is empty")
    for i, v in enumerate(windows):
        if not isinstance(v, Visibility):
            raise SimulationError(f"item {i} is a {type(v).__name__}, not a Visibility")
    if len(windows) == 1:
        return windows[0]
    groups: list[list[Visibility]] = []
    for v in sorted(windows, key=lambda w: (float(w.time[0]), float(w.frequency[0]))):
        for g in groups:
            if np.array_equal(g[0].time, v.time):
                g.append(v)
                break
        else:
            groups.append([v])
    blocks = [
        concatenate_visibility(sorted(g, key=lambda w: float(w.frequency[0])), axis="frequency")
        for g in groups
    ]
    return concatenate_visibility(blocks, axis="time") if len(blocks) > 1 else blocks[0]


def write_simulated_ms(
    vis_list, path: str | os.PathLike, overwrite: bool = False, datacolumn: str = "DATA"
) -> Visibility:
    """Write a simulation to a MeasurementSet with ``uvflow.datamodels.write_ms``.

    The windows are joined first (:func:`combine_windows`), so a simulation split by
    frequency becomes one spectral window. ``write_ms`` writes to the final path only when
    complete. Requires python-casacore (``uvflow-simulation[ms]``).

    Parameters
    ----------
    vis_list : Visibility or list of Visibility
    path : str or os.PathLike
    overwrite : bool
        Replace an existing MeasurementSet.
    datacolumn : str

    Returns
    -------
    Visibility
        What was written.
    """
    vis = combine_windows(vis_list)
    write_ms(vis, path, datacolumn=datacolumn, overwrite=overwrite)
    log.info("wrote %r to %s", vis, os.fspath(path))
    return vis
