"""Configuration: the antennas (or stations) of an array."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.coordinates import EarthLocation

from ._validation import DataModelError, broadcast_field, check_array, in_unit

__all__ = ["Configuration"]


@dataclass(kw_only=True, eq=False)
class Configuration:
    """An array's antennas.

    Parameters
    ----------
    name : str
        Array name, e.g. ``'MeerKAT'``.
    location : astropy.coordinates.EarthLocation
        The array centre.
    names : numpy.ndarray of str, shape [nant]
    xyz : numpy.ndarray of float64, shape [nant, 3]
        Geocentric ITRF (X, Y, Z) in metres.
    diameter : numpy.ndarray of float64, shape [nant]
        Dish or station diameter in metres.
    mount : numpy.ndarray of str, shape [nant]
        ``'altaz'``, ``'equatorial'``, ``'xy'`` … (MS ANTENNA MOUNT).

    Notes
    -----
    ``xyz`` and ``diameter`` accept astropy quantities of length (``xyz * u.km``), converted
    to metres; a unit that is not a length is a ``DataModelError`` naming the field.
    """

    name: str
    location: EarthLocation
    names: np.ndarray
    xyz: np.ndarray
    diameter: np.ndarray
    mount: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        o = "Configuration"
        self.xyz = check_array(
            o, "xyz", in_unit(o, "xyz", self.xyz, "m"), ndim=2, shape=(None, 3), kind="fiu"
        ).astype(float)
        nant = self.xyz.shape[0]
        self.names = check_array(
            "Configuration", "names", np.asarray(self.names, dtype=str), shape=(nant,)
        )
        self.diameter = broadcast_field(
            o, "diameter", in_unit(o, "diameter", self.diameter, "m"), (nant,)
        )
        if self.mount is None:
            self.mount = np.full(nant, "altaz")
        self.mount = broadcast_field("Configuration", "mount", self.mount, (nant,), dtype=str)
        if not isinstance(self.location, EarthLocation):
            raise DataModelError("Configuration.location must be an astropy EarthLocation")
        if len(set(self.names.tolist())) != nant:
            raise DataModelError("Configuration.names must be unique")

    @property
    def nants(self) -> int:
        return self.xyz.shape[0]

    def enu(self) -> np.ndarray:
        """Local East, North, Up positions [nant, 3] in metres relative to ``location``."""
        lon = self.location.lon.rad
        lat = self.location.lat.rad
        centre = np.array([v.to_value("m") for v in self.location.to_geocentric()])
        d = self.xyz - centre
        sl, cl, sp, cp = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
        rot = np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])
        return d @ rot.T

    def select(self, indices) -> Configuration:
        """The configuration of the antennas ``indices``.

        Parameters
        ----------
        indices : numpy.ndarray of int, shape [nkeep], or of bool, shape [nant]
            The antennas to keep (in this order for an int array).

        Returns
        -------
        Configuration
            Same name and location; names, xyz [nkeep, 3], diameters and mounts selected.
        """
        idx = np.asarray(indices)
        return Configuration(
            name=self.name, location=self.location, names=self.names[idx], xyz=self.xyz[idx],
            diameter=self.diameter[idx], mount=self.mount[idx],
        )  # fmt: skip

    def __repr__(self) -> str:
        """Name, antenna count, array centre and the largest distance from it."""
        r = np.linalg.norm(self.enu()[:, :2], axis=1)
        return (
            f"Configuration({self.name!r}, nants={self.nants}, "
            f"lon={self.location.lon.deg:.4f}°, lat={self.location.lat.deg:.4f}°, "
            f"max radius {r.max(initial=0.0):.1f} m)"
        )
