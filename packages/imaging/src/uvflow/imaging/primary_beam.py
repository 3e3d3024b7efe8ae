"""Primary beams of the common telescopes, and primary-beam correction of images.

The power pattern ``A(θ, ν)`` of a telescope's antennas (unpolarised, circularly
symmetric, 1 at the pointing centre), evaluated on an image's pixels, divides the image to
give the sky's intrinsic brightness (WSClean's ``-apply-primary-beam``; ``-pb.fits`` is
the beam, ``-image-pb.fits`` the corrected image). Pixels where the beam is below a
cut-off are blanked (NaN), as WSClean's ``-primary-beam-limit``.

============== ================================================================= ========
telescope      model                                                             source
============== ================================================================= ========
VLA            ``1 + G1 x + G2 x² + G3 x³``, ``x = (θ[arcmin] ν[GHz])²``, per band [1]
               (P < 1.1 GHz, L < 2, C < 6 (also S), X < 10, U < 18, K < 30, Q)
MeerKAT        ``[cos(1.189 π ρ) / (1 − 4 (1.189 ρ)²)]²``, ``ρ = θ / θ_b``,       [2]
               ``θ_b = 57.5′ × 1.5 GHz / ν`` (L band; UHF scaled by frequency)
SKA-Mid        Airy pattern of a 15 m dish, ``(2 J1(u) / u)²``, ``u = π D sin θ / λ`` [3]
SKA-Low        Airy pattern of a 38 m station                                    [3]
============== ================================================================= ========

[1] AIPS PBCOR / Obit ``ObitPBUtilPoly`` (Napier & Rots 1982, VLA Test Memo 134): the
    VLA's standard primary-beam polynomial, valid down to ~1 % of the peak.
[2] Mauch et al. 2020, ApJ 888, 61, eq. 3 (the L-band Stokes-I beam, FWHM 57.5′ at 1.5 GHz).
[3] A uniformly illuminated aperture (SKA design baseline dish and station diameters).

EveryBeam (``pip install everybeam``) holds element-level models of LOFAR, MWA, SKA-Low
and others; these analytic ones need no data files and cover the dishes above.
"""

from __future__ import annotations

import numpy as np
from scipy.special import j1

from uvflow.datamodels import SPEED_OF_LIGHT, Image

from .errors import ImagingError

__all__ = [
    "PRIMARY_BEAM_TELESCOPES",
    "apply_primary_beam",
    "primary_beam",
    "primary_beam_image",
    "telescope_beam_name",
]

#: VLA band upper edges (Hz) and PBCOR coefficients G1, G2, G3 [1]
_VLA_BANDS = (
    (1.1e9, (-0.935e-3, 3.23e-7, -0.378e-10)),  # P
    (2.0e9, (-1.343e-3, 6.579e-7, -1.186e-10)),  # L
    (6.0e9, (-1.372e-3, 6.940e-7, -1.309e-10)),  # C (and S)
    (10.0e9, (-1.306e-3, 6.253e-7, -1.100e-10)),  # X
    (18.0e9, (-1.305e-3, 6.155e-7, -1.030e-10)),  # U
    (30.0e9, (-1.417e-3, 7.332e-7, -1.352e-10)),  # K
    (np.inf, (-1.321e-3, 6.185e-7, -0.983e-10)),  # Q
)
_AIRY_DIAMETERS = {"SKA-MID": 15.0, "SKA-LOW": 38.0}
#: Telescopes with a model, by the names an MS's OBSERVATION table gives them
PRIMARY_BEAM_TELESCOPES = {
    "VLA": "VLA", "EVLA": "VLA", "JVLA": "VLA",
    "VLA-A": "VLA", "VLA-B": "VLA", "VLA-C": "VLA", "VLA-D": "VLA",
    "MEERKAT": "MEERKAT",
    "SKA-MID": "SKA-MID", "SKA1-MID": "SKA-MID", "MID": "SKA-MID",
    "SKA-LOW": "SKA-LOW", "SKA1-LOW": "SKA-LOW", "LOW": "SKA-LOW",
}  # fmt: skip


def telescope_beam_name(telescope: str) -> str:
    """The beam model of ``telescope`` (case-insensitive), or an ImagingError listing them."""
    key = str(telescope or "").strip().upper()
    if key not in PRIMARY_BEAM_TELESCOPES:
        raise ImagingError(
            f"no primary-beam model for telescope {telescope!r}; models exist for "
            f"{', '.join(sorted(PRIMARY_BEAM_TELESCOPES))}"
        )
    return PRIMARY_BEAM_TELESCOPES[key]


