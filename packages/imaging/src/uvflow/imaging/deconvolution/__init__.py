"""Deconvolution: Högbom (real and complex), multi-scale and multi-scale multi-frequency
CLEAN, the ``uvflow.deconvolvers`` plugin group, and the kernel of facet-parallel minor cycles."""

from .cleaning_common import clean_threshold, create_window, crop_psf
from .deconvolve import deconvolve_cube
from .deconvolvers import Deconvolver, get_deconvolver, installed_deconvolvers
from .errors import DeconvolutionError, UnknownDeconvolverError
from .facet_deconvolve import (
    deconvolve_facet,
    facet_psf,
    facet_round_threshold,
    image_residual,
    psf_sidelobe_level,
)
from .hogbom import hogbom
from .mmclean import evaluate_moments, frequency_moments, mmclean, taylor_offsets
from .msclean import msclean
from .scales import scale_kernel

__all__ = [
    "deconvolve_cube",
    "Deconvolver",
    "get_deconvolver",
    "installed_deconvolvers",
    "DeconvolutionError",
    "UnknownDeconvolverError",
    "clean_threshold",
    "create_window",
    "crop_psf",
    "deconvolve_facet",
    "facet_psf",
    "image_residual",
    "psf_sidelobe_level",
    "facet_round_threshold",
    "hogbom",
    "msclean",
    "mmclean",
    "taylor_offsets",
    "frequency_moments",
    "evaluate_moments",
    "scale_kernel",
]
