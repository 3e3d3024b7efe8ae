"""Pipelines for uvflow: ICAL, continuum, spectral line, MPCCAL, and the uvflow command."""

__version__ = "0.1.0"

__all__ = ["__version__"]
