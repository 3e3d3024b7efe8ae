"""Visibility sources through the calibration chain and workflow: the Visibility results.

A source (:mod:`uvflow.datamodels.sources`) is a recipe each task loads where it runs.
Given sources, ``calibrate_list`` returns derived sources (read and corrected wherever they
are loaded) and the same gain tables as given the Visibility itself, bit for bit (the same
kernels run on the same arrays), in two chained cycles as ICAL runs them, serially and on
Dask. How often each window is read is counted: nothing the size of the data is kept
between tasks, so a window is read once per stage that solves and once by whoever loads
the calibrated source.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest

from uvflow.calibration import CalibrationError, CalibrationSettings, create_calibration_controls
from uvflow.calibration.calibration_workflows import calibrate_list
from uvflow.calibration.chain import apply_chain, corrected_source, solve_chain
from uvflow.datamodels import DerivedSource, Visibility, is_source, load_visibility
from uvflow.datamodels.testing import MemorySource
from uvflow.execution import rsexecute

LOADS: Counter = Counter()


@dataclass(frozen=True)
class CountingSource:
    """Gives a copy of the Visibility it holds; counts its loads by name (in this process)."""

    name: str
    vis: Visibility

    @property
    def shape(self):
        return tuple(self.vis.vis.shape)

    @property
    def nbytes(self):
        return int(self.vis.vis.nbytes + self.vis.weight.nbytes + self.vis.flags.nbytes)

    def load(self) -> Visibility:
        LOADS[self.name] += 1
        v = self.vis
        return v.replace(vis=v.vis.copy(), weight=v.weight.copy(), flags=v.flags.copy())


def _sources(windows):
    vis_list, model_list, _, _ = windows
    return (
        [CountingSource(f"vis{w}", v) for w, v in enumerate(vis_list)],
        [CountingSource(f"model{w}", m) for w, m in enumerate(model_list)],
    )


def _ical_settings(h, global_solution) -> CalibrationSettings:
    """'TGB' as ICAL's cycles use it: T from cycle 0, G and B from cycle 1."""
    c = h.exact_controls()
    c["G"]["first_selfcal"] = c["B"]["first_selfcal"] = 1
    return CalibrationSettings.create("TGB", c, global_solution)


def _two_cycles(vis_list, model_list, settings, windows_per_task=None):
    """Cycles 0 and 1, the second starting from the first's tables (as ICAL)."""
    cal0, gts = calibrate_list(vis_list, model_list, None, settings, 0, windows_per_task)
    cal1, gts = calibrate_list(vis_list, model_list, gts, settings, 1, windows_per_task)
    return rsexecute.compute((cal0, cal1, gts), sync=True)


def _assert_same(results, reference, rtol=0.0):
    """Calibrated windows (loaded) and tables equal: exactly, or to ``rtol`` of the peak."""
    for a_list, b_list in zip(results[:2], reference[:2]):
        for a, b in zip(a_list, b_list):
            a, b = load_visibility(a), load_visibility(b)
            assert np.max(np.abs(a.vis - b.vis)) <= rtol * np.max(np.abs(b.vis))
            assert np.max(np.abs(a.weight - b.weight)) <= rtol * np.max(b.weight)
            np.testing.assert_array_equal(a.flags, b.flags)
    for ga, gb in zip(results[2], reference[2]):
        assert set(ga) == set(gb) == {"T", "G", "B"}
        for term in ga:
            scale = np.max(np.abs(gb[term].gain))
            assert np.max(np.abs(ga[term].gain - gb[term].gain)) <= rtol * scale
            assert np.max(np.abs(ga[term].weight - gb[term].weight)) <= rtol * np.max(
                gb[term].weight
            )


