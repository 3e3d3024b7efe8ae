"""Deconvolvers as plugins: the ``uvflow.deconvolvers`` entry-point group.

A deconvolver turns a dirty image and its PSF into a model and a residual. The
``algorithm`` of :func:`uvflow.imaging.deconvolve_cube` is the name of an entry point in
the group ``uvflow.deconvolvers``; its value is a factory (usually a class) called with the
algorithm's own options (e.g. ``scales``), returning an object that follows
:class:`Deconvolver`. The built-ins register the same way (``packages/imaging/pyproject.toml``)::

    [project.entry-points."uvflow.deconvolvers"]
    hogbom = "uvflow.imaging.deconvolution.clean_algorithms:HogbomDeconvolver"
    hogbom-complex = "uvflow.imaging.deconvolution.clean_algorithms:HogbomComplexDeconvolver"
    msclean = "uvflow.imaging.deconvolution.clean_algorithms:MultiscaleDeconvolver"
    mmclean = "uvflow.imaging.deconvolution.clean_algorithms:MSMFSDeconvolver"

A plugin package declares its own entry point and can check itself with
:func:`uvflow.imaging.deconvolution.conformance.check_deconvolver`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from uvflow.datamodels import Image
from uvflow.execution.plugins import PluginGroup

from .errors import UnknownDeconvolverError

__all__ = [
    "deconvolver_channels_independent",
    "DECONVOLVER_GROUP",
    "DECONVOLVERS",
    "Deconvolver",
    "get_deconvolver",
    "installed_deconvolvers",
    "deconvolver_options",
]

DECONVOLVER_GROUP = "uvflow.deconvolvers"


@runtime_checkable
class Deconvolver(Protocol):
    """What a deconvolver provides.

    ``deconvolve`` never modifies its inputs. It receives what
    :func:`~uvflow.imaging.deconvolve_cube` has checked and prepared: ``psf`` with the same
    number of channels and polarisations as ``dirty``, each plane peaking at its centre
    pixel (py // 2, px // 2), already cut to the requested support; ``window`` of weights in
    [0, 1] with shape [nchan or 1, npol or 1, ny, nx], or None for the whole image.

    It returns ``(model, residual)``: Images of the dirty image's shape and WCS (a
    deconvolver that returns another spectral layout, such as Taylor moments, says so in
    the image's ``meta``), the model in Jy/pixel (``meta['BUNIT'] = 'JY/PIXEL'``) with
    ``meta['NITER']`` the number of components, and the residual ``dirty - model ⊛ psf``.

    A deconvolver may also set ``channels_independent = True`` (class attribute) when it
    treats every channel on its own, so that deconvolving a cube gives the same as
    deconvolving each channel alone at the same absolute threshold: the minor-cycle
    workflow then runs one task per frequency window instead of one for the whole cube.
    """

    name: str

    def deconvolve(
        self,
        dirty: Image,
        psf: Image,
        *,
        window: np.ndarray | None = None,
        niter: int = 100,
        gain: float = 0.1,
        threshold: float = 0.0,
        fractional_threshold: float = 0.1,
    ) -> tuple[Image, Image]:
        """(model, residual) Images."""
        ...


#: The ``uvflow.deconvolvers`` entry-point group (uvflow.execution's one plugin loader).
DECONVOLVERS = PluginGroup(
    DECONVOLVER_GROUP, "deconvolver", UnknownDeconvolverError, parameter="algorithm"
)


def installed_deconvolvers() -> list[str]:
    """Names of the deconvolvers installed in the ``uvflow.deconvolvers`` group, sorted.

    The installed set is read once per process (entry points do not change while it runs).
    """
    return DECONVOLVERS.installed()


def deconvolver_channels_independent(name: str) -> bool:
    """Whether the deconvolver ``name`` treats every channel on its own.

    Parameters
    ----------
    name : str
        An installed deconvolver (``algorithm``).

    Returns
    -------
    bool
        Its factory's ``channels_independent`` attribute (False when it has none).
    """
    return bool(getattr(DECONVOLVERS.load(name), "channels_independent", False))


def deconvolver_options(name: str) -> tuple[list[str], bool]:
    """(keyword options the factory of ``name`` declares, whether it takes any ``**kwargs``)."""
    return DECONVOLVERS.options(name)


def get_deconvolver(name: str, **options) -> Deconvolver:
    """The deconvolver registered as ``name``, built with ``options``.

    Parameters
    ----------
    name : str
        An entry-point name in ``uvflow.deconvolvers`` (built-ins: 'hogbom',
        'hogbom-complex', 'msclean', 'mmclean').
    **options
        Keyword options of that deconvolver's factory (e.g. ``scales`` for 'msclean').

    Raises
    ------
    UnknownDeconvolverError
        No deconvolver of that name is installed (the message lists the installed ones).
    TypeError
        An option the deconvolver does not declare (the message lists those it does), or
        a factory that builds something without the :class:`Deconvolver` protocol.
    """
    return DECONVOLVERS.create(name, Deconvolver, **options)
