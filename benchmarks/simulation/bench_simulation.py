"""Simulation throughput: create_visibility (uvw for every antenna and time) and the
simulate + noise workflow, serial or Dask (mode from UVFLOW_BENCH_MODE).

Full size: 256 antennas (32 640 baselines) x 64 times x 8 channels, complex64, Stokes I
(16.7 M visibilities). UVFLOW_BENCH_SIZE=tiny: 8 antennas x 4 times x 2 channels.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels.testing import random_configuration
from uvflow.simulation import add_noise, create_visibility

PC = SkyCoord(ra=15.0, dec=-45.0, unit="deg")


@pytest.fixture(scope="module")
def setup(bench_env):
    nant, ntime, nchan = (8, 4, 2) if bench_env.tiny else (256, 64, 8)
    config = random_configuration(nant=nant, radius=20000.0, seed=1)
    ha = np.linspace(-3, 3, ntime) * np.pi / 12
    freq = 1.0e8 + 1.0e6 * np.arange(nchan)
    return config, ha, freq


@pytest.fixture(scope="module")
def noise_input(setup):
    config, ha, freq = setup
    return create_visibility(config, ha, freq, 1e6, PC, dtype=np.complex64)


# Kernels (no rsexecute): skipped in Dask runs and their memory sampled by benchmarks/conftest.py
def test_bench_create_visibility(benchmark, setup):
    config, ha, freq = setup

    def run():
        return create_visibility(config, ha, freq, 1e6, PC, dtype=np.complex64)

    vis = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info["nvis"] = vis.nvis
    assert vis.nbaseline == config.nants * (config.nants - 1) // 2


def test_bench_add_noise(benchmark, noise_input):
    noisy = benchmark.pedantic(
        add_noise, args=(noise_input,), kwargs={"sefd": 400.0, "seed": 1},
        rounds=3, iterations=1, warmup_rounds=1,
    )  # fmt: skip
    benchmark.extra_info["nvis"] = noisy.nvis


def test_bench_simulate_corrupt_workflow(benchmark, setup, executor, same_result):
    """simulate_list (one window per channel, noise) then corrupt_list (random G gains)."""
    from uvflow.simulation import (
        corrupt_list_rsexecute_workflow,
        simulate_list_rsexecute_workflow,
    )

    config, ha, freq = setup
    rsx = executor.rsexecute

    def run():
        vis = simulate_list_rsexecute_workflow(
            config, PC, freq, 1e6, ha, order="frequency", dtype=np.complex64, sefd=400.0, seed=1
        )
        out = corrupt_list_rsexecute_workflow(vis, seed=2, phase_error=0.2)
        return rsx.compute(out, sync=True)

    expected = executor.reference(run)
    result = executor.timed_rounds(benchmark, run, rounds=2)
    same_result(result, expected, rtol=0.0, what="simulate+corrupt")  # identical seeds: exact
    benchmark.extra_info["nvis"] = sum(v.nvis for v in result)
