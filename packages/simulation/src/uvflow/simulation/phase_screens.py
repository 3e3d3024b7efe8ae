"""Direction-dependent phase screens: one GainTable per sky region (for MPCCAL tests)."""

from __future__ import annotations

import logging

import numpy as np

from uvflow.calibration import create_gaintable_from_visibility
from uvflow.datamodels import GainTable, Visibility

from .directions import as_direction_list
from .errors import SimulationError
from .random_fields import random_fourier_field
from .seeding import SeedLike, make_rng, spawn_seeds

__all__ = ["create_phase_screen_gaintables"]

log = logging.getLogger(__name__)


def create_phase_screen_gaintables(
    vis: Visibility,
    directions,
    amplitude: float = 0.5,
    scale: float = 5000.0,
    timescale: float = 3600.0,
    reference_frequency: float | None = None,
    jones_type: str = "T",
    nmodes: int = 32,
    seed: SeedLike = None,
) -> list[GainTable]:
    """Smooth random phase screens over the array, one independent screen per direction.

    For direction d the phase of antenna a at time t is a random field
    ``φ_d(E_a / scale, N_a / scale, (t - t_0) / timescale)`` (sum of ``nmodes`` random
    Fourier modes, Gaussian covariance: see :mod:`uvflow.simulation.random_fields`) of
    standard deviation ``amplitude``, evaluated at the antennas' local East/North
    positions: antennas closer than ``scale`` see similar phases, and the phases drift
    smoothly over ``timescale``. Gains are ``exp(i φ)`` on every receptor (amplitude 1).

    Parameters
    ----------
    vis : Visibility
        With a configuration; the tables get its times and channels (through
        ``uvflow.calibration.create_gaintable_from_visibility``).
    directions : SkyCoord (array), or list of SkyCoord or SkyComponent
        Each table's ``phasecentre`` is its direction.
    amplitude : float
        Phase standard deviation, radians (at ``reference_frequency``).
    scale : float
        Correlation length of the screen over the array, metres.
    timescale : float
        Correlation time, seconds.
    reference_frequency : float, optional
        Hz. Given: phases scale as ``reference_frequency / ν`` per gain channel (an
        ionospheric, dispersive screen; use ``jones_type='B'`` for per-channel phases).
        None: the same phase at every frequency.
    jones_type : str
        Passed to ``create_gaintable_from_visibility``.
    nmodes : int
    seed : int, SeedSequence, Generator or None
        Direction k uses child k of ``SeedSequence(seed).spawn(ndirections)``.

    Returns
    -------
    list of GainTable
        In the order of ``directions``.
    """
    if vis.configuration is None:
        raise SimulationError("phase screens need vis.configuration (the antenna positions)")
    if not (np.isfinite(amplitude) and amplitude >= 0):
        raise SimulationError(f"amplitude must be finite and >= 0 radians, got {amplitude}")
    for name, value in (("scale", scale), ("timescale", timescale)):
        if not (np.isfinite(value) and value > 0):
            raise SimulationError(f"{name} must be finite and > 0, got {value}")
    if reference_frequency is not None and not reference_frequency > 0:
        raise SimulationError(f"reference_frequency must be > 0 Hz, got {reference_frequency}")
    if int(nmodes) < 1:
        raise SimulationError(f"nmodes must be >= 1, got {nmodes}")
    dirs = as_direction_list(directions)
    template = create_gaintable_from_visibility(vis, jones_type=jones_type)
    enu = vis.configuration.enu()[:, :2] / scale  # [nant, 2]
    dt = (template.time - template.time[0]) / timescale  # [ntime]
    nt, na = dt.size, enu.shape[0]
    coords = np.concatenate(
        [np.broadcast_to(enu[None], (nt, na, 2)), np.broadcast_to(dt[:, None, None], (nt, na, 1))],
        axis=-1,
    ).reshape(nt * na, 3)
    if reference_frequency is None:
        chan_scale = np.ones(template.nchan)
    else:
        chan_scale = reference_frequency / template.frequency
    tables = []
    idx = np.arange(template.nrec)
    for d, child in zip(dirs, spawn_seeds(seed, len(dirs))):
        phase = random_fourier_field(make_rng(child), coords, amplitude, nmodes=int(nmodes))
        phase = phase.reshape(nt, na, 1) * chan_scale[None, None, :]  # [ntime, nant, nchan]
        gain = np.zeros(template.gain.shape, dtype=np.complex128)
        gain[..., idx, idx] = np.exp(1j * phase)[..., None]
        tables.append(template.replace(gain=gain, phasecentre=d, meta={"phase_screen": True}))
    log.debug("made %d phase-screen gain tables", len(tables))
    return tables
