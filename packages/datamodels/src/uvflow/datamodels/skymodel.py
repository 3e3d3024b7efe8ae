"""SkyComponent (point or Gaussian) and SkyModel (image + components + gains + mask)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.coordinates import SkyCoord

from ._model_base import DataModelBase
from ._validation import DataModelError, check_array, in_unit
from .gaintable import GainTable
from .image import Image
from .polarisation import PolarisationFrame
from .units import to_radians

__all__ = ["SkyComponent", "SkyModel", "COMPONENT_SHAPES"]

COMPONENT_SHAPES = ("point", "gaussian")


def _gaussian_params(params: dict) -> dict:
    """``params`` with bmaj, bmin, bpa in radians, checked: finite, bmaj >= bmin > 0."""
    missing = {"bmaj", "bmin", "bpa"} - set(params)
    if missing:
        raise DataModelError(
            f"a gaussian SkyComponent needs params {sorted(missing)}: bmaj, bmin (FWHM) and "
            "bpa (east of north), in radians, as quantities or strings such as '10asec'"
        )
    out = dict(params)
    for key in ("bmaj", "bmin", "bpa"):
        try:
            out[key] = to_radians(params[key])
        except (TypeError, ValueError) as exc:
            raise DataModelError(f"SkyComponent.params[{key!r}]: {exc}") from None
    if not (np.isfinite(out["bmaj"]) and np.isfinite(out["bmin"]) and np.isfinite(out["bpa"])):
        raise DataModelError(f"SkyComponent gaussian params must be finite, got {out}")
    if not out["bmaj"] >= out["bmin"] > 0:
        raise DataModelError(
            f"SkyComponent gaussian needs bmaj >= bmin > 0 (FWHM, radians); got "
            f"bmaj={out['bmaj']:.6g}, bmin={out['bmin']:.6g}"
        )
    return out


@dataclass(kw_only=True, eq=False)
class SkyComponent(DataModelBase):
    """A compact source.

    Parameters
    ----------
    direction : SkyCoord
    frequency : numpy.ndarray of float64, shape [nchan]
        Hz.
    flux : numpy.ndarray of float64 (or complex), shape [nchan, npol]
        Jy, in ``polarisation_frame``.
    polarisation_frame : PolarisationFrame
    shape : str
        ``'point'`` or ``'gaussian'``.
    params : dict
        For ``'gaussian'``: ``bmaj`` >= ``bmin`` > 0 (FWHM) and ``bpa`` (east of north), in
        radians or as quantities/strings (``'10asec'``), stored in radians.
    name : str

    Notes
    -----
    ``frequency`` (Hz) and ``flux`` (Jy) accept astropy quantities (``[1.4] * u.GHz``,
    ``[[250]] * u.mJy``); a unit that does not convert is a ``DataModelError`` naming the
    field. Every inconsistency (flux shape against the frequencies and the frame, a gaussian
    without its sizes, negative sizes, wrong types) is a ``DataModelError`` saying what is
    expected.
    """

    direction: SkyCoord
    frequency: np.ndarray
    flux: np.ndarray
    polarisation_frame: PolarisationFrame = field(
        default_factory=lambda: PolarisationFrame("stokesI")
    )
    shape: str = "point"
    params: dict = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        o = "SkyComponent"
        if not isinstance(self.direction, SkyCoord) or not self.direction.isscalar:
            raise DataModelError(
                f"SkyComponent.direction must be a scalar astropy SkyCoord, got "
                f"{type(self.direction).__name__}"
                + ("" if not isinstance(self.direction, SkyCoord) else " of several directions")
            )
        self.frequency = check_array(
            o, "frequency", np.atleast_1d(in_unit(o, "frequency", self.frequency, "Hz")),
            ndim=1, kind="fiu",
        ).astype(float)  # fmt: skip
        if self.frequency.size == 0 or not np.all(
            np.isfinite(self.frequency) & (self.frequency > 0)
        ):
            raise DataModelError(
                f"SkyComponent.frequency must be one or more finite values > 0 Hz, got "
                f"{self.frequency.tolist()}"
            )
        self.polarisation_frame = PolarisationFrame(self.polarisation_frame)
        nchan, npol = self.frequency.size, self.polarisation_frame.npol
        flux = np.asarray(in_unit(o, "flux", self.flux, "Jy"))
        if flux.shape != (nchan, npol):
            raise DataModelError(
                f"SkyComponent.flux has shape {list(flux.shape)}, expected [nchan, npol] = "
                f"[{nchan}, {npol}]: {nchan} frequencies and the {npol} products of "
                f"{self.polarisation_frame.name} ({' '.join(self.polarisation_frame.names)})"
            )
        self.flux = check_array(o, "flux", flux, kind="fciu")
        if self.flux.dtype.kind in "iu":
            self.flux = self.flux.astype(float)
        if not np.all(np.isfinite(self.flux)):
            raise DataModelError("SkyComponent.flux must be finite (Jy)")
        if not isinstance(self.shape, str) or self.shape not in COMPONENT_SHAPES:
            raise DataModelError(
                f"SkyComponent.shape {self.shape!r} unknown; use one of {', '.join(COMPONENT_SHAPES)}"
            )
        if not isinstance(self.params, dict):
            raise DataModelError(
                f"SkyComponent.params must be a dict, got {type(self.params).__name__}"
            )
        if not isinstance(self.name, str):
            raise DataModelError(f"SkyComponent.name must be a str, got {type(self.name).__name__}")
        if self.shape == "gaussian":
            self.params = _gaussian_params(self.params)

    @property
    def nchan(self) -> int:
        return self.frequency.size

    @property
    def npol(self) -> int:
        return self.polarisation_frame.npol

    def copy(self) -> SkyComponent:
        """A copy with a new flux array and params dict."""
        return self.replace(flux=self.flux.copy(), params=dict(self.params))

    def __repr__(self) -> str:
        """Name, shape (with the gaussian's size), direction, first flux and the frequencies."""
        d = self.direction.icrs
        shape = self.shape
        if shape == "gaussian":
            asec = {k: np.rad2deg(self.params[k]) * 3600 for k in ("bmaj", "bmin")}
            shape += (
                f" {asec['bmaj']:.4g}x{asec['bmin']:.4g} arcsec "
                f"pa {np.rad2deg(self.params['bpa']):.4g}°"
            )
        f = self.frequency / 1e6
        freq = (
            f"{f[0]:.4g} MHz" if f.size == 1 else f"{f[0]:.4g}–{f[-1]:.4g} MHz ({f.size} channels)"
        )
        return (
            f"SkyComponent({self.name!r}, {shape}, ra={d.ra.deg:.6f}°, dec={d.dec.deg:.6f}°, "
            f"flux[0]={np.round(self.flux[0], 6).tolist()} Jy {self.polarisation_frame.name} at {freq})"
        )


@dataclass(kw_only=True, eq=False)
class SkyModel(DataModelBase):
    """A sky model: an image and/or components, optionally with its own gains and a mask.

    Parameters
    ----------
    image : Image or None
    components : list of SkyComponent
    gaintable : GainTable or None
        Direction-dependent gains for this model (MPCCAL).
    mask : Image or None
        Where the model may be non-zero (1) or not (0): the image's ny, nx, and one plane or
        the image's channels/polarisations.
    fixed : bool
        A fixed model is not updated by pipelines.
    """

    image: Image | None = None
    components: list = field(default_factory=list)
    gaintable: GainTable | None = None
    mask: Image | None = None
    fixed: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.components, SkyComponent) or not isinstance(
            self.components, (list, tuple)
        ):
            raise DataModelError(
                f"SkyModel.components must be a list of SkyComponent, got "
                f"{type(self.components).__name__}"
            )
        self.components = list(self.components)
        for k, c in enumerate(self.components):
            if not isinstance(c, SkyComponent):
                raise DataModelError(
                    f"SkyModel.components must be SkyComponents; item {k} is {type(c).__name__}"
                )
        for name, kind in (("image", Image), ("mask", Image), ("gaintable", GainTable)):
            value = getattr(self, name)
            if value is not None and not isinstance(value, kind):
                raise DataModelError(
                    f"SkyModel.{name} must be {kind.__name__} or None, got {type(value).__name__}"
                )
        if not isinstance(self.fixed, (bool, np.bool_)):
            raise DataModelError(f"SkyModel.fixed must be a bool, got {type(self.fixed).__name__}")
        if self.mask is not None and self.image is not None:
            (nc, npol, ny, nx), (mc, mp, my, mx) = self.image.shape, self.mask.shape
            if (my, mx) != (ny, nx) or mc not in (1, nc) or mp not in (1, npol):
                raise DataModelError(
                    f"SkyModel.mask has shape {[mc, mp, my, mx]}, the image {[nc, npol, ny, nx]}: "
                    f"the mask needs the image's ny, nx = {ny}, {nx}, and 1 or {nc} channels, "
                    f"1 or {npol} polarisations"
                )

    def copy(self) -> SkyModel:
        """A deep copy: image, components, gain table and mask copied."""
        return SkyModel(
            image=None if self.image is None else self.image.copy(),
            components=[c.copy() for c in self.components],
            gaintable=None if self.gaintable is None else self.gaintable.copy(),
            mask=None if self.mask is None else self.mask.copy(),
            fixed=self.fixed,
        )

    def __repr__(self) -> str:
        return (
            f"SkyModel(image={None if self.image is None else list(self.image.shape)}, "
            f"{len(self.components)} components, gaintable={self.gaintable is not None}, "
            f"mask={self.mask is not None}, fixed={self.fixed})"
        )
