"""Radio-interferometry data models for uvflow: Visibility, Image, GainTable, SkyModel; FITS, MS, UVFITS, zarr IO."""

__version__ = "0.1.0"

__all__ = ["__version__"]
