"""The settings of an imaging pipeline run, and RASCIL's flat keywords that build them.

A pipeline run (continuum, ICAL, spectral line) is described by one frozen
:class:`PipelineSettings`: the gridding, weighting and minor-cycle settings of
:mod:`uvflow.imaging.settings` and the major-cycle options. The RASCIL-named workflows keep
RASCIL's flat keywords; :func:`pipeline_keywords` gives each of them the shared keywords
once (signature, defaults, the check of misspelt keywords, the docstring entries), and
:meth:`PipelineSettings.from_keywords` turns them into settings that the layers below take.
Adding an option is then one entry in a keyword group and one field of a settings object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from uvflow.execution.keywords import keyword_groups
from uvflow.imaging import CleanSettings, GriddingSettings, WeightingSettings
from uvflow.imaging.settings import GRIDDING_KEYWORDS

from .errors import PipelineError

log = logging.getLogger(__name__)

__all__ = [
    "PipelineSettings",
    "WEIGHTING_KEYWORDS",
    "CLEAN_KEYWORDS",
    "CYCLE_KEYWORDS",
    "pipeline_keywords",
    "check_nmajor",
    "check_psf_factor",
]

#: imaging weights
WEIGHTING_KEYWORDS = {
    "weighting": ("natural", "'natural', 'uniform' or 'robust', on one uv grid shared by all "
                  "windows"),
    "robustness": (0.0, "Briggs' R for 'robust'"),
}  # fmt: skip
#: the minor cycle
CLEAN_KEYWORDS = {
    "algorithm": ("hogbom", "deconvolver ('hogbom', 'msclean', 'mmclean' … or a plugin's)"),
    "niter": (1000, "maximum components per minor cycle and plane"),
    "gain": (0.1, "loop gain"),
    "threshold": (0.0, "absolute stopping threshold, Jy/beam"),
    "fractional_threshold": (0.01, "stop at this fraction of each minor cycle's starting "
                             "peak over all windows"),
    "scales": (None, "scale widths in pixels (msclean, mmclean; None: their default)"),
    "nmoment": (None, "Taylor terms (mmclean; None: its default, 3)"),
    "nmoments": (None, "RASCIL's documented spelling of nmoment (the same; give one)"),
    "findpeak": (None, "mmclean's peak criterion"),
    "scale_bias": (None, "preference for small scales (msclean, mmclean)"),
    "reference_frequency": (None, "mmclean's ν0, Hz"),
    "window_shape": (None, "None, 'quarter' or 'no_edge'"),
    "window_edge": (16, "border excluded by 'no_edge', pixels"),
    "mask": (None, "Image: where components may go (1) or not (0)"),
    "psf_support": (None, "half-width of the PSF in the minor cycle, pixels"),
    "deconvolve_facets": (1, "facets per axis of the facet-parallel minor cycle"),
    "deconvolve_overlap": (0, "pixels by which facets overlap"),
    "deconvolve_taper": (None, "None, 'linear', 'tukey' or 'flat' facet blending"),
    "deconvolve_rounds": (3, "facet rounds per minor cycle"),
    "deconvolver_options": (None, "dict of the deconvolver's own options (checked: an "
                            "option it does not declare is a TypeError)"),
}  # fmt: skip
#: the major cycles
CYCLE_KEYWORDS = {
    "nmajor": (5, "major cycles, each a residual image of every window and one minor cycle"),
    "clean_beam": (None, "dict bmaj, bmin, bpa in degrees (default: fitted to the PSF)"),
    "psfwidth": (None, "RASCIL's restoring width: a circular clean beam of this sigma, pixels"),
    "restore_facets": (1, "facets per axis of the facet-parallel restoring"),
    "restore_overlap": (0, "pixels by which the restoring facets overlap"),
    "restore_taper": ("tukey", "None, 'flat', 'linear' or 'tukey' restoring-facet blending"),
    "psf_factor": (2, "PSF size over image size"),
    "checkpoint_dir": (None, "save the models after every cycle and resume from the last "
                       "complete one (only a run of the same data and settings: see "
                       "uvflow.pipelines.checkpoint_identity)"),
    "checkpoint_restart": (False, "remove the checkpoint in checkpoint_dir and start afresh"),
    "stop_early": (False, "stop the major cycles when the residual peak is below threshold"),
    "nchan": (None, "accepted as RASCIL's documentation passes it, and ignored as RASCIL "
              "ignored it: the channels are the visibilities' (logged once)"),
}  # fmt: skip
_GROUPS = {
    "gridding": GRIDDING_KEYWORDS,
    "weighting": WEIGHTING_KEYWORDS,
    "minor cycle": CLEAN_KEYWORDS,
    "major cycles": CYCLE_KEYWORDS,
}


def check_nmajor(nmajor) -> int:
    """``nmajor`` as an int >= 0, or a :class:`PipelineError`."""
    if isinstance(nmajor, bool) or not isinstance(nmajor, (int, np.integer)) or nmajor < 0:
        raise PipelineError(f"nmajor must be an integer >= 0 (major cycles), got {nmajor!r}")
    return int(nmajor)


def check_psf_factor(psf_factor) -> int:
    """``psf_factor`` as an int >= 1, or a :class:`PipelineError`."""
    ok = isinstance(psf_factor, (int, np.integer)) and not isinstance(psf_factor, bool)
    if not ok or psf_factor < 1:
        raise PipelineError(
            f"psf_factor must be an integer >= 1 (PSF size / image size), got {psf_factor!r}"
        )
    return int(psf_factor)


@dataclass(frozen=True)
class PipelineSettings:
    """Everything a major-cycle pipeline run needs besides its data and models.

    Parameters
    ----------
    gridding : GriddingSettings
    weighting : WeightingSettings
    clean : CleanSettings
        The minor cycle; its thresholds apply to the cube of all windows.
    nmajor : int
        Major cycles, >= 0.
    psf_factor : int
        PSF size over image size, >= 1.
    clean_beam : dict, optional
        ``{'bmaj', 'bmin', 'bpa'}`` in degrees (default: fitted to each window's PSF).
    psfwidth : float, optional
        RASCIL's restoring width (pixels, a circular beam's sigma); not with clean_beam.
    restore_facets, restore_overlap, restore_taper
        Facet-parallel restoring
        (:func:`uvflow.imaging.workflows.restore_list_rsexecute_workflow`).
    stop_early : bool
        Stop when a cycle's residual peak is at or below ``clean.threshold`` (> 0).
    checkpoint_dir : str, optional
        Save the models after every cycle; resume from the last complete one when this run
        has the checkpoint's identity (:mod:`uvflow.pipelines.checkpoint_identity`).
    checkpoint_restart : bool
        Remove a checkpoint found in ``checkpoint_dir`` and start afresh.

    Raises
    ------
    PipelineError
        ``nmajor`` or ``psf_factor`` out of range, or ``stop_early`` without a threshold.
    """

    gridding: GriddingSettings
    weighting: WeightingSettings
    clean: CleanSettings
    nmajor: int = 5
    psf_factor: int = 2
    clean_beam: dict | None = None
    psfwidth: float | None = None
    restore_facets: int = 1
    restore_overlap: int = 0
    restore_taper: str | None = "tukey"
    stop_early: bool = False
    checkpoint_dir: str | None = None
    checkpoint_restart: bool = False

    def __post_init__(self) -> None:
        for name, kind in (("gridding", GriddingSettings), ("weighting", WeightingSettings),
                           ("clean", CleanSettings)):  # fmt: skip
            if not isinstance(getattr(self, name), kind):
                raise TypeError(f"{name} must be a {kind.__name__}, got {getattr(self, name)!r}")
        object.__setattr__(self, "nmajor", check_nmajor(self.nmajor))
        object.__setattr__(self, "psf_factor", check_psf_factor(self.psf_factor))
        stops = (self.clean.threshold > 0 or self.clean.niter_total is not None
                 or (self.clean.noise is not None and self.clean.noise.auto_threshold))  # fmt: skip
        if self.stop_early and not stops:
            raise PipelineError(
                "stop_early needs an absolute threshold > 0 (Jy/beam), an auto threshold or a "
                "total number of components"
            )
        if self.checkpoint_dir is not None:
            object.__setattr__(self, "checkpoint_dir", str(self.checkpoint_dir))

    @classmethod
    def from_keywords(cls, keywords: dict) -> tuple[PipelineSettings, object]:
        """``(settings, mask)`` from the keywords of :func:`pipeline_keywords` (all present).

        Parameters
        ----------
        keywords : dict
            The keywords of the four groups, e.g. as a decorated workflow receives them
            (every gridding and weighting one; the others default); ``mask`` is data (an Image or a graph of one) and is returned beside the
            settings.
        """
        k = dict(keywords)
        mask = k.pop("mask", None)
        _rascil_spellings(k)
        gridding = GriddingSettings.from_keywords(k)
        weighting = WeightingSettings(k["weighting"], k["robustness"])
        clean = CleanSettings.from_rascil(**{n: k[n] for n in CLEAN_KEYWORDS if n in k})
        cycles = {n: k[n] for n in CYCLE_KEYWORDS if n in k}
        return cls(gridding, weighting, clean, **cycles), mask

    def describe(self) -> dict:
        """JSON-able settings (recorded in checkpoints and reports)."""
        return {
            "gridding": self.gridding.describe(), "weighting": self.weighting.describe(),
            "clean": self.clean.describe(), "nmajor": self.nmajor, "psf_factor": self.psf_factor,
            "clean_beam": self.clean_beam, "stop_early": self.stop_early,
            "restore": self.restore_options(),
        }  # fmt: skip

    def restore_options(self) -> dict:
        """The keywords of ``restore_list_rsexecute_workflow`` these settings give."""
        return {
            "clean_beam": self.clean_beam, "psfwidth": self.psfwidth,
            "restore_facets": self.restore_facets, "restore_overlap": self.restore_overlap,
            "restore_taper": self.restore_taper,
        }  # fmt: skip


_LOGGED: set = set()


def _rascil_spellings(k: dict) -> None:
    """RASCIL's documented keywords that its code read differently, in place: ``nmoments``
    is ``nmoment``; ``nchan`` is dropped (RASCIL ignored it), logged once per process."""
    nmoments = k.pop("nmoments", None)
    if nmoments is not None:
        if k.get("nmoment") is not None and k["nmoment"] != nmoments:
            raise PipelineError(
                f"nmoment={k['nmoment']!r} and nmoments={nmoments!r} differ: they are the same "
                "setting (the number of Taylor terms); give one"
            )
        k["nmoment"] = nmoments
    nchan = k.pop("nchan", None)
    if nchan is not None and "nchan" not in _LOGGED:
        _LOGGED.add("nchan")
        log.info("nchan=%r ignored, as RASCIL ignored it: each window's channels are those "
                 "of its visibilities", nchan)  # fmt: skip


def pipeline_keywords(exclude: tuple = (), **defaults) -> Callable:
    """Give a workflow the shared pipeline keywords of the four groups (a decorator).

    :func:`uvflow.execution.keywords.keyword_groups` with this module's groups: the line
    ``<shared keywords>`` of a docstring becomes their entries.

    Parameters
    ----------
    exclude : tuple of str
        Shared keywords this workflow does not take.
    **defaults
        Workflow-specific defaults of shared keywords.
    """
    return keyword_groups(_GROUPS, exclude, **defaults)
