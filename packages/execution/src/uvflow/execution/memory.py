"""Peak resident memory of a process, sampled by a background thread.

Used to report the peak memory per worker of a computation::

    rsexecute.run(start_memory_sampler)      # every worker (and here, in serial mode)
    ...                                      # the computation
    peaks = rsexecute.run(stop_memory_sampler)

Functions live in an importable module so that workers can run them (Dask sends
functions by reference).
"""

from __future__ import annotations

import os
import threading

__all__ = ["current_rss_bytes", "start_memory_sampler", "stop_memory_sampler"]

_SAMPLER: dict = {}


def current_rss_bytes() -> int:
    """Resident set size of this process in bytes (Linux ``/proc``; else ``ru_maxrss``)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def start_memory_sampler(interval: float = 0.01) -> int:
    """Start (or restart) sampling this process's RSS every ``interval`` seconds.

    Returns
    -------
    int
        The RSS in bytes at the start.
    """
    stop_memory_sampler()
    base = current_rss_bytes()
    state = {"peak": base, "base": base, "stop": threading.Event()}

    def loop():
        while not state["stop"].is_set():
            state["peak"] = max(state["peak"], current_rss_bytes())
            state["stop"].wait(interval)

    state["thread"] = threading.Thread(target=loop, daemon=True, name="uvflow-memory-sampler")
    state["thread"].start()
    _SAMPLER["state"] = state
    return base


def stop_memory_sampler() -> dict | None:
    """Stop sampling; ``{'peak': bytes, 'base': bytes}`` since the start, or None if not started."""
    state = _SAMPLER.pop("state", None)
    if state is None:
        return None
    state["stop"].set()
    state["thread"].join()
    state["peak"] = max(state["peak"], current_rss_bytes())
    return {"peak": state["peak"], "base": state["base"]}
