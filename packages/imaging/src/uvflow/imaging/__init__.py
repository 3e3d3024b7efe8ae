"""Imaging for uvflow: invert/predict on ducc0, weighting, deconvolution, restoring, imaging workflows."""

from .deconvolution import (
    DeconvolutionError,
    Deconvolver,
    UnknownDeconvolverError,
    clean_threshold,
    deconvolve_cube,
    deconvolve_facet,
    facet_round_threshold,
    get_deconvolver,
    image_residual,
    installed_deconvolvers,
    psf_sidelobe_level,
)
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
from .weighting import (
    apply_grid_weights,
    grid_weights,
    sum_grid_weights,
    taper_visibility_gaussian,
    taper_visibility_tukey,
    weight_visibility,
)
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
    # deconvolution, restoring, facets
    "deconvolve_cube",
    "Deconvolver",
    "get_deconvolver",
    "installed_deconvolvers",
    "DeconvolutionError",
    "UnknownDeconvolverError",
    "clean_threshold",
    "deconvolve_facet",
    "facet_round_threshold",
    "psf_sidelobe_level",
    "image_residual",
    "restore_cube",
    "fit_psf",
    "image_scatter_facets",
    "image_gather_facets",
    "facet_layout",
    "facet_weight",
]
