"""Imaging for uvflow: invert/predict on ducc0, weighting, deconvolution, restoring, imaging workflows."""

from .dft import invert_dft, predict_dft
from .errors import (
    FrequencyMismatchError,
    ImagingError,
    PhaseCentreMismatchError,
    PrecisionError,
    UnknownGridderError,
)
from .gridders import Gridder, get_gridder, installed_gridders
from .gridding import invert, predict
from .image_geometry import advise_wide_field, create_image_from_visibility
from .weighting import (
    apply_grid_weights,
    grid_weights,
    sum_grid_weights,
    taper_visibility_gaussian,
    taper_visibility_tukey,
    weight_visibility,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # gridding kernels
    "invert",
    "predict",
    "invert_dft",
    "predict_dft",
    "Gridder",
    "get_gridder",
    "installed_gridders",
    "create_image_from_visibility",
    "advise_wide_field",
    "weight_visibility",
    "grid_weights",
    "sum_grid_weights",
    "apply_grid_weights",
    "taper_visibility_gaussian",
    "taper_visibility_tukey",
    "ImagingError",
    "FrequencyMismatchError",
    "PhaseCentreMismatchError",
    "PrecisionError",
    "UnknownGridderError",
]
