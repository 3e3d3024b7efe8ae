"""Freed image-sized arrays go back to the operating system (glibc's allocator).

glibc serves a large allocation by ``mmap`` and returns it with ``munmap`` when freed,
but it raises that threshold to the size of each mmapped block freed (up to 32 MiB on
64-bit): after the first image is freed, images of that size come from the heap, whose
freed space the process keeps. A run's peak resident memory then holds the sum of
freed arrays as well as the live ones: measured on a 2048² clean (1 M visibilities,
Briggs, 1000 components) 715 MB, against 650 MB with the threshold fixed at 1 MiB, for
5–8 % more wall time (fresh pages are zeroed by the kernel). The ``uvflow`` command fixes
it (:func:`return_large_frees`) unless ``MALLOC_MMAP_THRESHOLD_`` says otherwise; the
library leaves the allocator alone.

The worker processes of the local cluster the command starts get the same setting
(:func:`worker_allocator_config`). Without it their heaps kept the freed chunks' arrays:
on the 5.9 GB MS of issue 15 (2 workers, ``--memory-limit 1GiB``, 70 chunks) both workers
sat paused at Dask's 80 % mark on "unmanaged" memory that pausing could not free, and the
run hung; with it the same run finished (254 s, workers' peak 930 MB).
"""

from __future__ import annotations

import os
import sys

__all__ = ["MMAP_THRESHOLD", "return_large_frees", "worker_allocator_config"]

#: allocations of at least this many bytes are mmapped, and unmapped when freed
MMAP_THRESHOLD = 1 << 20

_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


def return_large_frees() -> bool:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD`; whether it was set (False on
    other C libraries and platforms, or when ``MALLOC_MMAP_THRESHOLD_`` is in the
    environment: the user's setting stands)."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):  # not glibc
        return False


def worker_allocator_config() -> dict:
    """Dask configuration giving the local cluster's worker processes the same threshold.

    Returns
    -------
    dict
        ``{"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": "1048576"}`` on
        Linux, for ``dask.config.set``; empty elsewhere, or when ``MALLOC_MMAP_THRESHOLD_``
        is in the environment (the workers inherit the user's setting).
    """
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return {}
    return {"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD)}
