"""Calibration for uvflow: gain tables, antenna-based solvers, chains, calibration workflows.

Convention: ``V_obs_ij = G_i V_model_ij G_j^H`` (2×2 Jones matrices on the correlation
matrix ``[[XX, XY], [YX, YY]]``, or per receptor, or scalar); ``apply_gaintable(...,
inverse=True)`` corrects. Kernels are numpy only; ``calibrate_list_rsexecute_workflow``
and ``calibrate_list`` (in ``uvflow.calibration.calibration_workflows``) build task graphs
through ``uvflow.execution.rsexecute``.
"""

from uvflow.execution.lazy import lazy_getattr

from .apply import apply_gaintable
from .chain import apply_calibration_chain, solve_calibrate_chain
from .errors import CalibrationError, ControlsError, H5parmError, SolverNotFoundError
from .flagging import flag_obvious, scan_numbers
from .flux_bootstrap import FluxScale, bootstrap_flux, combine_flux_scales, scale_gaintable_flux
from .flux_standards import FLUX_STANDARDS, FluxStandard, find_flux_standard, flux_density
from .gain_interpolation import (
    concatenate_gaintables,
    correct_with_solutions,
    interpolate_gaintable,
)
from .gain_solve import gaintable_statistics, solve_gaintable, solve_gaintable_from_statistics
from .gain_terms import StefCalSolver
from .gaintable_create import (
    create_gaintable_from_visibility,
    solution_channel_coverage,
    solution_channel_index,
    solution_time_index,
)
from .h5parm import H5PARM_DIRECTION, H5PARM_VERSION, read_h5parm, write_h5parm
from .observation_kernels import ObservationSettings, model_visibility, normalise_bandpass
from .operations import multiply_gaintables, qa_gaintable
from .plotting import plot_gaintable, plot_gaintable_spectrum
from .settings import CalibrationSettings, create_calibration_controls, validate_controls
from .solver_plugins import ENTRY_POINT_GROUP, JonesSolver, available_solvers, get_solver
from .statistics import GainStatistics, accumulate_statistics, combine_statistics

__version__ = "0.1.0"


# The workflows import uvflow.execution's executor (and so dask): only when asked for.
_OBSERVATION_WORKFLOWS = (
    "apply_to_target_rsexecute_workflow",
    "bandpass_rsexecute_workflow",
    "calibrate_observation_rsexecute_workflow",
    "calibrator_gains_rsexecute_workflow",
    "fluxscale_rsexecute_workflow",
)
__getattr__ = lazy_getattr(
    __name__,
    {"calibrate_list": "calibration_workflows",
     "calibrate_list_rsexecute_workflow": "calibration_workflows"}
    | dict.fromkeys(_OBSERVATION_WORKFLOWS, "observation_workflows"),
)  # fmt: skip

__all__ = [
    *_OBSERVATION_WORKFLOWS,
    "FluxScale",
    "ObservationSettings",
    "bootstrap_flux",
    "combine_flux_scales",
    "concatenate_gaintables",
    "correct_with_solutions",
    "interpolate_gaintable",
    "model_visibility",
    "normalise_bandpass",
    "scale_gaintable_flux",
    "ENTRY_POINT_GROUP",
    "CalibrationError",
    "CalibrationSettings",
    "ControlsError",
    "FLUX_STANDARDS",
    "FluxStandard",
    "GainStatistics",
    "H5PARM_DIRECTION",
    "H5PARM_VERSION",
    "H5parmError",
    "JonesSolver",
    "SolverNotFoundError",
    "StefCalSolver",
    "__version__",
    "accumulate_statistics",
    "apply_calibration_chain",
    "apply_gaintable",
    "available_solvers",
    "calibrate_list",
    "calibrate_list_rsexecute_workflow",
    "combine_statistics",
    "create_calibration_controls",
    "create_gaintable_from_visibility",
    "find_flux_standard",
    "flag_obvious",
    "flux_density",
    "gaintable_statistics",
    "get_solver",
    "multiply_gaintables",
    "plot_gaintable",
    "plot_gaintable_spectrum",
    "qa_gaintable",
    "read_h5parm",
    "scan_numbers",
    "solution_channel_coverage",
    "solution_channel_index",
    "solution_time_index",
    "solve_calibrate_chain",
    "solve_gaintable",
    "solve_gaintable_from_statistics",
    "validate_controls",
    "write_h5parm",
]
