"""Imaging for uvflow: invert/predict on ducc0, weighting, deconvolution, restoring, imaging workflows."""

__version__ = "0.1.0"

__all__ = ["__version__"]
