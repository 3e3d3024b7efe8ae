"""Pipelines for uvflow: ICAL, continuum, spectral line, MPCCAL, and the uvflow command."""

from .mpccal_steps import MPCCALError

__version__ = "0.1.0"

# Workflows import uvflow.execution (and so dask): imported on first use.
_LAZY = {
    "mpccal_skymodel_list_rsexecute_workflow": "mpccal",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "__version__",
    "MPCCALError",
    "mpccal_skymodel_list_rsexecute_workflow",
]
