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
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from uvflow.datamodels import Image, Visibility
from uvflow.execution.keywords import check_keywords

from .deconvolution.clean_parameters import check_clean_parameters
from .deconvolution.clean_window import WINDOW_SHAPES
from .deconvolution.cycle_stop import NoiseThresholds
from .deconvolution.deconvolver_plugins import DECONVOLVERS
from .deconvolution.errors import DeconvolutionError
from .deconvolution.psf_support import check_psf_support
from .errors import ImagingError
from .faceted_gridding import check_gridding_facets, faceted_invert, faceted_predict
from .facets import TAPERS as FACET_TAPERS
from .gridder_plugins import GRIDDERS, Gridder
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
#: Keywords RASCIL passes to every algorithm; each goes to the deconvolvers that declare it.
ALGORITHM_KEYWORDS = (
    "scales", "nmoment", "findpeak", "scale_bias", "reference_frequency", "return_moments",
)  # fmt: skip

_WARNED: set = set()
_PROMOTED: set = set()


def _options_tuple(options) -> tuple:
    """A plugin's options as sorted ``(name, value)`` pairs (hashable container, picklable)."""
    if options is None:
        return ()
    if isinstance(options, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in options):
        options = dict(options)
    if not isinstance(options, dict):
        raise TypeError(f"plugin options must be a dict of name -> value, got {options!r}")
    for k in options:
        if not isinstance(k, str):
            raise TypeError(f"plugin option names must be strings, got {k!r}")
    return tuple(sorted(options.items()))


