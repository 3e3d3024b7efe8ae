"""Task execution for uvflow: rsexecute over serial or Dask, clusters, logging, statistics.

``rsexecute`` runs the same workflow code serially, with a local Dask scheduler or on
a Dask cluster::

    from uvflow.execution import rsexecute

    rsexecute.set_client(n_workers=4)              # or use_dask=False, scheduler="threads"
    parts = [rsexecute.execute(work)(i) for i in range(10)]
    total = rsexecute.compute(sum_list_rsexecute(parts), sync=True)
    rsexecute.close()

This package knows nothing of astronomy; it imports only dask, distributed and (for
HTML statistics) bokeh.
"""

from uvflow.execution.client import dashboard_link, get_dask_client, read_scheduler_file
from uvflow.execution.clusters import slurm_cluster, ssh_cluster
from uvflow.execution.errors import ClusterConnectionError, ExecutionError, MissingExtraError
from uvflow.execution.executor import Executor, rsexecute
from uvflow.execution.keywords import strict_keywords
from uvflow.execution.logging_setup import close_logging, init_logging
from uvflow.execution.memory import current_rss_bytes, start_memory_sampler, stop_memory_sampler
from uvflow.execution.reduction import sum_list_rsexecute

__version__ = "0.1.0"

__all__ = [
    "ClusterConnectionError",
    "ExecutionError",
    "Executor",
    "MissingExtraError",
    "__version__",
    "close_logging",
    "current_rss_bytes",
    "dashboard_link",
    "get_dask_client",
    "init_logging",
    "read_scheduler_file",
    "rsexecute",
    "slurm_cluster",
    "ssh_cluster",
    "start_memory_sampler",
    "stop_memory_sampler",
    "strict_keywords",
    "sum_list_rsexecute",
]
