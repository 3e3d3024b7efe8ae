"""Calibration of a list of frequency windows as a task graph (serial or Dask).

``calibrate_list_rsexecute_workflow`` solves a calibration chain for a list of
visibilities (one per frequency window, or per chunk of a window) and returns graphs of
the calibrated visibilities and the gain tables. It runs through ``rsexecute``:
immediately in serial mode, as Dask tasks otherwise, with the same code and the same
answer.

Global solutions (``global_solution=True``): a frequency-independent term (T, G) is
solved jointly over all windows. Each window reduces its data, corrected by the terms
before it, to the sufficient statistics of the solve (per solution interval and
baseline, no channel axis: ``uvflow.calibration.statistics``); one task adds them in
window order and solves. Frequency-dependent terms (B) are solved per window. With
``global_solution=False`` every window runs the whole chain on its own data.

Tasks carry real work (DESIGN §4). The chain is cut at its global terms into *stages*
(:mod:`uvflow.calibration.window_tasks`); one task does a whole stage for a group of
windows: read the window, correct it by the tables of the earlier stages, make the unit
tables of skipped terms, solve the per-window terms, then reduce to the statistics of the
stage's global term or, in the last stage, give the calibrated window. Only gain tables and
statistics pass between tasks: no task keeps or sends corrected data to another. On a
cluster, windows given as Visibility (not deferred) become one graph node per group,
rather than a copy in the task of every stage (nothing is scattered: a graph node is rebuilt
if its worker is lost).

Visibility sources (:mod:`uvflow.datamodels.sources`): any window or model may be a
source; a task loads it where it runs. The calibrated window of a source is a derived
source (:func:`~uvflow.calibration.chain.corrected_source`, made by the last stage's
task, so its tables are that task's inputs): whoever loads it reads and corrects the
data. A source is read once per stage that solves, so per call: once per global term
in use, plus once when per-window terms or unit tables follow the last global term (or
there is none), plus once by whoever loads the calibrated source. For 'TG' solved
globally: three reads per cycle (T statistics, G statistics, the consumer); for
``global_solution=False``: two. A Visibility comes back as a new corrected Visibility.

Task count (tested, ``tests/calibration/test_calibration_workflows.py``), with ``ngroup``
tasks per stage (one per window with ``windows_per_task=1``; see :func:`calibrate_list`):

- a global term in use: ``ngroup`` statistics tasks, a ``getitem`` per window taking out
  its statistics, and one solve. The solve's worker copies those, not the stage tasks'
  results, which stay where they ran and draw the next stage's task of the same windows
  there: a task goes where its inputs are, and with only the small table as input every
  window's task of a source would go to the worker holding it;
- the last stage: ``ngroup`` tasks (per-window terms, unit tables, the calibrated windows;
  for sources the correction alone only builds the derived sources), none when no term is
  in use and there is no unit table to make;
- a ``getitem`` per table made or solved per window and per calibrated window, except for
  a task whose single result is its window's calibrated data.

So for ``nwindow`` windows one per task: 'TG' global ``5·nwindow + 2``, of which
``3·nwindow + 2`` do the work (before the stages were fused: ``4·nwindow + 2``, an apply
task per window and term); 'TGB' global ``7·nwindow + 2``, ``3·nwindow + 2`` doing the work
(before: ``7·nwindow + 2``, ``5·nwindow + 2``); ``global_solution=False``
``(2 + nterm)·nwindow`` (a task and ``1 + nterm`` getitems per window, as before).

Every window's result is a dict of gain tables by term whose values are tables (serial)
or deferred tables (Dask), in both kinds of solution, so the tables of one call can be
the ``gt_list`` of the next (self-calibration cycles) in every execution mode.

Controls are checked when the graph is built (``uvflow.calibration.validate_controls``):
an unknown term or a misspelt key raises ``ControlsError`` here, in every mode, not when
a Dask task runs.

``calibrate_list_rsexecute_workflow`` takes RASCIL's flat arguments; :func:`calibrate_list`
does the same from one :class:`~uvflow.calibration.CalibrationSettings`, made once, which
every task receives.
"""

from __future__ import annotations

from collections.abc import Mapping

from uvflow.datamodels import Visibility, is_source
from uvflow.execution import rsexecute, strict_keywords

from .errors import CalibrationError
from .settings import CalibrationSettings
from .solver_plugins import get_solver
from .window_tasks import Stage, calibrate_group, calibrate_one, solve_global

__all__ = ["TASK_VISIBILITIES", "calibrate_list", "calibrate_list_rsexecute_workflow"]

