"""Large data (issue 15): ``uvflow image`` of a MeasurementSet several times the memory budget.

The workload: a dirty image and PSF (``--mode invert --niter 0``), 2048², natural weighting,
``--memory-limit 1GiB``, made by the ``uvflow image`` command in a subprocess, serially
(``--nworkers 0``) and on 2 Dask workers (``--nworkers 2``), and by WSClean 3.1 on the same
MS (``-size 2048 2048 -scale <same> -weight natural -niter 0 -j 2 -use-wgridder -make-psf``:
the PSF too, as uvflow makes it) where ``/usr/bin/wsclean`` (or ``$UVFLOW_BENCH_WSCLEAN``)
exists. Each run's wall time and the peak resident set of every process of its tree (the
client, each Dask worker; WSClean's one process) are measured from ``/proc`` (``VmHWM``,
the kernel's high-water mark, and ``VmRSS`` sampled every 50 ms for the sum over
processes). The three run back to back in every round (the order alternates), so this
machine kind's drift (±15 % over minutes) hits them alike; medians and ranges are reported.

Data: 64 antennas (uniform in a 4 km disc, baselines to 8 km), 2016 baselines × 256
channels (1.3–1.5 GHz) × XX, YY, RA 15° Dec −45° tracked over hour angles −3 h…+3 h, three
point sources (predicted with ducc0 from a model image, ε 1e-5) plus noise (σ 1 Jy, weights
1). Sizes 1×, 2×, 4× are 180, 360, 720 integrations of the same track (93, 186, 371 M
visibilities; the DATA column 1.5, 3.0, 5.9 GB and the MS with FLAG and WEIGHT_SPECTRUM
2.4, 4.8, 9.7 GB): 4× is the MS of issue 15. The MS is built in blocks of 45 integrations
(``uvflow.simulation.create_visibility``, ``uvflow.imaging.predict``, ``add_noise``,
``write_simulated_ms``; each block appended with python-casacore's ``copyrows``) and cached
in ``$UVFLOW_BENCH_DATA`` (default ``/work/bigdata/uvflow-bench`` where ``/work/bigdata``
exists, else ``~/.cache/uvflow-bench``) under a name keyed by its parameters; a cached MS is
reused.

After the rounds, once per size: the serial and 2-worker dirty images are compared (relative
to the peak), a 2-worker run with ``--task-memory`` cut so that each task holds half the
visibilities (about twice the chunks) is compared with the default run, WSClean's dirty
image with uvflow's, and WSClean runs once more held to the same memory as a uvflow process
(``-abs-mem 1``; by default it loads as much of the data at once as the machine holds, so
its own peak grows with the MS). Everything goes into ``benchmark.extra_info['large_data']``;
``benchmarks/compare.py`` turns it into the report's "Large data" table and the acceptance
lines of issue 15; ``nox -s large_data`` runs this module alone and prints them.

Environment: ``UVFLOW_BENCH_LARGE_SIZES`` (default ``1,2,4``; ``none`` skips the workload),
``UVFLOW_BENCH_LARGE_ROUNDS`` (default 3), ``UVFLOW_BENCH_DATA``, ``UVFLOW_BENCH_WSCLEAN``,
``UVFLOW_BENCH_QUIET_WAIT`` (seconds, default 0: before each run wait up to that long for
the machine to be idle, < 0.15 cores busy over 5 s). Each run records its tree's CPU time
and the cores other processes used meanwhile (``others_cores``).
UVFLOW_BENCH_SIZE=tiny: 8 antennas × 8 integrations × 16 channels, 128², one round, one
size, in a temporary directory (seconds; the numbers mean nothing).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("casacore.tables")

MEMORY_LIMIT = "1GiB"
MEMORY_LIMIT_MIB = 1024.0
WORKERS = 2
BLOCK = 45  # integrations simulated and written at a time (~0.55 GB of MS)
SEED = 15
C = 299792458.0
SIDEREAL = 0.99726958  # solar seconds per sidereal second (hour angle advances sidereally)


def _tiny() -> bool:
    return os.environ.get("UVFLOW_BENCH_SIZE", "full") == "tiny"


def _sizes() -> list[int]:
    if _tiny():
        return [1]
    text = os.environ.get("UVFLOW_BENCH_LARGE_SIZES", "1,2,4").strip().lower()
    if text in ("", "0", "none", "no", "off"):
        return []
    return [int(x) for x in text.replace(" ", "").split(",") if x]


def _rounds() -> int:
    return 1 if _tiny() else max(1, int(os.environ.get("UVFLOW_BENCH_LARGE_ROUNDS", "3")))


def data_directory() -> Path:
    """Where the MeasurementSets are cached between runs."""
    if os.environ.get("UVFLOW_BENCH_DATA"):
        return Path(os.environ["UVFLOW_BENCH_DATA"]).expanduser()
    if Path("/work/bigdata").is_dir():
        return Path("/work/bigdata/uvflow-bench")
    return Path("~/.cache/uvflow-bench").expanduser()


@dataclass(frozen=True)
class Workload:
    """One size of the workload: the MS's shape and the image."""

    factor: int
    nant: int
    radius: float
    ntime: int
    nchan: int
    npixel: int

    @classmethod
    def of(cls, factor: int) -> Workload:
        if _tiny():
            return cls(factor, nant=8, radius=500.0, ntime=8 * factor, nchan=16, npixel=128)
        return cls(factor, nant=64, radius=4000.0, ntime=180 * factor, nchan=256, npixel=2048)

    @property
    def nbaseline(self) -> int:
        return self.nant * (self.nant - 1) // 2

    @property
    def nvis(self) -> int:
        """Visibilities (time × baseline × channel; two correlations each)."""
        return self.ntime * self.nbaseline * self.nchan

    @property
    def key(self) -> str:
        """The cache name: changes whenever what the MS holds would."""
        return (f"large-v1-{self.nant}ant-r{self.radius:.0f}-{self.ntime}t-{self.nchan}ch-"
                f"s{SEED}")  # fmt: skip

    def expected_bytes(self) -> int:
        """The MS on disk, roughly: DATA (8 B), WEIGHT_SPECTRUM (4 B), FLAG (1 B) per
        correlation, plus ~150 B of other columns per row."""
        rows = self.ntime * self.nbaseline
        return self.nvis * 2 * 13 + rows * 150


