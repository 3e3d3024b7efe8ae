"""Imaging weights' settings: WSClean's weighting options as one frozen object.

:class:`WeightingSettings` is checked once, when it is made, and then passed down to the
tasks that weight the data (it pickles and compares by value); the definitions are in
:mod:`uvflow.imaging.weighting` and docs/conventions.md, "Imaging weights".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from uvflow.datamodels import Image, Visibility

from .errors import ImagingError
from .weighting import WEIGHTINGS

__all__ = ["WeightingSettings", "apply_weighting"]


@dataclass(frozen=True)
class WeightingSettings:
    """Imaging weights, as WSClean defines them (docs/conventions.md, "Imaging weights").

    Parameters
    ----------
    weighting : {'natural', 'uniform', 'robust'}
        'briggs' is accepted for 'robust'.
    robustness : float
        Briggs' R for 'robust', in [-2, 2] (-2 close to uniform, 2 close to natural).
    taper : float or str, optional
        FWHM of a Gaussian image-plane taper (radians, or a string such as "20asec"),
        WSClean's ``-taper-gaussian``: evaluated at each weighting cell's corner; None: none.
    rank_filter : float
        WSClean's ``-weighting-rank-filter``: a factor above ``rank_filter`` times the local
        mean of the non-zero factors is set to that (default 3, as WSClean; 0: off).
    rank_filter_size : int
        WSClean's ``-weighting-rank-filter-size``: the window, in cells (default 16).
    minuv_l, maxuv_l : float
        WSClean's ``-minuv-l``, ``-maxuv-l``: uv range in wavelengths; samples in weighting
        cells whose corner lies outside it get weight 0 (0: no limit).

    Raises
    ------
    ImagingError
        An unknown weighting, a robustness outside [-2, 2], a taper <= 0, a rank filter
        other than 0 or >= 1, a window < 1, a negative uv limit or ``minuv_l >= maxuv_l``.
    """

    weighting: str = "natural"
    robustness: float = 0.0
    taper: float | str | None = None
    rank_filter: float = 3.0
    rank_filter_size: int = 16
    minuv_l: float = 0.0
    maxuv_l: float = 0.0

    def __post_init__(self) -> None:
        from .weighting import WEIGHT_OPTIONS, _check_options

        weighting = "robust" if self.weighting == "briggs" else self.weighting
        if weighting not in WEIGHTINGS:
            raise ImagingError(
                f"weighting {self.weighting!r} unknown; use natural, uniform or robust"
            )
        object.__setattr__(self, "weighting", weighting)
        r = self.robustness
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not -2.0 <= r <= 2.0:
            raise ImagingError(f"robustness must be a number in [-2, 2], got {r!r}")
        object.__setattr__(self, "robustness", float(r))
        for name in ("rank_filter", "minuv_l", "maxuv_l"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ImagingError(f"{name} must be a number, got {value!r}")
            object.__setattr__(self, name, float(value))
        checked = _check_options({k: getattr(self, k) for k in WEIGHT_OPTIONS})
        object.__setattr__(self, "rank_filter_size", int(self.rank_filter_size))
        object.__setattr__(self, "taper", checked["taper"])

    def options(self) -> dict:
        """The keywords of :func:`~uvflow.imaging.apply_grid_weights` beyond the weighting."""
        from .weighting import WEIGHT_OPTIONS

        return {k: getattr(self, k) for k in WEIGHT_OPTIONS}

    def apply(self, vis: Visibility, grid: Image | None = None) -> Visibility:
        """``vis`` with its weights made the imaging weights (taper and uv range included).

        Parameters
        ----------
        vis : Visibility
            ``weight`` [ntime, nbaseline, nchan, npol] the data weights.
        grid : Image, optional
            The gridded weights of all the data (:func:`uvflow.imaging.grid_weights`,
            summed over windows); needed when :attr:`needs_grid` (for natural weighting
            with a taper or uv range it gives the cells only).
        """
        from .weighting import apply_grid_weights

        if not self.needs_grid:
            return vis
        if grid is None:
            raise ImagingError(f"{self.weighting} weighting needs the gridded weights")
        return apply_grid_weights(vis, grid, self.weighting, self.robustness, **self.options())

    @property
    def needs_grid(self) -> bool:
        """Whether the weights depend on the weighting grid (all but plain natural)."""
        limited = self.taper is not None or self.minuv_l > 0 or self.maxuv_l > 0
        return self.weighting != "natural" or limited

    @property
    def changes_weights(self) -> bool:
        """Whether :meth:`apply` changes anything (not natural weighting without a taper
        or uv range: that keeps the data weights, also of samples beyond the weighting grid,
        which WSClean would drop)."""
        return self.needs_grid

    def describe(self) -> dict:
        """The settings as JSON-able values."""
        return asdict(self)


def apply_weighting(vis: Visibility, weighting: WeightingSettings, grid: Image | None = None):
    """:meth:`WeightingSettings.apply` as a function (what a derived source calls)."""
    return weighting.apply(vis, grid)
