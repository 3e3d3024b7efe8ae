"""Clean-beam fitting (conventions pinned on explicit synthetic beams) and restoring."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from uvflow.datamodels import create_image, export_image_to_fits
from uvflow.imaging import deconvolve_cube, fit_psf, restore_cube
from uvflow.imaging.deconvolution import DeconvolutionError
from uvflow.imaging.deconvolution.conformance import point_source_dirty, synthetic_psf

CELL_DEG = 0.01


def gaussian_psf(n, bmaj_px, bmin_px, bpa_deg, centre_offset=(0.0, 0.0)):
    """An elliptical Gaussian PSF built from the documented convention, independently of the
    library: the major axis points along pixel offsets (dx, dy) ∝ (-sin bpa, cos bpa) —
    north is +y, east is -x (CDELT1 < 0) — and bmaj, bmin are FWHM in pixels."""
    from astropy.coordinates import SkyCoord

    im = create_image(n, np.deg2rad(CELL_DEG), SkyCoord(ra=30.0, dec=-30.0, unit="deg"), 1.0e8)
    yy, xx = np.indices((n, n), dtype=float)
    dx, dy = xx - n // 2 - centre_offset[1], yy - n // 2 - centre_offset[0]
    th = np.deg2rad(bpa_deg)
    along = -dx * np.sin(th) + dy * np.cos(th)  # projection on (-sin, cos)
    across = dx * np.cos(th) + dy * np.sin(th)  # on the perpendicular (cos, sin)
    f = 2.0 * np.sqrt(2.0 * np.log(2.0))
    im.data[0, 0] = np.exp(-0.5 * ((along * f / bmaj_px) ** 2 + (across * f / bmin_px) ** 2))
    return im


@pytest.mark.parametrize("bpa", [-60.0, 0.0, 30.0, 75.0, 90.0])
def test_fit_recovers_elongated_rotated_beam(bpa):
    psf = gaussian_psf(64, 7.0, 3.0, bpa)
    beam = fit_psf(psf)
    # the PSF is exactly Gaussian: the fit is limited by the least-squares tolerance only
    # (measured ~1e-9); 1 % is the requirement
    assert beam["bmaj"] == pytest.approx(7.0 * CELL_DEG, rel=0.01)
    assert beam["bmin"] == pytest.approx(3.0 * CELL_DEG, rel=0.01)
    assert -90.0 < beam["bpa"] <= 90.0
    d = (beam["bpa"] - bpa + 90.0) % 180.0 - 90.0  # position angles are modulo 180
    assert abs(d) < 0.5


def test_bpa_sense_is_east_of_north():
    """bpa = +45: elongated towards up-left pixels (north-east), not up-right."""
    psf = gaussian_psf(64, 8.0, 3.0, 45.0)
    p = psf.data[0, 0]
    assert p[32 + 5, 32 - 5] > 5 * p[32 + 5, 32 + 5]  # (y up, x left) is north-east
    assert fit_psf(psf)["bpa"] == pytest.approx(45.0, abs=0.5)


def test_fit_matches_realistic_main_lobe():
    psf = synthetic_psf(128, [1.0e8])
    beam = fit_psf(psf)
    restored = restore_cube(psf.copy(zero=True).replace(data=_delta(psf)), clean_beam=beam)
    p, g = psf.data[0, 0], restored.data[0, 0]
    lobe = p > 0.35  # the main-lobe pixels the fit used (connected to the centre here)
    from scipy import ndimage

    labels, _ = ndimage.label(lobe)
    lobe = labels == labels[64, 64]
    # a real main lobe is not exactly Gaussian: measured max |G - PSF| 0.009 of the peak over
    # its 27 pixels (rms 0.006); 0.02 bounds it
    diff = g[lobe] - p[lobe]
    assert np.abs(diff).max() < 0.02
    # no width bias: the mean signed difference is small (measured -0.0012)
    assert abs(diff.mean()) < 0.005


def _delta(im):
    d = np.zeros(im.shape)
    d[..., im.ny // 2, im.nx // 2] = 1.0
    return d


def test_restored_point_source_peaks_at_one():
    psf = gaussian_psf(64, 5.0, 3.5, 20.0)
    model = psf.copy(zero=True)
    model.data[0, 0, 20, 40] = 1.0
    restored = restore_cube(model, psf)
    # the kernel has peak 1 on a pixel centre: exactly 1 Jy/beam
    assert restored.data[0, 0, 20, 40] == pytest.approx(1.0, abs=1e-12)
    assert restored.data.max() == restored.data[0, 0, 20, 40]
    # flux conservation: Σ restored · pixel area / beam area = 1 Jy (the sampled Gaussian of
    # σ ≥ 1.5 pixels sums to its integral to ~1e-9)
    b = restored.clean_beam
    beam_area = np.pi * b["bmaj"] * b["bmin"] / (4 * np.log(2)) / CELL_DEG**2
    assert restored.data.sum() / beam_area == pytest.approx(1.0, rel=1e-6)
    assert restored.meta["BUNIT"] == "JY/BEAM"


def test_clean_then_restore_point_source(tmp_path):
    """CLEAN a 1 Jy source with a realistic PSF, restore with residual: peak 1 Jy/beam ± 1 %."""
    n = 96
    psf2 = synthetic_psf(2 * n, [1.0e8])
    _, dirty = point_source_dirty(n, psf2, [(40, 50)], [1.0])
    model, residual = deconvolve_cube(dirty, psf2, niter=500, fractional_threshold=1e-3)
    restored = restore_cube(model, psf2, residual)
    # model ⊛ beam gives 1 - (uncleaned ≤ 1e-3) at the source, and the residual there is
    # ≤ 1e-3: within 1 % with a wide margin (measured ~1e-3)
    assert restored.data[0, 0, 40, 50] == pytest.approx(1.0, rel=0.01)
    assert np.unravel_index(np.argmax(restored.data[0, 0]), (n, n)) == (40, 50)
    # the beam reaches the FITS header as BMAJ/BMIN/BPA in degrees
    path = export_image_to_fits(restored, tmp_path / "test-image.fits")
    header = fits.getheader(path)
    for key in ("bmaj", "bmin", "bpa"):
        assert header[key.upper()] == pytest.approx(restored.clean_beam[key], rel=1e-12)
    assert header["BUNIT"] == "JY/BEAM"


def test_restore_every_plane_and_given_beam():
    psf = gaussian_psf(48, 4.0, 4.0, 0.0)
    model = create_image(48, np.deg2rad(CELL_DEG), psf.phasecentre, [1.0e8, 1.1e8],
                         polarisation_frame="stokesIV")  # fmt: skip
    model.data[:, :, 10, 12] = [[2.0, 0.5], [1.0, -0.2]]
    beam = {"bmaj": 0.05, "bmin": 0.03, "bpa": 10.0}
    restored = restore_cube(model, clean_beam=beam)
    assert restored.clean_beam == beam
    assert np.allclose(restored.data[:, :, 10, 12], model.data[:, :, 10, 12], atol=1e-12)
    assert restored.shape == model.shape and not np.any(model.data[:, :, 11, 12])


def test_restore_errors():
    psf = gaussian_psf(32, 4.0, 3.0, 0.0)
    model = psf.copy(zero=True)
    with pytest.raises(DeconvolutionError, match="needs a psf"):
        restore_cube(model)
    with pytest.raises(DeconvolutionError, match="bmaj, bmin, bpa"):
        restore_cube(model, clean_beam={"bmaj": 1.0})
    with pytest.raises(DeconvolutionError, match="bmaj, bmin > 0"):
        restore_cube(model, clean_beam={"bmaj": -1.0, "bmin": 1.0, "bpa": 0.0})
    bad = create_image(16, np.deg2rad(CELL_DEG), psf.phasecentre, 1.0e8)
    with pytest.raises(DeconvolutionError, match="residual has shape"):
        restore_cube(model, psf, residual=bad)
    shifted = gaussian_psf(32, 4.0, 3.0, 0.0, centre_offset=(3.0, 0.0))
    with pytest.raises(DeconvolutionError, match="peak at its centre"):
        fit_psf(shifted)
    with pytest.raises(DeconvolutionError, match="outside the PSF"):
        fit_psf(psf, channel=3)


def test_all_zero_psf_is_a_clear_error_unless_the_beam_is_given():
    """All data flagged: invert gives a zero PSF (and zero images), which has no beam to fit.
    restore_cube says so and what to do; with an explicit beam the result is the documented
    empty one (zeros, the beam recorded)."""
    zero = gaussian_psf(64, 7.0, 3.0, 30.0).copy(zero=True)
    with pytest.raises(DeconvolutionError, match="PSF is zero in every channel .*pass clean_beam"):
        restore_cube(zero, zero, zero)
    with pytest.raises(DeconvolutionError, match="PSF is zero in every channel"):
        fit_psf(zero)
    beam = {"bmaj": 0.05, "bmin": 0.03, "bpa": 10.0}
    out = restore_cube(zero, zero, zero, clean_beam=beam)
    assert not np.any(out.data) and out.clean_beam == beam and out.meta["BUNIT"] == "JY/BEAM"


def test_fit_takes_the_nearest_unflagged_channel():
    """A flagged middle channel (zero PSF): the beam comes from the nearest live channel
    (the lower one on a tie); asking for the flagged channel itself is an error."""
    one = gaussian_psf(64, 7.0, 3.0, 30.0)
    cube = create_image(64, np.deg2rad(CELL_DEG), one.phasecentre, [1.0e8, 1.1e8, 1.2e8])
    cube.data[0, 0] = one.data[0, 0]
    cube.data[2, 0] = gaussian_psf(64, 5.0, 2.0, -40.0).data[0, 0]
    beam = fit_psf(cube)
    assert beam["bmaj"] == pytest.approx(7.0 * CELL_DEG, rel=0.01)
    assert beam["bpa"] == pytest.approx(30.0, abs=0.5)
    assert fit_psf(cube, channel=2)["bmaj"] == pytest.approx(5.0 * CELL_DEG, rel=0.01)
    with pytest.raises(DeconvolutionError, match="PSF of channel 1 .* is all zero"):
        fit_psf(cube, channel=1)