#: At most this many visibilities (time × baseline × channel × correlation) in a task made
#: of several consecutive windows of known size (``windows_per_task=None``): ~100 ms of
#: statistics at ~20 M/s. A bigger window has a task of its own.
TASK_VISIBILITIES = 1 << 21


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
    vis_list : list of Visibility or VisibilitySource (or deferred ones)
        One per frequency window (``vis[ntime, nbaseline, nchan, npol]`` complex, with
        ``weight`` float and ``flags`` bool); windows of a global solution share times and
        antennas. A source is loaded by the tasks that need its data.
    model_vislist : list of Visibility, VisibilitySource or None (or deferred ones)
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
        Per window the calibrated data (a corrected Visibility for a Visibility, a
        derived source for a source: :func:`~uvflow.calibration.chain.corrected_source`),
        and per window a dict of gain tables by term (the same table object for every
        window of a global term); deferred values in the Dask modes (compute them with
        ``rsexecute.compute``), values in serial mode.

    Raises
    ------
    TypeError
        An unknown keyword (the message lists the valid ones).
    CalibrationError
        Lists of different lengths, an item that is not a visibility, an unknown term in
        the context.
    ControlsError
        Bad controls (a ``CalibrationError`` and a ``TypeError``): an entry for a term no
        installed solver provides, or a key the term's solver does not know; raised while
        the graph is built, in every execution mode.
    """
    settings = CalibrationSettings.create(calibration_context, controls, global_solution)
    return calibrate_list(vis_list, model_vislist, gt_list, settings, iteration)


def calibrate_list(
    vis_list,
    model_vislist,
    gt_list,
    settings: CalibrationSettings,
    iteration: int = 0,
    windows_per_task: int | None = None,
):
    """:func:`calibrate_list_rsexecute_workflow` with one :class:`CalibrationSettings`.

    Parameters
    ----------
    vis_list, model_vislist, gt_list, iteration
        As for :func:`calibrate_list_rsexecute_workflow` (``gt_list`` may be None).
    settings : CalibrationSettings
        Terms, controls and ``global_solution``, checked when the settings were made.
    windows_per_task : int, optional
        Consecutive windows one task works on (each stage). None: consecutive windows
        whose size is known here (a Visibility, or a source's ``shape``) share a task as
        long as together they have at most :data:`TASK_VISIBILITIES`; a bigger or a
        deferred window has a task of its own. A number is best for many small windows
        given as deferred sources (a task of Visibility windows that live on different
        Dask workers copies them to one).

    Returns
    -------
    (list, list)
        As :func:`calibrate_list_rsexecute_workflow` returns. The grouping changes the
        graph, not the numbers: statistics are added window by window, in window order.

    Raises
    ------
    CalibrationError
        Lists of different lengths, ``vis_list`` or ``model_vislist`` holding something
        other than visibilities (the message names its type), ``gt_list`` holding
        something other than dicts, a bad ``windows_per_task``, or a term without a
        global solution asked to solve globally.
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
    _check_visibilities("vis_list", vis_list, none_allowed=False)
    _check_visibilities("model_vislist", model_vislist, none_allowed=True)
    gts = [_tables_by_term(gt_list[w] if gt_list is not None else None) for w in range(nwin)]
    stages, skipped = _stages(settings, iteration)
    groups = _groups(vis_list, windows_per_task)
    applied: list[dict] = [{} for _ in range(nwin)]  # tables of earlier stages, chain order
    calibrated = list(vis_list)
    data, models = _held(vis_list, groups), _held(model_vislist, groups)
    after: list = [None] * len(groups)  # each group's latest task: where to run the next
    for s, stage in enumerate(stages):
        parts = []  # the (table, statistics) of every window, in window order
        for g, group in enumerate(groups):
            creates = [
                tuple(t for t in skipped if t not in gts[w]) if s == 0 else () for w in group
            ]
            nout = sum(stage.outputs(c) for c in creates)
            if nout == 0:
                continue
            terms = (*stage.solves, stage.accumulate)
            given = [{t: gts[w][t] for t in terms if t in gts[w]} for w in group]
            model = models[g] if stage.solves or stage.accumulate else [None] * len(group)
            tables = [dict(applied[w]) for w in group]
            name = _task_name(stage, creates)
            if len(group) == 1 and nout == 1 and stage.accumulate is None:  # the result itself
                task = rsexecute.execute(calibrate_one, name=name)
                after[g] = task(data[g][0], model[0], tables[0], given[0], creates[0], settings,
                                iteration, stage, after[g])  # fmt: skip
                out = [after[g]]
            else:
                task = rsexecute.execute(calibrate_group, nout=nout, name=name)
                out = after[g] = task(
                    data[g], model, tables, given, creates, settings, iteration, stage, after[g]
                )
            # taken out by getitems, so the solve's worker copies these and not the tasks'
            # results: those stay where they are, and draw the next stage's tasks there
            parts += [out[i] for i in _unpack(stage, group, creates, out, gts, applied, calibrated)]
        if stage.accumulate is not None:
            term = stage.accumulate
            table = rsexecute.execute(solve_global, name=f"solve_{term}")(term, parts, settings)
            for w in range(nwin):
                gts[w][term] = applied[w][term] = table
    return calibrated, gts


def _unpack(stage: Stage, group, creates, out, gts, applied, calibrated) -> list[int]:
    """File a task's results by window; the positions of its statistics."""
    parts, i = [], 0
    for w, made in zip(group, creates):
        if stage.accumulate is not None:
            parts.append(i)
            i += 1
        for term in made:
            gts[w][term] = out[i]
            i += 1
        for term in stage.solves:
            gts[w][term] = applied[w][term] = out[i]
            i += 1
        if stage.corrects:
            calibrated[w] = out[i]
            i += 1
    return parts


def _task_name(stage: Stage, creates) -> str:
    if stage.accumulate is not None:
        return f"statistics_{stage.accumulate}"
    return "calibrate" if any(stage.loads(c) for c in creates) else "correct"


def _stages(settings: CalibrationSettings, iteration: int) -> tuple[list[Stage], tuple]:
    """The chain cut at its global terms; the terms skipped at ``iteration``."""
    stages, solves, skipped, in_use = [], [], [], False
    for term in settings.terms:
        solver = get_solver(term)
        if iteration < settings.term_controls(term)[0]:
            skipped.append(term)
            continue
        in_use = True
        if not settings.global_solution or solver.frequency_dependent:
            solves.append(term)
            continue
        if not (hasattr(solver, "accumulate") and hasattr(solver, "solve_accumulated")):
            raise CalibrationError(
                f"solver {term!r} has no accumulate/solve_accumulated, so it cannot be solved "
                "globally; use global_solution=False"
            )
        stages.append(Stage(tuple(solves), term))
        solves = []
    stages.append(Stage(tuple(solves), None, corrects=in_use))
    return stages, tuple(skipped)


def _groups(vis_list: list, windows_per_task: int | None) -> list[list[int]]:
    """Consecutive windows per task (see :func:`calibrate_list`)."""
    nwin = len(vis_list)
    if windows_per_task is not None:
        if isinstance(windows_per_task, bool) or not isinstance(windows_per_task, int):
            raise CalibrationError(
                f"windows_per_task must be None or an integer >= 1, got {windows_per_task!r}"
            )
        if windows_per_task < 1:
            raise CalibrationError(f"windows_per_task must be >= 1, got {windows_per_task}")
        return [
            list(range(w, min(nwin, w + windows_per_task)))
            for w in range(0, nwin, windows_per_task)
        ]
    groups: list[list[int]] = []
    total = TASK_VISIBILITIES + 1  # the first window starts a group
    for w, vis in enumerate(vis_list):
        size = _size(vis)
        if size is None or total + size > TASK_VISIBILITIES:  # a window too big to add
            groups.append([w])
            total = TASK_VISIBILITIES + 1 if size is None else size
        else:
            groups[-1].append(w)
            total += size
    return groups


def _group(*items):
    """The items of a group, as one value (a task holding the group's data)."""
    return list(items)


def _held(items: list, groups: list[list[int]]) -> list:
    """Per group, what its tasks take: a list of its items.

    On a cluster a group holding Visibility (and nothing deferred) becomes one graph node,
    so that every stage's task uses it where it is instead of carrying a copy of it in its
    own task (DESIGN §4). It is not scattered: a scattered copy lost with its worker cannot
    be rebuilt, a graph node can. (Local schedulers share this process's memory: nothing
    to hold.)
    """
    held = [[items[w] for w in group] for group in groups]
    if rsexecute.mode == "distributed":
        for g, group in enumerate(held):
            if any(isinstance(v, Visibility) for v in group) and not any(map(_deferred, group)):
                node = rsexecute.execute(_group, nout=len(group))(*group)
                held[g] = [node[i] for i in range(len(group))]
    return held


def _size(vis) -> int | None:
    """Visibilities of a window whose size is known here (None: deferred)."""
    if _deferred(vis):  # first: a Delayed has every attribute, so it passes is_source
        return None
    if isinstance(vis, Visibility):
        return int(vis.vis.size)
    if is_source(vis):
        size = 1
        for n in vis.shape:
            size *= int(n)
        return size
    return None


def _deferred(value) -> bool:
    """A Dask collection (``Delayed``) or a ``distributed.Future``."""
    return hasattr(value, "__dask_graph__") or (
        hasattr(value, "key") and callable(getattr(value, "result", None))
    )


def _check_visibilities(name: str, items: list, none_allowed: bool) -> None:
    for v in items:
        if isinstance(v, Visibility) or is_source(v) or _deferred(v):
            continue
        if v is None and none_allowed:
            continue
        what = "Visibility objects, visibility sources" + (" or None" if none_allowed else "")
        raise CalibrationError(f"{name} must hold {what}, got {type(v).__name__}")


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
