"""Shared machinery of the benchmark suite (pytest-benchmark, run through nox).

Environment (set by ``nox -s bench(...)``/``bench_quick``):

UVFLOW_BENCH_MODE     ``serial`` or ``dask``
UVFLOW_BENCH_WORKERS  number of Dask workers (LocalCluster, 1 thread each)
UVFLOW_BENCH_SIZE     ``full`` (default) or ``tiny`` (keeps the harness working in CI)

Fixtures
--------
bench_env   the three settings above, as an object
executor    a session-wide ``BenchExecutor``: switches ``rsexecute`` between serial (for
            reference results) and the session's Dask client (for timed runs), measures
            per-worker peak memory and the Dask overhead from the task stream.

Every benchmark reports ``peak_memory_mb`` in its ``extra_info``: through
``executor.measure`` or, for kernels that run in this process only, an autouse fixture.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import time
from dataclasses import dataclass

import numpy as np
import pytest

from uvflow.execution.memory import start_memory_sampler, stop_memory_sampler


@dataclass(frozen=True)
class BenchEnv:
    mode: str
    workers: int
    size: str

    @property
    def tiny(self) -> bool:
        return self.size == "tiny"


def _bench_env() -> BenchEnv:
    mode = os.environ.get("UVFLOW_BENCH_MODE", "serial")
    if mode not in ("serial", "dask"):
        raise pytest.UsageError(f"UVFLOW_BENCH_MODE={mode!r} unknown; use serial or dask")
    workers = int(os.environ.get("UVFLOW_BENCH_WORKERS", "1"))
    size = os.environ.get("UVFLOW_BENCH_SIZE", "full")
    if size not in ("full", "tiny"):
        raise pytest.UsageError(f"UVFLOW_BENCH_SIZE={size!r} unknown; use full or tiny")
    return BenchEnv(mode, workers, size)


@pytest.fixture(scope="session")
def bench_env() -> BenchEnv:
    return _bench_env()


def pytest_collection_modifyitems(config, items):
    """In Dask runs keep only the benchmarks that go through rsexecute (they ask for the
    ``executor`` fixture): a kernel benchmark measures the same thing in every mode."""
    if _bench_env().mode != "dask":
        return
    skip = pytest.mark.skip(
        reason="kernel benchmark (no rsexecute): measured in the serial run only"
    )
    for item in items:
        if "executor" not in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


def _memory_info(samples) -> dict:
    """``peak_memory_mb`` and ``memory_increase_mb`` (peak − base), one entry per process,
    from ``stop_memory_sampler()`` results (None entries: sampler not running, skipped)."""
    samples = [m for m in samples if m]
    return {
        "peak_memory_mb": [round(m["peak"] / 2**20, 1) for m in samples],
        "memory_increase_mb": [round((m["peak"] - m["base"]) / 2**20, 1) for m in samples],
    }


class _Timing:
    """The region ``BenchExecutor.measure`` times: ``restart()`` begins it afresh (after a
    warm-up round), ``untimed()`` leaves a block out of it (serial runs between rounds)."""

    def __init__(self):
        self.restart()

    def restart(self) -> None:
        self.t0 = time.perf_counter()
        self.epoch = time.time()  # Dask's task stream is in wall-clock seconds
        self.excluded = 0.0
        self.rounds: list[tuple[float, float]] = []  # (start, stop) of each timed round

    @contextlib.contextmanager
    def round(self):
        """Record the enclosed block as one timed round (wall-clock, as the task stream)."""
        start = time.time()
        try:
            yield
        finally:
            self.rounds.append((start, time.time()))

    @contextlib.contextmanager
    def untimed(self):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.excluded += time.perf_counter() - t0

    def wall(self) -> float:
        return time.perf_counter() - self.t0 - self.excluded


def _compute_durations(stream, start: float, stop: float) -> list[float]:
    """Compute time of each task of a Dask task stream that started in [start, stop)."""
    return [
        sum(s["stop"] - s["start"] for s in computes)
        for rec in stream
        if (computes := [s for s in rec["startstops"] if s["action"] == "compute"])
        and start <= computes[0]["start"] < stop
    ]


class BenchExecutor:
    """The execution side of a benchmark run."""

    def __init__(self, env: BenchEnv):
        from uvflow.execution import rsexecute

        self.env = env
        self.rsexecute = rsexecute
        self.client = None
        if env.mode == "dask":
            import dask
            from distributed import Client, LocalCluster

            from uvflow.execution.client import WORKER_ENVIRON

            # workers as uvflow starts them (get_dask_client): glibc's malloc thresholds
            with dask.config.set(WORKER_ENVIRON):
                self.cluster = LocalCluster(
                    n_workers=env.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    env={
                        k: "1"
                        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
                    },
                )
            self.client = Client(self.cluster)
        self.activate()

    # -- modes ----------------------------------------------------------------------------
    def activate(self) -> None:
        """Put rsexecute in this run's mode (serial, or the session's Dask client)."""
        if self.client is None:
            self.rsexecute.set_client(use_dask=False)
        else:
            self.rsexecute.set_client(self.client)

    @contextlib.contextmanager
    def serial(self):
        """Run the enclosed code with rsexecute in serial mode (for reference results)."""
        self.rsexecute.set_client(use_dask=False)
        try:
            yield
        finally:
            self.activate()

    def reference(self, build_and_compute):
        """Compute ``build_and_compute()`` serially: the result a Dask run must reproduce."""
        with self.serial():
            return build_and_compute()

    # -- measurements ---------------------------------------------------------------------
    @contextlib.contextmanager
    def measure(self, benchmark):
        """Record peak memory per worker and, with Dask, the per-task overhead.

        Puts into ``benchmark.extra_info``: ``peak_memory_mb`` (per worker, the peak
        resident set during the timed rounds), ``memory_increase_mb`` (per worker, that
        peak minus the resident set when the rounds started: what the workload itself
        added, without what the process held before), ``tasks``, ``task_seconds`` (Σ task
        durations), ``wall_seconds`` and ``overhead_fraction`` = (wall − Σ task / workers) / wall.

        Yields a ``_Timing``: its ``untimed()`` context leaves a block out of the wall time
        (no Dask tasks may run inside it), ``restart()`` begins the timed region afresh
        (tasks started before it are not counted). :meth:`timed_rounds` uses both.
        """
        info = benchmark.extra_info
        timing = _Timing()
        if self.client is None:
            start_memory_sampler()
            yield timing
            wall = timing.wall()
            info.update(_memory_info([stop_memory_sampler()]))
            info["wall_seconds"] = wall
            return
        from distributed import get_task_stream

        self.client.run(start_memory_sampler)
        with get_task_stream(self.client) as ts:
            yield timing
        wall = timing.wall()
        info.update(_memory_info(self.client.run(stop_memory_sampler).values()))
        durations = _compute_durations(ts.data, timing.epoch, np.inf)
        task_seconds = float(sum(durations))
        info["tasks"] = len(durations)
        info["task_seconds"] = task_seconds
        info["wall_seconds"] = wall
        info["overhead_fraction"] = self._overhead(wall, task_seconds)
        if timing.rounds:
            # each round's own overhead: how much it varies from round to round
            info["overhead_rounds"] = [
                self._overhead(stop - start, sum(_compute_durations(ts.data, start, stop)))
                for start, stop in timing.rounds
            ]

    def _overhead(self, wall: float, task_seconds: float) -> float:
        """(wall − Σ task time / workers) / wall, at least 0."""
        busy = task_seconds / max(self.env.workers, 1)
        return max(0.0, (wall - busy) / wall) if wall > 0 else 0.0

    def timed_rounds(self, benchmark, run, rounds: int, args=(), before_round=None):
        """``benchmark.pedantic(run, args, rounds, iterations=1, warmup_rounds=1)`` inside
        :meth:`measure`, whose wall time, task count and overhead then cover the timed
        rounds only (as pytest-benchmark's times do), with ``overhead_rounds``: the overhead
        of each timed round on its own; peak memory covers the warm-up too.

        ``before_round()``, if given, runs before every round (the warm-up included),
        outside the timing: e.g. a serial run of the same workload, so that serial and Dask
        rounds interleave. Returns the last round's result.
        """
        with self.measure(benchmark) as timing:
            started = 0

            def setup():
                nonlocal started
                if before_round is not None:
                    with timing.untimed():
                        before_round()
                started += 1
                if started == 2:  # the first timed round: leave the warm-up out
                    timing.restart()
                return (tuple(args), {})

            def timed_run(*a, **k):
                if started < 2:  # the warm-up
                    return run(*a, **k)
                with timing.round():
                    return run(*a, **k)

            return benchmark.pedantic(
                timed_run, setup=setup, rounds=rounds, iterations=1, warmup_rounds=1
            )

    def close(self) -> None:
        self.rsexecute.set_client(use_dask=False)
        if self.client is not None:
            self.client.close()
            self.cluster.close()


@pytest.fixture(scope="session")
def executor(bench_env):
    ex = BenchExecutor(bench_env)
    try:
        yield ex
    finally:
        ex.close()


@pytest.fixture(autouse=True)
def _kernel_peak_memory(request):
    """Peak memory of the benchmarks that do not go through ``executor`` (kernels, bare
    ducc0 calls): this process is their only worker, so its peak resident set during the
    test (warm-up and timed rounds) is the "peak per worker" of the report.  Benchmarks
    with ``executor`` measure their own timed region (``BenchExecutor.measure``)."""
    if "benchmark" not in request.fixturenames or "executor" in request.fixturenames:
        yield
        return
    info = request.getfixturevalue("benchmark").extra_info  # set up first, torn down after
    start_memory_sampler()
    try:
        yield
    finally:
        memory = _memory_info([stop_memory_sampler()])
        if memory["peak_memory_mb"] and "peak_memory_mb" not in info:
            info.update(memory)


def assert_same_result(actual, expected, rtol: float = 1e-10, what: str = "result") -> None:
    """A Dask benchmark that computes something different from serial fails, not reports.

    Compares arrays (or lists/tuples of arrays, or objects with ``.data``/``.vis``) by the
    relative max-norm difference: the serial and Dask paths run the same kernels on the same
    inputs, so they differ only by floating-point summation order (≤ ~1e-12 relative).
    """

    def arrays(x):
        if isinstance(x, (list, tuple)):
            for item in x:
                yield from arrays(item)
        elif hasattr(x, "data") and isinstance(x.data, np.ndarray):
            yield x.data
        elif hasattr(x, "vis") and isinstance(x.vis, np.ndarray):
            yield x.vis
        elif hasattr(x, "gain") and isinstance(x.gain, np.ndarray):
            yield x.gain
        else:
            yield np.asarray(x)

    a_list, e_list = list(arrays(actual)), list(arrays(expected))
    assert len(a_list) == len(e_list), (
        f"{what}: {len(a_list)} arrays vs {len(e_list)} in the serial result"
    )
    for i, (a, e) in enumerate(zip(a_list, e_list)):
        scale = float(np.max(np.abs(e))) if e.size else 0.0
        diff = float(np.max(np.abs(a - e))) if e.size else 0.0
        assert diff <= rtol * max(scale, 1e-300), (
            f"{what}[{i}]: Dask differs from serial by {diff:.3g} (relative {diff / max(scale, 1e-300):.3g} > {rtol})"
        )


@pytest.fixture
def same_result():
    return assert_same_result


# --------------------------------------------------------------------------------------
# Metadata in every JSON file
# --------------------------------------------------------------------------------------
def _versions() -> dict:
    from importlib import metadata

    out = {}
    for name in (
        "uvflow-execution", "uvflow-datamodels", "uvflow-imaging", "uvflow-calibration",
        "uvflow-simulation", "uvflow-pipelines", "numpy", "scipy", "astropy", "dask",
        "distributed", "ducc0", "python-casacore",
    ):  # fmt: skip
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def pytest_benchmark_update_json(config, benchmarks, output_json):
    env = _bench_env()
    output_json["uvflow"] = {
        "mode": env.mode,
        "workers": env.workers,
        "threads_per_worker": 1,
        "size": env.size,
        "versions": _versions(),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
        },
    }
