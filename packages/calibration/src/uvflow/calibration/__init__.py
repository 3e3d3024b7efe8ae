"""Calibration for uvflow: gain tables, antenna-based solvers, chains, calibration workflows."""

__version__ = "0.1.0"

__all__ = ["__version__"]
