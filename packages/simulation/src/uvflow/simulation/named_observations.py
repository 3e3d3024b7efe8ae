"""Named standard observations (MeerKAT, VLA A–D, SKA1-LOW BD2) for examples and tests.

Each name maps onto a configuration and standard settings (:data:`STANDARD_OBSERVATIONS`):

========== ============================ ============= ================ =================
name       configuration                frequency     phase centre     track
========== ============================ ============= ================ =================
MEERKAT    64-dish layout (63 shipped)  1.3–1.5 GHz   RA 15°, Dec −45°  HA −3 h … +3 h
VLA, VLAA… CASA ``vla.?.cfg`` (A…D);    1.3–1.5 GHz   RA 15°, Dec +40°  HA −3 h … +3 h
           ``VLA`` is pyvisgen's B
LOWBD2     ``LOWBD2.csv`` (file given)  90–110 MHz    RA 15°, Dec −45°  HA −3 h … +3 h
LOWBD2CORE ``LOWBD2-CORE.csv``          90–110 MHz    RA 15°, Dec −45°  HA −3 h … +3 h
========== ============================ ============= ================ =================

Aliases (case, ``-``, ``_`` and spaces ignored): ``SKA-LOW``, ``SKA1-LOW`` and ``LOW`` are
``LOWBD2`` (as in ``uvflow.datamodels``), ``VLA-A`` is ``VLAA`` and so on.

Three channels, 13 times (every 30 minutes of hour angle, integration time 1800 s),
Stokes I. Every setting can be overridden. Array centres: MeerKAT lon 21.4439°, lat
−30.7130°; SKA1-LOW lon 116.7644°, lat −26.8247°, height 300 m (``LOWBD2`` radii are measured
from the mean station position); VLA as in ``uvflow.datamodels.KNOWN_ARRAY_CENTRES``.
The SKA1-LOW layouts are not shipped (their licence does not allow copying them into a
package): pass ``layout_path`` (the file, e.g. ``../shared/data/layouts/LOWBD2.csv``, or
the directory holding ``LOWBD2.csv``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time

from uvflow.datamodels import (
    NAMED_CONFIGURATIONS,
    Configuration,
    PolarisationFrame,
    Visibility,
    create_configuration_from_file,
    create_named_configuration,
)

from .errors import SimulationError
from .observation import DEFAULT_ELEVATION_LIMIT, DEFAULT_UTC_TIME, create_visibility

__all__ = [
    "OBSERVATION_ALIASES",
    "StandardObservation",
    "STANDARD_OBSERVATIONS",
    "create_named_observation",
    "named_configuration",
]


@dataclass(frozen=True)
class StandardObservation:
    """Standard settings of a named observation.

    Attributes
    ----------
    configuration : str
        A name for ``uvflow.datamodels.create_named_configuration``, or a layout file name
        (``*.csv``) read with ``create_configuration_from_file``.
    frequency : tuple of float
        Hz.
    channel_bandwidth : float
        Hz.
    ra, dec : float
        Phase centre, degrees (ICRS).
    hour_angle_range : (float, float)
        Hours.
    ntimes : int
    """

    configuration: str
    frequency: tuple
    channel_bandwidth: float
    ra: float
    dec: float
    hour_angle_range: tuple = (-3.0, 3.0)
    ntimes: int = 13
    polarisation_frame: str = "stokesI"

    @property
    def hour_angles(self) -> np.ndarray:
        """Radians, [ntimes]."""
        start, stop = self.hour_angle_range
        return np.linspace(start, stop, self.ntimes) * np.pi / 12.0

    @property
    def phasecentre(self) -> SkyCoord:
        return SkyCoord(ra=self.ra, dec=self.dec, unit="deg", frame="icrs")


_L_BAND = (1.3e9, 1.4e9, 1.5e9)
_LOW_BAND = (0.9e8, 1.0e8, 1.1e8)
STANDARD_OBSERVATIONS: dict[str, StandardObservation] = {
    "MEERKAT": StandardObservation("MEERKAT", _L_BAND, 1.0e8, 15.0, -45.0),
    "VLA": StandardObservation("VLA", _L_BAND, 1.0e8, 15.0, 40.0),
    "VLAA": StandardObservation("VLAA", _L_BAND, 1.0e8, 15.0, 40.0),
    "VLAB": StandardObservation("VLAB", _L_BAND, 1.0e8, 15.0, 40.0),
    "VLAC": StandardObservation("VLAC", _L_BAND, 1.0e8, 15.0, 40.0),
    "VLAD": StandardObservation("VLAD", _L_BAND, 1.0e8, 15.0, 40.0),
    "LOWBD2": StandardObservation("LOWBD2.csv", _LOW_BAND, 1.0e7, 15.0, -45.0),
    "LOWBD2CORE": StandardObservation("LOWBD2-CORE.csv", _LOW_BAND, 1.0e7, 15.0, -45.0),
}
#: Other names of standard observations (keys without case, '-', '_' or spaces), as
#: ``uvflow.datamodels`` treats them: SKA-LOW, SKA1-LOW and LOW are LOWBD2.
OBSERVATION_ALIASES: dict[str, str] = {"LOW": "LOWBD2", "SKA1LOW": "LOWBD2", "SKALOW": "LOWBD2"}
_LOW_STATION_DIAMETER = 35.0
_SHARED_LAYOUTS = "../shared/data/layouts"


def _key(name: str) -> str:
    key = "".join(ch for ch in str(name).upper() if ch not in "-_ ")
    key = OBSERVATION_ALIASES.get(key, key)
    if key not in STANDARD_OBSERVATIONS:
        raise SimulationError(
            f"configuration {name!r} unknown; known: {', '.join(STANDARD_OBSERVATIONS)}, and "
            "SKA-LOW, SKA1-LOW or LOW for LOWBD2 (case, '-' and '_' are ignored, e.g. "
            "'vla-a', 'lowbd2')"
        )
    return key


def named_configuration(
    name: str, rmax: float | None = None, layout_path: str | os.PathLike | None = None
) -> Configuration:
    """The configuration of a standard observation.

    Parameters
    ----------
    name : str
        A key of :data:`STANDARD_OBSERVATIONS` (``'meerkat'``, ``'vla-a'`` … ``'vla-d'``,
        ``'lowbd2'``, ``'lowbd2-core'``) or an alias (``'SKA-LOW'``, ``'SKA1-LOW'``,
        ``'LOW'``: LOWBD2); case, ``-``, ``_`` and spaces are ignored.
    rmax : float, optional
        Keep antennas within this horizontal distance, metres (from the array centre;
        from the mean station position for SKA1-LOW).
    layout_path : str or os.PathLike, optional
        For SKA1-LOW: the layout file (e.g. ``'../shared/data/layouts/LOWBD2.csv'``), or
        the directory that holds it. Required: these layouts are not shipped.

    Returns
    -------
    Configuration
        Named by its canonical key (``'LOWBD2'`` for every alias of it).

    Raises
    ------
    SimulationError
        An unknown name (the message lists the known ones and the aliases), an SKA1-LOW
        name without ``layout_path`` (the message says why and what to pass), or a layout
        file that does not exist.
    """
    key = _key(name)
    std = STANDARD_OBSERVATIONS[key]
    if std.configuration in NAMED_CONFIGURATIONS:
        return create_named_configuration(std.configuration, rmax=rmax)
    if layout_path is None:
        raise SimulationError(
            f"configuration {name!r}{'' if str(name) == key else f' ({key})'} needs "
            f"layout_path=: the SKA1-LOW layout "
            f"{std.configuration} is not shipped with uvflow (its licence does not allow "
            f"copying it into a package); pass layout_path='{_SHARED_LAYOUTS}/"
            f"{std.configuration}' (the file, or the directory holding it), or use a "
            f"shipped configuration ({', '.join(k for k in STANDARD_OBSERVATIONS if 'LOW' not in k)})"
        )
    path = Path(layout_path)
    if path.is_dir():
        path = path / std.configuration
    if not path.is_file():
        raise SimulationError(f"layout file {str(path)!r} not found")
    return create_configuration_from_file(
        path, location="SKA1-LOW", name=key, frame="enu", diameter=_LOW_STATION_DIAMETER,
        mount="xy", rmax=rmax, centre="mean",
    )  # fmt: skip


def create_named_observation(
    name: str,
    *,
    layout_path: str | os.PathLike | None = None,
    rmax: float | None = None,
    times=None,
    frequency=None,
    channel_bandwidth=None,
    phasecentre: SkyCoord | None = None,
    polarisation_frame: PolarisationFrame | str | None = None,
    integration_time=None,
    elevation_limit=DEFAULT_ELEVATION_LIMIT,
    zerow: bool = False,
    utc_time: Time | str = DEFAULT_UTC_TIME,
    dtype=np.complex128,
) -> Visibility:
    """A zero-valued Visibility of a named standard observation (see the module table).

    Parameters
    ----------
    name : str
        ``'meerkat'``, ``'vla'``, ``'vla-a'`` … ``'vla-d'``, ``'lowbd2'``, ``'lowbd2-core'``,
        or an alias of LOWBD2 (``'SKA-LOW'``, ``'SKA1-LOW'``, ``'LOW'``).
    layout_path, rmax
        See :func:`named_configuration`.
    times, frequency, channel_bandwidth, phasecentre, polarisation_frame, integration_time
        Override the standard settings; ``times`` are hour angles in radians.
    elevation_limit, zerow, utc_time, dtype
        As for :func:`uvflow.simulation.create_visibility`.

    Raises
    ------
    SimulationError
        Unknown name (the message lists the known ones), or a missing layout file.
    """
    key = _key(name)
    std = STANDARD_OBSERVATIONS[key]
    config = named_configuration(key, rmax=rmax, layout_path=layout_path)
    freq = np.asarray(std.frequency if frequency is None else frequency, dtype=float)
    return create_visibility(
        config,
        std.hour_angles if times is None else times,
        freq,
        std.channel_bandwidth if channel_bandwidth is None else channel_bandwidth,
        std.phasecentre if phasecentre is None else phasecentre,
        polarisation_frame=std.polarisation_frame
        if polarisation_frame is None
        else polarisation_frame,
        integration_time=integration_time,
        elevation_limit=elevation_limit,
        zerow=zerow,
        utc_time=utc_time,
        times_are="hour_angle",
        dtype=dtype,
        source=key,
    )
