"""Memory-aware chunking: how many frequency windows and time chunks a dataset needs.

A pipeline's per-chunk tasks are the residual image (it holds the chunk's visibilities,
weights, flags and uvw, the predicted model into which the residual is formed, the
polarisation products the gridder is given, the images and the gridder's oversampled
complex grid) and, once per chunk, the PSF (the same, with a unit point source's
visibilities, and ``psf_factor²`` times more pixels). :func:`estimate_task_memory` adds
these up, an upper bound of the measured peak (a test holds it within 2x of it); :func:`choose_chunking` splits frequency first (windows share one uv grid for the
weights and are imaged independently), then time, until a task fits in a share of the
worker's memory limit, and logs the estimate.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .errors import PipelineError

__all__ = ["estimate_task_memory", "choose_chunking", "parse_memory"]

logger = logging.getLogger(__name__)

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
          "t": 1e12, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip


def parse_memory(value) -> int:
    """Bytes from an int/float or a string such as ``"4GiB"``, ``"512 MB"``."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if not value > 0:
            raise PipelineError(f"memory must be > 0 bytes, got {value}")
        return int(value)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = text[len(number) :]
        if number and unit in _UNITS:
            try:
                return parse_memory(float(number) * _UNITS[unit])
            except ValueError:
                pass
    raise PipelineError(
        f"memory {value!r} not understood; give bytes or a string like '4GiB', '512MB'"
    )


def estimate_task_memory(
    vis_shape,
    image_shape,
    vis_dtype=np.complex128,
    weight_dtype=np.float64,
    image_dtype=None,
    oversampling: float = 2.0,
    psf_factor: int = 2,
) -> dict:
    """Bytes held by the largest per-chunk task (residual imaging or the PSF).

    Parameters
    ----------
    vis_shape : (int, int, int, int)
        ``(ntime, nbaseline, nchan, npol)`` of one chunk.
    image_shape : (int, int, int, int)
        ``(nchan, npol, ny, nx)`` of the chunk's image.
    vis_dtype, weight_dtype : numpy dtype
        complex64/complex128 data, float32/float64 weights.
    image_dtype : numpy dtype, optional
        The images' dtype; default float32 for complex64 data, else float64 (what the
        gridders give).
    oversampling : float
        The gridder's grid size over the image size per axis (ducc0's wgridder: at most 2).
    psf_factor : int
        PSF size over image size.

    Returns
    -------
    dict
        ``visibility`` (the chunk's arrays and the working copies of the data),
        ``images``, ``grid``, ``residual_task``, ``psf_task`` and ``total`` (the larger of
        the two tasks), in bytes.

    Notes
    -----
    Measured (peak RSS above a process's baseline, tests/pipelines/test_pipe_chunking.py):
    the residual task holds the input (data, weights, flags, uvw), one more array the size
    of the data (the prediction, into which the residual is formed), the gridder's
    products and grid and a few planes; the PSF task the input, the unit point source's
    visibilities and the grid and planes of the larger image. Counted here: one more data
    array for the polarisation products (formed when the image's frame is not the data's),
    a grid of twice the image per axis, and three planes.
    """
    ntime, nbl, nchan, npol = (int(x) for x in vis_shape)
    ichan, ipol, ny, nx = (int(x) for x in image_shape)
    nvis = ntime * nbl * nchan * npol
    vsize = np.dtype(vis_dtype).itemsize
    wsize = np.dtype(weight_dtype).itemsize
    if image_dtype is None:
        image_dtype = np.float32 if np.dtype(vis_dtype) == np.complex64 else np.float64
    inputs = nvis * (vsize + wsize + 1) + ntime * nbl * 3 * 8
    working = 2 * nvis * vsize  # the prediction (or the unit source) and the products
    visibility = inputs + working
    plane = ichan * ipol * ny * nx * np.dtype(image_dtype).itemsize
    images = 3 * plane  # the model, the image made and its transposed copy
    cell = 2 * np.dtype(image_dtype).itemsize  # a complex grid cell of the images' precision
    grid = int(math.ceil(oversampling * ny) * math.ceil(oversampling * nx)) * cell
    residual_task = visibility + images + grid
    psf_task = visibility + psf_factor**2 * (images + grid)
    return {"visibility": visibility, "images": images, "grid": grid, "residual_task": residual_task,
            "psf_task": psf_task, "total": max(residual_task, psf_task)}  # fmt: skip


