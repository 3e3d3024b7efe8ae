"""The work of one task of the calibration workflow: one stage of the chain on some windows.

:func:`~uvflow.calibration.calibrate_list` cuts a chain at its global terms (solved
jointly over all windows, DESIGN "Tasks carry real work"): a *stage* is what one window
does between two global solves, and one task does a stage for a group of windows, one
window after the other:

1. read the window (:func:`uvflow.datamodels.load_visibility`: a Visibility is used as it
   is, a visibility source is loaded), make unit tables for the terms skipped at this
   iteration that have none (stage 0 only: they need the window's times and channels,
   not its data), and correct it by the tables solved in earlier stages;
2. solve the per-window terms of the stage (B, or every term when
   ``global_solution=False``), each on the data corrected by the terms before it;
3. then either reduce the data to the statistics of the stage's global term (its
   :meth:`accumulate`, added over windows by :func:`solve_global`), or, in the last stage,
   give the calibrated window: the corrected Visibility for a Visibility, and for a
   source :func:`~uvflow.calibration.chain.corrected_source` (a derived source that reads
   and corrects the window wherever it is loaded; nothing the size of the data is kept).

Nothing is kept between stages but gain tables and statistics: each stage starts from the
window as given, so a source is read once per stage that solves. The kernels here use no
Dask; they run as they are in serial mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from uvflow.datamodels import GainTable, Visibility, load_visibility

from .apply import apply_gaintable
from .chain import apply_chain, corrected_source
from .errors import CalibrationError
from .settings import CalibrationSettings
from .solver_plugins import get_solver

__all__ = ["Stage", "calibrate_group", "calibrate_one", "solve_global"]


@dataclass(frozen=True)
class Stage:
    """What every window does in one stage (see the module notes).

    Parameters
    ----------
    solves : tuple of str
        Per-window terms solved (and applied) in chain order.
    accumulate : str or None
        The global term whose statistics end the stage (None: the last stage).
    corrects : bool
        The stage gives the calibrated window (last stage, when some table applies).
    """

    solves: tuple[str, ...] = ()
    accumulate: str | None = None
    corrects: bool = False

    def loads(self, creates: Sequence[str]) -> bool:
        """Whether a window making unit tables for ``creates`` reads its data."""
        return bool(creates or self.solves or self.accumulate)

    def outputs(self, creates: Sequence[str]) -> int:
        """Results per window: statistics, created tables, solved tables, calibrated window."""
        return (self.accumulate is not None) + len(creates) + len(self.solves) + self.corrects


def calibrate_group(
    data_list: list,
    model_list: list,
    applied_list: list[dict[str, GainTable]],
    given_list: list[dict[str, GainTable]],
    creates_list: list[tuple[str, ...]],
    settings: CalibrationSettings,
    iteration: int,
    stage: Stage,
    after=None,
) -> tuple:
    """One stage for a group of windows, one after the other.

    Parameters
    ----------
    data_list : list of Visibility or VisibilitySource
        The windows as given to the workflow (``vis[ntime, nbaseline, nchan, npol]``
        complex with ``weight`` float and ``flags`` bool, once loaded).
    model_list : list of Visibility, VisibilitySource or None
        Their model visibilities (None: 1 Jy point source at the phase centre).
    applied_list : list of dict of str to GainTable
        Per window, the tables of the earlier stages to correct the window by, in chain
        order.
    given_list : list of dict of str to GainTable
        Per window, the given tables of this stage's terms (starting gains, grids).
    creates_list : list of tuple of str
        Per window, the skipped terms to make unit tables for.
    settings : CalibrationSettings
    iteration : int
    stage : Stage
    after : object, optional
        Not used: the result of the same windows' task in the stage before. As an input it
        makes a Dask scheduler run this task where that one ran, spreading the stage over
        the workers as the first stage was (a task goes where its inputs are; with only
        the stage's small gain table as input, a source's task of every window would go
        to the one worker holding the table).

    Returns
    -------
    tuple
        Per window in order, :meth:`Stage.outputs` values: ``(table, statistics)`` of the
        global term, the created tables, the solved tables (in ``creates`` and
        ``stage.solves`` order) and the calibrated window (Visibility, or a derived source
        for a source).

    Raises
    ------
    TypeError
        A window or model neither a Visibility nor a visibility source.
    """
    del after  # where to run, not what
    out: list = []
    for data, model, applied, given, creates in zip(
        data_list, model_list, applied_list, given_list, creates_list, strict=True
    ):
        out.extend(_window(data, model, applied, given, creates, settings, iteration, stage))
    return tuple(out)


def calibrate_one(data, model, applied, given, creates, settings, iteration, stage, after=None):
    """:func:`calibrate_group` for one window with one output: that output itself."""
    del after  # where to run (see calibrate_group)
    (value,) = _window(data, model, applied, given, creates, settings, iteration, stage)
    return value


def _window(data, model, applied, given, creates, settings, iteration, stage: Stage) -> list:
    if not stage.loads(creates):  # the correction only: a source is not read here
        return [corrected_source(data, applied, settings, iteration)] if stage.corrects else []
    vis = load_visibility(data)
    created = [_controlled(term, settings, "create", vis) for term in creates]
    vis = apply_chain(vis, applied, settings, iteration)
    model_vis = None
    if model is not None and (stage.solves or stage.accumulate):
        model_vis = load_visibility(model)
    # A source's calibrated window is a derived source: its last correction is not needed.
    corrects_here = stage.accumulate is not None or isinstance(data, Visibility)
    solved = {}
    for k, term in enumerate(stage.solves):
        solved[term] = _controlled(term, settings, "solve", vis, model_vis, given.get(term))
        if corrects_here or k < len(stage.solves) - 1:
            vis = apply_gaintable(vis, solved[term], inverse=True)
    out: list = []
    if stage.accumulate is not None:
        term = stage.accumulate
        table = given.get(term)
        if table is None:
            table = _controlled(term, settings, "create", vis)
        out.append((table, _controlled(term, settings, "accumulate", vis, model_vis, table)))
    out.extend(created)
    out.extend(solved.values())
    if stage.corrects:
        if isinstance(data, Visibility):
            out.append(vis)
        else:
            out.append(corrected_source(data, {**applied, **solved}, settings, iteration))
    return out


def _controlled(term: str, settings: CalibrationSettings, method: str, *args):
    """``solver.<method>(*args, **controls)`` of ``term``'s solver."""
    return getattr(get_solver(term), method)(*args, **settings.term_controls(term)[1])


