"""Radio-interferometry data models: Visibility, Image, GainTable, SkyComponent, SkyModel,
Configuration, PolarisationFrame, and their file formats."""

from ._validation import DataModelError
from .configuration import Configuration
from .gaintable import JONES_TYPES, GainTable
from .image import Image, create_image
from .polarisation import (
    PolarisationError,
    PolarisationFrame,
    ReceptorFrame,
    convert_pol,
    correlation_weights,
    pol_conversion_matrix,
)
from .skymodel import SkyComponent, SkyModel
from .units import to_radians
from .visibility import SPEED_OF_LIGHT, Visibility

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "SPEED_OF_LIGHT",
    "JONES_TYPES",
    "Configuration",
    "DataModelError",
    "GainTable",
    "Image",
    "PolarisationError",
    "PolarisationFrame",
    "ReceptorFrame",
    "SkyComponent",
    "SkyModel",
    "Visibility",
    "convert_pol",
    "correlation_weights",
    "create_image",
    "pol_conversion_matrix",
    "to_radians",
]