def choose_chunking(
    vis_shape,
    image_shape,
    memory_limit,
    vis_dtype=np.complex128,
    weight_dtype=np.float64,
    threads_per_worker: int = 1,
    min_chunks: int = 1,
    memory_fraction: float = 0.5,
    psf_factor: int = 2,
    image_per_channel: bool = False,
    split_frequency: bool = True,
    split_time: bool = True,
) -> dict:
    """How to split a dataset so that each task fits in a worker's memory.

    Parameters
    ----------
    vis_shape : (int, int, int, int)
        ``(ntime, nbaseline, nchan, npol)`` of the whole dataset.
    image_shape : (int, int, int, int)
        ``(nchan, npol, ny, nx)`` of one window's image (MFS: nchan 1), or of the whole
        cube when ``image_per_channel``.
    memory_limit : int or str
        Per worker, e.g. ``"4GiB"``.
    vis_dtype, weight_dtype : numpy dtype
    threads_per_worker : int
        Tasks running at once in one worker (each needs its memory).
    min_chunks : int
        At least this many tasks (e.g. the number of workers, to use them all).
    memory_fraction : float
        Share of ``memory_limit`` the tasks of a worker may use (Dask spills at 0.6 by default).
    psf_factor : int
    image_per_channel : bool
        Spectral cube: a window's image has the window's channels (the image's channels
        are split with the data), not one MFS channel.
    split_frequency, split_time : bool
        Whether the data may be split along that axis (e.g. no time chunks for a global
        calibration solution, whose windows must share their times; no frequency chunks
        for a uv-plane continuum fit, which needs every channel of a sample).

    Returns
    -------
    dict
        ``nfreq_windows``, ``ntime_chunks``, ``window_shape`` (the largest chunk's
        visibility shape), ``task_bytes`` (its estimate), ``budget_bytes``.

    Raises
    ------
    PipelineError
        Not even one channel of one integration fits.
    """
    ntime, nbl, nchan, npol = (int(x) for x in vis_shape)
    limit = parse_memory(memory_limit)
    if not 0 < memory_fraction <= 1:
        raise PipelineError(f"memory_fraction must be in (0, 1], got {memory_fraction}")
    if threads_per_worker < 1 or min_chunks < 1:
        raise PipelineError("threads_per_worker and min_chunks must be >= 1")
    budget = limit * memory_fraction / threads_per_worker
    icube = tuple(int(x) for x in image_shape)
    candidates = sorted(
        ((f, t) for f in range(1, (nchan if split_frequency else 1) + 1)
         for t in range(1, (ntime if split_time else 1) + 1)),
        key=lambda ft: (ft[0] * ft[1], ft[1]),
    )  # fmt: skip
    for f, t in candidates:
        if f * t < min(min_chunks, len(candidates)):
            continue
        shape = (math.ceil(ntime / t), nbl, math.ceil(nchan / f), npol)
        ishape = (math.ceil(icube[0] / f),) + icube[1:] if image_per_channel else icube
        est = estimate_task_memory(shape, ishape, vis_dtype, weight_dtype, psf_factor=psf_factor)
        if est["total"] <= budget:
            logger.info(
                "chunking: %d frequency windows x %d time chunks; largest task ~%.1f MiB "
                "(visibilities %.1f, images %.1f, grid %.1f MiB) within %.1f MiB per task "
                "(%.0f%% of %.1f MiB per worker, %d threads)",
                f, t, est["total"] / 2**20, est["visibility"] / 2**20, est["images"] / 2**20,
                est["grid"] / 2**20, budget / 2**20, 100 * memory_fraction, limit / 2**20,
                threads_per_worker,
            )  # fmt: skip
            return {"nfreq_windows": f, "ntime_chunks": t, "window_shape": shape,
                    "task_bytes": est["total"], "budget_bytes": int(budget)}  # fmt: skip
    f, t = candidates[-1]
    shape = (math.ceil(ntime / t), nbl, math.ceil(nchan / f), npol)
    ishape = (math.ceil(icube[0] / f),) + icube[1:] if image_per_channel else icube
    smallest = estimate_task_memory(shape, ishape, vis_dtype, weight_dtype, psf_factor=psf_factor)
    what = {(True, True): "one channel of one integration", (True, False): "one channel",
            (False, True): "one integration", (False, False): "the whole dataset"}[
        (split_frequency, split_time)]  # fmt: skip
    raise PipelineError(
        f"even {what} needs ~{smallest['total'] / 2**20:.1f} MiB per "
        f"task, over the {budget / 2**20:.1f} MiB allowed ({memory_fraction:.0%} of "
        f"{limit / 2**20:.1f} MiB / {threads_per_worker} threads): raise memory_limit or make "
        "smaller images"
    )
