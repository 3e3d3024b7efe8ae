"""Deconvolution: Högbom (real and complex), multi-scale and multi-scale multi-frequency
CLEAN, the ``uvflow.deconvolvers`` plugin group, and the kernel of facet-parallel minor cycles.

The one-plane algorithms live in modules of their names (``hogbom.hogbom``,
``msclean.msclean``, ``mmclean.mmclean``); they are not re-exported here, so that the
module names stay importable as modules.
"""

from .clean_parameters import clean_threshold
from .clean_window import create_window
from .deconvolver_plugins import Deconvolver, get_deconvolver, installed_deconvolvers
from .errors import DeconvolutionError, UnknownDeconvolverError
from .facet_deconvolve import (
    deconvolve_facet,
    facet_psf,
    facet_round_threshold,
    image_residual,
    psf_sidelobe_level,
)
from .minor_cycle import deconvolve_cube
from .mmclean import evaluate_moments, frequency_moments, taylor_offsets
from .psf_support import crop_psf
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
    "taylor_offsets",
    "frequency_moments",
    "evaluate_moments",
    "scale_kernel",
]
