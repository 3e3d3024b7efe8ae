"""Simple primary beams (power patterns of a circular aperture) and applying them.

Models, for a dish (or station) of diameter D at wavelength λ and angle θ from the pointing
centre, with ρ = sin θ:

- ``'airy'``: the uniformly illuminated aperture, ``A(ρ) = (2 J1(x) / x)²`` with
  ``x = π D ρ / λ`` (half-power width 1.029 λ/D, first null at 1.22 λ/D);
- ``'gaussian'``: ``A(ρ) = exp(-4 ln 2 ρ² / FWHM²)`` with FWHM = 1.029 λ/D, the Airy main
  lobe's width (no sidelobes).

The beam is unpolarised: every polarisation plane carries the same power pattern, so
applying it scales I, Q, U, V (or XX … YY) alike.
"""

from __future__ import annotations

import logging

import numpy as np
from astropy.coordinates import SkyCoord
from scipy.special import j1

from uvflow.datamodels import SPEED_OF_LIGHT, Configuration, Image, SkyComponent

from .directions import unit_vectors
from .errors import SimulationError

__all__ = [
    "BEAM_MODELS",
    "KNOWN_DIAMETERS",
    "beam_pattern",
    "check_beam_model",
    "create_pb",
    "dish_diameter",
    "voltage_pattern",
    "apply_beam_to_skycomponent",
]

log = logging.getLogger(__name__)

BEAM_MODELS = ("airy", "gaussian")
KNOWN_DIAMETERS = {
    "MEERKAT": 13.5,
    "VLA": 25.0,
    "SKA1-LOW": 35.0,
    "LOW": 35.0,
    "LOWBD2": 35.0,
    "SKA1-MID": 15.0,
    "MID": 15.0,
    "ASKAP": 12.0,
}
AIRY_FWHM = 1.02899397  # half-power width of the Airy pattern in λ/D


def dish_diameter(telescope, diameter=None) -> float:
    """The dish (station) diameter in metres: ``diameter`` if given, else the one size of a
    Configuration's antennas, else the size known for a telescope name
    (:data:`KNOWN_DIAMETERS`); a SimulationError names what is missing or unknown."""
    if diameter is not None:
        if not (np.isfinite(diameter) and diameter > 0):
            raise SimulationError(f"diameter must be > 0 m, got {diameter}")
        return float(diameter)
    if isinstance(telescope, Configuration):
        values = np.unique(telescope.diameter)
        if values.size != 1:
            raise SimulationError(
                f"configuration {telescope.name!r} has dishes of {values.tolist()} m; pass diameter="
            )
        return float(values[0])
    if telescope is None:
        raise SimulationError("give a telescope (name or Configuration) or a diameter (m)")
    key = str(telescope).upper().replace("_", "-")
    for name in (key, key.split("-")[0]):
        if name in KNOWN_DIAMETERS:
            return KNOWN_DIAMETERS[name]
    raise SimulationError(
        f"telescope {telescope!r} unknown; known: {', '.join(KNOWN_DIAMETERS)} (or pass diameter=)"
    )


def check_beam_model(beam: str) -> str:
    """``beam`` if it is one of :data:`BEAM_MODELS`, else a SimulationError listing them."""
    if beam not in BEAM_MODELS:
        raise SimulationError(f"beam {beam!r} unknown; use one of {', '.join(BEAM_MODELS)}")
    return beam


def voltage_pattern(rho, frequency, diameter: float, beam: str = "airy") -> np.ndarray:
    """Voltage (field) pattern of a circular aperture at ``rho = sin θ`` and ``frequency``.

    Parameters
    ----------
    rho : float or numpy.ndarray of float64, any shape
        Sine of the angle from the pointing centre (0 on axis).
    frequency : float or numpy.ndarray of float64 (broadcast against ``rho``)
        Hz.
    diameter : float
        Aperture diameter, metres.
    beam : {'airy', 'gaussian'}
        ``'airy'``: ``2 J1(x)/x`` with ``x = π D ρ / λ`` (negative in the odd sidelobes);
        ``'gaussian'``: the square root of the Gaussian power pattern of half-power width
        1.029 λ/D.

    Returns
    -------
    numpy.ndarray of float64, the broadcast shape
        Voltage pattern, 1 on axis; :func:`beam_pattern` is its square.

    Raises
    ------
    SimulationError
        An unknown ``beam`` (the message lists the known ones).
    """
    check_beam_model(beam)
    lam = SPEED_OF_LIGHT / np.asarray(frequency, float)
    rho = np.asarray(rho, float)
    if beam == "gaussian":
        fwhm = AIRY_FWHM * lam / diameter
        return np.exp(-2.0 * np.log(2.0) * (rho / fwhm) ** 2)
    x = np.pi * diameter * rho / lam
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 1.0, 2.0 * j1(safe) / safe)


def beam_pattern(rho, frequency, diameter: float, beam: str = "airy") -> np.ndarray:
    """Power pattern of a circular aperture at ``rho = sin θ`` and ``frequency``: the square
    of :func:`voltage_pattern` (same parameters).

    Returns
    -------
    numpy.ndarray of float64, the broadcast shape
        Power pattern, 1 on axis: ``(2 J1(x)/x)²`` for ``'airy'``, the Gaussian of
        half-power width 1.029 λ/D for ``'gaussian'``.
    """
    return voltage_pattern(rho, frequency, diameter, beam) ** 2


