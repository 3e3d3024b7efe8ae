"""Images to fit visibilities: :func:`create_image_from_visibility`, :func:`advise_wide_field`.

Cell size: the synthesised beam is taken as ``1 / uvmax`` radians (``uvmax`` the longest
projected baseline, ``sqrt(u² + v²)``, in wavelengths at the highest frequency), and the
default cell puts ``oversampling`` pixels across it: ``cellsize = 1 / (oversampling · uvmax)``.
The default 3 is 1.5 × finer than Nyquist (``1 / (2 uvmax)``), the usual choice of the
established imagers; the same rule as advise_wide_field's ``oversampling_synthesised_beam``.
"""

from __future__ import annotations

import logging

import ducc0
import numpy as np
from astropy.coordinates import SkyCoord

from uvflow.datamodels import (
    SPEED_OF_LIGHT,
    Image,
    PolarisationFrame,
    Visibility,
    create_image,
    to_radians,
)

from .errors import ImagingError

__all__ = ["create_image_from_visibility", "advise_wide_field", "good_image_size"]

log = logging.getLogger(__name__)


def good_image_size(n: float) -> int:
    """Smallest even FFT-friendly size (factors 2, 3 and 5: ducc0.fft.good_size for real transforms) ≥ max(n, 32)."""
    m = max(int(np.ceil(n)), 32)
    while True:
        g = ducc0.fft.good_size(m, True)
        if g % 2 == 0:
            return g
        m = g + 1


def _uvmax(vis) -> float:
    if hasattr(vis, "uv_max_wavelengths"):  # an indexed part of a file: from its index
        uvmax = float(vis.uv_max_wavelengths)
    else:
        if vis.nvis == 0:
            raise ImagingError("the visibilities are empty: no uv coverage to size an image from")
        r = float(np.max(np.hypot(vis.uvw[..., 0], vis.uvw[..., 1])))
        uvmax = r * float(np.max(vis.frequency)) / SPEED_OF_LIGHT
    if not uvmax > 0:
        raise ImagingError("every baseline has u = v = 0: give cellsize explicitly")
    return uvmax


def _diameter(vis: Visibility) -> float:
    cfg = vis.configuration
    if cfg is None or getattr(cfg, "diameter", None) is None or np.size(cfg.diameter) == 0:
        raise ImagingError(
            "the visibilities have no configuration with dish diameters; give npixel explicitly"
        )
    return float(np.min(cfg.diameter))


def create_image_from_visibility(
    vis: Visibility,
    npixel: int | tuple[int, int] | None = None,
    cellsize=None,
    nchan: int | str = 1,
    polarisation_frame: PolarisationFrame | str | None = None,
    phasecentre: SkyCoord | None = None,
    oversampling: float = 3.0,
) -> Image:
    """A zero image (Jy/pixel template) that fits ``vis``.

    Parameters
    ----------
    vis : Visibility, or an indexed part of a file
        A part (:func:`uvflow.datamodels.io.ms_index`, ``uvfits_index``) gives what is
        needed from its index: ``uv_max_wavelengths``, ``frequency``,
        ``channel_bandwidth``, ``configuration``, ``phasecentre``.
    npixel : int or (ny, nx), optional
        Default: the smallest even FFT-friendly size covering twice the primary beam
        (``2 λ_max / D`` radians, D the smallest dish), which needs ``vis.configuration``.
    cellsize : float, str or Quantity, optional
        Default ``1 / (oversampling · uvmax)`` radians (module docstring).
    nchan : int or 'vis'
        1 (default): one channel covering the whole band (MFS). 'vis': one image channel
        per visibility channel (the channels must be evenly spaced). An integer k > 1: k
        equal channels across the band.
    polarisation_frame : PolarisationFrame or str, optional
        Default stokesI.
    phasecentre : SkyCoord, optional
        Default the visibility phase centre (give another to image a shifted field).
    oversampling : float
        Pixels per synthesised beam for the default cell size.

    Returns
    -------
    Image
        float64 zeros [nchan, npol, ny, nx], CRPIX at N/2 + 1, RA increasing to the left.
    """
    if not oversampling > 0:
        raise ImagingError(f"oversampling must be > 0, got {oversampling!r}")
    cell = to_radians(cellsize) if cellsize is not None else 1.0 / (oversampling * _uvmax(vis))
    if not cell > 0:
        raise ImagingError(f"cellsize must be > 0 radians, got {cellsize!r}")
    if npixel is None:
        fov = 2.0 * (SPEED_OF_LIGHT / float(np.min(vis.frequency))) / _diameter(vis)
        npixel = good_image_size(fov / cell)
    frame = PolarisationFrame(polarisation_frame or "stokesI")
    f = np.asarray(vis.frequency, dtype=float)
    bw = np.asarray(vis.channel_bandwidth, dtype=float)
    lo, hi = float(np.min(f - bw / 2)), float(np.max(f + bw / 2))
    if isinstance(nchan, str):
        if nchan != "vis":
            raise ImagingError(f"nchan {nchan!r} unknown; use an integer or 'vis'")
        freq, width = f, (float(bw[0]) if f.size == 1 else None)
    else:
        if not (isinstance(nchan, (int, np.integer)) and nchan >= 1):
            raise ImagingError(f"nchan must be a positive integer or 'vis', got {nchan!r}")
        width = (hi - lo) / nchan
        freq = lo + width * (np.arange(nchan) + 0.5)
    return create_image(
        npixel,
        cell,
        phasecentre if phasecentre is not None else vis.phasecentre,
        frequency=freq,
        channel_bandwidth=width,
        polarisation_frame=frame,
    )


