"""Gain-solve throughput: ``solve_gaintable`` for G (per receptor, amplitude and phase).

Full size: 4 correlations (linear), 16 channels, 100 solution intervals, and
- 64 antennas (2016 baselines): 500 integrations of 10 s, 50 s intervals (5 each):
  64.5 M visibilities;
- 256 antennas (32 640 baselines): 100 integrations, one interval each ('auto'):
  209 M visibilities.
Data are complex64 with float32 weights (as read from a MeasurementSet): a random-gain
corruption of one off-centre point source plus noise (SNR 10 per visibility).
UVFLOW_BENCH_SIZE=tiny: 8 and 16 antennas, 10 intervals, 4 channels.

Reported (benchmark.extra_info): ``nvis`` = ntime·nbaseline·nchan·npol, ``vis_per_second``
(per core: run with OMP_NUM_THREADS=1), the iterations to converge (median and max over
solutions), and the split between the reduction to per-interval statistics and the
StefCal iterations. The target is ≥ 20 M visibilities/s for the 64-antenna case:
``extra_info['meets_target']`` (64-antenna case only) says whether the fastest round
reached it (``vis_per_second_best`` ≥ ``target_vis_per_second``); nothing asserts a
timing. At UVFLOW_BENCH_SIZE=tiny the "64ant" case has 8 antennas, so its
``meets_target`` only shows the field is filled in.

The solve kernel does not use Dask; ``bench_calibrate_workflow`` runs the calibration
workflow in the harness's mode (serial or Dask) and checks Dask against serial.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from distributed import wait

from uvflow.calibration import (
    accumulate_statistics,
    apply_gaintable,
    create_calibration_controls,
    create_gaintable_from_visibility,
    solve_gaintable,
    solve_gaintable_from_statistics,
)
from uvflow.calibration.calibration_workflows import calibrate_list_rsexecute_workflow
from uvflow.datamodels import SPEED_OF_LIGHT
from uvflow.datamodels.testing import random_configuration, simple_visibility

TARGET = 20e6  # visibilities per second per core, 64-antenna case


def _sizes(tiny: bool, nant: int):
    if tiny:
        return {64: (8, 20, 2, 4), 256: (16, 10, 1, 4)}[nant]
    # nant, ntime, integrations per interval, nchan
    return {64: (64, 500, 5, 16), 256: (256, 100, 1, 16)}[nant]


def make_observation(nant, ntime, nchan, seed=1, dtype=np.complex64):
    """Corrupted, noisy visibilities of a 1 Jy point source 0.01 rad off centre, and the
    model; built block by block in the data's precision to keep memory near 2 × data."""
    rng = np.random.default_rng(seed)
    config = random_configuration(nant, radius=3000.0, seed=seed)
    span = (ntime - 1) * 10.0 * 2 * np.pi / 86164.0905
    vis = simple_visibility(
        config, ntime=ntime, frequency=1.0e8 + 1.0e6 * np.arange(nchan), channel_bandwidth=1.0e6,
        polarisation_frame="linear", integration_time=10.0, hour_angle_span=span, dtype=dtype,
    )  # fmt: skip
    vis = vis.replace(weight=np.ones(vis.vis.shape, np.float32))
    model = vis.copy(zero=True, deep=False)
    scale = vis.frequency / SPEED_OF_LIGHT
    for t in range(ntime):
        phase = np.exp(2j * np.pi * 0.01 * vis.uvw[t, :, 0, None] * scale)  # [nb, nchan]
        model.vis[t] = (phase[..., None] * np.array([1, 0, 0, 1])).astype(dtype)
    return vis, model, rng


def corrupt(vis, model, gt, rng, sigma=0.1):
    shape = gt.gain.shape
    d = (1 + rng.uniform(-0.1, 0.1, shape[:4])) * np.exp(1j * rng.uniform(-1, 1, shape[:4]))
    gain = np.zeros(shape, complex)
    gain[..., [0, 1], [0, 1]] = d
    observed = apply_gaintable(model, gt.replace(gain=gain))
    for t in range(observed.ntime):
        n = rng.normal(scale=sigma / np.sqrt(2), size=observed.vis.shape[1:] + (2,))
        observed.vis[t] += (n[..., 0] + 1j * n[..., 1]).astype(observed.vis.dtype)
    return observed.replace(weight=vis.weight)


