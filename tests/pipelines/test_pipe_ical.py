"""ICAL on the pipeline test field corrupted by one G table over the whole band.

Corruption: 0.7 rad rms phase and 10 % rms amplitude errors per antenna and integration,
normalised so that every integration's mean amplitude is 1 — self-calibration cannot
determine the absolute flux scale, and the solver's ``normalise_gains`` fixes the same
mean, so the truth is reachable. Self-calibration starts from an empty model: cycle 0
images the corrupted data, T (phase only) from cycle 1, G (amplitude and phase) from
cycle 2, each one global solution per integration over the four windows.

Tolerances: the data are noise-free and the model converges to the truth, so the solved
gains converge to the injected ones (measured ~6e-6 rad, 5e-6 in amplitude after 12
cycles; tested at 1e-4) and the images to those of the uncorrupted continuum run:
fluxes within 2 %, residual rms within 1.5x of the uncorrupted run's.
"""

from __future__ import annotations

import logging

import numpy as np
import pipe_helpers as H  # tests/pipelines, on sys.path through conftest.py
import pytest

from uvflow.calibration import (
    apply_gaintable,
    create_calibration_controls,
    create_gaintable_from_visibility,
)
from uvflow.datamodels import concatenate_visibility
from uvflow.execution import rsexecute
from uvflow.pipelines import (
    continuum_imaging_list_rsexecute_workflow,
    default_ical_controls,
    ical_list_rsexecute_workflow,
)
from uvflow.simulation import simulate_gaintable

# A 30 % fractional threshold per cycle: cycle 0 (uncalibrated) puts only the brightest
# emission in the model, so self-calibration is not led astray by the scattered flux.
OPTIONS = dict(nmajor=12, niter=1000, fractional_threshold=0.3, threshold=1e-4)


def ical_controls() -> dict:
    controls = create_calibration_controls()
    controls["T"].update(first_selfcal=1, timeslice="auto", phase_only=True)
    controls["G"].update(first_selfcal=2, timeslice="auto", phase_only=False)
    return controls


@pytest.fixture(scope="module")
def corrupted():
    rsexecute.set_client(use_dask=False)
    vis, models, comps = H.make_field()
    band = concatenate_visibility(vis, axis="frequency")
    gt = create_gaintable_from_visibility(band, timeslice="auto", jones_type="G")
    gt = simulate_gaintable(gt, phase_error=0.7, amplitude_error=0.1, seed=5)
    mean_amp = np.mean(np.abs(gt.gain[..., 0, 0]), axis=1, keepdims=True)
    gt = gt.replace(gain=gt.gain / mean_amp[..., None, None])
    observed = [apply_gaintable(v, gt) for v in vis]
    return vis, observed, models, comps, gt


@pytest.fixture(scope="module")
def runs(corrupted):
    vis, observed, models, _, _ = corrupted
    rsexecute.set_client(use_dask=False)
    reference = continuum_imaging_list_rsexecute_workflow(vis, models, **OPTIONS)
    ical = ical_list_rsexecute_workflow(observed, models, controls=ical_controls(), **OPTIONS)
    return reference, ical


def test_fluxes_and_residual_match_uncorrupted(corrupted, runs):
    _, _, _, comps, _ = corrupted
    reference, (models, residuals, restored, _) = runs
    truth = np.array([s for _, s in H.SOURCES])
    for w in range(4):
        np.testing.assert_allclose(H.clean_fluxes(models[w], comps), truth, rtol=0.02)
        assert float(np.max(restored[w].data)) == pytest.approx(10.0, rel=0.02)
        rms = float(np.sqrt(np.mean(residuals[w][0].data ** 2)))
        rms_ref = float(np.sqrt(np.mean(reference[1][w][0].data ** 2)))
        assert rms <= 1.5 * rms_ref


def test_solved_gains_match_injected(corrupted, runs):
    _, _, _, _, truth = corrupted
    gts = runs[1][3]
    assert len(gts) == 4 and set(gts[0]) == {"T", "G"}
    for w in range(4):  # one global table shared by every window
        np.testing.assert_array_equal(gts[w]["G"].gain, gts[0]["G"].gain)
    total = gts[0]["T"].gain[..., 0, 0] * gts[0]["G"].gain[..., 0, 0]  # [ntime, nant, 1]
    true = truth.gain[..., 0, 0]

    def referenced(g):  # phases relative to antenna 0
        return g * np.conj(g[:, :1]) / np.abs(g[:, :1])

    dphase = np.angle(referenced(total) * np.conj(referenced(true)))
    assert np.max(np.abs(dphase)) < 1e-4
    np.testing.assert_allclose(np.abs(total), np.abs(true), rtol=1e-4)


def test_without_selfcal_is_continuum(corrupted):
    _, observed, models, _, _ = corrupted
    rsexecute.set_client(use_dask=False)
    opts = dict(nmajor=2, niter=200, fractional_threshold=0.3)
    a = ical_list_rsexecute_workflow(observed, models, do_selfcal=False, **opts)
    b = continuum_imaging_list_rsexecute_workflow(observed, models, **opts)
    assert a[3] is None
    H.assert_pipeline_same(a[:3], b, rtol=0.0)


