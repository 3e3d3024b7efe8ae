"""Task execution for uvflow: rsexecute over serial or Dask, clusters, logging, statistics."""

__version__ = "0.1.0"

__all__ = ["__version__"]