# --------------------------------------------------------------------------------------
# The MeasurementSet
# --------------------------------------------------------------------------------------
def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _model_image(pc, freq, cell, npixel):
    """Three point sources (1, 0.5, 0.3 Jy) inside the imaged field (``npixel`` cells of
    ``cell``) on a 256² Stokes I model with 8-cell pixels (predicted with ducc0)."""
    from astropy.coordinates import SkyCoord

    from uvflow.datamodels import create_image
    from uvflow.simulation import create_skycomponent, skycomponents_to_image

    nu = float(np.mean(freq))
    image = create_image(256, 8 * cell, pc, nu, channel_bandwidth=float(np.ptp(freq)) or 1e6)
    field = np.rad2deg(npixel * cell)  # degrees across the imaged field
    comps = [
        create_skycomponent(
            SkyCoord(
                ra=pc.ra.deg + x * field / np.cos(pc.dec.rad),
                dec=pc.dec.deg + y * field,
                unit="deg",
            ),
            flux,
            [nu],
        )  # fmt: skip
        for x, y, flux in ((0.10, 0.05, 1.0), (-0.20, 0.10, 0.5), (0.05, -0.15, 0.3))
    ]
    return skycomponents_to_image(image, comps)


def build_ms(w: Workload, directory: Path) -> tuple[Path, dict]:
    """The workload's MS in ``directory`` (built unless cached) and its description."""
    from astropy.coordinates import SkyCoord
    from casacore import tables

    from uvflow.datamodels.testing import random_configuration
    from uvflow.imaging import predict
    from uvflow.simulation import add_noise, create_visibility, write_simulated_ms

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{w.key}.ms"
    meta_path = directory / f"{w.key}.json"
    if (path / "table.dat").exists() and meta_path.exists():
        return path, json.loads(meta_path.read_text())
    need = int(w.expected_bytes() * 1.1) + 2 * 2**30
    free = shutil.disk_usage(directory).free
    if free < need:
        pytest.skip(f"large data: {w.key} needs ~{need / 1e9:.1f} GB free in {directory}, "
                    f"{free / 1e9:.1f} GB there (set UVFLOW_BENCH_DATA)")  # fmt: skip
    t0 = time.perf_counter()
    config = random_configuration(nant=w.nant, radius=w.radius, seed=SEED)
    pc = SkyCoord(ra=15.0, dec=-45.0, unit="deg")
    freq = np.linspace(1.3e9, 1.5e9, w.nchan)
    width = np.full(w.nchan, freq[1] - freq[0])
    hours = 6.0
    ha = (-hours / 2 + hours * (np.arange(w.ntime) + 0.5) / w.ntime) * np.pi / 12
    integration = hours * 3600 / w.ntime * SIDEREAL
    # a cell of a third of the finest fringe (what the imaging uses, see scale_arcsec)
    cell = 1.0 / (3 * 2 * w.radius * freq[-1] / C)
    model = _model_image(pc, freq, cell, w.npixel)
    tmp = directory / f"{w.key}.ms.building-{os.getpid()}"
    scratch = directory / f"{w.key}.block-{os.getpid()}.ms"
    for p in (tmp, scratch):
        shutil.rmtree(p, ignore_errors=True)
    try:
        for b, start in enumerate(range(0, w.ntime, BLOCK)):
            sl = slice(start, min(start + BLOCK, w.ntime))
            v = create_visibility(
                config, ha[sl], freq, width, pc, polarisation_frame="linearnp",
                integration_time=integration, elevation_limit=None, dtype=np.complex64,
            )  # fmt: skip
            v = predict(v, model, context="ng", epsilon=1e-5, nthreads=os.cpu_count() or 1)
            v = add_noise(v, sigma=1.0, seed=np.random.SeedSequence(SEED, spawn_key=(b,)))
            if b == 0:
                write_simulated_ms(v, tmp)
            else:
                write_simulated_ms(v, scratch, overwrite=True)
                src = tables.table(str(scratch), ack=False)
                dst = tables.table(str(tmp), readonly=False, ack=False)
                try:
                    src.copyrows(dst)
                finally:
                    dst.close()
                    src.close()
            del v
        main = tables.table(str(tmp), ack=False)
        try:
            t = main.getcol("TIME")
            uvw = main.getcol("UVW")
            nrows = main.nrows()
        finally:
            main.close()
        obs = tables.table(str(tmp / "OBSERVATION"), readonly=False, ack=False)
        try:
            obs.putcell("TIME_RANGE", 0, np.array([t.min(), t.max()]))
        finally:
            obs.close()
        uvmax = float(np.sqrt(uvw[:, 0] ** 2 + uvw[:, 1] ** 2).max()) * freq[-1] / C
        tmp.rename(path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.perf_counter() - t0
    meta = {
        "key": w.key, "rows": int(nrows), "nvis": w.nvis, "ntime": w.ntime,
        "nbaseline": w.nbaseline, "nchan": w.nchan, "npol": 2, "ms_bytes": _du(path),
        "data_column_bytes": w.nvis * 2 * 8, "uvmax_lambda": uvmax,
        # 3 pixels across the finest fringe of the longest baseline (WSClean's "theoretic
        # beam" is 1/maxuvw), rounded: the same -scale for both imagers
        "scale_arcsec": round(float(np.rad2deg(1.0 / (3 * uvmax)) * 3600), 2),
        "build_seconds": round(seconds, 1),
    }  # fmt: skip
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"\nlarge data: built {path} ({meta['ms_bytes'] / 1e9:.2f} GB) in {seconds:.0f} s")
    return path, meta