@pytest.fixture(scope="module", params=[64, 256], ids=["64ant", "256ant"])
def problem(request, bench_env):
    nant, ntime, per, nchan = _sizes(bench_env.tiny, request.param)
    vis, model, rng = make_observation(nant, ntime, nchan)
    timeslice = "auto" if per == 1 else per * 10.0
    gt = create_gaintable_from_visibility(vis, timeslice=timeslice, jones_type="G")
    assert gt.ntimes == ntime // per
    observed = corrupt(vis, model, gt, rng)
    del vis
    return observed, model, gt, request.param


def test_bench_solve_G(benchmark, problem):
    observed, model, gt, case = problem

    def run():
        return solve_gaintable(observed, model, gt=gt, phase_only=False)

    sol = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    nvis = observed.nvis
    its = np.asarray(sol.meta["iterations"])
    t0 = time.perf_counter()
    stats = accumulate_statistics(observed, model, gt, "diagonal")
    t1 = time.perf_counter()
    solve_gaintable_from_statistics(stats, gt, phase_only=False)
    t2 = time.perf_counter()
    info = benchmark.extra_info
    info.update(
        nant=gt.nants, nbaseline=observed.nbaseline, ntime=observed.ntime, nchan=observed.nchan,
        npol=observed.npol, nsolutions=gt.ntimes * gt.nchan, nvis=nvis,
        vis_per_second=nvis / benchmark.stats.stats.mean,
        vis_per_second_best=nvis / benchmark.stats.stats.min,
        iterations_median=float(np.median(its)), iterations_max=int(its.max()),
        converged_fraction=float(np.mean(sol.meta["converged"])),
        statistics_seconds=t1 - t0, iterations_seconds=t2 - t1,
        statistics_mbytes=stats.nbytes / 2**20, target_vis_per_second=TARGET,
    )  # fmt: skip
    if case == 64:  # the case the target is stated for; the fastest round counts
        info["meets_target"] = bool(nvis / benchmark.stats.stats.min >= TARGET)
    assert np.isfinite(sol.gain).all() and np.mean(sol.meta["converged"]) == 1.0


@pytest.fixture(scope="module")
def windows(bench_env):
    nant, ntime, nwin, nchan = (6, 6, 2, 2) if bench_env.tiny else (64, 60, 4, 4)
    vis, model, rng = make_observation(nant, ntime, nwin * nchan, seed=3)
    gt = create_gaintable_from_visibility(vis, jones_type="G")
    observed = corrupt(vis, model, gt, rng)
    cuts = [slice(w * nchan, (w + 1) * nchan) for w in range(nwin)]
    return [observed.select(channel=c) for c in cuts], [model.select(channel=c) for c in cuts]


def test_bench_calibrate_workflow(benchmark, windows, executor, same_result):
    """calibrate_list_rsexecute_workflow, 'TG' solved globally over the windows."""
    vis_list, model_list = windows
    rs = executor.rsexecute
    controls = create_calibration_controls()

    def build_and_compute(vl, ml):
        calibrated, tables = calibrate_list_rsexecute_workflow(
            vl, ml, calibration_context="TG", controls=controls, global_solution=True
        )
        if not rs.using_dask:
            return calibrated, tables
        # As a pipeline does (issue 15's data path): the calibrated visibilities stay on
        # the workers for the next step (persisted, waited for: their tasks are in the
        # timing); only the gain tables come to the client. Gathering the 4 windows
        # (~60 MB) to the client took about half the round's wall and showed as overhead.
        # One submission for both: submitted apart, the optimised graphs of the tables
        # and of the visibilities did not share keys, and the solves ran twice.
        calibrated, tables = rs.persist([calibrated, tables])
        wait([calibrated, tables])
        return calibrated, rs.compute(tables, sync=True)

    reference = executor.reference(lambda: build_and_compute(vis_list, model_list))
    # Scatter once: re-scattering equal data in every round re-uses content-hashed keys
    # that the previous round's release may drop ("lost dependencies").
    vl = [rs.scatter(v) for v in vis_list] if rs.using_dask else vis_list
    ml = [rs.scatter(m) for m in model_list] if rs.using_dask else model_list
    result = executor.timed_rounds(benchmark, build_and_compute, rounds=2, args=(vl, ml))
    calibrated = rs.compute(result[0], sync=True) if rs.using_dask else result[0]
    same_result(calibrated, reference[0], rtol=1e-10, what="calibrated visibilities")

    def tables(per_window):  # per window a dict of gain tables by term
        return [t[term] for t in per_window for term in sorted(t)]

    same_result(tables(result[1]), tables(reference[1]), rtol=1e-10, what="gain tables")
    benchmark.extra_info["nvis"] = int(sum(v.nvis for v in vis_list))
    benchmark.extra_info["windows"] = len(vis_list)
