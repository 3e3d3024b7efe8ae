"""Direction-dependent gain tables from antenna voltage patterns and pointing errors.

For a component at direction offset ``s = (l, m)`` from the phase centre (which every
antenna tracks), antenna a at time t has the Jones matrix ``E_a(t) = V(R(χ_t) s − δ_a(t))``
of its voltage pattern V (:mod:`uvflow.simulation.voltage_patterns`): ``R(χ)`` turns the
sky's (l, m) into the antenna's (azimuth, elevation) frame by the parallactic angle χ, and
``δ_a(t)`` is the antenna's pointing error in that frame. With ``use_radec=True`` the
pattern and the errors are taken in the sky's frame (no rotation), as RASCIL's option.
The table of one component corrupts its visibilities as ``V_ij → E_i V_ij E_j^H``
(:func:`uvflow.calibration.apply_gaintable`), which is how RASCIL's
``simulate_gaintable_from_voltage_pattern`` / ``…_from_pointingtable`` were used.

Parallactic angle: ``χ = atan2(sin H, tan φ cos δ − sin δ cos H)`` (H hour angle, δ
declination, φ latitude).
"""

from __future__ import annotations

import numpy as np

from uvflow.calibration import create_gaintable_from_visibility
from uvflow.datamodels import GainTable, SkyComponent, Visibility

from .directions import skycoord_to_lmn
from .earth_orientation import elevation_hour_angle
from .errors import SimulationError
from .seeding import SeedLike, make_rng

__all__ = [
    "gaintables_from_voltage_pattern",
    "parallactic_angle",
    "simulate_pointing_offsets",
]


def parallactic_angle(hour_angle, declination: float, latitude: float) -> np.ndarray:
    """Parallactic angle, radians (positive west of the meridian).

    Parameters
    ----------
    hour_angle : numpy.ndarray of float64, shape [ntime]
        Radians.
    declination, latitude : float
        Radians.

    Returns
    -------
    numpy.ndarray of float64, shape [ntime]
    """
    h = np.asarray(hour_angle, float)
    return np.arctan2(
        np.sin(h), np.tan(latitude) * np.cos(declination) - np.sin(declination) * np.cos(h)
    )


def _pair(name: str, value) -> np.ndarray:
    arr = np.zeros(2) if value is None else np.asarray(value, float).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, 2)
    if arr.size != 2 or not np.all(np.isfinite(arr)) or (name != "global" and np.any(arr < 0)):
        raise SimulationError(
            f"{name}_pointing_error must be one or two finite radians"
            f"{'' if name == 'global' else ' >= 0'} (azimuth, elevation), got {value!r}"
        )
    return arr


def simulate_pointing_offsets(
    ntime: int,
    nant: int,
    pointing_error: float = 0.0,
    static_pointing_error=None,
    global_pointing_error=None,
    seed: SeedLike = None,
) -> np.ndarray:
    """Random pointing errors of every antenna at every time (RASCIL's
    ``simulate_pointingtable``).

    ``δ[t, a] = g + s_a + d_{t,a}``: a global offset g shared by all antennas, a static
    offset ``s_a ~ N(0, static²)`` per antenna and axis, and a dynamic one
    ``d_{t,a} ~ N(0, pointing_error²)`` per time, antenna and axis.

    Parameters
    ----------
    ntime, nant : int
    pointing_error : float
        Dynamic rms, radians.
    static_pointing_error : float or (float, float), optional
        Rms per axis (azimuth, elevation), radians.
    global_pointing_error : float or (float, float), optional
        Offset per axis, radians.
    seed : int, SeedSequence, Generator or None

    Returns
    -------
    numpy.ndarray of float64, shape [ntime, nant, 2]
        Radians, (azimuth·cos(elevation), elevation) components.
    """
    if not (np.isfinite(pointing_error) and pointing_error >= 0):
        raise SimulationError(
            f"pointing_error must be finite and >= 0 radians, got {pointing_error}"
        )
    static = _pair("static", static_pointing_error)
    offset = _pair("global", global_pointing_error)
    rng = make_rng(seed)
    dynamic = rng.normal(0.0, 1.0, (int(ntime), int(nant), 2)) * pointing_error
    per_antenna = rng.normal(0.0, 1.0, (int(nant), 2)) * static
    return dynamic + per_antenna[None] + offset[None, None]


