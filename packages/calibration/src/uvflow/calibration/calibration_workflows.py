"""Calibration of a list of frequency windows as a task graph (serial or Dask).

``calibrate_list_rsexecute_workflow`` solves a calibration chain for a list of
visibilities (one per frequency window) and returns graphs of the calibrated
visibilities and the gain tables. It runs through ``rsexecute``: immediately in serial
mode, as Dask tasks otherwise, with the same code and the same answer.

Global solutions (``global_solution=True``): a frequency-independent term (T, G) is
solved jointly over all windows. Each window's task reduces its (already corrected) data
to the sufficient statistics of the solve (per solution interval and baseline, no
channel axis: ``uvflow.calibration.statistics``); one task adds them in window order and
solves; the solution is then applied to every window by a task on that window. The
visibilities stay where they are; only the small statistics and tables move.
Frequency-dependent terms (B) are solved per window. With ``global_solution=False``
every window runs the whole chain on its own data in one task.

Controls are checked when the graph is built (``uvflow.calibration.validate_controls``):
an unknown term or a misspelt key raises ``ControlsError`` here, in every mode, not when
a Dask task runs.

Task count (tested, ``tests/calibration/test_calibration_workflows.py``), linear in the
number of windows ``nwindow``:

- a global term (``global_solution=True``, T or G): ``2·nwindow + 1`` (an accumulate task
  per window, one solve, an apply task per window);
- a per-window term (B with ``global_solution=True``): ``3·nwindow`` (a solve-and-correct
  task per window and the two ``getitem`` tasks that unpack its (visibility, table)
  result);
- a term skipped at this iteration (``first_selfcal > iteration``) without a given table:
  ``nwindow`` (a unit table per window), otherwise none;
- ``global_solution=False``: ``(2 + nterm)·nwindow`` for the whole chain of ``nterm``
  terms (one task per window and the ``getitem`` tasks that unpack its result: the
  calibrated visibility and one table per term).

Every window's result is a dict of gain tables by term whose values are tables (serial)
or deferred tables (Dask), in both kinds of solution, so the tables of one call can be
the ``gt_list`` of the next (self-calibration cycles) in every execution mode.

``calibrate_list_rsexecute_workflow`` takes RASCIL's flat arguments; :func:`calibrate_list`
does the same from one :class:`~uvflow.calibration.CalibrationSettings`, made once, which
every task receives.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from uvflow.datamodels import GainTable
from uvflow.execution import rsexecute, strict_keywords

from .apply import apply_gaintable
from .chain import apply_chain, solve_chain
from .errors import CalibrationError
from .settings import CalibrationSettings
from .solver_plugins import get_solver

__all__ = ["calibrate_list", "calibrate_list_rsexecute_workflow"]


def _calibrate_window(vis, model, gaintables, settings, iteration):
    """One window, whole chain: the corrected window, then one table per term (in order)."""
    gts = solve_chain(vis, model, gaintables, settings, iteration)
    return (apply_chain(vis, gts, settings, iteration), *(gts[t] for t in settings.terms))


def _solve_and_correct(term, vis, model, gt, settings):
    """One window, one term: solve it and correct the window's data by it."""
    gt = get_solver(term).solve(vis, model, gt, **settings.term_controls(term)[1])
    return apply_gaintable(vis, gt, inverse=True), gt


def _accumulate(term, vis, model, gt, settings):
    """One window's table for ``term`` (given or new) and its solve statistics."""
    solver = get_solver(term)
    controls = settings.term_controls(term)[1]
    table = gt if gt is not None else solver.create(vis, **controls)
    return table, solver.accumulate(vis, model, table, **controls)


def _solve_global(term, parts, settings):
    """Add the windows' statistics (in window order) and solve one table for all windows."""
    solver = get_solver(term)
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
    return solver.solve_accumulated([p[1] for p in parts], table, **settings.term_controls(term)[1])


def _widths(t: GainTable) -> np.ndarray:
    w = t.meta.get("frequency_interval")
    return np.asarray(w, float) if w is not None else np.zeros(t.nchan)


def _create(term, vis, settings):
    return get_solver(term).create(vis, **settings.term_controls(term)[1])


@strict_keywords
def calibrate_list_rsexecute_workflow(
    vis_list,
    model_vislist,
    gt_list=None,
    calibration_context="TG",
    controls=None,
    global_solution: bool = True,
    iteration: int = 0,
):
    """Calibrate a list of windows: graphs of the calibrated visibilities and gain tables.

    Parameters
    ----------
    vis_list : list of Visibility (or of deferred Visibility)
        One per frequency window (``vis[ntime, nbaseline, nchan, npol]`` complex, with
        ``weight`` float and ``flags`` bool); windows of a global solution share times and
        antennas.
    model_vislist : list of Visibility (or deferred), or of None
        Model visibilities, one per window (None: 1 Jy point source at the phase centre).
    gt_list : list of dict, optional
        Per window, existing gain tables by term (starting gains and solution grids),
        e.g. the tables a previous call returned.
    calibration_context : str or sequence of str
        Terms in chain order, e.g. 'TG' or 'TGB'.
    controls : dict, optional
        Per-term controls (``create_calibration_controls()``; defaults per solver).
    global_solution : bool
        Solve frequency-independent terms jointly over all windows.
    iteration : int
        Self-calibration iteration (terms with ``first_selfcal > iteration`` are skipped).

    Returns
    -------
    (list, list)
        Calibrated visibilities per window, and per window a dict of gain tables by term
        (the same table object for every window of a global term); deferred values in the
        Dask modes (compute them with ``rsexecute.compute``), values in serial mode.

    Raises
    ------
    TypeError
        An unknown keyword (the message lists the valid ones).
    CalibrationError
        Lists of different lengths, an unknown term in the context.
    ControlsError
        Bad controls (a ``CalibrationError`` and a ``TypeError``): an entry for a term no
        installed solver provides, or a key the term's solver does not know; raised while
        the graph is built, in every execution mode.
    """
    settings = CalibrationSettings.create(calibration_context, controls, global_solution)
    return calibrate_list(vis_list, model_vislist, gt_list, settings, iteration)


