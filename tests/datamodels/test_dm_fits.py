"""FITS images: DESIGN §3 header conventions, exact round trips, other axis orders, atomicity."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from uvflow.datamodels import (
    DataModelError,
    PolarisationError,
    export_image_to_fits,
    import_image_from_fits,
)
from uvflow.datamodels.io._wcsheader import wcs_to_header


def _leftovers(directory) -> list[str]:
    return [p.name for p in directory.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_is_exact(tmp_path, make_image, checks, dtype):
    im = make_image(npix=24, nchan=3, dtype=dtype)
    im.meta.update({"WEIGHT": "robust 0.5", "SUMWT": 1234.567890123456789, "NITER": 250,
                    "CLEANED": True})  # fmt: skip
    path = export_image_to_fits(im, tmp_path / "x-image.fits")
    back = import_image_from_fits(path)
    checks.image_equal(im, back)
    assert back.meta["BUNIT"] == "JY/BEAM"
    for key, value in im.meta.items():
        assert back.meta[key] == value
    assert _leftovers(tmp_path) == []


def test_header_follows_design_conventions(tmp_path, make_image):
    im = make_image(npix=32, nchan=3)
    im = im.replace(data=np.ascontiguousarray(im.data[:, :, :24, :]))  # ny=24, nx=32
    im.wcs.wcs.crpix[1] = 24 // 2 + 1
    im.meta["NITER"] = 7
    path = export_image_to_fits(im, tmp_path / "conv.fits")
    with fits.open(path) as hdul:
        h = hdul[0].header
        data = hdul[0].data
    assert [h[f"CTYPE{k}"] for k in range(1, 5)] == ["RA---SIN", "DEC--SIN", "FREQ", "STOKES"]
    assert [h[f"NAXIS{k}"] for k in range(1, 5)] == [32, 24, 3, 4]
    assert data.shape == (4, 3, 24, 32)  # numpy [npol, nchan, ny, nx]
    np.testing.assert_array_equal(data[2, 1], im.data[1, 2])
    assert (h["CRPIX1"], h["CRPIX2"]) == (32 / 2 + 1, 24 / 2 + 1)
    assert h["CDELT1"] < 0 < h["CDELT2"] and h["CDELT1"] == -h["CDELT2"]
    assert h["CRVAL3"] == im.frequency[0] and h["CRPIX3"] == 1.0
    assert h["CDELT3"] == pytest.approx(2.0e6, rel=1e-15)
    assert (h["CRVAL4"], h["CDELT4"], h["CRPIX4"]) == (1.0, 1.0, 1.0)  # I Q U V = 1 2 3 4
    assert h["BUNIT"] == "JY/BEAM"
    assert (h["BMAJ"], h["BMIN"], h["BPA"]) == (1.1e-3, 7.3e-4, 31.7)
    assert h["ORIGIN"].startswith("uvflow") and h["SOFTWARE"] == "uvflow"
    assert "DATE" in h and h["NITER"] == 7
    # 0-based pixel (N/2, N/2) is the phase centre, read with astropy alone
    centre = WCS(h).celestial.pixel_to_world(32 // 2, 24 // 2)
    assert centre.separation(im.phasecentre).deg < 1e-12


def test_model_images_are_jy_per_pixel(tmp_path, image):
    h = fits.getheader(export_image_to_fits(image, tmp_path / "m.fits", bunit="JY/PIXEL"))
    assert h["BUNIT"] == "JY/PIXEL"
    model = image.replace(meta={"BUNIT": "JY/PIXEL"})
    assert fits.getheader(export_image_to_fits(model, tmp_path / "m2.fits"))["BUNIT"] == "JY/PIXEL"


def test_no_beam_cards_without_a_clean_beam(tmp_path, image):
    h = fits.getheader(export_image_to_fits(image.replace(clean_beam=None), tmp_path / "d.fits"))
    assert "BMAJ" not in h and "BMIN" not in h and "BPA" not in h
    assert import_image_from_fits(tmp_path / "d.fits").clean_beam is None


@pytest.mark.parametrize(
    "frame, crval, fits_order",
    [
        ("linear", -5.0, ["XX", "YY", "XY", "YX"]),  # codes -5 -6 -7 -8
        ("circular", -1.0, ["RR", "LL", "RL", "LR"]),  # codes -1 -2 -3 -4
        ("linearnp", -5.0, ["XX", "YY"]),
        ("stokesIV", 1.0, ["I", "V"]),  # codes 1, 4: CDELT 3
    ],
)
def test_polarisation_planes_in_fits_code_order(tmp_path, make_image, checks, frame, crval,
                                                fits_order):  # fmt: skip
    im = make_image(frame=frame, npix=16, nchan=2)
    path = export_image_to_fits(im, tmp_path / f"{frame}.fits")
    with fits.open(path) as hdul:
        h, data = hdul[0].header, hdul[0].data
    assert h["CRVAL4"] == crval and h["CRPIX4"] == 1.0
    codes = h["CRVAL4"] + h["CDELT4"] * np.arange(h["NAXIS4"])
    names = {
        -1: "RR",
        -2: "LL",
        -3: "RL",
        -4: "LR",
        -5: "XX",
        -6: "YY",
        -7: "XY",
        -8: "YX",
        1: "I",
        2: "Q",
        3: "U",
        4: "V",
    }  # fmt: skip  (FITS WCS paper II)
    assert [names[int(c)] for c in codes] == fits_order
    products = im.polarisation_frame.names
    for k, name in enumerate(fits_order):
        np.testing.assert_array_equal(data[k], im.data[:, products.index(name)])
    checks.image_equal(im, import_image_from_fits(path))


def test_reads_stokes_before_freq_order(tmp_path, make_image, checks):
    im = make_image(npix=16, nchan=3)
    header = wcs_to_header(im.wcs)  # RA, DEC, STOKES, FREQ: numpy [nchan, npol, ny, nx]
    header["BMAJ"], header["BMIN"], header["BPA"] = 1.1e-3, 7.3e-4, 31.7
    fits.PrimaryHDU(im.data, header=header).writeto(tmp_path / "sf.fits")
    checks.image_equal(im, import_image_from_fits(tmp_path / "sf.fits"))


def _celestial_header(nx=16, ny=12):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    w.wcs.crval = [150.0, 2.5]
    w.wcs.cdelt = [-1e-3, 1e-3]
    w.wcs.crpix = [nx // 2 + 1, ny // 2 + 1]
    return w.to_header()


def test_reads_two_and_three_axis_images(tmp_path):
    data2 = np.arange(12 * 16, dtype=np.float32).reshape(12, 16)
    h2 = _celestial_header()
    h2["RESTFRQ"] = 1.4e9
    fits.PrimaryHDU(data2, header=h2).writeto(tmp_path / "two.fits")
    im2 = import_image_from_fits(tmp_path / "two.fits")
    assert im2.data.shape == (1, 1, 12, 16) and im2.polarisation_frame.name == "stokesI"
    np.testing.assert_array_equal(im2.data[0, 0], data2)
    assert im2.frequency[0] == 1.4e9 and im2.data.dtype == np.float32
    assert import_image_from_fits(tmp_path / "two.fits", frequency=2e8).frequency[0] == 2e8

    w3 = WCS(naxis=3)
    w3.wcs.ctype = ["RA---SIN", "DEC--SIN", "FREQ"]
    w3.wcs.cunit = ["deg", "deg", "MHz"]
    w3.wcs.crval, w3.wcs.cdelt, w3.wcs.crpix = [150.0, 2.5, 150.0], [-1e-3, 1e-3, 0.5], [9, 7, 1]
    data3 = np.random.default_rng(3).normal(size=(4, 12, 16))
    fits.PrimaryHDU(data3, header=w3.to_header()).writeto(tmp_path / "three.fits")
    im3 = import_image_from_fits(tmp_path / "three.fits")
    assert im3.data.shape == (4, 1, 12, 16)
    np.testing.assert_array_equal(im3.data[:, 0], data3)
    np.testing.assert_allclose(im3.frequency, 1.5e8 + 5e5 * np.arange(4), rtol=1e-15)


def test_fits_without_celestial_axes_is_an_error(tmp_path):
    w = WCS(naxis=2)
    w.wcs.ctype = ["LINEAR", "LINEAR"]
    fits.PrimaryHDU(np.zeros((4, 4)), header=w.to_header()).writeto(tmp_path / "lin.fits")
    with pytest.raises(DataModelError, match="no celestial axes.*needs RA and DEC axes"):
        import_image_from_fits(tmp_path / "lin.fits")
    w.wcs.ctype = ["GLON-CAR", "GLAT-CAR"]
    fits.PrimaryHDU(np.zeros((4, 4)), header=w.to_header()).writeto(tmp_path / "gal.fits")
    with pytest.raises(DataModelError, match="are not RA/DEC; only equatorial"):
        import_image_from_fits(tmp_path / "gal.fits")


def test_unsupported_axes_and_stokes_sets(tmp_path):
    h = _celestial_header()
    h["CTYPE3"], h["CRVAL3"], h["CDELT3"], h["CRPIX3"] = "VRAD", 0.0, 1000.0, 1.0
    fits.PrimaryHDU(np.zeros((3, 12, 16)), header=h).writeto(tmp_path / "v.fits")
    with pytest.raises(DataModelError, match=r"axis 3 \(VRAD\) has length 3"):
        import_image_from_fits(tmp_path / "v.fits")
    h["CTYPE3"], h["CRVAL3"], h["CDELT3"] = "STOKES", 1.0, 1.0  # I Q U: no such frame
    fits.PrimaryHDU(np.zeros((3, 12, 16)), header=h).writeto(tmp_path / "iqu.fits")
    with pytest.raises(PolarisationError, match="I Q U do not form a polarisation frame"):
        import_image_from_fits(tmp_path / "iqu.fits")


def test_unwritable_dtype_leaves_no_file(tmp_path, make_image):
    grid = make_image(frame="stokesI", npix=16, nchan=1, dtype=np.complex128)
    with pytest.raises(DataModelError, match="dtype complex128 to FITS; allowed: float32"):
        export_image_to_fits(grid, tmp_path / "grid.fits")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, image, monkeypatch):
    path = export_image_to_fits(image, tmp_path / "keep.fits")
    before = path.read_bytes()

    def broken_writeto(self, name, *args, **kwargs):
        with open(name, "wb") as f:
            f.write(b"SIMPLE  =                    T")  # a partial file, then the disk fills
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fits.PrimaryHDU, "writeto", broken_writeto)
    with pytest.raises(OSError, match="No space left"):
        export_image_to_fits(image.copy(zero=True), path)
    with pytest.raises(OSError, match="No space left"):
        export_image_to_fits(image, tmp_path / "new.fits")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.fits"]


def test_overwrite_false(tmp_path, image):
    path = export_image_to_fits(image, tmp_path / "a.fits")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        export_image_to_fits(image, path, overwrite=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_image_to_fits(image, tmp_path / "missing-dir" / "a.fits")


@pytest.mark.parametrize(
    "frame, edit, match",
    [
        ("stokesIQUV", ("crval", 2.0), r"codes \[2, 3, 4, 5\], which are not the products I Q U V"),
        ("linear", ("cdelt", 2.0), r"codes \[-5, -8, nan, nan\], which are not the products XX XY YX YY"),
    ],
)  # fmt: skip
def test_image_wcs_edited_against_its_frame_is_rejected(tmp_path, make_image, frame, edit, match):
    """An Image's WCS edited after construction no longer labels its planes: not written."""
    im = make_image(frame=frame, npix=16, nchan=1)
    getattr(im.wcs.wcs, edit[0])[2] = edit[1]
    im.wcs.wcs.set()
    with pytest.raises(DataModelError, match=match):
        export_image_to_fits(im, tmp_path / "bad.fits")
    assert not (tmp_path / "bad.fits").exists()


def test_phasecentre_pixel_after_round_trip(tmp_path):
    from uvflow.datamodels import create_image

    pc = SkyCoord(ra=83.63308, dec=22.0145, unit="deg")
    im = create_image(64, np.deg2rad(1.0 / 3600), pc, 1.4e9)
    back = import_image_from_fits(export_image_to_fits(im, tmp_path / "pc.fits"))
    x, y = back.sky_to_pixel(pc)
    assert (float(x), float(y)) == pytest.approx((32.0, 32.0), abs=1e-9)