def _component_offsets(vis: Visibility, comp: SkyComponent, chi, use_radec) -> np.ndarray:
    """[ntime, 2] the component's offset from the phase centre in the pattern's frame."""
    lm = skycoord_to_lmn(comp.direction, vis.phasecentre)[:2]
    if use_radec:
        return np.broadcast_to(lm, (chi.size, 2))
    c, s = np.cos(chi), np.sin(chi)
    return np.stack([c * lm[0] - s * lm[1], s * lm[0] + c * lm[1]], axis=-1)


def gaintables_from_voltage_pattern(
    vis: Visibility,
    components,
    pattern,
    pointing_offsets: np.ndarray | None = None,
    use_radec: bool = False,
    elevation_sampling: float | None = None,
) -> list[GainTable]:
    """One gain table per component: each antenna's voltage pattern towards it.

    Parameters
    ----------
    vis : Visibility
        With a configuration (location) and phase centre; the tables have its times and
        channels (``jones_type='B'``) and its receptors (2 for linear or circular data,
        where the full 2×2 pattern is kept; 1 for Stokes I, where the mean of the two
        co-polar terms is).
    components : SkyComponent or list of SkyComponent
    pattern : callable
        ``pattern(x, y, frequency, elevation)`` → Jones ``[n, nchan, 2, 2]``
        (:mod:`uvflow.simulation.voltage_patterns`).
    pointing_offsets : numpy.ndarray of float64, shape [ntime, nant, 2], optional
        Each antenna's pointing error (radians) at the table's times, in the pattern's
        frame (:func:`simulate_pointing_offsets`). None: perfect pointing.
    use_radec : bool
        Take the pattern in the sky's frame (no parallactic rotation).
    elevation_sampling : float, optional
        Degrees: the elevation given to the pattern is rounded to this step (RASCIL
        evaluated deformed patterns on a grid of elevations). None: exact.

    Returns
    -------
    list of GainTable
        ``gain[ntime, nant, nchan, nrec, nrec]`` complex128, ``phasecentre`` the
        component's direction, in the order of ``components``.
    """
    if vis.configuration is None:
        raise SimulationError("voltage-pattern gains need vis.configuration (the array location)")
    comps = [components] if isinstance(components, SkyComponent) else list(components)
    template = create_gaintable_from_visibility(vis, jones_type="B")
    nt, na, nchan, nrec = template.gain.shape[:4]
    if pointing_offsets is None:
        pointing_offsets = np.zeros((nt, na, 2))
    pointing_offsets = np.asarray(pointing_offsets, float)
    if pointing_offsets.shape != (nt, na, 2):
        raise SimulationError(
            f"pointing_offsets has shape {pointing_offsets.shape}; the table needs "
            f"[ntime, nant, 2] = {(nt, na, 2)}"
        )
    location = vis.configuration.location
    elevation, hour_angle = elevation_hour_angle(template.time, location, vis.phasecentre)
    chi = parallactic_angle(hour_angle, vis.phasecentre.icrs.dec.rad, location.lat.rad)
    if elevation_sampling is not None:
        step = np.radians(float(elevation_sampling))
        elevation = np.clip(step * np.round(elevation / step), 0.0, np.pi / 2)
    tables = []
    for comp in comps:
        offset = _component_offsets(vis, comp, chi, use_radec)[:, None, :] - pointing_offsets
        jones = pattern(offset[..., 0].ravel(), offset[..., 1].ravel(), template.frequency,
                        np.repeat(elevation, na))  # fmt: skip
        jones = jones.reshape(nt, na, nchan, 2, 2)
        if nrec == 1:
            gain = (0.5 * (jones[..., 0, 0] + jones[..., 1, 1]))[..., None, None]
        else:
            gain = jones.copy()
        tables.append(template.replace(gain=gain, phasecentre=comp.direction))
    return tables
