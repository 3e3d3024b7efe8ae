"""CalibrationSettings: the calibration option group, complete and checked once, picklable."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from uvflow.calibration import (
    CalibrationError,
    CalibrationSettings,
    ControlsError,
    SolverNotFoundError,
    create_calibration_controls,
    get_solver,
)
from uvflow.calibration.settings import term_controls


def test_create_fills_every_term_from_the_solver_defaults():
    controls = {"G": {"timeslice": 30.0, "first_selfcal": 2}, "B": {"niter": 5}}
    s = CalibrationSettings.create("TG", controls, global_solution=False)
    assert s.terms == ("T", "G") and s.global_solution is False
    assert set(s.controls) == {"T", "G"}  # B is checked, then dropped: not in the context
    assert dict(s.controls["T"]) == get_solver("T").default_controls()
    first, c = s.term_controls("G")
    assert first == 2 and c["timeslice"] == 30.0 and "first_selfcal" not in c
    assert c == term_controls("G", controls)[1]  # the flat helper agrees
    assert s.first_selfcal == 0  # T starts at 0
    c["timeslice"] = 1.0  # a new dict each time: the settings do not change
    assert s.term_controls("G")[1]["timeslice"] == 30.0
    assert CalibrationSettings.create(["T", "G"]) == CalibrationSettings(("T", "G"))


def test_settings_are_read_only():
    s = CalibrationSettings.create("G")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.terms = ("T",)
    with pytest.raises(TypeError):
        s.controls["G"]["niter"] = 3
    with pytest.raises(TypeError):
        s.controls["T"] = {}


def test_settings_pickle_without_checking_again(monkeypatch):
    s = CalibrationSettings.create("TGB", create_calibration_controls(), global_solution=False)
    import uvflow.calibration.settings as settings_module

    def fail(*args):
        raise AssertionError("checked again on unpickling")

    monkeypatch.setattr(settings_module, "validate_controls", fail)
    back = pickle.loads(pickle.dumps(s))
    assert back == s and back.terms == ("T", "G", "B") and back.global_solution is False
    assert back.term_controls("B") == s.term_controls("B")
    with pytest.raises(TypeError):
        back.controls["B"]["niter"] = 1


def test_replace_checks_again():
    s = CalibrationSettings.create("TG")
    assert dataclasses.replace(s, global_solution=False).controls == s.controls
    with pytest.raises(SolverNotFoundError):
        dataclasses.replace(s, terms="TX")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(calibration_context="TX"), SolverNotFoundError, "'X' unknown; installed: B, G, T"),
        (dict(calibration_context=""), CalibrationError, "calibration_context is empty"),
        (dict(calibration_context=3), CalibrationError, "must be a string like 'TGB'"),
        (dict(controls={"G": {"nitre": 3}}), ControlsError, "did you mean 'niter'"),
        (dict(controls={"K": {}}), ControlsError, "unexpected keyword argument 'K'"),
        (dict(controls=[("G", {})]), ControlsError, "controls must be a dict of dicts"),
    ],
)
def test_create_checks_once_when_made(kwargs, error, message):
    with pytest.raises(error, match=message):
        CalibrationSettings.create(**kwargs)


def test_term_controls_of_a_term_outside_the_settings():
    with pytest.raises(CalibrationError, match="term 'B' is not in these settings' terms T, G"):
        CalibrationSettings.create("TG").term_controls("B")
