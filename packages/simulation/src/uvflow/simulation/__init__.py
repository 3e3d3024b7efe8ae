"""Simulation for uvflow: observations, sky models, noise, corruptions, simulation workflows.

Kernels (numpy on data models) live in modules named for what they do and never import
dask; graphs are built only in the ``*_workflows`` modules (observations and corruption,
sky models, dish errors, error residuals), whose functions are imported from here on first
use (importing them imports uvflow.execution and dask).
"""

from uvflow.execution.lazy import lazy_getattr

from .atmospheric_screens import create_kolmogorov_screen, phase_structure_function
from .calibrator_observation import (
    CalibratorObservation,
    InstrumentErrors,
    ObservedField,
    flux_calibrator_field,
    simulate_calibrator_observation,
)
from .components_to_image import INSERT_METHODS, create_test_image, skycomponents_to_image
from .directions import lm_to_skycoord, skycoord_to_lmn
from .dish_error_gaintables import (
    gaintables_from_voltage_pattern,
    parallactic_angle,
    simulate_pointing_offsets,
)
from .earth_orientation import elevation_hour_angle, transit_time, uvw_rotation
from .errors import SimulationError
from .gains import simulate_gaintable
from .measurementset import combine_windows, write_simulated_ms
from .named_observations import (
    OBSERVATION_ALIASES,
    STANDARD_OBSERVATIONS,
    StandardObservation,
    create_named_observation,
    named_configuration,
)
from .noise import add_noise, radiometer_sigma, visibility_sigma
from .observation import (
    DEFAULT_ELEVATION_LIMIT,
    DEFAULT_UTC_TIME,
    antenna_uvw,
    create_visibility,
    observation_times,
)
from .phase_screens import create_phase_screen_gaintables
from .pierce_points import pierce_points
from .primary_beams import (
    BEAM_MODELS,
    apply_beam_to_skycomponent,
    beam_pattern,
    check_beam_model,
    create_pb,
    dish_diameter,
    voltage_pattern,
)
from .screen_gaintables import create_gaintable_from_screen
from .seeding import make_rng, spawn_seeds
from .skycomponents import component_flux_at, create_random_skycomponents, create_skycomponent
from .standard_configurations import create_configuration_from_MIDfile
from .voltage_patterns import DeformedPattern, IdealPattern, PolarisedPattern, aperture_voltage
from .voronoi import partition_skymodel_by_voronoi, voronoi_labels

__version__ = "0.1.0"

_WORKFLOWS = (
    "WINDOW_ORDERS",
    "corrupt_list_rsexecute_workflow",
    "predict_skymodel_list_rsexecute_workflow",
    "simulate_list_rsexecute_workflow",
)


_SKYMODEL_WORKFLOWS = (
    "convolve_skymodel_list_rsexecute_workflow",
    "crosssubtract_datamodels_skymodel_list_rsexecute_workflow",
    "invert_skymodel_list_rsexecute_workflow",
    "predict_skymodel_list_compsonly_rsexecute_workflow",
)

_DISH_ERROR_WORKFLOWS = (
    "DISH_BANDS",
    "create_pointing_errors_gaintable_rsexecute_workflow",
    "create_polarisation_gaintable_rsexecute_workflow",
    "create_surface_errors_gaintable_rsexecute_workflow",
)
_STANDARD_WORKFLOWS = (
    "create_atmospheric_errors_gaintable_rsexecute_workflow",
    "create_standard_low_simulation_rsexecute_workflow",
    "create_standard_mid_simulation_rsexecute_workflow",
)
_RESIDUAL_WORKFLOWS = (
    "calculate_residual_from_gaintables_rsexecute_workflow",
    "calculate_selfcal_residual_from_gaintables_rsexecute_workflow",
)

__getattr__ = lazy_getattr(
    __name__,
    dict.fromkeys(_WORKFLOWS, "simulation_workflows")
    | dict.fromkeys(_SKYMODEL_WORKFLOWS, "skymodel_workflows")
    | dict.fromkeys(_DISH_ERROR_WORKFLOWS, "dish_error_workflows")
    | dict.fromkeys(_RESIDUAL_WORKFLOWS, "error_residual_workflows")
    | dict.fromkeys(_STANDARD_WORKFLOWS, "standard_simulation_workflows"),
)

__all__ = [
    "__version__",
    "BEAM_MODELS",
    "DEFAULT_ELEVATION_LIMIT",
    "DEFAULT_UTC_TIME",
    "INSERT_METHODS",
    "OBSERVATION_ALIASES",
    "STANDARD_OBSERVATIONS",
    "WINDOW_ORDERS",
    "SimulationError",
    "StandardObservation",
    "add_noise",
    "antenna_uvw",
    "apply_beam_to_skycomponent",
    "beam_pattern",
    "check_beam_model",
    "combine_windows",
    "component_flux_at",
    "create_named_observation",
    "create_pb",
    "create_phase_screen_gaintables",
    "create_random_skycomponents",
    "create_skycomponent",
    "create_test_image",
    "create_visibility",
    "corrupt_list_rsexecute_workflow",
    "elevation_hour_angle",
    "lm_to_skycoord",
    "make_rng",
    "named_configuration",
    "observation_times",
    "partition_skymodel_by_voronoi",
    "predict_skymodel_list_rsexecute_workflow",
    "radiometer_sigma",
    "simulate_gaintable",
    "simulate_list_rsexecute_workflow",
    "skycomponents_to_image",
    "skycoord_to_lmn",
    "spawn_seeds",
    "transit_time",
    "uvw_rotation",
    "visibility_sigma",
    "voronoi_labels",
    "write_simulated_ms",
    "DeformedPattern",
    "IdealPattern",
    "PolarisedPattern",
    "aperture_voltage",
    "dish_diameter",
    "gaintables_from_voltage_pattern",
    "parallactic_angle",
    "simulate_pointing_offsets",
    "voltage_pattern",
    *_SKYMODEL_WORKFLOWS,
    *_DISH_ERROR_WORKFLOWS,
    *_RESIDUAL_WORKFLOWS,
    *_STANDARD_WORKFLOWS,
    "CalibratorObservation",
    "InstrumentErrors",
    "ObservedField",
    "create_configuration_from_MIDfile",
    "create_gaintable_from_screen",
    "create_kolmogorov_screen",
    "flux_calibrator_field",
    "phase_structure_function",
    "pierce_points",
    "simulate_calibrator_observation",
]
