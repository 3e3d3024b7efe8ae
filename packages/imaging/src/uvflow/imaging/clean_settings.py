"""The minor cycle's settings object, :class:`CleanSettings` (see :mod:`.settings`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields, replace

from uvflow.execution.keywords import check_keywords

from .deconvolution.clean_parameters import check_clean_parameters
from .deconvolution.clean_window import WINDOW_SHAPES
from .deconvolution.cycle_stop import NoiseThresholds
from .deconvolution.deconvolver_plugins import DECONVOLVERS
from .deconvolution.errors import DeconvolutionError
from .deconvolution.psf_support import check_psf_support
from .facets import TAPERS as FACET_TAPERS
from .option_checks import options_tuple, positive_int

__all__ = ["ALGORITHM_KEYWORDS", "CleanSettings"]

log = logging.getLogger("uvflow.imaging.settings")

#: Keywords RASCIL passes to every algorithm; each goes to the deconvolvers that declare it.
ALGORITHM_KEYWORDS = (
    "scales", "nmoment", "findpeak", "scale_bias", "reference_frequency", "return_moments",
)  # fmt: skip

_WARNED: set = set()


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
        object.__setattr__(self, "options", options_tuple(self.options))
        self.deconvolver()  # the options' names and values, checked by the deconvolver
        check_clean_parameters(self.niter, self.gain, self.threshold, self.fractional_threshold)
        if self.window_shape not in WINDOW_SHAPES:
            raise DeconvolutionError(
                f"window_shape {self.window_shape!r} unknown; use None, 'quarter' or 'no_edge'"
            )
        positive_int("window_edge", self.window_edge, DeconvolutionError, minimum=0)
        check_psf_support(self.psf_support)
        positive_int("deconvolve_facets (facets)", self.facets, DeconvolutionError)
        positive_int("deconvolve_overlap (facet_overlap)", self.facet_overlap,
                      DeconvolutionError, minimum=0)  # fmt: skip
        positive_int("deconvolve_rounds (facet_rounds)", self.facet_rounds, DeconvolutionError)
        if self.niter_total is not None:
            positive_int("niter_total", self.niter_total, DeconvolutionError, minimum=0)
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
        options = dict(options_tuple(given.pop("options", None)), **extra)
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