def calibrate_list(
    vis_list, model_vislist, gt_list, settings: CalibrationSettings, iteration: int = 0
):
    """:func:`calibrate_list_rsexecute_workflow` with one :class:`CalibrationSettings`.

    Parameters
    ----------
    vis_list, model_vislist, gt_list, iteration
        As for :func:`calibrate_list_rsexecute_workflow` (``gt_list`` may be None).
    settings : CalibrationSettings
        Terms, controls and ``global_solution``, checked when the settings were made.

    Returns
    -------
    (list, list)
        As :func:`calibrate_list_rsexecute_workflow` returns.

    Raises
    ------
    CalibrationError
        Lists of different lengths, ``vis_list`` holding something other than
        visibilities, ``gt_list`` holding something other than dicts, or a term without
        a global solution asked to solve globally.
    """
    if not isinstance(settings, CalibrationSettings):
        raise CalibrationError(
            f"settings must be a CalibrationSettings (CalibrationSettings.create(...)), got "
            f"{type(settings).__name__}"
        )
    vis_list, model_vislist = list(vis_list), list(model_vislist)
    nwin = len(vis_list)
    if nwin == 0:
        raise CalibrationError("vis_list is empty")
    if len(model_vislist) != nwin:
        raise CalibrationError(f"model_vislist has {len(model_vislist)} windows, vis_list {nwin}")
    if gt_list is not None and len(gt_list) != nwin:
        raise CalibrationError(f"gt_list has {len(gt_list)} windows, vis_list {nwin}")
    for v in vis_list:
        if isinstance(v, (GainTable, dict, list, np.ndarray)) or v is None:
            raise CalibrationError(f"vis_list must hold Visibility objects, got {type(v).__name__}")
    gts = [_tables_by_term(gt_list[w] if gt_list is not None else None) for w in range(nwin)]
    if not settings.global_solution:
        return _calibrate_windows(vis_list, model_vislist, gts, settings, iteration)
    current = list(vis_list)
    for term in settings.terms:
        solver = get_solver(term)
        if iteration < settings.term_controls(term)[0]:
            for w in range(nwin):
                if term not in gts[w]:
                    gts[w][term] = rsexecute.execute(_create)(term, vis_list[w], settings)
            continue
        if solver.frequency_dependent:
            for w in range(nwin):
                current[w], gts[w][term] = rsexecute.execute(_solve_and_correct, nout=2)(
                    term, current[w], model_vislist[w], gts[w].get(term), settings
                )
            continue
        if not (hasattr(solver, "accumulate") and hasattr(solver, "solve_accumulated")):
            raise CalibrationError(
                f"solver {term!r} has no accumulate/solve_accumulated, so it cannot be solved "
                "globally; use global_solution=False"
            )
        parts = [
            rsexecute.execute(_accumulate, nout=2)(
                term, current[w], model_vislist[w], gts[w].get(term), settings
            )
            for w in range(nwin)
        ]
        table = rsexecute.execute(_solve_global)(term, parts, settings)
        for w in range(nwin):
            gts[w][term] = table
            current[w] = rsexecute.execute(apply_gaintable)(current[w], table, inverse=True)
    return current, gts


def _tables_by_term(given) -> dict:
    """A new dict of one window's given tables (None: none)."""
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise CalibrationError(
            f"gt_list must hold one dict of gain tables by term per window, got "
            f"{type(given).__name__}"
        )
    return dict(given)


def _calibrate_windows(vis_list, model_vislist, gts, settings, iteration):
    """Per-window solutions: one task per window runs the whole chain.

    The task returns the calibrated window and then one table per term, unpacked here
    (``nout``) into a dict by term: the graph never has to iterate a deferred dict, so
    the tables can be the next call's ``gt_list`` in every execution mode.
    """
    calibrated, tables = [], []
    nout = 1 + len(settings.terms)
    for vis, model, given in zip(vis_list, model_vislist, gts):
        corrected, *solved = rsexecute.execute(_calibrate_window, nout=nout)(
            vis, model, given, settings, iteration
        )
        calibrated.append(corrected)
        tables.append({**given, **dict(zip(settings.terms, solved))})
    return calibrated, tables
