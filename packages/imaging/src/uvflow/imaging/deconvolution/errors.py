"""Exceptions of uvflow.imaging.deconvolution (ValueError subclasses, via ImagingError)."""

from __future__ import annotations

from ..errors import ImagingError

__all__ = ["DeconvolutionError", "UnknownDeconvolverError"]


class DeconvolutionError(ImagingError):
    """Deconvolution was given parameters or images it cannot work with."""


class UnknownDeconvolverError(DeconvolutionError):
    """No deconvolver of that name is installed in the ``uvflow.deconvolvers`` group."""
