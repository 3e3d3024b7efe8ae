"""File formats for uvflow data models: FITS images, zarr checkpoints, xarray interop.

Optional dependencies (zarr, xarray, python-casacore) are imported only when a function
that needs them is called.
"""

from .atomic import atomic_directory, atomic_file
from .fits_image import export_image_to_fits, import_image_from_fits

__all__ = [
    "atomic_directory",
    "atomic_file",
    "export_image_to_fits",
    "import_image_from_fits",
]