def advise_wide_field(
    vis: Visibility,
    delA: float = 0.02,
    oversampling_synthesised_beam: float = 3.0,
    guard_band_image: float = 6.0,
    wprojection_planes: int = 1,
    verbose: bool = True,
) -> dict:
    """Imaging parameters for a wide field (RASCIL's advise_wide_field keys).

    Parameters
    ----------
    vis : Visibility
        Needs ``configuration`` (dish diameters).
    delA : float
        Tolerated fractional amplitude error from w-sampling (Cornwell, Humphreys &
        Voronkov 2012, eq. 24).
    oversampling_synthesised_beam : float
        Pixels per synthesised beam.
    guard_band_image : float
        Image field of view in primary-beam widths.
    wprojection_planes : int
        Number of w-planes the kernel's support is computed for.
    verbose : bool
        Log the advice at INFO level.

    Returns
    -------
    dict
        ``max_wavelength``, ``min_wavelength`` (m); ``maximum_baseline``, ``maximum_w``
        (wavelengths); ``diameter`` (m); ``primary_beam_fov = λ_max / D``, ``image_fov =
        guard_band_image × primary_beam_fov``, ``synthesized_beam = 1 / maximum_baseline``,
        ``cellsize = synthesized_beam / oversampling_synthesised_beam`` (radians);
        ``npixels`` (even, FFT-friendly), ``npixels2`` (power of 2) covering image_fov;
        ``w_sampling_image``, ``w_sampling_primary_beam`` (wavelengths: w step keeping the
        amplitude error below delA over that field, ``sqrt(2 delA) / (π fov²)``); ``wstep``
        (= w_sampling_primary_beam) and ``nwslabs`` (w-planes over ±maximum_w);
        ``nwpixels`` (even support, in uv cells of the image, of the w-kernel at the largest
        residual w, ``maximum_w / wprojection_planes``, over the primary beam);
        ``freq_sampling_image``, ``freq_sampling_primary_beam`` (Hz) and
        ``time_sampling_image``, ``time_sampling_primary_beam`` (s): the channel width and
        integration that smear a source at the field edge by one synthesised beam.
    """
    if not (isinstance(wprojection_planes, (int, np.integer)) and wprojection_planes >= 1):
        raise ImagingError(
            f"wprojection_planes must be an integer >= 1, got {wprojection_planes!r}"
        )
    for name, value in (
        ("delA", delA),
        ("oversampling_synthesised_beam", oversampling_synthesised_beam),
        ("guard_band_image", guard_band_image),
    ):
        if not value > 0:
            raise ImagingError(f"{name} must be > 0, got {value!r}")
    max_wavelength = SPEED_OF_LIGHT / float(np.min(vis.frequency))
    min_wavelength = SPEED_OF_LIGHT / float(np.max(vis.frequency))
    maximum_baseline = _uvmax(vis)
    maximum_w = float(np.max(np.abs(vis.uvw[..., 2]))) / min_wavelength
    diameter = _diameter(vis)
    primary_beam_fov = max_wavelength / diameter
    image_fov = primary_beam_fov * guard_band_image
    synthesized_beam = 1.0 / maximum_baseline
    cellsize = synthesized_beam / oversampling_synthesised_beam
    npix = image_fov / cellsize
    w_sampling_image = np.sqrt(2.0 * delA) / (np.pi * image_fov**2)
    w_sampling_primary_beam = np.sqrt(2.0 * delA) / (np.pi * primary_beam_fov**2)
    residual_w = maximum_w / wprojection_planes
    nwpixels = 2 * int(np.ceil(residual_w * primary_beam_fov * image_fov / 2))
    advice = {
        "max_wavelength": max_wavelength,
        "min_wavelength": min_wavelength,
        "maximum_baseline": maximum_baseline,
        "maximum_w": maximum_w,
        "diameter": diameter,
        "primary_beam_fov": primary_beam_fov,
        "image_fov": image_fov,
        "synthesized_beam": synthesized_beam,
        "cellsize": cellsize,
        "npixels": good_image_size(npix),
        "npixels2": int(2 ** np.ceil(np.log2(max(npix, 32)))),
        "w_sampling_image": float(w_sampling_image),
        "w_sampling_primary_beam": float(w_sampling_primary_beam),
        "wstep": float(w_sampling_primary_beam),
        "nwslabs": max(1, int(np.ceil(2 * maximum_w / w_sampling_primary_beam))),
        "nwpixels": nwpixels,
        "freq_sampling_image": float(np.max(vis.frequency)) * synthesized_beam / image_fov,
        "freq_sampling_primary_beam": float(np.max(vis.frequency))
        * synthesized_beam
        / primary_beam_fov,
        "time_sampling_image": 86400.0 * synthesized_beam / (2 * np.pi * image_fov),
        "time_sampling_primary_beam": 86400.0 * synthesized_beam / (2 * np.pi * primary_beam_fov),
    }
    if verbose:
        for key, value in advice.items():
            log.info("advise_wide_field: %s = %.6g", key, value)
    return advice
