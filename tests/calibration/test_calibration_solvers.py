"""The uvflow.solvers entry-point group: built-ins, plugins, and a conformance test."""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import EntryPoint

import numpy as np
import pytest

from uvflow.calibration import (
    CalibrationError,
    JonesSolver,
    StefCalSolver,
    apply_calibration_chain,
    apply_gaintable,
    available_solvers,
    get_solver,
    solve_calibrate_chain,
)
from uvflow.calibration.solver_plugins import SOLVERS
from uvflow.datamodels import GainTable


def test_builtins_registered_through_entry_points():
    assert {"T", "G", "B"} <= set(available_solvers())
    for name in "TGB":
        s = get_solver(name)
        assert isinstance(s, StefCalSolver) and isinstance(s, JonesSolver) and s.name == name
    assert get_solver("B").frequency_dependent and not get_solver("G").frequency_dependent


@pytest.mark.parametrize("name", available_solvers())
def test_solver_conformance(h, rng, name):
    """Every installed solver: the protocol, a unit table, and a solve that undoes its own
    corruption of a noise-free point-source observation (1e-6: the solver-tolerance margin)."""
    solver = get_solver(name)
    assert isinstance(solver, JonesSolver) and solver.name == name
    controls = solver.default_controls()
    assert "first_selfcal" in controls and controls is not solver.default_controls()
    controls.pop("first_selfcal")
    vis = h.make_vis(nant=8, ntime=2, nchan=2, frame="linear")
    model = h.point_source_model(vis, [(0.01, 0.0, (1.0, 0, 0, 0))])
    gt = solver.create(vis, **controls)
    assert isinstance(gt, GainTable) and gt.jones_type == name and np.isfinite(gt.gain).all()
    # Phase-only corruption: undone by phase-only and by amplitude (normalised) solves alike.
    corrupted = apply_gaintable(model, h.random_gains(gt, rng, amp=0.0, scalar=True))
    sol = solver.solve(corrupted, model, None, **controls)
    assert isinstance(sol, GainTable) and np.isfinite(sol.gain).all()
    assert h.relative_error(apply_gaintable(corrupted, sol, inverse=True).vis, model.vis) < 1e-6
    with pytest.raises(TypeError):
        solver.solve(corrupted, model, None, not_a_control=1)


PLUGIN = '''
import numpy as np
from uvflow.calibration import create_gaintable_from_visibility


class ConstantPhase:
    """A toy term: one phase per antenna for the whole observation (solved as a T term)."""

    name = "K"
    frequency_dependent = False

    def default_controls(self):
        return {"first_selfcal": 0}

    def create(self, vis):
        return create_gaintable_from_visibility(vis, timeslice=1e9, jones_type="T").replace(jones_type="K")

    def solve(self, vis, modelvis, gt=None):
        from uvflow.calibration import solve_gaintable
        gt = gt if gt is not None else self.create(vis)
        out = solve_gaintable(vis, modelvis, gt=gt.replace(jones_type="T"), phase_only=True)
        return out.replace(jones_type="K")


class NotASolver:
    name = "Z"
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / "uvflow_test_plugin.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    fake = dict(SOLVERS.entry_points)
    for name, attr in (("K", "ConstantPhase"), ("Z", "NotASolver")):
        fake[name] = EntryPoint(
            name=name, value=f"uvflow_test_plugin:{attr}", group="uvflow.solvers"
        )
    SOLVERS.reset(fake)
    yield
    SOLVERS.reset()
    sys.modules.pop("uvflow_test_plugin", None)


def test_plugin_solver_used_by_chain(h, rng, plugin):
    assert "K" in available_solvers()
    vis = h.make_vis(nant=6, ntime=3, nchan=1, frame="stokesI")
    model = h.point_source_model(vis, h.UNPOLARISED)
    k = get_solver("K").create(vis)
    truth = h.random_gains(k, rng, amp=0.0)
    observed = apply_gaintable(model, truth)
    gts = solve_calibrate_chain(observed, model, None, ["K"])
    assert gts["K"].jones_type == "K"
    corrected = apply_calibration_chain(observed, gts, ["K"])
    assert h.relative_error(corrected.vis, model.vis) < 1e-6
    with pytest.raises(CalibrationError, match="does not give a JonesSolver named 'Z'"):
        get_solver("Z")
