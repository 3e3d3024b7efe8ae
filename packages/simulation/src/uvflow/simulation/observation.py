"""An observation → a zero-valued Visibility with rigorous uvw, times, flags and weights."""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time

from uvflow.datamodels import Configuration, PolarisationFrame, Visibility, to_radians

from .earth_orientation import (
    SIDEREAL_RATE,
    itrs_elevation_hour_angle,
    transit_time,
    uvw_rotation,
)
from .errors import SimulationError

__all__ = [
    "check_visible",
    "observation_times",
    "positive_values",
    "DEFAULT_ELEVATION_LIMIT",
    "DEFAULT_UTC_TIME",
    "TIMES_ARE",
    "create_visibility",
    "antenna_uvw",
]

log = logging.getLogger(__name__)

DEFAULT_ELEVATION_LIMIT = float(np.deg2rad(15.0))
DEFAULT_UTC_TIME = "2024-01-01T00:00:00"
TIMES_ARE = ("hour_angle", "utc")


def observation_times(
    times,
    config: Configuration,
    phasecentre: SkyCoord,
    times_are: str = "hour_angle",
    utc_time: Time | str = DEFAULT_UTC_TIME,
) -> np.ndarray:
    """The UTC times (MJD seconds) of ``times`` (see :func:`create_visibility`).

    Parameters
    ----------
    times : array of float64 [ntime], astropy Quantity or astropy Time
        ``times_are='hour_angle'``: hour angles of the phase centre in radians (or an
        angle Quantity) relative to its first transit at or after ``utc_time``;
        ``times_are='utc'``: an astropy Time or MJD seconds (UTC).
    config : Configuration
        Its ``location`` (the array centre) fixes the transit.
    phasecentre : SkyCoord
        Scalar, any frame.
    times_are : {'hour_angle', 'utc'}
    utc_time : astropy.time.Time or str
        Start of the search for the transit (hour angles only); default
        :data:`DEFAULT_UTC_TIME`.

    Returns
    -------
    numpy.ndarray of float64, shape [ntime]
        UTC, MJD seconds, strictly increasing.

    Raises
    ------
    SimulationError
        Empty, non-finite or non-increasing times, hour angles that are not angles, a
        ``utc_time`` that is not a date, or an unknown ``times_are``.
    """
    if times_are not in TIMES_ARE:
        raise SimulationError(f"times_are {times_are!r} unknown; use one of {', '.join(TIMES_ARE)}")
    if times_are == "utc":
        if isinstance(times, Time):
            t = np.atleast_1d(times.utc.mjd) * 86400.0
        else:
            t = np.atleast_1d(np.asarray(times, dtype=float))
    else:
        if isinstance(times, u.Quantity):
            try:
                times = times.to_value(u.rad)
            except u.UnitConversionError as exc:
                raise SimulationError(f"hour angles {times} must be angles") from exc
        ha = np.atleast_1d(np.asarray(times, dtype=float))
        if ha.ndim != 1 or ha.size == 0:
            raise SimulationError("times is empty: give at least one hour angle (radians)")
        if not np.all(np.isfinite(ha)):
            raise SimulationError("times (hour angles) must be finite")
        if isinstance(utc_time, str):
            try:
                utc_time = Time(utc_time, scale="utc")
            except ValueError as exc:
                raise SimulationError(f"utc_time {utc_time!r} is not a date/time") from exc
        t = transit_time(utc_time, config.location, phasecentre) + ha / SIDEREAL_RATE
    if t.ndim != 1 or t.size == 0:
        raise SimulationError("times is empty: give at least one time")
    if not np.all(np.isfinite(t)):
        raise SimulationError("times must be finite")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise SimulationError("times must be strictly increasing")
    return t


def positive_values(name: str, value, n: int, unit: str) -> np.ndarray:
    """``value`` as n positive numbers (per channel or per integration).

    Parameters
    ----------
    name : str
        The parameter, for messages.
    value : float or array-like of float
        A scalar or n values.
    n : int
        How many values.
    unit : str
        Their unit, for messages (``'Hz'``, ``'s'``).

    Returns
    -------
    numpy.ndarray of float64, shape [n]
        A new array.

    Raises
    ------
    SimulationError
        Neither a scalar nor n values, or a value that is not finite and > 0.
    """
    arr = np.asarray(value, dtype=float)
    try:
        arr = np.broadcast_to(arr, (n,)).copy()
    except ValueError as exc:
        raise SimulationError(f"{name} must be a scalar or have {n} values") from exc
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise SimulationError(f"{name} must be finite and > 0 {unit}, got {value!r}")
    return arr


