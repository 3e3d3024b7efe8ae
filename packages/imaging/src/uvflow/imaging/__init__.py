"""Imaging for uvflow: invert/predict on ducc0, weighting, deconvolution, restoring, imaging workflows."""

from . import deconvolution, weighting
from .deconvolution import *  # noqa: F403  (re-exported whole: __all__ below)
from .dft import invert_dft, predict_dft
from .errors import (
    FrequencyMismatchError,
    ImagingError,
    PhaseCentreMismatchError,
    PrecisionError,
    UnknownGridderError,
)
from .facets import facet_layout, facet_weight, image_gather_facets, image_scatter_facets
from .gridder_plugins import Gridder, get_gridder, installed_gridders
from .image_geometry import advise_wide_field, create_image_from_visibility
from .invert_predict import invert, predict
from .restore import fit_psf, restore_cube
from .settings import CleanSettings, GriddingSettings
from .weighting import *  # noqa: F403  (re-exported whole: __all__ below)
from .weighting_settings import WeightingSettings

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # settings
    "GriddingSettings",
    "WeightingSettings",
    "CleanSettings",
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
    # weighting: uvflow.imaging.weighting's public names
    *weighting.__all__,
    "ImagingError",
    "FrequencyMismatchError",
    "PhaseCentreMismatchError",
    "PrecisionError",
    "UnknownGridderError",
    # deconvolution (uvflow.imaging.deconvolution's public names), restoring, facets
    *deconvolution.__all__,
    "restore_cube",
    "fit_psf",
    "image_scatter_facets",
    "image_gather_facets",
    "facet_layout",
    "facet_weight",
]
