"""Memory of ``uvflow image``: the budget per worker, and chunks whose tasks fit it.

The memory limit per worker is ``--memory-limit``, else, on a Dask cluster, the smallest
memory limit of its workers, else (serial) half of this machine's memory. What a task may
use is a share of it above what a worker process holds before any data arrive (its
*baseline*, measured: imports, the images): :func:`uvflow.pipelines.choose_chunking`
estimates the largest task's memory (the chunk's data, its predicted model, the images,
the gridder's grid) and splits each piece of data into the fewest frequency × time chunks
whose tasks fit, logging the estimate. What may be split depends on the mode:

- ``cip``, ``invert``: frequency first, then time;
- ``ical``: frequency only (a global solution needs windows that share their times), and
  not at all with a B term (its tables would be per chunk);
- ``spectral``: time only (a cube has one image channel per data channel, and the uv-plane
  continuum fit needs every channel of a sample).

The products equal those of an unsplit run to the gridder's accuracy (gridding is linear).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from uvflow.execution import current_rss_bytes, rsexecute
from uvflow.pipelines import PipelineError, choose_chunking
from uvflow.pipelines.memory_plan import estimate_task_memory, parse_memory

from .errors import CLIError

__all__ = [
    "PLANNING_BASELINE",
    "planning_baseline",
    "MemoryBudget",
    "memory_budget",
    "memory_limit",
    "chunk_piece",
    "check_images",
]

log = logging.getLogger(__name__)

#: share of the limit above the baseline that one task may use (Dask spills at 60 %)
TASK_SHARE = 0.5

#: the least baseline the chunks are planned with (at most a quarter of the limit, so a small
#: limit is still usable): above what a process measures (62 MiB
#: in a fresh Dask worker, 115 MiB in the command's own process), so that a serial run and
#: a Dask run given the same --memory-limit plan the same chunks and their images agree
#: bit for bit (measured on the 5.9 GB MS: 40 chunks serially, 35 on 2 workers, 1.4e-6 of
#: the peak apart at the gridder's accuracy)
PLANNING_BASELINE = 160 * 2**20


def _workers() -> list[dict]:
    if not rsexecute.using_dask or rsexecute.client is None:
        return []
    return list(rsexecute.client.scheduler_info().get("workers", {}).values())


def _machine_bytes() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 * 2**30


def planning_baseline(measured: int, limit: int) -> int:
    """The baseline chunks are planned with (bytes): the measured one, raised to
    :data:`PLANNING_BASELINE` (at most a quarter of ``limit``)."""
    return max(int(measured), min(PLANNING_BASELINE, int(limit) // 4))


def memory_limit(value) -> tuple[int, str]:
    """``(bytes, where it came from)``: ``--memory-limit``, the Dask workers', or half the
    machine's memory."""
    if value is not None:
        try:
            return parse_memory(value), "--memory-limit"
        except PipelineError as exc:
            raise CLIError(f"--memory-limit: {exc}") from None
    limits = [int(w.get("memory_limit") or 0) for w in _workers()]
    limits = [x for x in limits if x > 0]
    if limits:
        return min(limits), "the Dask workers' memory limit"
    return _machine_bytes() // 2, "half of this machine's memory"


@dataclass(frozen=True)
class MemoryBudget:
    """Memory per worker (bytes): the limit, the baseline a process holds, the workers."""

    limit: int
    source: str
    baseline: int
    nworkers: int
    threads: int
    task_bytes: int | None = None  # --task-memory: what one task may take

    @property
    def usable(self) -> int:
        """Bytes above the baseline, per worker."""
        return max(self.limit - self.baseline, 0)

    def task_limit(self) -> int:
        """What :func:`choose_chunking` is given as a worker's limit: it allows
        ``TASK_SHARE`` of it per running task (``threads`` of them)."""
        if self.task_bytes is not None:
            return int(self.task_bytes * self.threads / TASK_SHARE)
        return max(self.usable, 1)

    def resident_bytes(self, share: float) -> int:
        """Bytes of chunks the workers may keep between major cycles."""
        return int(share * self.usable * self.nworkers)


