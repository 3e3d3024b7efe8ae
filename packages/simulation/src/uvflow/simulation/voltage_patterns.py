"""Antenna voltage patterns as Jones matrices: ideal, gravitationally deformed, polarised.

Every pattern is a callable ``pattern(x, y, frequency, elevation)`` giving the 2×2 Jones
matrix ``[[V_XX, V_XY], [V_YX, V_YY]]`` of one antenna towards direction offsets
``(x, y)`` (sines of the angles from the pointing centre, in the antenna's frame: x along
azimuth, y along elevation) at each frequency, when the antenna points at ``elevation``.
:mod:`uvflow.simulation.dish_error_gaintables` turns them into direction-dependent gain
tables (RASCIL's ``simulate_gaintable_from_voltage_pattern``).

=========================== ===========================================================
pattern                     model
=========================== ===========================================================
:class:`IdealPattern`       circular aperture: ``2 J1(u)/u`` (``'airy'``) or a Gaussian,
                            the same on both receptors, no leakage
:class:`DeformedPattern`    the aperture integral of a uniformly illuminated dish whose
                            surface sags under gravity away from its rigging elevation
                            (astigmatism and coma, as homologous dishes deform)
:class:`PolarisedPattern`   a linear feed: X and Y beams elliptical in opposite senses
                            (E- and H-plane widths differ) and a cross-polar lobe pattern
                            ``∝ ρ² sin 2φ``
=========================== ===========================================================

RASCIL read such patterns from electromagnetic simulations of the SKA-Mid dish (FEKO
voltage patterns, and HWP surface-deformation patterns per elevation); those files are
not distributed, so uvflow models the same effects analytically, with the magnitudes as
parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from uvflow.datamodels import SPEED_OF_LIGHT

from .errors import SimulationError
from .primary_beams import AIRY_FWHM, check_beam_model, voltage_pattern

__all__ = ["DeformedPattern", "IdealPattern", "PolarisedPattern", "aperture_voltage"]


def _positive(name: str, value: float) -> float:
    if not (np.isfinite(value) and value > 0):
        raise SimulationError(f"{name} must be finite and > 0, got {value}")
    return float(value)


def _diagonal(v: np.ndarray) -> np.ndarray:
    out = np.zeros(v.shape + (2, 2), dtype=np.complex128)
    out[..., 0, 0] = v
    out[..., 1, 1] = v
    return out


@dataclass(frozen=True)
class IdealPattern:
    """A circular aperture of ``diameter`` metres: the same real pattern on both receptors.

    Parameters
    ----------
    diameter : float
        Metres.
    beam : {'airy', 'gaussian'}
        See :func:`uvflow.simulation.voltage_pattern`.
    """

    diameter: float
    beam: str = "airy"

    def __post_init__(self) -> None:
        _positive("diameter", self.diameter)
        check_beam_model(self.beam)

    def __call__(self, x, y, frequency, elevation=None) -> np.ndarray:
        """Jones matrices ``[n, nchan, 2, 2]`` complex128 at offsets ``x, y`` ``[n]``."""
        rho = np.hypot(np.asarray(x, float), np.asarray(y, float))[:, None]
        return _diagonal(voltage_pattern(rho, np.asarray(frequency, float)[None, :],
                                         self.diameter, self.beam))  # fmt: skip


def _aperture_nodes(nr: int, ntheta: int):
    """Quadrature over the unit disc: radii (Gauss–Legendre in r², exact for polynomials in
    r² up to degree 2nr−1), angles (uniform: exact for harmonics below ntheta), weights
    summing to 1."""
    t, w = np.polynomial.legendre.leggauss(nr)
    r = np.sqrt(0.5 * (t + 1.0))  # r² uniform on [0, 1] ⇔ area measure r dr
    theta = (np.arange(ntheta) + 0.5) * 2 * np.pi / ntheta
    rr, tt = np.meshgrid(r, theta, indexing="ij")
    ww = np.broadcast_to((w / w.sum())[:, None] / ntheta, rr.shape)
    return rr.ravel(), tt.ravel(), ww.ravel()


def aperture_voltage(x, y, frequency, diameter: float, path_error=None, nr: int = 24,
                     ntheta: int = 96) -> np.ndarray:  # fmt: skip
    """Far-field voltage of a uniformly illuminated circular aperture with a path-length
    error over it, normalised to 1 on axis for a perfect surface.

    ``V(x, y) = ∫ exp(2πi δ(ρ, θ)/λ) exp(2πi (X x + Y y)/λ) dA / ∫ dA`` over the aperture
    (X = ρ R cos θ, Y = ρ R sin θ, R = D/2), evaluated by quadrature; without an error it is
    ``2 J1(u)/u`` with ``u = π D sin θ/λ`` (to 1e-10 within a few beam widths with the
    default nodes).

    Parameters
    ----------
    x, y : numpy.ndarray of float64, shape [n]
        Direction offsets (sines).
    frequency : numpy.ndarray of float64, shape [nchan]
        Hz.
    diameter : float
        Metres.
    path_error : callable, optional
        ``path_error(rho, theta)`` → path-length error in metres at aperture radius ``rho``
        (0–1, in units of R) and angle ``theta`` (radians from the x axis); arrays of one
        shape. (A surface displacement δ along the axis adds a path of 2δ.)
    nr, ntheta : int
        Quadrature nodes in radius and angle.

    Returns
    -------
    numpy.ndarray of complex128, shape [n, nchan]
    """
    rho, theta, w = _aperture_nodes(int(nr), int(ntheta))
    radius = 0.5 * _positive("diameter", diameter)
    ax, ay = rho * radius * np.cos(theta), rho * radius * np.sin(theta)  # [k]
    path = np.zeros_like(rho) if path_error is None else np.asarray(path_error(rho, theta), float)
    x, y = np.asarray(x, float), np.asarray(y, float)
    out = np.empty((x.size, np.size(frequency)), dtype=np.complex128)
    for c, nu in enumerate(np.atleast_1d(frequency)):
        k = 2 * np.pi * nu / SPEED_OF_LIGHT
        aperture = w * np.exp(1j * k * path)  # [k]
        out[:, c] = np.exp(1j * k * (np.outer(x, ax) + np.outer(y, ay))) @ aperture
    return out


@dataclass(frozen=True)
class DeformedPattern:
    """A dish whose surface is perfect at its rigging elevation and sags away from it.

    A homologous dish deforms under gravity as ``(sin e − sin e_r) A + (cos e − cos e_r) B``
    (e the elevation, e_r the rigging elevation; A the deformation looking at the zenith,
    B at the horizon). Here A is astigmatism, ``√6 ρ² cos 2θ``, and B vertical coma,
    ``√8 (3ρ³ − 2ρ) sin θ`` (Zernike terms of unit rms over the aperture), scaled to the
    given surface rms; the path error is twice the surface displacement. The pattern is
    the aperture integral (:func:`aperture_voltage`), the same on both receptors.

    Parameters
    ----------
    diameter : float
        Metres.
    zenith_rms, horizon_rms : float
        Surface rms of A and B, metres (a deformation of ``zenith_rms · (sin e − sin e_r)``
        rms at elevation e). Defaults 1 mm: about 0.1 rad of phase at 1.4 GHz, 0.9 rad at
        12 GHz.
    rigging_elevation : float
        Degrees; the surface is perfect there.
    """

    diameter: float
    zenith_rms: float = 1e-3
    horizon_rms: float = 1e-3
    rigging_elevation: float = 45.0

    def __post_init__(self) -> None:
        _positive("diameter", self.diameter)
        for name in ("zenith_rms", "horizon_rms"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise SimulationError(
                    f"{name} must be finite and >= 0 m, got {getattr(self, name)}"
                )
        if not 0 <= self.rigging_elevation <= 90:
            raise SimulationError(
                f"rigging_elevation must be in [0, 90] degrees, got {self.rigging_elevation}"
            )

    def path_error(self, elevation: float):
        """The path-length error (metres) over the aperture at ``elevation`` (radians)."""
        er = np.radians(self.rigging_elevation)
        a = self.zenith_rms * (np.sin(elevation) - np.sin(er))
        b = self.horizon_rms * (np.cos(elevation) - np.cos(er))

        def path(rho, theta):
            astig = np.sqrt(6.0) * rho**2 * np.cos(2 * theta)
            coma = np.sqrt(8.0) * (3 * rho**3 - 2 * rho) * np.sin(theta)
            return 2.0 * (a * astig + b * coma)

        return path

    def __call__(self, x, y, frequency, elevation) -> np.ndarray:
        """Jones matrices ``[n, nchan, 2, 2]`` at offsets ``x, y`` ``[n]`` and elevations
        ``[n]`` (radians; the aperture integral is done once per distinct elevation)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        elevation = np.broadcast_to(np.asarray(elevation, float), x.shape)
        out = np.empty((x.size, np.size(frequency)), dtype=np.complex128)
        levels, inverse = np.unique(elevation, return_inverse=True)
        for i, e in enumerate(levels):
            sel = inverse.ravel() == i
            out[sel] = aperture_voltage(x[sel], y[sel], frequency, self.diameter,
                                        self.path_error(e))  # fmt: skip
        return _diagonal(out)


