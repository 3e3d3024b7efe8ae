"""Synthetic deconvolution problems and the conformance check of deconvolver plugins.

``synthetic_psf`` makes a PSF from a realistic uv coverage (an hour-angle track of a random
array, gridded with numpy onto an FFT grid: no gridder involved), ``point_source_dirty``
an exact noise-free dirty image ``sky ⊛ psf`` of point sources on pixel centres (linear
convolution, so a PSF twice the image size gives every sidelobe), and
``check_deconvolver`` runs a deconvolver through the :class:`~.deconvolvers.Deconvolver`
protocol on a tiny polarised 3-channel problem, raising AssertionError (with the numbers)
unless it

1. follows the protocol and leaves its inputs unchanged;
2. returns model and residual Images of the dirty image's shape and pixel grid, the model
   in Jy/pixel with ``meta['NITER']`` > 0;
3. returns the residual ``dirty - model ⊛ psf`` (to 1e-6 of the dirty peak);
4. cleans: the Stokes I residual peak falls below 20 % of the dirty peak in every channel,
   and the Stokes I model flux is within 10 % of the true flux.
"""

from __future__ import annotations

import numpy as np
from astropy.coordinates import SkyCoord
from scipy.signal import fftconvolve

from uvflow.datamodels import SPEED_OF_LIGHT, Image, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility

from .deconvolver_plugins import Deconvolver

__all__ = ["synthetic_psf", "point_source_dirty", "check_deconvolver"]

_CENTRE = SkyCoord(ra=15.0, dec=-45.0, unit="deg")


def synthetic_psf(
    npixel: int,
    frequency=(1.0e8,),
    cellsize: float | None = None,
    nant: int = 20,
    radius: float = 1000.0,
    ntime: int = 12,
    hour_angle_span: float = np.pi / 2,
    polarisation_frame: str = "stokesI",
    seed: int = 0,
) -> Image:
    """A naturally weighted PSF [nchan, npol, npixel, npixel], peak 1 at (npixel//2, npixel//2).

    uv points of an ``ntime``-sample hour-angle track of ``nant`` random antennas within
    ``radius`` metres (w ignored) are added to the nearest cell of an FFT grid (and their
    mirror points, so the PSF is real); the PSF is the inverse FFT. Every channel scales
    the uv points by its frequency, so PSFs shrink as frequency rises. Every polarisation
    plane gets the same PSF. ``cellsize`` (radians) defaults to a fifth of the finest
    fringe (about 3.5 pixels across the main lobe at the highest frequency).
    """
    freq = np.atleast_1d(np.asarray(frequency, dtype=float))
    config = random_configuration(nant=nant, radius=radius, seed=seed)
    vis = simple_visibility(
        config, ntime=ntime, frequency=freq, hour_angle_span=hour_angle_span, zerow=True
    )
    uv = vis.uvw[..., :2].reshape(-1, 2)  # metres
    if cellsize is None:
        umax = np.abs(uv).max() * freq.max() / SPEED_OF_LIGHT
        cellsize = 0.2 / umax
    bw = float(freq[1] - freq[0]) if freq.size > 1 else 1.0e6
    im = create_image(npixel, cellsize, _CENTRE, freq, channel_bandwidth=bw,
                      polarisation_frame=polarisation_frame)  # fmt: skip
    du = 1.0 / (npixel * cellsize)
    c = npixel // 2
    for ch, f in enumerate(freq):
        lam = uv * f / SPEED_OF_LIGHT
        # x runs opposite to l (RA increases to the left): u goes on the grid negated
        iu = np.rint(-lam[:, 0] / du).astype(int)
        iv = np.rint(lam[:, 1] / du).astype(int)
        ok = (np.abs(iu) < c) & (np.abs(iv) < c)
        grid = np.zeros((npixel, npixel))
        np.add.at(grid, (c + iv[ok], c + iu[ok]), 1.0)
        np.add.at(grid, (c - iv[ok], c - iu[ok]), 1.0)
        psf = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(grid))).real
        im.data[ch, :] = psf / psf[c, c]
    return im