def check_visible(elevation: np.ndarray, elevation_limit: float | None) -> None:
    """Raise SimulationError when every elevation is below the limit (horizon if None).

    Parameters
    ----------
    elevation : numpy.ndarray of float64, shape [ntime]
        Radians.
    elevation_limit : float or None
        Radians; None: the horizon (0).

    Raises
    ------
    SimulationError
        The phase centre never reaches the limit (the message gives the highest elevation).
    """
    floor = 0.0 if elevation_limit is None else elevation_limit
    if np.all(np.asarray(elevation) < floor):
        what = (
            "the horizon"
            if elevation_limit is None
            else (f"the elevation limit {np.rad2deg(elevation_limit):.2f} deg")
        )
        raise SimulationError(
            f"the phase centre is below {what} for the whole track (highest elevation "
            f"{np.rad2deg(np.max(elevation)):.2f} deg); choose other times, another phase "
            "centre or a lower elevation_limit"
        )


def antenna_uvw(config: Configuration, time, phasecentre: SkyCoord) -> np.ndarray:
    """uvw of every antenna relative to the array centre, float64 [ntime, nant, 3] metres.

    A baseline's uvw is ``antenna_uvw[:, a2] - antenna_uvw[:, a1]`` (MS convention).

    Parameters
    ----------
    config : Configuration
    time : numpy.ndarray of float64, shape [ntime]
        UTC, MJD seconds.
    phasecentre : SkyCoord
    """
    rot, _ = uvw_rotation(np.atleast_1d(time), config.location, phasecentre)
    return _antenna_uvw(config, rot)


def _antenna_uvw(config: Configuration, rot: np.ndarray) -> np.ndarray:
    centre = np.array([v.to_value("m") for v in config.location.to_geocentric()])
    return np.einsum("tij,aj->tai", rot, config.xyz - centre)