def memory_budget(value, task_memory=None) -> MemoryBudget:
    """The budget of this run (see the module notes); the baseline is measured now.

    Parameters
    ----------
    value : str or int, optional
        ``--memory-limit``.
    task_memory : str or int, optional
        ``--task-memory``: what one task's data may take (default: from the limit).
    """
    limit, source = memory_limit(value)
    task_bytes = None
    if task_memory is not None:
        try:
            task_bytes = parse_memory(task_memory)
        except PipelineError as exc:
            raise CLIError(f"--task-memory: {exc}") from None
    workers = _workers()
    if workers:
        # a worker lost at this moment must not stop the run: ask those that answer
        answers = rsexecute.client.run(current_rss_bytes, on_error="ignore")
        baseline = max([v for v in answers.values() if isinstance(v, int)] or [current_rss_bytes()])
        nworkers = len(workers)
        threads = max(int(w.get("nthreads") or 1) for w in workers)
    else:
        baseline, nworkers, threads = current_rss_bytes(), 1, 1
    measured, baseline = baseline, planning_baseline(baseline, limit)
    if limit <= baseline:
        raise CLIError(
            f"memory limit {limit / 2**20:.0f} MiB (from {source}) is below what a process "
            f"holds before reading any data ({baseline / 2**20:.0f} MiB): raise --memory-limit"
        )
    budget = MemoryBudget(int(limit), source, int(baseline), nworkers, threads, task_bytes)
    log.info("memory: %.1f MiB per worker (%s), %.1f MiB of it held before any data "
             "(planned with %.0f)", limit / 2**20, source, measured / 2**20,
             baseline / 2**20)  # fmt: skip
    return budget


def check_images(image_shape, mode: str, budget: MemoryBudget) -> None:
    """Fail before the images are made when they alone would not fit a task.

    The same estimate as the chunking's (:func:`uvflow.pipelines.choose_chunking`), for a
    task of a single visibility: the images, the gridder's grid and the PSF's, which no
    chunking makes smaller. Serial runs are checked as Dask runs are, before anything
    the size of an image is allocated.

    Parameters
    ----------
    image_shape : (int, int, int, int)
        ``(nchan, npol, ny, nx)`` of one task's image (a band of a cube, or one MFS channel).
    mode : str
        ``--mode`` (``invert`` makes a PSF of the image's size, the others one twice as large).
    budget : MemoryBudget

    Raises
    ------
    CLIError
        With the estimate, the allowance and where the limit came from.
    """
    nchan, npol, ny, nx = (int(x) for x in image_shape)
    need = estimate_task_memory((1, 1, 1, npol), image_shape, vis_dtype=np.complex64,
                                weight_dtype=np.float32,
                                psf_factor=1 if mode == "invert" else 2)["total"]  # fmt: skip
    allowed = budget.task_limit() * TASK_SHARE / budget.threads
    if need > allowed:
        cube = f", {nchan} channels" if nchan > 1 else ""
        raise CLIError(
            f"images of {nx} x {ny} pixels{cube} need ~{need / 2**20:.0f} MiB per task before "
            f"any data (--mode {mode}), over the {allowed / 2**20:.0f} MiB allowed "
            f"({TASK_SHARE:.0%} of the {budget.limit / 2**20:.0f} MiB memory limit from "
            f"{budget.source}): make smaller images (--size, --scale) or raise --memory-limit"
        )


def _splits(args_mode: str, calibration_context: str) -> tuple[bool, bool]:
    split_frequency = args_mode in ("cip", "invert") or (
        args_mode == "ical" and "B" not in calibration_context
    )
    return split_frequency, args_mode in ("cip", "invert", "spectral")


def chunk_piece(piece, template, mode: str, budget: MemoryBudget, calibration_context: str):
    """``(chunks, choice)``: a piece's channels cut into chunks whose tasks fit the budget.

    Parameters
    ----------
    piece : Piece
        A part's channels in one band.
    template : Image
        The band's image (its shape and channels size the imaging task).
    mode : str
        ``--mode``.
    budget : MemoryBudget
    calibration_context : str

    Returns
    -------
    (list, dict)
        The chunk sources (``part.chunk``), and ``nfreq``, ``ntime``, ``task_bytes``.
    """
    part, chans = piece.part, piece.channels
    tsel = np.arange(part.ntime) if piece.times is None else piece.times
    shape = (tsel.size, part.nbaseline, chans.size, part.npol)
    split_frequency, split_time = _splits(mode, calibration_context)
    try:
        choice = choose_chunking(
            shape, template.data.shape, budget.task_limit(), vis_dtype=part.dtype,
            weight_dtype=np.float32, threads_per_worker=budget.threads,
            memory_fraction=TASK_SHARE, psf_factor=1 if mode == "invert" else 2,
            image_per_channel=mode == "spectral", split_frequency=split_frequency,
            split_time=split_time,
        )  # fmt: skip
    except PipelineError as exc:
        raise CLIError(f"output channel {piece.band} (--mode {mode}, memory limit from "
                       f"{budget.source}): {exc}") from None  # fmt: skip
    f, t = choice["nfreq_windows"], choice["ntime_chunks"]
    times = np.array_split(tsel, t)
    chunks = [part.chunk(ts, cs) for cs in np.array_split(chans, f) for ts in times if ts.size]
    log.info(
        "output channel %d: %s split into %d frequency x %d time chunks (~%.1f MiB per task)",
        piece.band, part.path, f, t, choice["task_bytes"] / 2**20,
    )  # fmt: skip
    return chunks, {"nfreq": f, "ntime": t, "task_bytes": int(choice["task_bytes"])}
