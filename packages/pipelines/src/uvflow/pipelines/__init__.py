"""Pipelines for uvflow: ICAL, continuum, spectral line, MPCCAL, and the uvflow command."""

from uvflow.execution.lazy import lazy_getattr

from .errors import CheckpointError, PipelineError

__version__ = "0.1.0"

# Workflows import uvflow.execution (and so dask), the kernels the imaging and calibration
# packages (scipy), the memory plan numpy: imported on first use (the command starts at once).
_LAZY = {
    "choose_chunking": "memory_plan",
    "estimate_task_memory": "memory_plan",
    "MPCCALError": "mpccal_steps",
    "uv_continuum_subtraction": "continuum_subtraction",
    "mpccal_skymodel_list_rsexecute_workflow": "mpccal",
    "continuum_imaging_list_rsexecute_workflow": "continuum",
    "ical_list_rsexecute_workflow": "ical",
    "default_ical_controls": "ical",
    "spectral_line_imaging_list_rsexecute_workflow": "spectral_line",
    "PipelineSettings": "pipeline_settings",
}


__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "__version__",
    "MPCCALError",
    "mpccal_skymodel_list_rsexecute_workflow",
    "CheckpointError",
    "PipelineError",
    "PipelineSettings",
    "choose_chunking",
    "continuum_imaging_list_rsexecute_workflow",
    "default_ical_controls",
    "estimate_task_memory",
    "ical_list_rsexecute_workflow",
    "spectral_line_imaging_list_rsexecute_workflow",
    "uv_continuum_subtraction",
]
