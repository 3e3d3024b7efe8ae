"""Memory-aware chunking of ``uvflow image``: split each output channel's data to fit a worker.

The memory limit per worker is ``--memory-limit`` or, on a Dask cluster, the smallest
memory limit of its workers (none in a serial run without ``--memory-limit``: nothing is
split). For each output channel :func:`uvflow.pipelines.choose_chunking` estimates the
largest task's memory from the data's shape and dtypes and the image size, and chooses the
fewest frequency × time chunks whose tasks fit (it logs the estimate). The pipelines then
image each chunk and sum the chunks' images per output channel
(:mod:`uvflow.pipelines.window_chunks`): the products equal the unsplit run's to the gridder's
accuracy. What may be split depends on the mode:

- ``cip``, ``invert``: frequency first, then time;
- ``ical``: frequency only (a global solution needs windows that share their times), and
  not at all with a B term (its tables would be per chunk);
- ``spectral``: time only (a cube has one image channel per data channel, and the uv-plane
  continuum fit needs every channel of a sample).
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.execution import rsexecute
from uvflow.pipelines import PipelineError, choose_chunking
from uvflow.pipelines.memory_plan import parse_memory

from .errors import CLIError

__all__ = ["memory_limit", "split_windows", "split_visibility"]

log = logging.getLogger(__name__)


def _workers() -> list[dict]:
    if not rsexecute.using_dask or rsexecute.client is None:
        return []
    return list(rsexecute.client.scheduler_info().get("workers", {}).values())


def memory_limit(value) -> tuple[int | None, str]:
    """``(bytes or None, where it came from)``: ``--memory-limit``, the Dask workers' or none."""
    if value is not None:
        try:
            return parse_memory(value), "--memory-limit"
        except PipelineError as exc:
            raise CLIError(f"--memory-limit: {exc}") from None
    limits = [int(w.get("memory_limit") or 0) for w in _workers()]
    limits = [x for x in limits if x > 0]
    if limits:
        return min(limits), "the Dask workers' memory limit"
    return None, "none"


def split_visibility(vis, nfreq: int, ntime: int):
    """``vis`` cut into ``nfreq`` × ``ntime`` contiguous chunks (frequency-major), or itself.

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]``.
    """
    if nfreq * ntime == 1:
        return vis
    chans = np.array_split(np.arange(vis.nchan), nfreq)
    times = np.array_split(np.arange(vis.ntime), ntime)
    return [
        vis.select(time=slice(int(t[0]), int(t[-1]) + 1), channel=slice(int(c[0]), int(c[-1]) + 1))
        for c in chans
        for t in times
    ]


def split_windows(windows, args, opts) -> dict:
    """Split ``windows.vis`` (one Visibility per output channel) in place; the report entry.

    Returns
    -------
    dict
        ``memory_limit_bytes`` (None: no limit), ``source``, and per output channel
        ``nfreq``, ``ntime`` and ``task_bytes`` (the largest task's estimate).
    """
    limit, source = memory_limit(getattr(args, "memory_limit", None))
    report = {"memory_limit_bytes": limit, "source": source, "windows": []}
    if limit is None:
        log.info("chunking: no memory limit (serial run without --memory-limit): each output "
                 "channel's data in one piece")  # fmt: skip
        return report
    mode = args.mode
    split_frequency = mode in ("cip", "invert") or (
        mode == "ical" and "B" not in args.calibration_context
    )
    split_time = mode in ("cip", "invert", "spectral")
    threads = max([int(w.get("nthreads") or 1) for w in _workers()] or [1])
    for b, (vis, template) in enumerate(zip(windows.vis, windows.templates)):
        try:
            choice = choose_chunking(
                vis.vis.shape, template.data.shape, limit, vis_dtype=vis.vis.dtype,
                weight_dtype=vis.weight.dtype, threads_per_worker=threads,
                psf_factor=1 if mode == "invert" else 2, image_per_channel=mode == "spectral",
                split_frequency=split_frequency, split_time=split_time,
            )  # fmt: skip
        except PipelineError as exc:
            raise CLIError(f"output channel {b} (--mode {mode}, memory limit from {source}): "
                           f"{exc}") from None  # fmt: skip
        f, t = choice["nfreq_windows"], choice["ntime_chunks"]
        windows.vis[b] = split_visibility(vis, f, t)
        log.info(
            "output channel %d: data split into %d frequency x %d time chunks (~%.1f MiB per "
            "task; memory limit %.1f MiB per worker from %s)",
            b, f, t, choice["task_bytes"] / 2**20, limit / 2**20, source,
        )  # fmt: skip
        report["windows"].append({"nfreq": f, "ntime": t, "task_bytes": int(choice["task_bytes"])})
    return report
