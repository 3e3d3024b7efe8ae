"""Deconvolvers as plugins: the ``uvflow.deconvolvers`` entry-point group.

A deconvolver turns a dirty image and its PSF into a model and a residual. The
``algorithm`` of :func:`uvflow.imaging.deconvolve_cube` is the name of an entry point in
the group ``uvflow.deconvolvers``; its value is a factory (usually a class) called with the
algorithm's own options (e.g. ``scales``), returning an object that follows
:class:`Deconvolver`. The built-ins register the same way (``packages/imaging/pyproject.toml``)::

    [project.entry-points."uvflow.deconvolvers"]
    hogbom = "uvflow.imaging.deconvolution.builtin_deconvolvers:HogbomDeconvolver"
    hogbom-complex = "uvflow.imaging.deconvolution.builtin_deconvolvers:HogbomComplexDeconvolver"
    msclean = "uvflow.imaging.deconvolution.builtin_deconvolvers:MultiscaleDeconvolver"
    mmclean = "uvflow.imaging.deconvolution.builtin_deconvolvers:MSMFSDeconvolver"

A plugin package declares its own entry point and can check itself with
:func:`uvflow.imaging.deconvolution.conformance.check_deconvolver`.
"""

from __future__ import annotations

import functools
import inspect
from importlib.metadata import EntryPoint, entry_points
from typing import Protocol, runtime_checkable

import numpy as np

from uvflow.datamodels import Image

from .errors import UnknownDeconvolverError

__all__ = [
    "deconvolver_channels_independent",
    "DECONVOLVER_GROUP",
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


@functools.lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=DECONVOLVER_GROUP)}


def installed_deconvolvers() -> list[str]:
    """Names of the deconvolvers installed in the ``uvflow.deconvolvers`` group, sorted.

    The installed set is read once per process (entry points do not change while it runs).
    """
    return sorted(_entry_points())


@functools.cache
def _factory(name: str):
    eps = _entry_points()
    if name not in eps:
        raise UnknownDeconvolverError(
            f"deconvolver (algorithm) {name!r} unknown; installed: "
            f"{', '.join(sorted(eps)) or 'none'} (entry-point group {DECONVOLVER_GROUP!r})"
        )
    try:
        return eps[name].load()
    except Exception as exc:  # a broken plugin: say which one
        raise ImportError(
            f"deconvolver {name!r} ({eps[name].value}) is installed but failed to load: {exc}"
        ) from exc


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
    return bool(getattr(_factory(name), "channels_independent", False))


def deconvolver_options(name: str) -> tuple[list[str], bool]:
    """(keyword options the factory of ``name`` takes, whether it takes any ``**kwargs``)."""
    factory = _factory(name)
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return [], True
    valid = [
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return valid, any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


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
        An option the deconvolver does not take (the message lists those it does), or a
        factory that builds something without the :class:`Deconvolver` protocol.
    """
    if not isinstance(name, str):
        raise TypeError(f"deconvolver name must be a str, got {type(name).__name__}")
    factory = _factory(name)
    valid, takes_any = deconvolver_options(name)
    bad = sorted(set(options) - set(valid))
    if bad and not takes_any:
        raise TypeError(
            f"deconvolver {name!r} does not take option(s) {', '.join(bad)}; "
            f"valid: {', '.join(valid) or 'none'}"
        )
    deconvolver = factory(**options)
    if not isinstance(deconvolver, Deconvolver):
        raise TypeError(
            f"deconvolver {name!r} ({_entry_points()[name].value}) built a "
            f"{type(deconvolver).__name__}, which lacks the Deconvolver protocol (name, deconvolve)"
        )
    return deconvolver