def point_source_dirty(npixel: int, psf: Image, pixels, fluxes) -> tuple[Image, Image]:
    """The sky of point sources and its exact dirty image ``sky ⊛ psf`` (linear convolution).

    Parameters
    ----------
    npixel : int
        Image size (the PSF may be larger: twice gives every sidelobe).
    psf : Image
        [nchan, npol, py, px], peak at (py//2, px//2); its cellsize and channels are used.
    pixels : sequence of (y, x)
        Source positions, pixel centres.
    fluxes : array of float, shape [nsrc], [nsrc, nchan] or [nsrc, nchan, npol]
        Jy.

    Returns
    -------
    sky, dirty : Image
        sky in Jy/pixel, dirty in Jy/beam; float64 [nchan, npol, npixel, npixel].
    """
    sky = create_image(
        npixel, psf.cellsize, psf.phasecentre, psf.frequency,
        channel_bandwidth=psf.channel_bandwidth[0], polarisation_frame=psf.polarisation_frame,
    )  # fmt: skip
    f = np.asarray(fluxes, dtype=float)
    f = f.reshape(f.shape + (1,) * (3 - f.ndim))
    for k, (y, x) in enumerate(pixels):
        sky.data[:, :, y, x] += np.broadcast_to(f[k], sky.shape[:2])
    cy, cx = psf.ny // 2, psf.nx // 2
    full = fftconvolve(sky.data, psf.data, mode="full", axes=(-2, -1))
    dirty = sky.replace(data=full[..., cy : cy + npixel, cx : cx + npixel].copy(), meta={})
    return sky.replace(meta={"BUNIT": "JY/PIXEL"}), dirty


def check_deconvolver(deconvolver: Deconvolver, niter: int = 300) -> dict:
    """Run ``deconvolver`` on a tiny polarised 3-channel problem; AssertionError unless it conforms.

    Returns the measured numbers (``residual_error``, ``peak_ratio``, ``flux_error``).
    """
    assert isinstance(deconvolver, Deconvolver), (
        f"{type(deconvolver).__name__} lacks the Deconvolver protocol (name, deconvolve)"
    )
    n = 48
    freq = [0.9e8, 1.0e8, 1.1e8]
    psf = synthetic_psf(2 * n, freq, polarisation_frame="stokesIQUV", nant=12, ntime=6)
    pixels = [(20, 22), (30, 31)]
    spectra = np.array([(np.array(freq) / 1e8) ** -0.7, (np.array(freq) / 1e8) ** 0.3])
    stokes = np.array([[1.0, 0.3, -0.2, 0.05], [0.5, -0.1, 0.1, 0.0]])
    fluxes = spectra[:, :, None] * stokes[:, None, :]  # [nsrc, nchan, npol]
    sky, dirty = point_source_dirty(n, psf, pixels, fluxes)
    before = (dirty.data.copy(), psf.data.copy())
    model, residual = deconvolver.deconvolve(
        dirty, psf, window=None, niter=niter, gain=0.2, threshold=0.0, fractional_threshold=0.005
    )
    assert np.array_equal(dirty.data, before[0]) and np.array_equal(psf.data, before[1]), (
        "deconvolve modified its inputs"
    )
    for what, im in (("model", model), ("residual", residual)):
        assert isinstance(im, Image), f"{what} is a {type(im).__name__}, not an Image"
        assert im.shape == dirty.shape, f"{what} shape {im.shape} != dirty {dirty.shape}"
        for attr in ("crpix", "crval", "cdelt"):
            assert np.allclose(getattr(im.wcs.wcs, attr), getattr(dirty.wcs.wcs, attr)), (
                f"{what} WCS {attr} differs from the dirty image's"
            )
    assert model.meta.get("BUNIT") == "JY/PIXEL", f"model BUNIT {model.meta.get('BUNIT')!r}"
    assert int(model.meta.get("NITER", 0)) > 0, "model meta NITER missing or 0"
    cy, cx = psf.ny // 2, psf.nx // 2
    full = fftconvolve(model.data.astype(float), psf.data, mode="full", axes=(-2, -1))
    expected = dirty.data - full[..., cy : cy + n, cx : cx + n]
    peak = float(np.abs(dirty.data).max())
    err = float(np.abs(residual.data - expected).max()) / peak
    assert err < 1e-6, f"residual differs from dirty - model ⊛ psf by {err:.3g} of the peak"
    ratio = max(
        float(np.abs(residual.data[c, 0]).max() / np.abs(dirty.data[c, 0]).max())
        for c in range(dirty.nchan)
    )
    assert ratio < 0.2, f"Stokes I residual peak is {ratio:.3f} of the dirty peak (want < 0.2)"
    flux = model.data[:, 0].sum(axis=(-2, -1))
    true = sky.data[:, 0].sum(axis=(-2, -1))
    ferr = float(np.max(np.abs(flux - true) / true))
    assert ferr < 0.1, f"Stokes I model flux off by {ferr:.3f} (fraction; want < 0.1)"
    return {"residual_error": err, "peak_ratio": ratio, "flux_error": ferr}