def solve_global(term: str, parts: list, settings: CalibrationSettings) -> GainTable:
    """Add the windows' statistics (in window order) and solve one table for all windows.

    Parameters
    ----------
    term : str
        A frequency-independent term (one frequency solution per window).
    parts : list of tuple
        Per window in order, the ``(table, statistics)`` of :func:`calibrate_group`.
    settings : CalibrationSettings

    Returns
    -------
    GainTable
        ``gain[ntime, nant, 1, nrec, nrec]`` complex128, one frequency solution spanning
        every window (``meta['frequency_interval']``, ``meta['windows']``).

    Raises
    ------
    CalibrationError
        The windows' tables have more than one frequency solution.
    """
    tables = [p[0] for p in parts]
    first = tables[0]
    if first.nchan != 1:
        raise CalibrationError(
            f"a global {term} solution needs one frequency solution per window; its tables "
            f"have {first.nchan} (use global_solution=False or frequencyslice=None)"
        )
    lo = min(float(np.min(t.frequency - _widths(t) / 2)) for t in tables)
    hi = max(float(np.max(t.frequency + _widths(t) / 2)) for t in tables)
    freq = np.array([np.mean([np.mean(t.frequency) for t in tables])])
    meta = dict(first.meta)
    meta["frequency_interval"] = np.array([hi - lo])
    meta["windows"] = len(tables)
    table = first.replace(frequency=freq, meta=meta)
    return get_solver(term).solve_accumulated(
        [p[1] for p in parts], table, **settings.term_controls(term)[1]
    )


def _widths(t: GainTable) -> np.ndarray:
    w = t.meta.get("frequency_interval")
    return np.asarray(w, float) if w is not None else np.zeros(t.nchan)