def primary_beam(telescope: str, theta: np.ndarray, frequency: float) -> np.ndarray:
    """The power pattern at angles ``theta`` (radians) from the pointing centre.

    Parameters
    ----------
    telescope : str
        A name of :data:`PRIMARY_BEAM_TELESCOPES`.
    theta : numpy.ndarray of float
        Angles from the pointing centre, radians.
    frequency : float
        Hz.

    Returns
    -------
    numpy.ndarray of float64
        Of ``theta``'s shape, 1 at the centre; past the first null (where the models stop
        being meaningful) 0.
    """
    name = telescope_beam_name(telescope)
    if not (np.isfinite(frequency) and frequency > 0):
        raise ImagingError(f"frequency must be > 0 Hz, got {frequency!r}")
    theta = np.abs(np.asarray(theta, dtype=np.float64))
    if name == "VLA":
        coeffs = next(c for top, c in _VLA_BANDS if frequency < top)
        x = (np.rad2deg(theta) * 60.0 * frequency / 1e9) ** 2
        pb = 1.0 + x * (coeffs[0] + x * (coeffs[1] + x * coeffs[2]))
        return np.where(_before_first_minimum(x, coeffs), np.clip(pb, 0.0, 1.0), 0.0)
    if name == "MEERKAT":
        fwhm = np.deg2rad(57.5 / 60.0) * 1.5e9 / frequency
        r = 1.189 * theta / fwhm
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.cos(np.pi * r) / (1.0 - 4.0 * r * r)
        a = np.where(np.isclose(4.0 * r * r, 1.0), np.pi / 4.0, a)
        return np.where(r < 1.5, a * a, 0.0)
    u = np.pi * _AIRY_DIAMETERS[name] * np.sin(theta) * frequency / SPEED_OF_LIGHT
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(u > 0, 2.0 * j1(u) / u, 1.0)
    return np.where(u < 3.8317, a * a, 0.0)  # to the first null (J1's first zero)


def _before_first_minimum(x: np.ndarray, coeffs) -> np.ndarray:
    """Where the polynomial in ``x`` falls monotonically from 1 (before its first minimum)."""
    g1, g2, g3 = coeffs
    # d/dx (1 + g1 x + g2 x² + g3 x³) = g1 + 2 g2 x + 3 g3 x² = 0
    roots = np.roots([3 * g3, 2 * g2, g1])
    real = roots[np.isreal(roots)].real
    xmin = real[real > 0].min() if np.any(real > 0) else np.inf
    return x < xmin


def primary_beam_image(template: Image, telescope: str, pointing=None) -> Image:
    """The primary beam on ``template``'s pixels (each channel at its own frequency).

    Parameters
    ----------
    template : Image
        ``data[nchan, npol, ny, nx]``; its grid and frequencies.
    telescope : str
        As :func:`primary_beam`.
    pointing : astropy.coordinates.SkyCoord, optional
        The pointing centre (default: the image's reference direction).

    Returns
    -------
    Image
        float32, every polarisation plane the same; BUNIT '' (a gain).
    """
    from .pixel_geometry import direction_cosines

    # the pointing's (l, m) in the image's SIN frame; pixels are linear in (l, m) there
    l0, m0, _ = (0.0, 0.0, 1.0) if pointing is None else direction_cosines(
        pointing, template.phasecentre)  # fmt: skip
    cell_x = np.deg2rad(-template.wcs.wcs.cdelt[0])
    cell_y = np.deg2rad(template.wcs.wcs.cdelt[1])
    x = np.arange(template.nx) - (template.wcs.wcs.crpix[0] - 1.0)
    y = np.arange(template.ny) - (template.wcs.wcs.crpix[1] - 1.0)
    dl, dm = np.meshgrid(-x * cell_x - l0, y * cell_y - m0)  # l increases to the left (east)
    theta = np.arcsin(np.clip(np.hypot(dl, dm), 0.0, 1.0))
    data = np.empty(template.shape, np.float32)
    for c, f in enumerate(template.frequency):
        data[c] = primary_beam(telescope, theta, float(f))[None]
    return template.replace(data=data, wcs=template.wcs.deepcopy(), clean_beam=None,
                            meta={"BUNIT": "", "TELESCOP": str(telescope)})  # fmt: skip


def apply_primary_beam(image: Image, beam: Image, limit: float = 0.005) -> Image:
    """``image / beam``, blanked (NaN) where the beam is below ``limit`` of its peak.

    Parameters
    ----------
    image, beam : Image
        The same shape (``beam`` from :func:`primary_beam_image`).
    limit : float
        In (0, 1): WSClean's ``-primary-beam-limit`` (its default 0.005).

    Returns
    -------
    Image
        Of ``image``'s dtype and metadata, the beam and unit kept.
    """
    if not (0 < limit < 1):
        raise ImagingError(f"primary-beam limit must be in (0, 1), got {limit!r}")
    if beam.shape != image.shape:
        raise ImagingError(f"beam shape {list(beam.shape)} differs from image {list(image.shape)}")
    with np.errstate(divide="ignore", invalid="ignore"):
        data = np.where(beam.data >= limit, image.data / beam.data, np.nan)
    return image.replace(data=data.astype(image.data.dtype, copy=False))
