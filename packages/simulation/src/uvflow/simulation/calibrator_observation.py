"""A raw observation with calibrators: alternating scans, a bandpass, drifting gains, noise.

What an astronomer's data look like before calibration: scans of a flux-density calibrator
(a source of a flux standard, at its standard flux density), a phase calibrator (a point
source of a flux the observer does not know) and a target field, in the order of a
schedule, all seen through the same antennas:

``V_ij(t, ν) = B_i(ν) G_i(t) V^true_ij(t, ν) G_j(t)^* B_j(ν)^* + noise``

per receptor (diagonal Jones matrices: no leakage), with

- a bandpass ``B_a(ν) = (1 + ε_a sin(2π (ν − ν_0)/P_a + ψ_a)) exp(2πi τ_a (ν − ν_0))``
  per antenna and receptor (a ripple of amplitude ε ~ ``bandpass_ripple`` and a delay
  τ ~ N(0, ``delay_rms``²)), constant in time;
- complex gains ``G_a(t) = (1 + α_a(t)) exp(i (φ_a + β_a(t)))``: a constant instrumental
  phase φ_a (uniform, when ``gain_phase`` > 0) and smooth random functions of time
  (correlation time ``gain_timescale``) of rms ``gain_amplitude`` and ``gain_phase``, one
  per antenna and receptor, continuous over the scans of all fields (as the electronics
  and the atmosphere are);
- Gaussian noise of ``noise_sigma`` Jy on the real and imaginary parts.

The true values are returned with the scans, so that a calibration can be checked
against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time

from uvflow.calibration import apply_gaintable, create_gaintable_from_visibility, flux_density
from uvflow.calibration.flux_standards import find_flux_standard
from uvflow.datamodels import Configuration, Visibility
from uvflow.imaging import predict_dft

from .earth_orientation import transit_time
from .errors import SimulationError
from .noise import add_noise
from .observation import DEFAULT_UTC_TIME, create_visibility
from .random_fields import random_fourier_field
from .seeding import SeedLike, spawn_seeds
from .skycomponents import component_flux_at, create_skycomponent

__all__ = [
    "CalibratorObservation",
    "InstrumentErrors",
    "ObservedField",
    "flux_calibrator_field",
    "simulate_calibrator_observation",
]


@dataclass(frozen=True)
class ObservedField:
    """A field of the schedule: its name, pointing direction and true sky.

    Parameters
    ----------
    name : str
        The FIELD name written to the MeasurementSet (e.g. ``'3C286'``, ``'J1331+3030'``).
    direction : SkyCoord
        The phase centre (scalar).
    components : tuple of SkyComponent
        The field's sources (true fluxes, any spectra).
    """

    name: str
    direction: SkyCoord
    components: tuple = ()


def flux_calibrator_field(name: str, frequency) -> ObservedField:
    """A flux-standard source at its position with its standard spectrum.

    Parameters
    ----------
    name : str
        A source of :data:`uvflow.calibration.FLUX_STANDARDS` (any of its names).
    frequency : array of float64, shape [nchan]
        Hz: the channels the component's flux is tabulated at.

    Returns
    -------
    ObservedField
        Named by the standard's name, one point component at the pointing centre.
    """
    standard = find_flux_standard(name)
    direction = SkyCoord(ra=standard.ra_deg, dec=standard.dec_deg, unit="deg")
    freq = np.atleast_1d(np.asarray(frequency, float))
    flux = flux_density(standard, freq)[:, None]
    return ObservedField(standard.name, direction,
                         (create_skycomponent(direction, flux, freq, name=standard.name),))  # fmt: skip


@dataclass(frozen=True)
class InstrumentErrors:
    """Magnitudes of the instrument's errors (see the module notes).

    Parameters
    ----------
    bandpass_ripple : float
        Rms of the bandpass ripple amplitudes ε (fraction).
    delay_rms : float
        Rms of the antenna delays τ, seconds.
    gain_amplitude : float
        Rms of the gain amplitude drift α (fraction).
    gain_phase : float
        Rms of the gain phase drift β, radians.
    gain_timescale : float
        Correlation time of the drifts, seconds.
    """

    bandpass_ripple: float = 0.1
    delay_rms: float = 2e-9
    gain_amplitude: float = 0.02
    gain_phase: float = 1.0
    gain_timescale: float = 1800.0

    def __post_init__(self) -> None:
        for name in ("bandpass_ripple", "delay_rms", "gain_amplitude", "gain_phase"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise SimulationError(f"{name} must be finite and >= 0, got {value}")
        if not (np.isfinite(self.gain_timescale) and self.gain_timescale > 0):
            raise SimulationError(f"gain_timescale must be > 0 s, got {self.gain_timescale}")


@dataclass
class CalibratorObservation:
    """The scans of a simulated observation and the truth behind them.

    Attributes
    ----------
    scans : list of Visibility
        In time order; ``source`` is the field's name, ``meta['scan']`` the scan number
        (1-based).
    fields : list of ObservedField
    bandpass : numpy.ndarray of complex128, shape [nant, nchan, nrec]
        The true ``B_a(ν)``.
    gains : list of numpy.ndarray of complex128, shape [ntime, nant, nrec]
        The true ``G_a(t)`` at each scan's times.
    """

    scans: list
    fields: list
    bandpass: np.ndarray
    gains: list = field(default_factory=list)

    def field_scans(self, name: str) -> list[Visibility]:
        """The scans of the field called ``name``."""
        return [s for s in self.scans if s.source == name]


def _bandpass(rng, nant, nrec, freq, errors: InstrumentErrors) -> np.ndarray:
    f0, span = freq.mean(), max(freq.max() - freq.min(), 1.0)
    shape = (nant, 1, nrec)
    ripple = errors.bandpass_ripple * np.abs(rng.normal(1.0, 0.3, shape))
    period = span * rng.uniform(0.5, 2.0, shape)
    psi = rng.uniform(0, 2 * np.pi, shape)
    delay = rng.normal(0.0, errors.delay_rms, shape)
    df = (freq - f0)[None, :, None]
    amplitude = 1.0 + ripple * np.sin(2 * np.pi * df / period + psi)
    return amplitude * np.exp(2j * np.pi * delay * df)


def _gain_functions(rng, nant, nrec, errors: InstrumentErrors):
    """``G(t)`` [ntime, nant, nrec] for any times: random Fourier fields frozen here."""
    seeds = rng.integers(0, 2**63, size=2)
    offset = rng.uniform(-np.pi, np.pi, nant * nrec) if errors.gain_phase > 0 else 0.0

    def gains(t: np.ndarray, t0: float) -> np.ndarray:
        coords = ((np.asarray(t, float) - t0) / errors.gain_timescale)[:, None]
        amp = random_fourier_field(np.random.default_rng(seeds[0]), coords, errors.gain_amplitude,
                                   nfields=nant * nrec)  # fmt: skip
        phase = random_fourier_field(np.random.default_rng(seeds[1]), coords, errors.gain_phase,
                                     nfields=nant * nrec)  # fmt: skip
        g = (1.0 + amp) * np.exp(1j * (phase + offset))
        return g.reshape(-1, nant, nrec)

    return gains


def _scan_times(nscan, scan_length, integration_time, slew_time) -> list[np.ndarray]:
    nint = int(round(scan_length / integration_time))
    if nint < 1:
        raise SimulationError(
            f"scan_length {scan_length} s is shorter than one integration ({integration_time} s)"
        )
    step = nint * integration_time + slew_time
    return [k * step + (np.arange(nint) + 0.5) * integration_time for k in range(nscan)]


def simulate_calibrator_observation(
    config: Configuration,
    fields: list,
    schedule: list,
    frequency,
    channel_bandwidth,
    scan_length: float = 300.0,
    integration_time: float = 30.0,
    slew_time: float = 60.0,
    errors: InstrumentErrors | None = None,
    noise_sigma: float = 0.0,
    polarisation_frame: str = "linearnp",
    utc_time: Time | str = DEFAULT_UTC_TIME,
    seed: SeedLike = None,
) -> CalibratorObservation:
    """Simulate the scans of an observation of several fields through one instrument.

    Parameters
    ----------
    config : Configuration
    fields : list of ObservedField
        Distinct names.
    schedule : list of str or int
        The fields observed, scan by scan (names or indices into ``fields``).
    frequency, channel_bandwidth : array of float64, shape [nchan]
        Hz.
    scan_length, integration_time, slew_time : float
        Seconds: each scan is ``round(scan_length / integration_time)`` integrations,
        scans ``slew_time`` apart.
    errors : InstrumentErrors, optional
        Default :class:`InstrumentErrors` ().
    noise_sigma : float
        Jy, on the real and the imaginary part of every correlation (weights 1/σ²).
    polarisation_frame : str
        A frame of diagonal receptors' products: ``'linearnp'`` (XX, YY) or
        ``'circularnp'`` (RR, LL); the sources are unpolarised.
    utc_time : astropy Time or str
        The day: the schedule is centred on the last field's transit after it.
    seed : int, SeedSequence, Generator or None
        Instrument and noise draws (independent children).

    Returns
    -------
    CalibratorObservation
    """
    errors = InstrumentErrors() if errors is None else errors
    if polarisation_frame not in ("linearnp", "circularnp"):
        raise SimulationError(
            f"polarisation_frame {polarisation_frame!r}: use 'linearnp' or 'circularnp'"
        )
    fields = list(fields)
    names = [f.name for f in fields]
    if len(set(names)) != len(names) or not fields:
        raise SimulationError(f"fields need distinct names, got {names}")
    order = [names.index(s) if isinstance(s, str) and s in names else s for s in schedule]
    for s, k in zip(schedule, order):
        if not isinstance(k, (int, np.integer)) or not 0 <= k < len(fields):
            raise SimulationError(f"schedule entry {s!r} is not one of the fields {names}")
    if not (np.isfinite(noise_sigma) and noise_sigma >= 0):
        raise SimulationError(f"noise_sigma must be finite and >= 0 Jy, got {noise_sigma}")
    freq = np.atleast_1d(np.asarray(frequency, float))
    inst_seed, noise_seed = spawn_seeds(seed, 2)
    rng = np.random.default_rng(inst_seed)
    nrec = 2
    bandpass = _bandpass(rng, config.nants, nrec, freq, errors)
    gain_at = _gain_functions(rng, config.nants, nrec, errors)

    offsets = _scan_times(len(order), scan_length, integration_time, slew_time)
    span = offsets[-1][-1] + 0.5 * integration_time
    day = Time(utc_time) if isinstance(utc_time, str) else utc_time
    start = transit_time(day, config.location, fields[-1].direction) - 0.5 * span
    scans, gains = [], []
    noise_seeds = spawn_seeds(noise_seed, len(order))
    for k, (fi, t) in enumerate(zip(order, offsets)):
        f = fields[fi]
        vis = create_visibility(config, start + t, freq, channel_bandwidth, f.direction,
                                polarisation_frame, integration_time=integration_time,
                                times_are="utc", source=f.name)  # fmt: skip
        if f.components:
            comps = [c.replace(frequency=freq, flux=component_flux_at(c, freq, c.polarisation_frame))
                     for c in f.components]  # fmt: skip
            vis = predict_dft(vis, comps)
        g = gain_at(vis.time, start)
        gt = create_gaintable_from_visibility(vis, jones_type="B")
        jones = g[:, :, None, :] * bandpass[None]  # [ntime, nant, nchan, nrec]
        idx = np.arange(nrec)
        gain = np.zeros(gt.gain.shape, dtype=np.complex128)
        gain[..., idx, idx] = jones
        vis = apply_gaintable(vis, gt.replace(gain=gain))
        if noise_sigma > 0:
            vis = add_noise(vis, sigma=noise_sigma, seed=noise_seeds[k])
        scans.append(vis.replace(meta={**vis.meta, "scan": k + 1}))
        gains.append(g)
    return CalibratorObservation(scans, fields, bandpass, gains)