@dataclass(frozen=True)
class PolarisedPattern:
    """A dish with a linear feed: elliptical co-polar beams and a cross-polar pattern.

    With ρ the offset and φ its angle from the x (azimuth) axis:
    ``V_XX = V(ρ (1 + ε cos 2φ))``, ``V_YY = V(ρ (1 − ε cos 2φ))`` (the X beam narrower
    along x, the Y beam along y: E- and H-plane widths differ by 2ε), and
    ``V_XY = V_YX = κ (ρ/ρ_h)² sin 2φ V(ρ)``, the four-lobed cross-polar pattern of a
    reflector with a linear feed, 0 on axis and κ at the half-power radius ρ_h.
    ``nominal()`` is the symmetrised pattern RASCIL compared against: ``(V_XX + V_YY)/2``
    on both receptors, no leakage.

    Parameters
    ----------
    diameter : float
        Metres.
    ellipticity : float
        ε, in [0, 0.5).
    leakage : float
        κ, the cross-polar voltage at the half-power radius (0.03: −30 dB).
    beam : {'airy', 'gaussian'}
    symmetric : bool
        True gives the nominal pattern.
    """

    diameter: float
    ellipticity: float = 0.02
    leakage: float = 0.03
    beam: str = "airy"
    symmetric: bool = False

    def __post_init__(self) -> None:
        _positive("diameter", self.diameter)
        if not 0 <= self.ellipticity < 0.5:
            raise SimulationError(f"ellipticity must be in [0, 0.5), got {self.ellipticity}")
        if not (np.isfinite(self.leakage) and self.leakage >= 0):
            raise SimulationError(f"leakage must be finite and >= 0, got {self.leakage}")
        check_beam_model(self.beam)

    def nominal(self) -> PolarisedPattern:
        """The symmetrised pattern (same parameters, ``symmetric=True``)."""
        return PolarisedPattern(self.diameter, self.ellipticity, self.leakage, self.beam, True)

    def __call__(self, x, y, frequency, elevation=None) -> np.ndarray:
        """Jones matrices ``[n, nchan, 2, 2]`` complex128 at offsets ``x, y`` ``[n]``."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        rho, phi = np.hypot(x, y)[:, None], np.arctan2(y, x)[:, None]
        nu = np.asarray(frequency, float)[None, :]
        stretch = self.ellipticity * np.cos(2 * phi)

        def v(r):
            return voltage_pattern(r, nu, self.diameter, self.beam)

        vxx, vyy = v(rho * (1 + stretch)), v(rho * (1 - stretch))
        out = np.zeros(np.broadcast(rho, nu).shape + (2, 2), dtype=np.complex128)
        if self.symmetric:
            out[..., 0, 0] = out[..., 1, 1] = 0.5 * (vxx + vyy)
            return out
        rho_half = 0.5 * AIRY_FWHM * SPEED_OF_LIGHT / nu / self.diameter
        cross = self.leakage * (rho / rho_half) ** 2 * np.sin(2 * phi) * v(rho)
        out[..., 0, 0], out[..., 1, 1] = vxx, vyy
        out[..., 0, 1] = out[..., 1, 0] = cross
        return out