# --------------------------------------------------------------------------------------
# Measuring a process tree
# --------------------------------------------------------------------------------------
def _status_kib(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) of a process in KiB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    rss = re.search(r"^VmRSS:\s+(\d+)", text, re.M)
    hwm = re.search(r"^VmHWM:\s+(\d+)", text, re.M)
    if rss is None or hwm is None:  # a zombie
        return None
    return int(rss.group(1)), int(hwm.group(1))


def _children() -> dict[int, list[int]]:
    """Parent pid → child pids, from /proc/*/stat."""
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class TreeSampler:
    """Peak resident memory of a process and its descendants, sampled from /proc.

    Per process the peak is the larger of its ``VmHWM`` (the kernel's exact high-water
    mark, as last read) and the largest ``VmRSS`` sampled; ``peak_total`` is the largest
    sum of the processes' ``VmRSS`` at one sample. Children are classified by their command
    line: the root is the client, multiprocessing's resource tracker a helper, any other
    descendant a worker (Dask's workers; its nannies live in the client's process).
    """

    def __init__(self, root: int, interval: float = 0.05, rescan: float = 0.5):
        self.root = root
        self.interval = interval
        self.rescan = rescan  # seconds between looks for new processes (a /proc scan)
        self.peak_kib: dict[int, int] = {}
        self.kind: dict[int, str] = {}
        self.tree: list[int] = [root]
        self.scanned = -math.inf
        self.peak_total_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _classify(self, pid: int) -> str:
        if pid == self.root:
            return "client"
        cmd = _cmdline(pid)
        if "resource_tracker" in cmd or "forkserver" in cmd or "semaphore_tracker" in cmd:
            return "helper"
        return "worker"

    def _scan(self) -> None:
        tree, todo = [], [self.root]
        children = _children()
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        self.tree = tree
        self.scanned = time.monotonic()

    def sample(self, scan: bool = False) -> None:
        """Read the memory of the tree's processes (~0.1 ms each); look for new ones (a
        scan of /proc, ~2 ms) every ``rescan`` seconds or when ``scan``."""
        if scan or time.monotonic() - self.scanned >= self.rescan:
            self._scan()
        total = 0
        for pid in self.tree:
            st = _status_kib(pid)
            if st is None:
                continue
            rss, hwm = st
            if pid not in self.kind:
                self.kind[pid] = self._classify(pid)
            self.peak_kib[pid] = max(self.peak_kib.get(pid, 0), rss, hwm)
            total += rss
        self.peak_total_kib = max(self.peak_total_kib, total)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peaks_mib(self, kind: str) -> list[float]:
        return [round(self.peak_kib[p] / 1024, 1) for p in sorted(self.peak_kib)
                if self.kind.get(p) == kind]  # fmt: skip