@pytest.mark.parametrize("windows_per_task", [1, None])
@pytest.mark.parametrize("global_solution", [True, False])
def test_sources_give_the_visibility_results(h, windows, global_solution, windows_per_task):
    """Serial, two cycles: the tables of sources equal those of the Visibility bit for bit;
    the calibrated windows are derived sources of the given ones that load to the corrected
    Visibility the Visibility input gives (also bit for bit)."""
    rsexecute.set_client(use_dask=False)
    settings = _ical_settings(h, global_solution)
    vis_list, model_list, _, _ = windows
    reference = _two_cycles(vis_list, model_list, settings, windows_per_task)
    assert all(isinstance(v, Visibility) for v in reference[0] + reference[1])
    sources, models = _sources(windows)
    results = _two_cycles(sources, models, settings, windows_per_task)
    for cal in results[0] + results[1]:
        assert isinstance(cal, DerivedSource) and is_source(cal)
        assert cal.func is apply_chain and isinstance(cal.base, CountingSource)
    assert all(c.base is s for c, s in zip(results[1], sources))
    assert set(results[0][0].args[0]) == {"T"}  # cycle 0 applies T only (G, B from 1)
    assert set(results[1][0].args[0]) == {"T", "G", "B"}
    _assert_same(results, reference)
    # cycle 1 recovers the model (the windows are made so that one pass is exact)
    for cal, model in zip(results[1], model_list):
        assert h.relative_error(load_visibility(cal).vis, model.vis) < 1e-6


@pytest.mark.parametrize("global_solution", [True, False])
def test_sources_on_the_threads_scheduler_equal_serial(h, windows, global_solution):
    settings = _ical_settings(h, global_solution)
    rsexecute.set_client(use_dask=False)
    serial = _two_cycles(*_sources(windows), settings)
    rsexecute.set_client(use_dask=True, scheduler="threads", n_workers=2)
    try:
        on_dask = _two_cycles(*_sources(windows), settings, windows_per_task=1)
    finally:
        rsexecute.close()
        rsexecute.set_client(use_dask=False)
    _assert_same(on_dask, serial, rtol=1e-12)


@pytest.mark.cluster
@pytest.mark.slow
def test_sources_on_a_cluster_equal_serial(h, windows):
    """A 2-worker LocalCluster, both kinds of solution, two cycles each: the derived sources
    come back from the workers and load to the serial results (equal up to the BLAS
    summation order, 1e-12). The sources are datamodels.testing.MemorySource (a copy of a
    Visibility at each load), which the workers can import."""
    vis_list, model_list, _, _ = windows
    sources = [MemorySource(v) for v in vis_list]
    models = [MemorySource(m) for m in model_list]
    settings = {g: _ical_settings(h, g) for g in (True, False)}
    rsexecute.set_client(use_dask=False)
    serial = {g: _two_cycles(sources, models, settings[g], 1) for g in (True, False)}
    rsexecute.set_client(use_dask=True, n_workers=2, threads_per_worker=1, dashboard_address=":0")
    try:
        assert rsexecute.using_dask
        on_dask = {g: _two_cycles(sources, models, settings[g], 1) for g in (True, False)}
    finally:
        rsexecute.close()
        rsexecute.set_client(use_dask=False)
    for g in (True, False):
        assert all(isinstance(c, DerivedSource) for c in on_dask[g][1])
        _assert_same(on_dask[g], serial[g], rtol=1e-12)


READS = [
    # (context, global_solution, G and B from cycle 1, reads per window by calibrate_list)
    ("TG", True, False, 2),  # T statistics, G statistics
    ("TGB", True, False, 3),  # T statistics, G statistics, B solved per window
    ("TGB", True, True, 1),  # ICAL's first cycle: T statistics (and G, B unit tables)
    ("TGB", False, False, 1),  # the whole chain in one task per window
    ("T", True, False, 1),
]