def create_visibility(
    config: Configuration,
    times,
    frequency,
    channel_bandwidth,
    phasecentre: SkyCoord,
    polarisation_frame: PolarisationFrame | str = "stokesI",
    integration_time=None,
    elevation_limit: float | str | None = DEFAULT_ELEVATION_LIMIT,
    weight: float = 1.0,
    zerow: bool = False,
    utc_time: Time | str = DEFAULT_UTC_TIME,
    times_are: str = "hour_angle",
    dtype=np.complex128,
    source: str = "simulated",
    allow_all_flagged: bool = False,
) -> Visibility:
    """A zero-valued Visibility of every cross-correlation baseline of ``config``.

    Parameters
    ----------
    config : Configuration
        The array (at least two antennas).
    times : array of float [ntime], astropy Quantity or astropy Time
        ``times_are='hour_angle'``: hour angles of the phase centre in radians (or an angle
        Quantity), relative to its first transit at or after ``utc_time`` at the array
        centre; converted to UTC with the sidereal rate 7.2921e-5 rad/s.
        ``times_are='utc'``: an astropy Time, or MJD seconds (UTC).
        Must be non-empty and strictly increasing.
    frequency : float or array of float [nchan]
        Channel centres, Hz, > 0.
    channel_bandwidth : float or array of float [nchan]
        Hz, > 0.
    phasecentre : SkyCoord
        Any frame; uvw are in the J2000 (ICRS) frame of its direction.
    polarisation_frame : PolarisationFrame or str
    integration_time : float or array of float [ntime], optional
        Seconds. Default: the median spacing of the times (1 s for a single time).
    elevation_limit : float, str or None
        Radians (or ``"15deg"``). Default 15 degrees. Times when the phase centre is lower
        (geometric elevation at the array centre) are **flagged with weight 0, not
        dropped**, so the block layout stays regular. ``None``: flag nothing.
    weight : float
        Weight of every unflagged sample (> 0).
    zerow : bool
        Set w = 0 (for tests of 2-D imaging).
    utc_time : astropy Time or str
        The date of the hour-angle track (default 2024-01-01T00:00:00 UTC).
    times_are : {'hour_angle', 'utc'}
    dtype : complex64 or complex128
        The weights are float32 with complex64 data (as an MS stores them), else float64.
    source : str
        Field name.
    allow_all_flagged : bool
        Return an all-flagged Visibility, instead of raising, when the phase centre is below
        the limit at every time (for windows of a longer track checked as a whole).

    Returns
    -------
    Visibility
        ``vis`` zeros of ``dtype``, shape [ntime, nant (nant - 1) / 2, nchan, npol];
        baselines ordered (0,1), (0,2) … with antenna1 < antenna2 and
        ``uvw = XYZ(antenna2) - XYZ(antenna1)`` in the (u, v, w) frame of the phase
        centre. :func:`uvflow.simulation.elevation_hour_angle` gives the elevation and
        hour angle of each time.

    Raises
    ------
    SimulationError
        Empty or non-increasing times, frequency or bandwidth <= 0, a bad elevation limit
        or weight, fewer than two antennas, or a phase centre below the elevation limit
        (below the horizon when the limit is None) for the whole track.
    """
    if not isinstance(config, Configuration):
        raise SimulationError(f"config must be a Configuration, got {type(config).__name__}")
    if config.nants < 2:
        raise SimulationError(f"config {config.name!r} has {config.nants} antenna; need >= 2")
    if not isinstance(phasecentre, SkyCoord) or not phasecentre.isscalar:
        raise SimulationError("phasecentre must be a scalar astropy SkyCoord")
    freq = np.atleast_1d(np.asarray(frequency, dtype=float))
    if freq.ndim != 1 or freq.size == 0:
        raise SimulationError("frequency is empty: give at least one channel (Hz)")
    freq = positive_values("frequency", freq, freq.size, "Hz")
    bandwidth = positive_values("channel_bandwidth", channel_bandwidth, freq.size, "Hz")
    frame = PolarisationFrame(polarisation_frame)
    if np.dtype(dtype) not in (np.dtype(np.complex64), np.dtype(np.complex128)):
        raise SimulationError(f"dtype {dtype!r} not allowed; use complex64 or complex128")
    if not (np.isfinite(weight) and weight > 0):
        raise SimulationError(f"weight must be finite and > 0, got {weight!r}")
    limit = None if elevation_limit is None else to_radians(elevation_limit)
    if limit is not None and not -np.pi / 2 <= limit <= np.pi / 2:
        raise SimulationError(f"elevation_limit {limit} rad is outside [-pi/2, pi/2]")

    time = observation_times(times, config, phasecentre, times_are, utc_time)
    ntime = time.size
    if integration_time is None:
        integration_time = float(np.median(np.diff(time))) if ntime > 1 else 1.0
    itime = positive_values("integration_time", integration_time, ntime, "s")

    rot, s_itrs = uvw_rotation(time, config.location, phasecentre)
    alt, _ = itrs_elevation_hour_angle(s_itrs, config.location)
    low = alt < (0.0 if limit is None else limit)
    if not allow_all_flagged:
        check_visible(alt, limit)
    flag_rows = low if limit is not None else np.zeros(ntime, dtype=bool)
    if flag_rows.any():
        log.info(
            "%d of %d times are below the elevation limit: flagged with weight 0",
            int(flag_rows.sum()),
            ntime,
        )

    a1, a2 = np.triu_indices(config.nants, k=1)
    ant_uvw = _antenna_uvw(config, rot)
    uvw = ant_uvw[:, a2, :] - ant_uvw[:, a1, :]
    if zerow:
        uvw[..., 2] = 0.0
    shape = (ntime, a1.size, freq.size, frame.npol)
    flags = np.broadcast_to(flag_rows[:, None, None, None], shape).copy()
    real = np.float32 if np.dtype(dtype) == np.complex64 else np.float64
    weights = np.where(flags, 0.0, float(weight)).astype(real, copy=False)
    return Visibility(
        vis=np.zeros(shape, dtype=dtype),
        weight=weights,
        flags=flags,
        uvw=uvw,
        time=time,
        integration_time=itime,
        antenna1=a1,
        antenna2=a2,
        frequency=freq,
        channel_bandwidth=bandwidth,
        phasecentre=phasecentre,
        polarisation_frame=frame,
        configuration=config,
        source=source,
        meta={"simulated": True},
    )
