"""Calibration for uvflow: gain tables, antenna-based solvers, chains, calibration workflows.

Convention: ``V_obs_ij = G_i V_model_ij G_j^H`` (2×2 Jones matrices on the correlation
matrix ``[[XX, XY], [YX, YY]]``, or per receptor, or scalar); ``apply_gaintable(...,
inverse=True)`` corrects. Kernels are numpy only; ``calibrate_list_rsexecute_workflow``
(in ``uvflow.calibration.calibration_workflows``) builds task graphs through
``uvflow.execution.rsexecute``.
"""

from .apply import apply_gaintable
from .chain import (
    apply_calibration_chain,
    create_calibration_controls,
    solve_calibrate_chain,
    validate_controls,
)
from .errors import CalibrationError, ControlsError, SolverNotFoundError
from .gaintable_create import (
    create_gaintable_from_visibility,
    solution_channel_index,
    solution_time_index,
)
from .operations import multiply_gaintables, qa_gaintable
from .plotting import plot_gaintable, plot_gaintable_spectrum
from .solve import gaintable_statistics, solve_gaintable, solve_gaintable_from_statistics
from .solvers import ENTRY_POINT_GROUP, JonesSolver, StefCalSolver, available_solvers, get_solver
from .statistics import GainStatistics, accumulate_statistics, combine_statistics

__version__ = "0.1.0"


def __getattr__(name):
    # The workflow imports uvflow.execution (and so dask): only when asked for.
    if name == "calibrate_list_rsexecute_workflow":
        from .calibration_workflows import calibrate_list_rsexecute_workflow

        return calibrate_list_rsexecute_workflow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ENTRY_POINT_GROUP",
    "CalibrationError",
    "ControlsError",
    "GainStatistics",
    "JonesSolver",
    "SolverNotFoundError",
    "StefCalSolver",
    "__version__",
    "accumulate_statistics",
    "apply_calibration_chain",
    "apply_gaintable",
    "available_solvers",
    "calibrate_list_rsexecute_workflow",
    "combine_statistics",
    "create_calibration_controls",
    "create_gaintable_from_visibility",
    "gaintable_statistics",
    "get_solver",
    "multiply_gaintables",
    "plot_gaintable",
    "plot_gaintable_spectrum",
    "qa_gaintable",
    "solution_channel_index",
    "solution_time_index",
    "solve_calibrate_chain",
    "solve_gaintable",
    "solve_gaintable_from_statistics",
    "validate_controls",
]
