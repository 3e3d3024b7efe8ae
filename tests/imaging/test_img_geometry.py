"""Image geometry: images sized from the data, wide-field advice, pixel directions, channel mapping."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import SPEED_OF_LIGHT, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.imaging import (
    FrequencyMismatchError,
    ImagingError,
    advise_wide_field,
    create_image_from_visibility,
    invert,
)
from uvflow.imaging.layout import channel_groups
from uvflow.imaging.pixel_geometry import direction_cosines, image_geometry


@pytest.fixture(scope="module")
def vis():
    config = random_configuration(nant=10, radius=800.0, seed=6)
    return simple_visibility(
        config, ntime=4, frequency=1.0e8 + 2.0e6 * np.arange(4), channel_bandwidth=2.0e6
    )


def _uvmax(vis):
    return np.max(np.hypot(vis.uvw[..., 0], vis.uvw[..., 1])) * vis.frequency.max() / SPEED_OF_LIGHT


def test_default_cellsize_and_size(vis):
    image = create_image_from_visibility(vis)
    # cellsize = 1 / (oversampling · uvmax), oversampling 3: three pixels per synthesised beam
    assert image.cellsize == pytest.approx(1.0 / (3 * _uvmax(vis)), rel=1e-12)
    # npixel: smallest even FFT-friendly size covering twice the primary beam (λmax / D)
    fov = 2 * (SPEED_OF_LIGHT / vis.frequency.min()) / 15.0
    assert image.nx == image.ny and image.nx % 2 == 0
    assert image.nx * image.cellsize >= fov > 0.9 * image.nx * image.cellsize
    assert list(image.wcs.wcs.crpix[:2]) == [image.nx // 2 + 1, image.ny // 2 + 1]
    assert image.wcs.wcs.cdelt[0] < 0 < image.wcs.wcs.cdelt[1]
    assert image.phasecentre.separation(vis.phasecentre).rad < 1e-12
    assert image.polarisation_frame.name == "stokesI"
    assert image.data.dtype == np.float64 and not image.data.any()


def test_channels(vis):
    mfs = create_image_from_visibility(vis, npixel=64)
    assert mfs.nchan == 1
    assert mfs.frequency[0] == pytest.approx(1.03e8) and mfs.channel_bandwidth[0] == pytest.approx(
        8e6
    )
    per = create_image_from_visibility(vis, npixel=64, nchan="vis")
    np.testing.assert_allclose(per.frequency, vis.frequency)
    two = create_image_from_visibility(vis, npixel=64, nchan=2)
    np.testing.assert_allclose(two.frequency, [1.01e8, 1.05e8])
    for image, groups in (
        (mfs, [[0, 1, 2, 3]]),
        (per, [[0], [1], [2], [3]]),
        (two, [[0, 1], [2, 3]]),
    ):
        got = [np.arange(4)[g.vis_channels].tolist() for g in channel_groups(vis.frequency, image)]
        assert got == groups
        _, sumwt = invert(vis, image)  # every visibility channel finds its image channel
        assert sumwt.sum() == vis.nvis


def test_explicit_arguments(vis):
    pc = SkyCoord(ra=15.1, dec=-45.0, unit="deg")
    image = create_image_from_visibility(
        vis, npixel=(48, 64), cellsize="30arcsec", polarisation_frame="stokesIQUV", phasecentre=pc
    )
    assert image.data.shape == (1, 4, 48, 64)
    assert image.cellsize == pytest.approx(np.deg2rad(30 / 3600))
    assert image.phasecentre.separation(pc).rad < 1e-12


def test_create_image_errors(vis):
    no_config = vis.replace(configuration=None)
    with pytest.raises(ImagingError, match="give npixel"):
        create_image_from_visibility(no_config)
    assert create_image_from_visibility(no_config, npixel=32).nx == 32
    with pytest.raises(ImagingError, match="nchan"):
        create_image_from_visibility(vis, npixel=32, nchan="all")
    with pytest.raises(ImagingError, match="nchan"):
        create_image_from_visibility(vis, npixel=32, nchan=0)
    with pytest.raises(ImagingError, match="oversampling"):
        create_image_from_visibility(vis, npixel=32, oversampling=0)


def test_advise_wide_field(vis):
    adv = advise_wide_field(vis, verbose=False)
    uvmax = _uvmax(vis)
    assert adv["maximum_baseline"] == pytest.approx(uvmax, rel=1e-12)
    assert adv["synthesized_beam"] == pytest.approx(1 / uvmax, rel=1e-12)
    assert adv["cellsize"] == pytest.approx(adv["synthesized_beam"] / 3.0, rel=1e-12)
    assert adv["diameter"] == 15.0
    assert adv["primary_beam_fov"] == pytest.approx(SPEED_OF_LIGHT / 1.0e8 / 15.0, rel=1e-12)
    assert adv["image_fov"] == pytest.approx(6.0 * adv["primary_beam_fov"], rel=1e-12)
    npix = adv["image_fov"] / adv["cellsize"]
    assert adv["npixels"] % 2 == 0 and npix <= adv["npixels"] < 1.2 * npix
    assert adv["npixels2"] >= npix and np.log2(adv["npixels2"]) % 1 == 0
    assert adv["w_sampling_image"] < adv["w_sampling_primary_beam"] == adv["wstep"]
    assert adv["nwslabs"] >= 1 and adv["nwpixels"] % 2 == 0
    assert adv["freq_sampling_image"] < adv["freq_sampling_primary_beam"]
    assert adv["time_sampling_image"] < adv["time_sampling_primary_beam"]
    with pytest.raises(ImagingError, match="wprojection_planes"):
        advise_wide_field(vis, wprojection_planes=0)
    with pytest.raises(ImagingError, match="delA"):
        advise_wide_field(vis, delA=-1)


def test_advise_wide_field_w_range_by_hand(vis):
    """The w-range and w-kernel advice from uvw chosen by hand, derived here step by step.

    uvw (metres): one baseline at (400, -300, 120) — |uv| = 500 m, the longest — one at
    (-100, 50, -250) — |w| = 250 m, the largest (negative: the advice takes |w|) — one at
    (10, 10, 200), the rest 0. Channels 100-106 MHz, dishes 15 m, delA 0.02, guard band 6.
    """
    uvw = np.zeros_like(vis.uvw)
    uvw[0, 0] = [400.0, -300.0, 120.0]
    uvw[1, 1] = [-100.0, 50.0, -250.0]
    uvw[2, 2] = [10.0, 10.0, 200.0]
    hand = vis.replace(uvw=uvw)
    adv = advise_wide_field(hand, verbose=False)
    # λ_min = c / 106 MHz = 2.828231 m, λ_max = c / 100 MHz = 2.997925 m
    assert adv["min_wavelength"] == pytest.approx(2.828231, rel=1e-6)
    assert adv["max_wavelength"] == pytest.approx(2.997925, rel=1e-6)
    # maximum_w = max|w| / λ_min = 250 / 2.828231 = 88.3945 wavelengths (the w-range is ±)
    assert adv["maximum_w"] == pytest.approx(88.3945, rel=1e-5)
    assert adv["maximum_w"] == 250.0 / adv["min_wavelength"]
    # maximum_baseline = 500 / λ_min = 176.789 wavelengths
    assert adv["maximum_baseline"] == pytest.approx(176.789, rel=1e-5)
    # primary beam λ_max / D = 2.997925 / 15 = 0.1998616 rad; image fov 6 x = 1.199170 rad
    assert adv["primary_beam_fov"] == pytest.approx(0.1998616, rel=1e-6)
    assert adv["image_fov"] == pytest.approx(1.199170, rel=1e-6)
    # w step over the primary beam: sqrt(2 delA) / (π pb²) = 0.2 / (π 0.0399446) = 1.593754
    assert adv["w_sampling_primary_beam"] == pytest.approx(1.593754, rel=1e-6)
    # nwslabs: w-planes over ±maximum_w: ceil(2 x 88.3945 / 1.593754) = ceil(110.926) = 111
    assert adv["nwslabs"] == 111
    # nwpixels: the w-kernel's support in uv cells (1 / image_fov wide) at the largest w,
    # w · pb: 88.3945 x 0.1998616 x 1.199170 = 21.185 cells, rounded up to even: 22
    assert adv["nwpixels"] == 22
    # with 4 w-projection planes the residual w is a quarter: 5.296 cells, so 6
    assert advise_wide_field(hand, wprojection_planes=4, verbose=False)["nwpixels"] == 6


@pytest.mark.parametrize(
    "offset, crpix",
    [
        ((0.0, 0.0), None),
        ((0.0, 0.0), (70.0, 10.0)),
        ((3.0, -1.5), None),
        ((-20.0, 8.0), (5.0, 60.0)),
    ],
)
def test_pixel_directions_are_the_wcs_directions(vis, offset, crpix):
    pc = vis.phasecentre
    centre = SkyCoord(ra=pc.ra.deg + offset[0], dec=pc.dec.deg + offset[1], unit="deg")
    image = create_image(64, np.deg2rad(0.2), centre, frequency=1e8)
    if crpix is not None:
        image.wcs.wcs.crpix = [crpix[0], crpix[1], 1, 1]
    geom = image_geometry(image, pc)
    assert (geom.rotation is None) == (offset == (0.0, 0.0))
    l, m, n = geom.pixel_lmn()  # noqa: E741
    y, x = np.mgrid[0:64, 0:64]
    lw, mw, nw = direction_cosines(image.pixel_to_sky(x, y), pc)
    # two computations of the same directions (astropy WCS vs rotation matrices): ~1e-15
    for a, b in ((l, lw), (m, mw), (n, nw)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)


def test_channel_mismatch_is_an_error(vis):
    image = create_image(
        32, 1e-3, vis.phasecentre, frequency=[1.0e8, 1.02e8], channel_bandwidth=2e6
    )
    with pytest.raises(FrequencyMismatchError, match="visibility channel 2 at 1.04e\\+08 Hz"):
        channel_groups(vis.frequency, image)


def test_unsupported_wcs(vis):
    image = create_image(32, 1e-3, vis.phasecentre, frequency=1e8)
    tan = image.copy()
    tan.wcs.wcs.ctype = ["RA---TAN", "DEC--TAN", "STOKES", "FREQ"]
    with pytest.raises(ImagingError, match="SIN projection"):
        image_geometry(tan, vis.phasecentre)
    flipped = image.copy()
    flipped.wcs.wcs.cdelt[0] *= -1
    with pytest.raises(ImagingError, match="CDELT1 < 0 < CDELT2"):
        image_geometry(flipped, vis.phasecentre)
    rotated = image.copy()
    rotated.wcs.wcs.pc = [[0, -1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    with pytest.raises(ImagingError, match="unrotated"):
        image_geometry(rotated, vis.phasecentre)