def _sin_offset(directions: np.ndarray, pointing: SkyCoord) -> np.ndarray:
    p = unit_vectors(pointing)
    cosang = np.clip(directions @ p, -1.0, 1.0)
    return np.where(cosang > 0, np.sqrt(1.0 - cosang**2), 1.0)


def create_pb(
    image: Image,
    telescope: str | Configuration | None = None,
    diameter: float | None = None,
    beam: str = "airy",
    pointingcentre: SkyCoord | None = None,
) -> Image:
    """The primary-beam power pattern on ``image``'s grid and channels.

    Parameters
    ----------
    image : Image
        Template: shape, WCS and channel frequencies.
    telescope : str or Configuration, optional
        A name in :data:`KNOWN_DIAMETERS` (``'MEERKAT'`` 13.5 m, ``'VLA'`` 25 m, ``'LOW'``
        35 m stations, …) or a configuration with one dish size.
    diameter : float, optional
        Metres; overrides ``telescope``.
    beam : {'airy', 'gaussian'}
    pointingcentre : SkyCoord, optional
        Default the image's phase centre.

    Returns
    -------
    Image
        data [nchan, npol, ny, nx] float64 in [0, 1], 1 at the pointing centre, 0 beyond
        90 degrees and where the projection has no sky.
    """
    d = dish_diameter(telescope, diameter)
    check_beam_model(beam)
    pointing = image.phasecentre if pointingcentre is None else pointingcentre
    yy, xx = np.mgrid[0 : image.ny, 0 : image.nx]
    sky = image.pixel_to_sky(xx.ravel(), yy.ravel())
    vec = unit_vectors(sky)
    valid = np.all(np.isfinite(vec), axis=-1)
    rho = _sin_offset(np.where(valid[:, None], vec, 0.0), pointing)
    data = np.zeros(image.shape, dtype=np.float64)
    for c, nu in enumerate(image.frequency):
        pattern = np.where(valid, beam_pattern(rho, nu, d, beam), 0.0).reshape(image.ny, image.nx)
        data[c, :, :, :] = pattern[None]
    pb = image.replace(data=data, meta={**image.meta, "BUNIT": "", "OBJECT": "primary beam"})
    return pb.replace(wcs=image.wcs.deepcopy(), clean_beam=None)


def _bilinear(plane: np.ndarray, x: float, y: float) -> float | None:
    """Bilinear value of ``plane`` at pixel (x, y); None outside the pixel area."""
    ny, nx = plane.shape
    if not (-0.5 <= x <= nx - 0.5 and -0.5 <= y <= ny - 0.5):
        return None
    xc, yc = min(max(x, 0.0), nx - 1.0), min(max(y, 0.0), ny - 1.0)
    x0, y0 = min(int(xc), max(nx - 2, 0)), min(int(yc), max(ny - 2, 0))
    x1, y1 = min(x0 + 1, nx - 1), min(y0 + 1, ny - 1)
    fx, fy = xc - x0, yc - y0
    return float(
        plane[y0, x0] * (1 - fx) * (1 - fy) + plane[y0, x1] * fx * (1 - fy)
        + plane[y1, x0] * (1 - fx) * fy + plane[y1, x1] * fx * fy
    )  # fmt: skip


def apply_beam_to_skycomponent(
    components, beam: Image, inverse: bool = False
) -> list[SkyComponent]:
    """Components with their flux multiplied (or divided, ``inverse``) by the beam.

    The beam is interpolated bilinearly at each component's pixel position; each component
    channel uses the beam channel nearest in frequency. Beam plane 0 is used for every
    polarisation unless the beam has the component's polarisation frame (then plane by
    plane). A component outside the beam image gets flux 0 (warning logged); with
    ``inverse`` a beam value below 1e-6 raises :class:`SimulationError`.

    Parameters
    ----------
    components : SkyComponent or list of SkyComponent
    beam : Image
        e.g. from :func:`create_pb`.
    inverse : bool

    Returns
    -------
    list of SkyComponent
        New components (inputs unchanged), in the same order.
    """
    comps = [components] if isinstance(components, SkyComponent) else list(components)
    bfreq = beam.frequency
    out, outside = [], 0
    for comp in comps:
        x, y = (float(v) for v in beam.sky_to_pixel(comp.direction))
        chans = np.abs(comp.frequency[:, None] - bfreq[None, :]).argmin(axis=1)
        same_frame = beam.polarisation_frame == comp.polarisation_frame
        gain = np.zeros(comp.flux.shape)
        missing = not (np.isfinite(x) and np.isfinite(y))
        for i, c in enumerate(chans):
            for p in range(comp.npol):
                v = None if missing else _bilinear(beam.data[c, p if same_frame else 0], x, y)
                if v is None:
                    missing = True
                    break
                gain[i, p] = v
        if missing:
            outside += 1
            gain[:] = 0.0
            if inverse:
                raise SimulationError(f"component {comp.name!r} lies outside the beam image")
        if inverse:
            if np.any(gain < 1e-6):
                raise SimulationError(
                    f"beam at component {comp.name!r} is {gain.min():.3g}: too small to divide by"
                )
            flux = comp.flux / gain
        else:
            flux = comp.flux * gain
        out.append(comp.replace(flux=flux, params=dict(comp.params)))
    if outside:
        log.warning(
            "%d of %d components lie outside the beam image: flux set to 0", outside, len(comps)
        )
    return out
