"""Simulation for uvflow: observations, sky models, noise, corruptions, simulation workflows."""

__version__ = "0.1.0"

__all__ = ["__version__"]
