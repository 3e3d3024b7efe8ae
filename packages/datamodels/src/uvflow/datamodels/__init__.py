"""Radio-interferometry data models: Visibility, Image, GainTable, SkyComponent, SkyModel,
Configuration, PolarisationFrame, and their file formats."""

from ._validation import DataModelError
from .config_readers import (
    KNOWN_ARRAY_CENTRES,
    array_centre,
    create_configuration_from_file,
    limit_configuration_radius,
)
from .configuration import Configuration
from .gaintable import JONES_TYPES, GainTable
from .image import CHANNEL_FREQUENCIES, Image, create_image
from .io import (
    MeasurementSetError,
    UVFITSError,
    export_image_to_fits,
    image_from_xarray,
    image_to_xarray,
    import_image_from_fits,
    load_checkpoint,
    read_gaintable_zarr,
    read_image_zarr,
    read_ms,
    read_uvfits,
    read_visibility_zarr,
    save_checkpoint,
    visibility_from_xarray,
    visibility_to_xarray,
    write_column,
    write_gaintable_zarr,
    write_image_zarr,
    write_ms,
    write_uvfits,
    write_visibility_zarr,
)
from .named_configurations import NAMED_CONFIGURATIONS, create_named_configuration
from .operations import (
    concatenate_images,
    concatenate_visibility,
    copy_visibility,
    gather_visibility,
    scatter_visibility,
    subtract_visibility,
)
from .polarisation import (
    PolarisationError,
    PolarisationFrame,
    ReceptorFrame,
    convert_pol,
    correlation_weights,
    pol_conversion_matrix,
)
from .polarisation_convert import convert_image_polarisation, convert_visibility_polarisation
from .qa import qa_image, qa_visibility
from .skymodel import SkyComponent, SkyModel
from .sources import DerivedSource, VisibilitySource, derive, is_source, load_visibility
from .stokes_axis import plane_stokes_codes
from .units import to_radians
from .visibility import SPEED_OF_LIGHT, Visibility

__version__ = "0.1.0"

__all__ = [
    "DerivedSource",
    "VisibilitySource",
    "derive",
    "is_source",
    "load_visibility",
    "__version__",
    "SPEED_OF_LIGHT",
    "JONES_TYPES",
    "Configuration",
    "DataModelError",
    "MeasurementSetError",
    "UVFITSError",
    "GainTable",
    "CHANNEL_FREQUENCIES",
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
    "plane_stokes_codes",
    "pol_conversion_matrix",
    "read_ms",
    "read_uvfits",
    "to_radians",
    "write_column",
    "write_ms",
    "write_uvfits",
    "KNOWN_ARRAY_CENTRES",
    "NAMED_CONFIGURATIONS",
    "array_centre",
    "concatenate_images",
    "concatenate_visibility",
    "convert_image_polarisation",
    "convert_visibility_polarisation",
    "copy_visibility",
    "create_configuration_from_file",
    "create_named_configuration",
    "export_image_to_fits",
    "gather_visibility",
    "image_from_xarray",
    "image_to_xarray",
    "import_image_from_fits",
    "limit_configuration_radius",
    "load_checkpoint",
    "qa_image",
    "qa_visibility",
    "read_gaintable_zarr",
    "read_image_zarr",
    "read_visibility_zarr",
    "save_checkpoint",
    "scatter_visibility",
    "subtract_visibility",
    "visibility_from_xarray",
    "visibility_to_xarray",
    "write_gaintable_zarr",
    "write_image_zarr",
    "write_visibility_zarr",
]
