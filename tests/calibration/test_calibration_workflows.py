"""calibrate_list_rsexecute_workflow: correctness, global vs per-window, serial ≡ Dask."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from uvflow.calibration import (
    CalibrationError,
    CalibrationSettings,
    ControlsError,
    create_calibration_controls,
    solve_calibrate_chain,
)
from uvflow.calibration.calibration_workflows import (
    TASK_VISIBILITIES,
    calibrate_list,
    calibrate_list_rsexecute_workflow,
)
from uvflow.execution import rsexecute

NWIN, NCHAN_WIN = 3, 2  # the conftest's ``windows``


def _controls():  # the conftest's h.exact_controls()
    c = create_calibration_controls()
    for t in "TGB":
        c[t].update(tol=1e-10, niter=1000)
    for t in "GB":
        c[t]["normalise_gains"] = False
    return c


def _run(vis_list, model_list, context, global_solution):
    calibrated, gts = calibrate_list_rsexecute_workflow(
        vis_list, model_list, calibration_context=context, controls=_controls(),
        global_solution=global_solution,
    )  # fmt: skip
    return rsexecute.compute((calibrated, gts), sync=True)


@pytest.fixture(scope="module")
def serial_results(windows):
    rsexecute.set_client(use_dask=False)
    vis_list, model_list, _, _ = windows
    return {glob: _run(vis_list, model_list, "TGB", glob) for glob in (True, False)}


@pytest.mark.parametrize("global_solution", [True, False])
def test_workflow_recovers_model(h, windows, serial_results, global_solution):
    _, model_list, _, _ = windows
    calibrated, gts = serial_results[global_solution]
    assert len(calibrated) == NWIN and len(gts) == NWIN
    for cal, model in zip(calibrated, model_list):
        # exact, noise-free, separable corruption: the solver-tolerance margin as elsewhere
        assert h.relative_error(cal.vis, model.vis) < 1e-6
    if global_solution:  # one T and one G table shared by all windows, B per window
        assert all(g["T"] is gts[0]["T"] and g["G"] is gts[0]["G"] for g in gts)
        assert gts[0]["T"].nchan == 1 and gts[0]["T"].meta["windows"] == NWIN
        assert [g["B"].nchan for g in gts] == [NCHAN_WIN] * NWIN
    else:
        assert gts[0]["T"] is not gts[1]["T"]


def test_global_solution_equals_solving_all_channels_at_once(h, windows, serial_results):
    """Adding per-window statistics is the same least-squares problem as one solve over
    all channels: agreement to rounding (1e-10; iterations stop at tol 1e-10 for both)."""
    _, _, observed, model = windows
    _, gts = serial_results[True]
    whole = solve_calibrate_chain(observed, model, None, "TG", _controls())
    for term in "TG":
        assert h.relative_error(gts[0][term].gain, whole[term].gain) < 1e-9
    np.testing.assert_allclose(gts[0]["T"].frequency, [observed.frequency.mean()])


@pytest.mark.cluster
@pytest.mark.slow
def test_serial_equals_dask(windows, serial_results):
    vis_list, model_list, _, _ = windows
    rsexecute.set_client(use_dask=True, n_workers=2, threads_per_worker=1, dashboard_address=":0")
    try:
        assert rsexecute.using_dask
        dask_results = {glob: _run(vis_list, model_list, "TGB", glob) for glob in (True, False)}
    finally:
        rsexecute.close()
        rsexecute.set_client(use_dask=False)
    for glob in (True, False):
        # statistics added in window order: identical up to BLAS summation order
        _assert_same(dask_results[glob], serial_results[glob])


def _two_cycles(vis_list, model_list, global_solution):
    """Two self-calibration cycles as ICAL runs them: the second starts from the tables the
    first returned (its gt_list is the first call's deferred tables in the Dask modes)."""
    settings = CalibrationSettings.create("TGB", _controls(), global_solution)
    _, gts = calibrate_list(vis_list, model_list, None, settings, 0)
    calibrated, gts = calibrate_list(vis_list, model_list, gts, settings, 1)
    return rsexecute.compute((calibrated, gts), sync=True)


def _assert_same(results, reference):
    """Same kernels on the same inputs: equal up to BLAS summation order (1e-12 relative)."""
    (cal_a, gts_a), (cal_b, gts_b) = results, reference
    for a, b in zip(cal_a, cal_b):
        assert np.max(np.abs(a.vis - b.vis)) <= 1e-12 * np.max(np.abs(b.vis))
        np.testing.assert_array_equal(a.flags, b.flags)
    for ga, gb in zip(gts_a, gts_b):
        assert set(ga) == set(gb) == {"T", "G", "B"}
        for term in ga:
            scale = np.max(np.abs(gb[term].gain))
            assert np.max(np.abs(ga[term].gain - gb[term].gain)) <= 1e-12 * scale


@pytest.mark.parametrize(
    "scheduler", ["threads", pytest.param("cluster", marks=[pytest.mark.cluster, pytest.mark.slow])]
)
@pytest.mark.parametrize("global_solution", [False, True])
def test_cycles_on_dask_equal_serial(windows, scheduler, global_solution):
    """Per-window solutions on Dask: before the fix a second cycle could not even be built
    ("Delayed objects of unspecified length are not iterable": each window's tables were one
    deferred dict), so ICAL with global_solution=False failed on every Dask scheduler. The
    tables now come back as a dict by term of deferred tables in every mode; two cycles on
    the threads scheduler and on a 2-worker LocalCluster equal serial ones."""
    vis_list, model_list, _, _ = windows
    rsexecute.set_client(use_dask=False)
    serial = _two_cycles(vis_list, model_list, global_solution)
    if scheduler == "threads":
        rsexecute.set_client(use_dask=True, scheduler="threads", n_workers=2)
    else:
        rsexecute.set_client(
            use_dask=True, n_workers=2, threads_per_worker=1, dashboard_address=":0"
        )
    try:
        assert rsexecute.using_dask
        on_dask = _two_cycles(vis_list, model_list, global_solution)
    finally:
        rsexecute.close()
        rsexecute.set_client(use_dask=False)
    _assert_same(on_dask, serial)


def test_calibrate_list_takes_settings(windows, serial_results):
    """calibrate_list with one CalibrationSettings is the RASCIL-named workflow; gt_list
    entries must be dicts by term."""
    vis_list, model_list, _, _ = windows
    rsexecute.set_client(use_dask=False)
    settings = CalibrationSettings.create("TGB", _controls(), global_solution=False)
    _assert_same(calibrate_list(vis_list, model_list, None, settings), serial_results[False])
    with pytest.raises(CalibrationError, match="one dict of gain tables by term per window"):
        calibrate_list(vis_list, model_list, [None, None, [1]], settings)
    with pytest.raises(CalibrationError, match="settings must be a CalibrationSettings"):
        calibrate_list(vis_list, model_list, None, {"terms": "TG"})


def test_workflow_errors(windows):
    vis_list, model_list, _, _ = windows
    rsexecute.set_client(use_dask=False)
    with pytest.raises(TypeError, match="valid keywords: vis_list, model_vislist, gt_list"):
        calibrate_list_rsexecute_workflow(vis_list, model_list, calibration_contxt="T")
    with pytest.raises(ValueError, match="model_vislist has 2 windows"):
        calibrate_list_rsexecute_workflow(vis_list, model_list[:2])
    with pytest.raises(
        ValueError, match=r"solver \(calibration term\) 'X' unknown; installed: B, G, T"
    ):
        calibrate_list_rsexecute_workflow(vis_list, model_list, calibration_context="TX")
    c = create_calibration_controls()
    c["G"]["frequencyslice"] = 1e6
    with pytest.raises(ValueError, match="one frequency solution per window"):
        calibrate_list_rsexecute_workflow(vis_list, model_list, calibration_context="G", controls=c)


# ---- controls are checked when the graph is built ------------------------------------------

BAD_CONTROLS = [
    # a misspelt key of a term in the context: the message names it and the valid keys
    ({"G": {"timeslise": 10.0}}, r"controls\['G'\] got an unexpected keyword argument 'timeslise' "
     r"\(did you mean 'timeslice'\?\); valid keywords: shape, timeslice"),
    # an entry for a term no solver provides (case matters: 'g' is not 'G')
    ({"g": {"timeslice": 10.0}}, r"calibration term\) got an unexpected keyword argument 'g'; "
     r"valid keywords: B, G, T"),
    ({"Q": {}}, r"calibration term\) got an unexpected keyword argument 'Q'; valid keywords: B, G, T"),
    # a misspelt key in an installed term that is not in the context is still a mistake
    ({"B": {"nitre": 5}}, r"controls\['B'\].*'nitre'.*did you mean 'niter'"),
    # values that can be checked without data
    ({"G": {"shape": "matrix", "phase_only": True}}, "use phase_only=False with shape='matrix'"),
    ({"T": {"timeslice": -1.0}}, "timeslice must be positive"),
    ({"G": {"first_selfcal": "one"}}, "first_selfcal'] must be a number"),
    ({"G": 10.0}, r"controls\['G'\] must be a dict"),
]  # fmt: skip


def _graph_keys(value) -> dict:
    """All tasks of the graphs in a nested list/tuple/dict of Dask collections."""
    graph: dict = {}
    stack = [value]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif hasattr(x, "__dask_graph__"):
            graph.update(dict(x.__dask_graph__()))
    return graph


@pytest.mark.parametrize("mode", ["serial", "dask"])
@pytest.mark.parametrize("global_solution", [True, False])
@pytest.mark.parametrize("controls, message", BAD_CONTROLS, ids=range(len(BAD_CONTROLS)))
def test_bad_controls_raise_while_the_graph_is_built(
    windows, mode, global_solution, controls, message
):
    """A bad control raises ControlsError (a CalibrationError and a TypeError) from the
    workflow call itself. In Dask mode nothing has been computed then: before the check
    a misspelt key only failed inside a task at compute time, and an entry for an unknown
    term was ignored in every mode."""
    vis_list, model_list, _, _ = windows
    if mode == "serial":
        rsexecute.set_client(use_dask=False)
    else:
        rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        with pytest.raises(ControlsError, match=message) as err:
            calibrate_list_rsexecute_workflow(
                vis_list, model_list, calibration_context="TG", controls=controls,
                global_solution=global_solution,
            )  # fmt: skip
        assert isinstance(err.value, TypeError) and isinstance(err.value, CalibrationError)
    finally:
        rsexecute.close()
        rsexecute.set_client(use_dask=False)


def test_good_controls_for_terms_outside_the_context_are_accepted(windows):
    """create_calibration_controls() names T, G and B; a 'TG' context must accept it, and a
    Dask graph is built without computing anything."""
    vis_list, model_list, _, _ = windows
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        out = calibrate_list_rsexecute_workflow(
            vis_list, model_list, calibration_context="TG", controls=create_calibration_controls()
        )
        assert len(_graph_keys(out)) > 0
    finally:
        rsexecute.close()
        rsexecute.set_client(use_dask=False)


# ---- task counts: linear in the number of windows ------------------------------------------


def make_small_window():
    from uvflow.datamodels.testing import random_configuration, simple_visibility

    cfg = random_configuration(5, radius=500.0, seed=5)
    return simple_visibility(cfg, ntime=2, frequency=[1e8], channel_bandwidth=1e6,
                             polarisation_frame="linear")  # fmt: skip


def _task_counts(nwin, context, global_solution, controls=None, windows_per_task=1) -> dict:
    """Tasks of the workflow's graph by task name (Dask local scheduler, not run)."""
    vis = make_small_window()
    settings = CalibrationSettings.create(context, controls, global_solution)
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        out = calibrate_list([vis] * nwin, [None] * nwin, None, settings, 0, windows_per_task)
        keys = _graph_keys(out)
    finally:
        rsexecute.close()
        rsexecute.set_client(use_dask=False)
    counts: dict = {}
    for k in keys:
        name = (k[0] if isinstance(k, tuple) else k).split("-")[0]
        counts[name] = counts.get(name, 0) + 1
    return counts


@pytest.mark.parametrize("nwin", [1, 3, 7])
def test_task_counts(nwin):
    """The counts the module docstring states, one window per task. A stage is one task per
    window; a global term adds a getitem per window taking out its statistics and one solve:
    'TG' global 5·n + 2 (T statistics, getitem, solve, G statistics, getitem, solve, the
    correction), 3·n + 2 of them real work; 'TGB' global 7·n + 2 (B's task gives a table and
    the window: two getitems each), 3·n + 2 real work; global_solution=False (2 + nterm)·n
    (a task per window, getitems for the window and each table); a term skipped by
    first_selfcal: its unit tables made by the first task (one getitem per window). Before
    the stages were fused, 'TG' was 4·n + 2 tasks, all real work (an apply task per window
    and term), and 'TGB' 7·n + 2 (5·n + 2 real work)."""
    n = nwin
    tg = {"statistics_T": n, "solve_T": 1, "statistics_G": n, "solve_G": 1, "correct": n,
          "getitem": 2 * n}  # fmt: skip
    assert _task_counts(n, "TG", True) == tg
    assert sum(tg.values()) == 5 * n + 2 and sum(tg.values()) - tg["getitem"] == 3 * n + 2
    tgb = {"statistics_T": n, "solve_T": 1, "statistics_G": n, "solve_G": 1, "calibrate": n,
           "getitem": 4 * n}  # fmt: skip
    assert _task_counts(n, "TGB", True) == tgb
    assert sum(tgb.values()) == 7 * n + 2 and sum(tgb.values()) - tgb["getitem"] == 3 * n + 2
    for context in ("TG", "TGB"):  # the window and one table per term unpacked
        expected = {"calibrate": n, "getitem": (1 + len(context)) * n}
        assert _task_counts(n, context, False) == expected
    c = create_calibration_controls()
    c["G"]["first_selfcal"] = 1
    assert _task_counts(n, "TG", True, c) == {
        "statistics_T": n, "getitem": 2 * n, "solve_T": 1, "correct": n,
    }  # fmt: skip


@pytest.mark.parametrize("nwin", [1, 3, 7])
def test_task_counts_with_windows_grouped(nwin):
    """Windows of known size share tasks up to TASK_VISIBILITIES (these tiny windows: all in
    one): a stage is then one task whatever the number of windows, plus getitems by window
    (statistics of a global term, the calibrated windows, tables of per-window terms)."""
    n = nwin
    correct = {"getitem": 3 * n} if n > 1 else {"getitem": 2}  # one window: its value itself
    assert _task_counts(n, "TG", True, windows_per_task=None) == {
        "statistics_T": 1, "solve_T": 1, "statistics_G": 1, "solve_G": 1, "correct": 1,
        **correct,
    }  # fmt: skip
    assert _task_counts(n, "TGB", False, windows_per_task=None) == {
        "calibrate": 1, "getitem": 4 * n,
    }  # fmt: skip
    # two per task: a last window alone gives its one correction itself (no getitem)
    pairs, alone = divmod(n, 2)
    assert _task_counts(n, "TG", True, windows_per_task=2) == {
        "statistics_T": pairs + alone, "solve_T": 1, "statistics_G": pairs + alone,
        "solve_G": 1, "correct": pairs + alone, "getitem": 2 * n + 2 * pairs,
    }  # fmt: skip


@dataclass(frozen=True)
class _Sized:
    """A source of a given shape that is never loaded (only its size is read)."""

    shape: tuple

    @property
    def nbytes(self):
        return int(np.prod(self.shape)) * 8

    def load(self):
        raise AssertionError("not loaded when the graph is built")


@pytest.mark.parametrize(
    "nvis, per_task", [(TASK_VISIBILITIES // 4, 4), (TASK_VISIBILITIES // 3, 3),
                       (TASK_VISIBILITIES // 2 + 1, 1), (4 * TASK_VISIBILITIES, 1)],
)  # fmt: skip
def test_windows_share_a_task_up_to_task_visibilities(nvis, per_task):
    """windows_per_task=None: consecutive windows of known size share a task while together
    they have at most TASK_VISIBILITIES; a deferred window has a task of its own."""
    sources = [_Sized((1, 1, nvis, 1)) for _ in range(8)]
    settings = CalibrationSettings.create("TG", None, True)
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        deferred = rsexecute.execute(lambda s: s)(sources[0])
        counts = {}
        for vis_list in (sources, [*sources, deferred]):
            keys = _graph_keys(calibrate_list(vis_list, [None] * len(vis_list), None, settings))
            names = [(k[0] if isinstance(k, tuple) else k).split("-")[0] for k in keys]
            counts[len(vis_list)] = names.count("statistics_T")
    finally:
        rsexecute.close()
        rsexecute.set_client(use_dask=False)
    assert counts == {8: -(-8 // per_task), 9: -(-8 // per_task) + 1}
