"""Task execution for uvflow: rsexecute over serial or Dask, clusters, logging, statistics.

``rsexecute`` runs the same workflow code serially, with a local Dask scheduler or on
a Dask cluster::

    from uvflow.execution import rsexecute

    rsexecute.set_client(n_workers=4)              # or use_dask=False, scheduler="threads"
    parts = [rsexecute.execute(work)(i) for i in range(10)]
    total = rsexecute.compute(sum_list_rsexecute(parts), sync=True)
    rsexecute.close()

This package knows nothing of astronomy; it imports only dask, distributed and (for
HTML statistics) bokeh. Names are imported when first used: the keyword checker and the
plugin loader (``uvflow.execution.keywords``, ``uvflow.execution.plugins``) import no
dask, so kernels can use them without paying for dask's import; ``rsexecute`` in serial
mode imports neither dask nor distributed (the Dask modes import them when chosen).
"""

from __future__ import annotations

from uvflow.execution.lazy import lazy_getattr

__version__ = "0.1.0"

#: public name -> module that defines it
_LAZY = {
    "dashboard_link": "client",
    "get_dask_client": "client",
    "read_scheduler_file": "client",
    "slurm_cluster": "clusters",
    "ssh_cluster": "clusters",
    "ClusterConnectionError": "errors",
    "ClusterStalledError": "errors",
    "ExecutionError": "errors",
    "MissingExtraError": "errors",
    "Executor": "executor",
    "rsexecute": "executor",
    "check_keywords": "keywords",
    "strict_keywords": "keywords",
    "forward_worker_logs": "log_forwarding",
    "close_logging": "logging_setup",
    "init_logging": "logging_setup",
    "current_rss_bytes": "memory",
    "start_memory_sampler": "memory",
    "stop_memory_sampler": "memory",
    "PluginGroup": "plugins",
    "PluginLoadError": "plugins",
    "sum_list_rsexecute": "reduction",
    "sum_map_rsexecute": "reduction",
    "table_lock": "locks",
    "stall_timeout": "stall_watch",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = ["__version__", *sorted(_LAZY)]