@pytest.mark.parametrize("windows_per_task", [1, None])
@pytest.mark.parametrize("context, global_solution, later, reads", READS)
def test_reads_per_window(windows, context, global_solution, later, reads, windows_per_task):
    """How often calibrate_list reads each window (serial): once per stage that solves,
    i.e. once per global term in use, plus once if per-window terms follow the last one or
    there is none. The calibrated sources are not read by calibrate_list: whoever loads one
    reads and corrects its window once more. So 'TG' global is read three times per cycle
    (T statistics, G statistics, the consumer), global_solution=False twice. Each window's
    model is read by the same stages, except that unit tables need no model."""
    rsexecute.set_client(use_dask=False)
    controls = create_calibration_controls()
    if later:
        controls["G"]["first_selfcal"] = controls["B"]["first_selfcal"] = 1
    settings = CalibrationSettings.create(context, controls, global_solution)
    sources, models = _sources(windows)
    LOADS.clear()
    calibrated, _ = calibrate_list(sources, models, None, settings, 0, windows_per_task)
    nwin = len(sources)
    assert LOADS == Counter({**{f"vis{w}": reads for w in range(nwin)},
                             **{f"model{w}": reads for w in range(nwin)}})  # fmt: skip
    for cal in calibrated:
        load_visibility(cal)
    assert all(LOADS[f"vis{w}"] == reads + 1 for w in range(nwin))


def test_corrected_source(h, windows):
    """apply_chain's lazy sibling: a Visibility comes back corrected (what apply_chain
    gives); a source comes back as a derived source of it, with only the tables applied
    at the iteration, read only when loaded; no table applied: the source itself."""
    rsexecute.set_client(use_dask=False)
    vis_list, model_list, _, _ = windows
    settings = _ical_settings(h, True)
    tables = solve_chain(vis_list[0], model_list[0], None, settings, 1)
    corrected = corrected_source(vis_list[0], tables, settings, 1)
    expected = apply_chain(vis_list[0], tables, settings, 1)
    assert isinstance(corrected, Visibility)
    np.testing.assert_array_equal(corrected.vis, expected.vis)
    source = CountingSource("lazy", vis_list[0])
    LOADS.clear()
    lazy = corrected_source(source, tables, settings, 1)
    assert isinstance(lazy, DerivedSource) and lazy.base is source and not LOADS
    assert lazy.shape == source.shape and lazy.nbytes == source.nbytes
    loaded = load_visibility(lazy)
    assert LOADS["lazy"] == 1
    for field in ("vis", "weight", "flags"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(expected, field))
    assert set(corrected_source(source, tables, settings, 0).args[0]) == {"T"}  # G, B from 1
    assert corrected_source(source, {"G": tables["G"]}, settings, 0) is source
    # solve_chain and apply_chain load sources themselves (a task given a source)
    from_source = solve_chain(source, CountingSource("m", model_list[0]), None, settings, 1)
    np.testing.assert_array_equal(from_source["G"].gain, tables["G"].gain)
    np.testing.assert_array_equal(apply_chain(source, tables, settings, 1).vis, expected.vis)


@pytest.mark.parametrize("mode", ["serial", "dask"])
def test_not_a_visibility_is_named(h, windows, mode):
    """An item that is neither a Visibility nor a source (nor a deferred one) is refused
    when the graph is built, naming its type; the chain functions raise TypeError."""
    vis_list, model_list, _, _ = windows
    settings = CalibrationSettings.create("TG", h.exact_controls())
    if mode == "dask":
        rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        with pytest.raises(CalibrationError, match="vis_list must hold .* got int"):
            calibrate_list([vis_list[0], 3, vis_list[2]], model_list, None, settings)
        with pytest.raises(CalibrationError, match="model_vislist must hold .*or None, got str"):
            calibrate_list(vis_list, [None, "model.ms", None], None, settings)
        with pytest.raises(CalibrationError, match="windows_per_task must be >= 1, got 0"):
            calibrate_list(vis_list, model_list, None, settings, 0, 0)
    finally:
        rsexecute.close()
        rsexecute.set_client(use_dask=False)
    with pytest.raises(TypeError, match="a visibility source, got int"):
        solve_chain(3, None, None, settings)
    with pytest.raises(TypeError, match="a visibility source, got bytes"):
        apply_chain(b"vis", {}, settings)
    with pytest.raises(TypeError, match="a visibility source, got float"):
        corrected_source(1.5, {}, settings)
