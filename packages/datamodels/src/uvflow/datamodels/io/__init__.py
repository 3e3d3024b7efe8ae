"""File formats for uvflow data models: FITS images, MeasurementSets, UVFITS, zarr
checkpoints, xarray interop.

Optional dependencies (zarr, xarray, python-casacore) are imported only when a function
that needs them is called.
"""

from .atomic import atomic_directory, atomic_file
from .fits_image import export_image_to_fits, import_image_from_fits
from .measurementset_read import MeasurementSetMetadata, read_ms, read_ms_metadata
from .measurementset_write import write_ms
from .ms_chunks import MSChunk, MSPart, ms_index
from .ms_column import ensure_column, write_column, write_rows
from .ms_tables import MeasurementSetError
from .uvfits_chunks import UVFITSChunk, UVFITSPart, uvfits_index
from .uvfits_read import read_uvfits
from .uvfits_tables import UVFITSError
from .uvfits_write import write_uvfits
from .xarray_convert import (
    image_from_xarray,
    image_to_xarray,
    visibility_from_xarray,
    visibility_to_xarray,
)
from .zarr_store import (
    describe_checkpoint,
    load_checkpoint,
    read_gaintable_zarr,
    read_image_zarr,
    read_visibility_zarr,
    save_checkpoint,
    write_gaintable_zarr,
    write_image_zarr,
    write_visibility_zarr,
)

__all__ = [
    "atomic_directory",
    "atomic_file",
    "export_image_to_fits",
    "import_image_from_fits",
    "MeasurementSetError",
    "MeasurementSetMetadata",
    "MSChunk",
    "MSPart",
    "UVFITSChunk",
    "UVFITSError",
    "UVFITSPart",
    "read_ms",
    "read_ms_metadata",
    "ms_index",
    "read_uvfits",
    "uvfits_index",
    "write_uvfits",
    "ensure_column",
    "write_column",
    "write_rows",
    "write_ms",
    "describe_checkpoint",
    "image_from_xarray",
    "image_to_xarray",
    "load_checkpoint",
    "read_gaintable_zarr",
    "read_image_zarr",
    "read_visibility_zarr",
    "save_checkpoint",
    "visibility_from_xarray",
    "visibility_to_xarray",
    "write_gaintable_zarr",
    "write_image_zarr",
    "write_visibility_zarr",
]
