"""SkyComponent (point or Gaussian) and SkyModel (image + components + gains + mask)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from astropy.coordinates import SkyCoord

from ._validation import DataModelError, check_array
from .gaintable import GainTable
from .image import Image
from .polarisation import PolarisationFrame

__all__ = ["SkyComponent", "SkyModel", "COMPONENT_SHAPES"]

COMPONENT_SHAPES = ("point", "gaussian")


@dataclass(kw_only=True, eq=False)
class SkyComponent:
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
        For ``'gaussian'``: ``bmaj``, ``bmin`` (FWHM, radians) and ``bpa`` (radians, east of north).
    name : str
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
            raise DataModelError("SkyComponent.direction must be a scalar astropy SkyCoord")
        self.frequency = check_array(
            o, "frequency", np.atleast_1d(self.frequency), ndim=1, kind="fiu"
        ).astype(float)
        self.polarisation_frame = PolarisationFrame(self.polarisation_frame)
        self.flux = check_array(
            o,
            "flux",
            np.asarray(self.flux),
            shape=(self.frequency.size, self.polarisation_frame.npol),
            kind="fciu",
        )
        if self.flux.dtype.kind in "iu":
            self.flux = self.flux.astype(float)
        if self.shape not in COMPONENT_SHAPES:
            raise DataModelError(
                f"SkyComponent.shape {self.shape!r} unknown; use one of {', '.join(COMPONENT_SHAPES)}"
            )
        if self.shape == "gaussian":
            missing = {"bmaj", "bmin", "bpa"} - set(self.params)
            if missing:
                raise DataModelError(
                    f"a gaussian SkyComponent needs params {sorted(missing)} (radians)"
                )

    @property
    def nchan(self) -> int:
        return self.frequency.size

    @property
    def npol(self) -> int:
        return self.polarisation_frame.npol

    def replace(self, **changes) -> SkyComponent:
        return dataclasses.replace(self, **changes)

    def copy(self) -> SkyComponent:
        return self.replace(flux=self.flux.copy(), params=dict(self.params))

    def __repr__(self) -> str:
        d = self.direction.icrs
        return (
            f"SkyComponent({self.name!r}, {self.shape}, ra={d.ra.deg:.6f}°, dec={d.dec.deg:.6f}°, "
            f"flux[0]={np.round(self.flux[0], 6).tolist()} Jy at {self.frequency[0] / 1e6:.4g} MHz)"
        )


@dataclass(kw_only=True, eq=False)
class SkyModel:
    """A sky model: an image and/or components, optionally with its own gains and a mask.

    Parameters
    ----------
    image : Image or None
    components : list of SkyComponent
    gaintable : GainTable or None
        Direction-dependent gains for this model (MPCCAL).
    mask : Image or None
        Where the model may be non-zero (1) or not (0).
    fixed : bool
        A fixed model is not updated by pipelines.
    """

    image: Image | None = None
    components: list = field(default_factory=list)
    gaintable: GainTable | None = None
    mask: Image | None = None
    fixed: bool = False

    def __post_init__(self) -> None:
        self.components = list(self.components)
        for c in self.components:
            if not isinstance(c, SkyComponent):
                raise DataModelError(
                    f"SkyModel.components must be SkyComponents, got {type(c).__name__}"
                )
        if self.image is not None and not isinstance(self.image, Image):
            raise DataModelError("SkyModel.image must be an Image")
        if (
            self.mask is not None
            and self.image is not None
            and self.mask.data.shape[2:] != self.image.data.shape[2:]
        ):
            raise DataModelError("SkyModel.mask must have the image's ny, nx")
        if self.gaintable is not None and not isinstance(self.gaintable, GainTable):
            raise DataModelError("SkyModel.gaintable must be a GainTable")

    def replace(self, **changes) -> SkyModel:
        return dataclasses.replace(self, **changes)

    def copy(self) -> SkyModel:
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