def test_stop_early_equals_static_run_of_the_cycles_done(corrupted, caplog):
    _, observed, models, _, _ = corrupted
    rsexecute.set_client(use_dask=False)
    opts = dict(OPTIONS, threshold=0.01, controls=ical_controls())
    with caplog.at_level(logging.INFO, logger="uvflow.pipelines.major_cycle"):
        early = ical_list_rsexecute_workflow(observed, models, **dict(opts, nmajor=30),
                                             stop_early=True)  # fmt: skip
    stops = [r.getMessage() for r in caplog.records if "stopping after" in r.getMessage()]
    assert len(stops) == 1
    done = int(stops[0].split("stopping after ")[1].split()[0])
    assert 3 <= done < 30  # calibrated (T from 1, G from 2) before stopping
    static = ical_list_rsexecute_workflow(observed, models, **dict(opts, nmajor=done))
    longer = ical_list_rsexecute_workflow(observed, models, **dict(opts, nmajor=done + 1))
    # The stopped run made `done` minor cycles (the static run's models) and calibrated once
    # more, against the final model, in the cycle that stopped (the tables of cycle `done`
    # of a longer run); its residual is of those data, within the threshold of the static one.
    # It stopped because its last minor cycle cleaned to the threshold (WSClean's rule), so
    # the exact residual of data recalibrated once more is near it, not necessarily below
    # (the calibration's update moves it: measured 0.0104 and 0.0106 in the two windows);
    # 10 % over is allowed.
    H.assert_same(early[0], static[0], rtol=0.0)
    H.assert_same(early[3], longer[3], rtol=0.0)
    for a, b in zip(early[1], static[1]):
        assert float(np.max(np.abs(a[0].data - b[0].data))) < 0.01
        assert float(np.max(np.abs(a[0].data))) <= 1.1 * 0.01


def test_default_controls_start_at_cycle_one():
    controls = default_ical_controls()
    assert {c["first_selfcal"] for c in controls.values()} == {1}


@pytest.mark.cluster
def test_serial_equals_dask(corrupted):
    _, observed, models, _, _ = corrupted
    # the clean beam fitted to each window's PSF (the default): identical PSFs, so identical
    # beams (see test_pipe_continuum.py's serial ≡ Dask test)
    opts = dict(OPTIONS, nmajor=4)
    early = dict(opts, nmajor=30, threshold=0.05, stop_early=True)
    serial, dask = H.run_serial_and_dask(
        lambda: [
            ical_list_rsexecute_workflow(observed, models, controls=ical_controls(), **opts),
            # stop_early: peaks computed on the cluster, data and tables persisted there
            ical_list_rsexecute_workflow(observed, models, controls=ical_controls(), **early),
        ]
    )
    H.assert_same_beams(dask[0][2], serial[0][2])
    H.assert_same_beams(dask[1][2], serial[1][2])
    H.assert_pipeline_same(dask[0], serial[0])
    H.assert_pipeline_same(dask[1], serial[1])


@pytest.mark.cluster
def test_per_window_solutions_serial_equals_dask(corrupted):
    """``global_solution=False`` (the shape of RASCIL's own ICAL test) on a 2-worker
    cluster: every window solves its own tables; the same numbers as serial (issue 18)."""
    _, observed, models, _, _ = corrupted
    opts = dict(OPTIONS, nmajor=3)
    serial, dask = H.run_serial_and_dask(
        lambda: ical_list_rsexecute_workflow(
            observed, models, controls=ical_controls(), global_solution=False, **opts
        )
    )
    H.assert_pipeline_same(dask, serial)
    tables = serial[3]
    assert tables[0]["T"] is not tables[1]["T"]  # a table per window
    assert not np.array_equal(tables[0]["T"].frequency, tables[1]["T"].frequency)


def test_graph_size_linear_in_windows_and_cycles():
    counts = {}
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        for nwin in (2, 3, 4):
            vis, models, _ = H.make_field(nwin=nwin, ntime=2, nant=4)
            for nmajor in (3, 4, 5):  # every cycle from 2 on solves T and G
                graph = ical_list_rsexecute_workflow(
                    vis, models, nmajor=nmajor, controls=ical_controls()
                )
                counts[(nwin, nmajor)] = H.graph_tasks(graph)
    finally:
        rsexecute.close()
    # per calibrating cycle: predict, accumulate, apply and residual per window plus the
    # global solves and the minor cycle: exactly bilinear in windows × cycles.
    assert H.bilinear_exact(counts)
    assert counts[(4, 5)] - counts[(4, 4)] == counts[(4, 4)] - counts[(4, 3)]


def test_bad_input(corrupted):
    _, observed, models, _, _ = corrupted
    rsexecute.set_client(use_dask=False)
    with pytest.raises(TypeError, match="valid keywords: .*calibration_context"):
        ical_list_rsexecute_workflow(observed, models, calibration_contxt="T")
    with pytest.raises(ValueError, match="calibration_context"):
        ical_list_rsexecute_workflow(observed, models, nmajor=1, calibration_context="")
