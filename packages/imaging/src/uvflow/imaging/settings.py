"""Settings objects: the option groups that travel together through the imaging layers.

An imaging run has three groups of options, each checked once, when it is made, and then
passed down as one frozen object instead of copied keyword lists:

:class:`GriddingSettings`
    How visibilities become images and back: the gridder (``context``), its accuracy,
    threads, small inversion and the gridder plugin's own options.
:class:`WeightingSettings`
    The imaging weights as WSClean defines them: natural, uniform or robust (Briggs) with
    its robustness, the weighting rank filter, a uv range and a Gaussian uv taper.
:class:`CleanSettings`
    The minor cycle: algorithm, iterations, loop gain, thresholds, windows, PSF support,
    the deconvolver plugin's own options (declared by its factory: ``scales`` and
    ``scale_bias`` for msclean, ``nmoment`` … for mmclean, anything for a plugin), and the
    facet-parallel layout.

The RASCIL-named workflows keep RASCIL's flat keywords; they build these objects once
(:meth:`CleanSettings.from_rascil` accepts RASCIL's habit of passing ``scales`` to every
algorithm) and the layers below take the objects. Settings pickle (they travel inside
Dask tasks) and compare by value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from uvflow.datamodels import Image, Visibility

from .clean_settings import ALGORITHM_KEYWORDS, CleanSettings
from .errors import ImagingError
from .faceted_gridding import check_gridding_facets, faceted_invert, faceted_predict
from .gridder_plugins import GRIDDERS, Gridder
from .option_checks import options_tuple, positive_int
from .rascil_contexts import gridder_name
from .weighting_settings import WeightingSettings, apply_weighting

__all__ = [
    "GriddingSettings",
    "WeightingSettings",
    "CleanSettings",
    "ALGORITHM_KEYWORDS",
    "GRIDDING_KEYWORDS",
    "apply_weighting",
]

log = logging.getLogger(__name__)

#: RASCIL's gridding keywords: keyword -> (default, description) (``keyword_groups``)
GRIDDING_KEYWORDS = {
    "context": (
        "ng",
        "gridder ('2d', 'ng', 'wstack' or a plugin's; RASCIL's 'timeslice', "
        "'wprojection', 'facets' … run on ducc0: uvflow.imaging.rascil_contexts)",
    ),
    "epsilon": (1e-5, "gridding accuracy relative to the direct Fourier transform"),
    "nthreads": (1, "threads per gridding task"),
    "small_inversion": (None, "the ducc0 gridders' small inversion (None: their default)"),
    "gridder_options": (None, "dict of the gridder plugin's own options"),
    "facets": (
        1,
        "image-plane facets per axis for invert and predict (RASCIL's facets): "
        "each gridded about its own centre, joined; the PSF is never faceted",
    ),
}
_PROMOTED: set = set()


@dataclass(frozen=True)
class GriddingSettings:
    """How visibilities are gridded to images and images degridded to visibilities.

    Parameters
    ----------
    context : str or Gridder
        A gridder in the ``uvflow.gridders`` group ('2d', 'ng', 'wstack' or a plugin's),
        or a Gridder object (used as it is: no ``small_inversion`` or ``options`` then).
    epsilon : float
        Requested accuracy relative to the direct Fourier transform, in (0, 0.1).
    nthreads : int
        Threads per gridding call, >= 1.
    small_inversion : bool, optional
        The ducc0 gridders' small inversion; None leaves the gridder's default.
    options : dict or tuple of (str, object)
        The gridder plugin's own keyword options (checked against what its factory
        declares); kept as sorted pairs.
    facets : int
        Image-plane facets per axis for invert and predict, >= 1
        (:mod:`uvflow.imaging.faceted_gridding`; the image size must cut into even facets
        of at least 32 pixels, checked when imaging).

    Raises
    ------
    UnknownGridderError
        ``context`` is not installed (the message lists what is).
    TypeError
        An option the gridder does not declare (the message lists those it does).
    ImagingError
        ``epsilon`` or ``nthreads`` out of range.
    """

    context: Any = "ng"
    epsilon: float = 1e-5
    nthreads: int = 1
    small_inversion: bool | None = None
    options: tuple = ()
    facets: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", options_tuple(self.options))
        object.__setattr__(self, "facets", check_gridding_facets(self.facets))
        if not (isinstance(self.epsilon, (int, float)) and 0 < self.epsilon < 0.1):
            raise ImagingError(f"epsilon must be in (0, 0.1), got {self.epsilon!r}")
        object.__setattr__(self, "epsilon", float(self.epsilon))
        object.__setattr__(self, "nthreads", positive_int("nthreads", self.nthreads))
        if self.small_inversion is not None and not isinstance(self.small_inversion, bool):
            raise ImagingError(
                f"small_inversion must be True, False or None, got {self.small_inversion!r}"
            )
        if isinstance(self.context, str):
            object.__setattr__(self, "context", gridder_name(self.context, GRIDDERS.installed()))
            GRIDDERS.check_options(self.context, self.gridder_options())
        elif isinstance(self.context, Gridder):
            if self.small_inversion is not None or self.options:
                raise TypeError(
                    "small_inversion and gridder options configure a gridder by name; a "
                    "Gridder object passed as context is used as it is"
                )
        else:
            raise TypeError(
                f"context must be a gridder name or a Gridder, got {type(self.context).__name__}"
            )

    @classmethod
    def from_keywords(cls, keywords: dict) -> GriddingSettings:
        """Settings from RASCIL's gridding keywords (:data:`GRIDDING_KEYWORDS`, all given)."""
        k = keywords
        return cls(k["context"], k["epsilon"], k["nthreads"], k["small_inversion"],
                   k["gridder_options"] or (), k.get("facets", 1))  # fmt: skip

    def gridder_options(self) -> dict:
        """The keyword options given to the gridder's factory."""
        out = dict(self.options)
        if self.small_inversion is not None:
            out["small_inversion"] = self.small_inversion
        return out

    def gridder(self) -> Gridder:
        """The gridder these settings name, built with its options."""
        if not isinstance(self.context, str):
            return self.context
        return GRIDDERS.create(self.context, Gridder, **self.gridder_options())

    def precise(self, vis: Visibility) -> Visibility:
        """``vis`` in double precision when ``epsilon`` is finer than single precision allows.

        complex64 data (every MeasurementSet's) grid in single precision, accurate to about
        1e-5; a finer ``epsilon`` promotes them to complex128 (logged once), as WSClean grids
        in double precision.
        """
        from .ducc0_gridder import EPSILON_FLOOR

        if vis.vis.dtype == np.complex64 and self.epsilon < EPSILON_FLOOR[np.dtype(np.float32)]:
            if not _PROMOTED:
                _PROMOTED.add(True)
                log.info("accuracy %g is finer than single precision allows: gridding the "
                         "complex64 data in double precision", self.epsilon)  # fmt: skip
            return vis.replace(vis=vis.vis.astype(np.complex128))
        return vis

    def invert(
        self, vis: Visibility, model: Image, dopsf: bool = False, normalise: bool = True
    ) -> tuple[Image, np.ndarray]:
        """:func:`uvflow.imaging.invert` with these settings: ``(Image, sumwt[nchan, npol])``
        (facet by facet when ``facets > 1``, except the PSF)."""
        options = dict(normalise=normalise, epsilon=self.epsilon, nthreads=self.nthreads)
        if self.facets > 1 and not dopsf:
            return faceted_invert(self.gridder(), self.precise(vis), model, self.facets, **options)
        return self.gridder().invert(self.precise(vis), model, dopsf=dopsf, **options)

    def predict(self, vis: Visibility, model: Image) -> Visibility:
        """:func:`uvflow.imaging.predict` with these settings: a Visibility of the model
        (the facets' visibilities added when ``facets > 1``)."""
        options = dict(epsilon=self.epsilon, nthreads=self.nthreads)
        if self.facets > 1:
            return faceted_predict(self.gridder(), self.precise(vis), model, self.facets, **options)
        return self.gridder().predict(self.precise(vis), model, **options)

    def describe(self) -> dict:
        """The settings as JSON-able values (for reports and checkpoints)."""
        context = self.context if isinstance(self.context, str) else repr(self.context)
        return {"context": context, "epsilon": self.epsilon, "nthreads": self.nthreads,
                "small_inversion": self.small_inversion, "facets": self.facets,
                "options": {k: repr(v) for k, v in self.options}}  # fmt: skip
