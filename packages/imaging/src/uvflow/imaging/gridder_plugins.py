"""Gridders as plugins: the ``uvflow.gridders`` entry-point group.

A gridder turns visibilities into a dirty image (``invert``) and a model image into
visibilities (``predict``). The ``context`` of :func:`uvflow.imaging.invert` /
:func:`~uvflow.imaging.predict` is the name of an entry point in the group
``uvflow.gridders``; its value is a factory (usually a class) called with the gridder's
keyword options, returning an object that follows :class:`Gridder`. The built-ins
register the same way (``packages/imaging/pyproject.toml``)::

    [project.entry-points."uvflow.gridders"]
    2d = "uvflow.imaging.ducc0_gridder:Ducc0Gridder2D"       # no w-correction
    ng = "uvflow.imaging.ducc0_gridder:Ducc0Gridder"         # w-correction (w-stacking)
    wstack = "uvflow.imaging.ducc0_gridder:Ducc0GridderWStack"  # same as ng

A plugin package declares its own entry point and can check itself with
:func:`uvflow.imaging.testing.check_gridder`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from uvflow.datamodels import Image, Visibility
from uvflow.execution.plugins import PluginGroup

from .errors import UnknownGridderError
from .rascil_contexts import gridder_name

__all__ = ["GRIDDER_GROUP", "GRIDDERS", "Gridder", "get_gridder", "installed_gridders"]

GRIDDER_GROUP = "uvflow.gridders"


@runtime_checkable
class Gridder(Protocol):
    """What a gridder provides.

    ``invert`` and ``predict`` follow the conventions of DESIGN §3 and the channel,
    polarisation and pixel-geometry rules of :mod:`uvflow.imaging.layout` (a gridder should
    use those helpers); they never modify their inputs. ``invert`` with ``normalise=False``
    and ``predict`` are adjoint (for unit weights); both agree with the direct Fourier
    transform to about ``epsilon``.

    Optional attribute ``corrects_w`` (bool, taken as True when absent): False for a
    gridder that ignores the w-term, which :func:`uvflow.imaging.testing.check_gridder`
    then compares with the direct transform on w = 0 data only.
    """

    name: str

    def invert(
        self,
        vis: Visibility,
        model_image: Image,
        *,
        dopsf: bool = False,
        normalise: bool = True,
        epsilon: float = 1e-5,
        nthreads: int = 1,
    ) -> tuple[Image, np.ndarray]:
        """(dirty image or PSF ``[nchan, npol, ny, nx]``, sumwt float64 ``[nchan, npol]``)."""
        ...

    def predict(
        self, vis: Visibility, model_image: Image, *, epsilon: float = 1e-5, nthreads: int = 1
    ) -> Visibility:
        """A new Visibility holding the model's visibilities (weights and flags kept)."""
        ...


#: The ``uvflow.gridders`` entry-point group (uvflow.execution's one plugin loader).
GRIDDERS = PluginGroup(GRIDDER_GROUP, "gridder", UnknownGridderError, parameter="context")


def installed_gridders() -> list[str]:
    """Names of the gridders installed in the ``uvflow.gridders`` group, sorted.

    The installed set is read once per process (entry points do not change while it runs).
    """
    return GRIDDERS.installed()


def get_gridder(name: str, **options) -> Gridder:
    """The gridder registered as ``name``, built with ``options``.

    Parameters
    ----------
    name : str
        An entry-point name in ``uvflow.gridders`` (built-ins: '2d', 'ng', 'wstack'), or a
        RASCIL context name (:mod:`uvflow.imaging.rascil_contexts`: 'timeslice',
        'wprojection', 'facets' … run on the ducc0 gridder each maps to).
    **options
        Keyword options of that gridder's factory (the built-ins take ``small_inversion``).

    Raises
    ------
    UnknownGridderError
        No gridder of that name is installed (the message lists the installed ones).
    TypeError
        An option the gridder does not take (the message lists those it does), or a
        factory that builds something without the :class:`Gridder` protocol.
    """
    return GRIDDERS.create(gridder_name(name, GRIDDERS.installed()), Gridder, **options)