def _positive_int(name: str, value, error=ImagingError, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise error(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


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
        object.__setattr__(self, "options", _options_tuple(self.options))
        object.__setattr__(self, "facets", check_gridding_facets(self.facets))
        if not (isinstance(self.epsilon, (int, float)) and 0 < self.epsilon < 0.1):
            raise ImagingError(f"epsilon must be in (0, 0.1), got {self.epsilon!r}")
        object.__setattr__(self, "epsilon", float(self.epsilon))
        object.__setattr__(self, "nthreads", _positive_int("nthreads", self.nthreads))
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


@dataclass(frozen=True)
class CleanSettings:
    """The minor cycle (and its facet-parallel layout).

    Parameters
    ----------
    algorithm : str
        A deconvolver in the ``uvflow.deconvolvers`` group ('hogbom', 'hogbom-complex',
        'msclean', 'mmclean' or a plugin's).
    niter : int
        Maximum components per minor cycle and plane (per polarisation for mmclean), >= 0.
    gain : float
        Loop gain, in (0, 2).
    threshold : float
        Absolute stopping threshold, Jy/beam, >= 0.
    fractional_threshold : float
        In [0, 1): stop when the peak falls below this fraction of the minor cycle's
        starting peak (see :func:`uvflow.imaging.deconvolve_cube`).
    window_shape : None, 'quarter' or 'no_edge'
    window_edge : int
        Border excluded by 'no_edge', pixels.
    psf_support : int, optional
        Half-width in pixels of the PSF used in the minor cycle (None: all of it).
    options : dict or tuple of (str, object)
        The deconvolver's own options, checked against what its factory declares (e.g.
        ``{'scales': (0, 3, 10)}`` for msclean); kept as sorted pairs.
    facets : int
        Facets per axis of the facet-parallel minor cycle (1: the whole image in one task).
    facet_overlap : int
        Pixels by which facets overlap their neighbours' central tiles.
    facet_taper : {None, 'linear', 'tukey', 'flat'}
        How overlapping facets are blended.
    facet_rounds : int
        Facet rounds per minor cycle (see
        :func:`uvflow.imaging.workflows.deconvolve_list_rsexecute_workflow`).
    niter_total : int, optional
        Components in all, over every minor cycle of a run (WSClean's ``-niter``); each
        minor cycle cleans at most what is left of it (and at most ``niter``). None: no
        total, ``niter`` per minor cycle (RASCIL's meaning).
    noise : NoiseThresholds, optional
        Thresholds from the residual's noise at each major cycle (WSClean's
        ``-auto-threshold``, ``-auto-mask``, ``-local-rms``;
        :mod:`uvflow.imaging.deconvolution.cycle_stop`).

    Raises
    ------
    UnknownDeconvolverError, TypeError, DeconvolutionError
        An ``algorithm`` that is not installed, an option the deconvolver does not
        declare, or a value out of range: each message names what is allowed.
    """

    algorithm: str = "hogbom"
    niter: int = 100
    gain: float = 0.1
    threshold: float = 0.0
    fractional_threshold: float = 0.1
    window_shape: str | None = None
    window_edge: int = 16
    psf_support: int | None = None
    options: tuple = field(default=())
    facets: int = 1
    facet_overlap: int = 0
    facet_taper: str | None = None
    facet_rounds: int = 3
    niter_total: int | None = None
    noise: NoiseThresholds | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.algorithm, str):
            raise TypeError(f"algorithm must be a str, got {type(self.algorithm).__name__}")
        object.__setattr__(self, "options", _options_tuple(self.options))
        self.deconvolver()  # the options' names and values, checked by the deconvolver
        check_clean_parameters(self.niter, self.gain, self.threshold, self.fractional_threshold)
        if self.window_shape not in WINDOW_SHAPES:
            raise DeconvolutionError(
                f"window_shape {self.window_shape!r} unknown; use None, 'quarter' or 'no_edge'"
            )
        _positive_int("window_edge", self.window_edge, DeconvolutionError, minimum=0)
        check_psf_support(self.psf_support)
        _positive_int("deconvolve_facets (facets)", self.facets, DeconvolutionError)
        _positive_int("deconvolve_overlap (facet_overlap)", self.facet_overlap,
                      DeconvolutionError, minimum=0)  # fmt: skip
        _positive_int("deconvolve_rounds (facet_rounds)", self.facet_rounds, DeconvolutionError)
        if self.niter_total is not None:
            _positive_int("niter_total", self.niter_total, DeconvolutionError, minimum=0)
        if self.noise is not None and not isinstance(self.noise, NoiseThresholds):
            raise TypeError(f"noise must be a NoiseThresholds, got {type(self.noise).__name__}")
        if self.facet_taper not in FACET_TAPERS:
            raise DeconvolutionError(
                f"deconvolve_taper {self.facet_taper!r} unknown; use None, 'linear', 'tukey' "
                "or 'flat'"
            )

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, **keywords) -> CleanSettings:
        """Settings from keywords: the fields above, and the deconvolver's own options.

        A keyword that is not a field goes to the deconvolver; one it does not declare
        raises ``TypeError`` naming every valid keyword (fields and its options).

        Examples
        --------
        >>> CleanSettings.create(algorithm="msclean", niter=500, scales=(0, 4, 16)).options
        (('scales', (0, 4, 16)),)
        """
        names = [f.name for f in fields(cls)]
        algorithm = keywords.get("algorithm", "hogbom")
        extra = {k: v for k, v in keywords.items() if k not in names}
        if extra:
            valid, takes_any = DECONVOLVERS.options(algorithm)
            if not takes_any:
                check_keywords(f"deconvolve_cube (algorithm {algorithm!r})", extra,
                               names + [v for v in valid if v not in names])  # fmt: skip
        given = {k: v for k, v in keywords.items() if k in names}
        options = dict(_options_tuple(given.pop("options", None)), **extra)
        return cls(**given, options=options)

    @classmethod
    def from_rascil(cls, deconvolver_options: dict | None = None, **keywords) -> CleanSettings:
        """Settings from RASCIL's flat workflow keywords.

        RASCIL passes ``scales``, ``nmoment``, ``findpeak`` … to every algorithm and each
        takes what it uses; here each of :data:`ALGORITHM_KEYWORDS` that is given (not None)
        goes to the deconvolver when it declares it, and is otherwise ignored with a
        warning logged once. ``deconvolver_options`` are the deconvolver's own options,
        checked strictly (an undeclared one raises ``TypeError``). RASCIL's spelling
        ``deconvolve_facets``, ``deconvolve_overlap``, ``deconvolve_taper`` and
        ``deconvolve_rounds`` name the facet fields.
        """
        renames = {"deconvolve_facets": "facets", "deconvolve_overlap": "facet_overlap",
                   "deconvolve_taper": "facet_taper", "deconvolve_rounds": "facet_rounds"}  # fmt: skip
        given = {renames.get(k, k): v for k, v in keywords.items() if k not in ALGORITHM_KEYWORDS}
        algorithm = given.get("algorithm", "hogbom")
        valid, takes_any = (
            DECONVOLVERS.options(algorithm) if isinstance(algorithm, str) else ([], True)
        )
        options = {}
        for name in ALGORITHM_KEYWORDS:
            value = keywords.get(name)
            if value is None:
                continue
            if takes_any or name in valid:
                options[name] = value
            elif (algorithm, name) not in _WARNED:
                _WARNED.add((algorithm, name))
                log.warning("%s does not use %s=%r: ignored (as in RASCIL)", algorithm, name, value)
        options.update(deconvolver_options or {})
        return cls(**given, options=options)

    # ------------------------------------------------------------------ use
    def deconvolver_options(self) -> dict:
        """The keyword options given to the deconvolver's factory."""
        return dict(self.options)

    def deconvolver(self):
        """The deconvolver these settings name, built with its options."""
        from .deconvolution.deconvolver_plugins import get_deconvolver

        return get_deconvolver(self.algorithm, **self.deconvolver_options())

    @property
    def channels_independent(self) -> bool:
        """Whether the deconvolver treats every channel on its own (window-parallel cycles)."""
        return bool(getattr(DECONVOLVERS.load(self.algorithm), "channels_independent", False))

    def with_stop(self, threshold: float, done: int = 0) -> CleanSettings:
        """These settings stopping at the absolute ``threshold`` (fractional threshold 0),
        with ``niter`` cut to what is left of ``niter_total`` after ``done`` components."""
        niter = self.niter
        if self.niter_total is not None:
            niter = max(0, min(niter, self.niter_total - int(done)))
        return replace(self, threshold=float(threshold), fractional_threshold=0.0, niter=niter)

    def describe(self) -> dict:
        """The settings as JSON-able values."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "options"}
        out["options"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.options}
        return out