@dataclass
class Run:
    """One measured command."""

    what: str
    wall: float
    client_mib: float
    workers_mib: list[float]
    helpers_mib: list[float]
    total_mib: float
    returncode: int
    log: Path
    out: Path
    report: dict = field(default_factory=dict)
    cpu_s: float = 0.0  # CPU time of the whole tree (user + system)
    others_cpu_s: float = 0.0  # CPU time of everything else on the machine meanwhile

    @property
    def peak_process_mib(self) -> float:
        return max([self.client_mib, *self.workers_mib])


def _busy_seconds() -> float:
    """CPU seconds the machine has been busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_seconds: float, busy_cores: float = 0.15, window: float = 5.0) -> float:
    """Wait (at most ``max_seconds``) until the machine was busy less than ``busy_cores``
    cores over ``window`` seconds (others' test runs slow every run by up to 2×); returns
    the seconds waited."""
    t0 = time.monotonic()
    while True:
        b0 = _busy_seconds()
        time.sleep(window)
        if (_busy_seconds() - b0) / window < busy_cores or time.monotonic() - t0 >= max_seconds:
            return time.monotonic() - t0


def run_measured(what: str, cmd: list[str], out: Path, env: dict | None = None) -> Run:
    """Run ``cmd`` (its output into ``<out>.log``), sampling its process tree."""
    quiet = float(os.environ.get("UVFLOW_BENCH_QUIET_WAIT", "0") or 0)
    if quiet > 0:
        wait_quiet(quiet)
    log_path = out.with_suffix(".log")
    with open(log_path, "w") as log:
        busy0 = _busy_seconds()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        cpu = 0.0
        try:
            # reap only after the last sample, so the client's VmHWM is read at the end
            while True:
                try:
                    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
                    break
                except ChildProcessError:
                    break
                except InterruptedError:
                    continue
            sampler.sample(scan=True)
            # wait4: the CPU time of the command and of the children it waited for (Dask's
            # worker processes are joined by their nannies, in the client)
            _, status, usage = os.wait4(proc.pid, 0)
            rc = proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - t0
            cpu = usage.ru_utime + usage.ru_stime
        finally:
            sampler.stop()
            if proc.returncode is None and proc.poll() is None:
                proc.kill()
                proc.wait()
        others = max(0.0, _busy_seconds() - busy0 - cpu)
    report = {}
    report_path = Path(f"{out}-report.json")
    if report_path.exists():
        report = json.loads(report_path.read_text())
    client = sampler.peaks_mib("client")
    return Run(what, wall, client[0] if client else 0.0, sampler.peaks_mib("worker"),
               sampler.peaks_mib("helper"), round(sampler.peak_total_kib / 1024, 1), rc,
               log_path, out, report, round(cpu, 1), round(others, 1))  # fmt: skip


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def _check(run: Run) -> Run:
    if run.returncode != 0:
        raise AssertionError(f"{run.what} failed (exit {run.returncode}):\n{_tail(run.log)}")
    return run


# --------------------------------------------------------------------------------------
# The commands
# --------------------------------------------------------------------------------------
def _uvflow() -> list[str]:
    exe = Path(sys.executable).parent / "uvflow"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("uvflow")
    if found is None:
        pytest.skip("large data: the uvflow command is not installed")
    return [found]


def _wsclean() -> tuple[str | None, str]:
    """WSClean's path and version, or None and why there is none: the reason the nox
    session gave (``UVFLOW_BENCH_NO_WSCLEAN``, set by ``ensure_wsclean``), else
    ``$UVFLOW_BENCH_WSCLEAN``, else ``wsclean`` on ``PATH``, else ``/usr/bin/wsclean``."""
    if os.environ.get("UVFLOW_BENCH_NO_WSCLEAN"):
        return None, f"WSClean not installed ({os.environ['UVFLOW_BENCH_NO_WSCLEAN']})"
    exe = (os.environ.get("UVFLOW_BENCH_WSCLEAN") or shutil.which("wsclean")
           or "/usr/bin/wsclean")  # fmt: skip
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        return None, f"WSClean not found at {exe} (set UVFLOW_BENCH_WSCLEAN): not compared"
    try:
        text = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"WSClean at {exe} does not run ({exc}): not compared"
    m = re.search(r"WSClean version (\S+)", text)
    return exe, m.group(1) if m else "unknown"


def _env(threads: int = 1) -> dict:
    """The environment of a measured command: ``threads`` for every threading library, and
    Python writing its bytecode caches as it does for a user (an environment that sets
    ``PYTHONDONTWRITEBYTECODE``, as some sandboxes do, would make every run compile each
    module anew: ~0.2 s of uvflow's start-up; the warm-up run writes the caches)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[k] = str(threads)
    return env


def uvflow_command(ms: Path, out: Path, w: Workload, scale: float, nworkers: int,
                   task_memory: str | None = None) -> list[str]:  # fmt: skip
    cmd = [*_uvflow(), "image", str(ms), "--name", str(out), "--mode", "invert",
           "--niter", "0", "--size", str(w.npixel), "--scale", f"{scale}asec",
           "--weight", "natural", "--memory-limit", MEMORY_LIMIT,
           "--nworkers", str(nworkers)]  # fmt: skip
    if task_memory is not None:
        cmd += ["--task-memory", task_memory]
    return cmd


def wsclean_command(exe: str, ms: Path, out: Path, w: Workload, scale: float, tmp: Path,
                    abs_mem_gb: float | None = None):  # fmt: skip
    """WSClean on the same job; ``abs_mem_gb``: its memory limit (``-abs-mem``; by default
    it loads as much of the data at once as the machine's memory holds)."""
    mem = [] if abs_mem_gb is None else ["-abs-mem", f"{abs_mem_gb:g}"]
    return [exe, "-name", str(out), "-size", str(w.npixel), str(w.npixel),
            "-scale", f"{scale}asec", "-weight", "natural", "-niter", "0", "-j", str(WORKERS),
            "-use-wgridder", "-make-psf", *mem, "-temp-dir", str(tmp), str(ms)]  # fmt: skip


_CHUNKING = re.compile(
    r"largest task ~([\d.]+) MiB \(visibilities ([\d.]+), images ([\d.]+), grid ([\d.]+) MiB\)"
)


def half_task_memory(log: Path, task_bytes: int) -> str | None:
    """``--task-memory`` that leaves a task half the visibilities of the default run's
    largest task (``task_bytes``, from its report; images and grid unchanged): about twice
    the chunks. The visibilities' share is from the run's log line ``chunking: … largest
    task ~T MiB (visibilities V, images I, grid G MiB)``."""
    m = _CHUNKING.search(log.read_text(errors="replace"))
    if m is None or not task_bytes:
        return None
    visibilities = float(m.group(2)) * 2**20
    return f"{int(task_bytes - max(visibilities / 2, 4096))}B"


def source_description() -> dict:
    """Which uvflow the runs import (the subprocesses inherit this environment), and the
    repository's commit and changed package files when it is the checkout's."""
    import uvflow.pipelines

    where = Path(uvflow.pipelines.__file__).resolve().parents[3]  # packages/pipelines
    out = {"uvflow_pipelines": str(where)}
    try:
        root = subprocess.run(["git", "-C", str(where), "rev-parse", "--show-toplevel"],
                              capture_output=True, text=True, timeout=30).stdout.strip()  # fmt: skip
        if root:
            out["commit"] = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"],
                                           capture_output=True, text=True, timeout=30).stdout.strip()  # fmt: skip
            changed = subprocess.run(["git", "-C", root, "status", "--porcelain", "packages"],
                                     capture_output=True, text=True, timeout=30).stdout  # fmt: skip
            out["changed_package_files"] = [line[3:] for line in changed.splitlines()]
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def _image(path: Path) -> np.ndarray:
    from astropy.io import fits

    with fits.open(path) as hdul:
        return np.asarray(hdul[0].data, dtype=np.float64).squeeze()


def _relative_difference(a: Path, b: Path) -> dict:
    x, y = _image(a), _image(b)
    peak = float(np.max(np.abs(y)))
    diff = float(np.max(np.abs(x - y)))
    return {"max_abs_diff": diff, "peak": peak, "relative": diff / peak if peak else math.inf,
            "identical": bool(np.array_equal(x, y))}  # fmt: skip


def _chunking(run: Run) -> dict:
    c = run.report.get("chunking", {})
    windows = c.get("windows", [])
    return {
        "chunks": int(sum(wd.get("nchunks", 0) for wd in windows)),
        "resident": c.get("resident"),
        "task_bytes": max((wd.get("task_bytes", 0) for wd in windows), default=0),
        "data_bytes": c.get("total_bytes"),
    }


def _stages(run: Run) -> dict:
    """Seconds of each stage of ``uvflow image`` (its report)."""
    return {k: round(v["seconds"], 2) for k, v in run.report.get("stages", {}).items()}


def _loadavg() -> float:
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return float("nan")


# --------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def large_directory(tmp_path_factory):
    if _tiny():
        return tmp_path_factory.mktemp("large_data")
    return data_directory()


@pytest.mark.parametrize("factor", _sizes(), ids=lambda f: f"{f}x")
def test_bench_large_data(benchmark, factor, large_directory):
    w = Workload.of(factor)
    ms, meta = build_ms(w, large_directory)
    scale = meta["scale_arcsec"]
    work = large_directory / "runs" / f"{w.key}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    wsclean, wsclean_version = _wsclean()
    rounds = _rounds()
    runs: dict[str, list[Run]] = {"uvflow_serial": [], "uvflow_w2": [], "wsclean": []}
    loads: list[float] = []
    started = 0

    def serial():
        out = work / f"serial-{started}"
        cmd = uvflow_command(ms, out, w, scale, nworkers=0)
        runs["uvflow_serial"].append(_check(run_measured("uvflow serial", cmd, out, _env())))

    def wsclean_run():
        if wsclean is None:
            return
        out = work / f"wsclean-{started}"
        tmp = work / "wsclean-tmp"
        tmp.mkdir(exist_ok=True)
        cmd = wsclean_command(wsclean, ms, out, w, scale, tmp)
        runs["wsclean"].append(_check(run_measured("WSClean", cmd, out, _env(WORKERS))))

    def setup():
        # the untimed runs of a round, in alternating order; the timed one (2 workers) follows
        nonlocal started
        started += 1
        loads.append(_loadavg())
        for step in (serial, wsclean_run) if started % 2 else (wsclean_run, serial):
            step()
        return (), {}

    def two_workers():
        out = work / f"w2-{started}"
        cmd = uvflow_command(ms, out, w, scale, nworkers=WORKERS)
        runs["uvflow_w2"].append(_check(run_measured("uvflow 2 workers", cmd, out, _env())))

    benchmark.pedantic(two_workers, setup=setup, rounds=rounds, iterations=1, warmup_rounds=0)

    # once per size: the smaller-chunked run, and the images compared
    last_w2, last_serial = runs["uvflow_w2"][-1], runs["uvflow_serial"][-1]
    checks: dict = {
        "serial_vs_w2": _relative_difference(Path(f"{last_serial.out}-dirty.fits"),
                                             Path(f"{last_w2.out}-dirty.fits")),
    }  # fmt: skip
    half = None
    task_memory = half_task_memory(last_w2.log, _chunking(last_w2)["task_bytes"])
    if task_memory is not None:
        out = work / "w2-half-task"
        # tiny: serially (a LocalCluster's start-up alone takes ~6 s of a tiny run)
        nworkers = 0 if _tiny() else WORKERS
        cmd = uvflow_command(ms, out, w, scale, nworkers=nworkers, task_memory=task_memory)
        half = _check(run_measured("uvflow 2 workers, --task-memory halved", cmd, out, _env()))
        checks["half_task_vs_w2"] = _relative_difference(Path(f"{half.out}-dirty.fits"),
                                                         Path(f"{last_w2.out}-dirty.fits"))  # fmt: skip
    limited = None
    if runs["wsclean"]:
        checks["wsclean_vs_w2"] = _relative_difference(
            Path(f"{runs['wsclean'][-1].out}-dirty.fits"), Path(f"{last_w2.out}-dirty.fits")
        )
        # WSClean held to the same memory per process as uvflow (-abs-mem, GB): for reference
        out = work / "wsclean-abs-mem"
        cmd = wsclean_command(wsclean, ms, out, w, scale, work / "wsclean-tmp",
                              abs_mem_gb=MEMORY_LIMIT_MIB / 1024)  # fmt: skip
        limited = _check(run_measured("WSClean -abs-mem", cmd, out, _env(WORKERS)))

    def summary(rs: list[Run]) -> dict:
        if not rs:
            return {}
        return {
            "wall_s": [round(r.wall, 2) for r in rs],
            "peak_client_mib": [r.client_mib for r in rs],
            "peak_workers_mib": [r.workers_mib for r in rs],
            "peak_helpers_mib": [r.helpers_mib for r in rs],
            "peak_total_mib": [r.total_mib for r in rs],
            "cpu_s": [r.cpu_s for r in rs],
            # CPU time of other processes during each run, in cores: others' test runs
            "others_cores": [round(r.others_cpu_s / r.wall, 2) for r in rs],
            "stages_s": [_stages(r) for r in rs],
            **_chunking(rs[-1]),
        }

    info = {
        "size_factor": factor, "key": w.key, "ms_path": str(ms), "nant": w.nant,
        "nbaseline": w.nbaseline, "ntime": w.ntime, "nchan": w.nchan, "npol": 2,
        "nvis": w.nvis, "ms_bytes": meta["ms_bytes"], "data_column_bytes": meta["data_column_bytes"],
        "ms_build_seconds": meta["build_seconds"], "npixel": w.npixel, "scale_arcsec": scale,
        "memory_limit": MEMORY_LIMIT, "memory_limit_mib": MEMORY_LIMIT_MIB, "workers": WORKERS,
        # the budgets of every process of the 2-worker run: the client's and each worker's
        "budgets_mib": MEMORY_LIMIT_MIB * (WORKERS + 1), "rounds": rounds,
        "loadavg_at_rounds": loads,
        "uvflow_serial": summary(runs["uvflow_serial"]),
        "uvflow_w2": summary(runs["uvflow_w2"]),
        "uvflow_w2_half_task": dict(summary([half]), task_memory=task_memory) if half else {},
        "wsclean": dict(summary(runs["wsclean"]), version=wsclean_version)
        if runs["wsclean"] else {"missing": wsclean_version},
        "wsclean_abs_mem": dict(summary([limited]), abs_mem_gb=MEMORY_LIMIT_MIB / 1024)
        if limited else {},
        "image_checks": checks,
        "source": source_description(),
        "commands": {
            "uvflow": " ".join(uvflow_command(ms, Path("<name>"), w, scale, WORKERS)),
            "wsclean": " ".join(wsclean_command(wsclean, ms, Path("<name>"), w, scale, Path("<tmp>")))
            if wsclean else None,
        },
    }  # fmt: skip
    benchmark.extra_info["large_data"] = info
    # also on its own, next to the MS (pytest-benchmark writes its JSON only at the end)
    record = large_directory / "results" / f"{w.key}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    record.parent.mkdir(exist_ok=True)
    record.write_text(json.dumps(info, indent=1) + "\n")
    # the harness's per-process peak (the report's "peak MB / worker"): the 2-worker run's
    # client and busiest worker, each its largest over the rounds
    w2 = runs["uvflow_w2"]
    benchmark.extra_info["peak_memory_mb"] = [
        max(r.client_mib for r in w2),
        max(max(r.workers_mib, default=0.0) for r in w2),
    ]
    benchmark.extra_info["nvis"] = w.nvis
    print(f"\nlarge data {factor}x: " + ", ".join(
        f"{k} {statistics.median(r.wall for r in v):.1f} s" for k, v in runs.items() if v
    ))  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
