"""An Image's WCS labels each polarisation plane with that plane's FITS STOKES code.

Planes are in the polarisation frame's order (linear XX XY YX YY = codes −5 −7 −8 −6). A
linear FITS axis cannot say that order, so before this rule create_image and
convert_image_polarisation wrote CRVAL −5, CDELT −1 (XX YY XY YX) over planes in frame
order: the WCS called the XY plane YY. Now the in-memory axis is a lookup table for linear
and circular, files keep a linear axis in FITS code order with the planes reordered, and
every path (create, convert, FITS, zarr, xarray, pickle) is checked plane by plane.
Codes are small integers: compared exactly.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

from uvflow.datamodels import (
    Image,
    convert_image_polarisation,
    create_image,
    export_image_to_fits,
    image_from_xarray,
    image_to_xarray,
    import_image_from_fits,
    plane_stokes_codes,
    read_image_zarr,
    write_image_zarr,
)
from uvflow.datamodels.image import stokes_axis_codes
from uvflow.datamodels.polarisation import _FRAMES, FITS_STOKES_CODES

CENTRE = SkyCoord(ra=150.0, dec=-20.0, unit="deg")
FRAMES = sorted(_FRAMES)


def _expected(im) -> list[int]:
    return [FITS_STOKES_CODES[p] for p in im.polarisation_frame.names]


def _world_codes(im) -> list[float]:
    """The STOKES world coordinate of each plane, through astropy's full 4-axis transform."""
    x, y = im.nx // 2, im.ny // 2
    k = np.arange(im.npol)
    world = im.wcs.pixel_to_world_values(
        np.full(k.size, x), np.full(k.size, y), k, np.zeros(k.size)
    )
    return world[2].tolist()


def _marked(frame: str, nchan: int = 2) -> Image:
    """An image whose plane k holds the value 10 * (k + 1) + channel (a marker per plane)."""
    im = create_image(8, 1e-5, CENTRE, 1e8 + 1e6 * np.arange(nchan), polarisation_frame=frame)
    data = np.zeros(im.shape)
    for k in range(im.npol):
        data[:, k] = 10.0 * (k + 1) + np.arange(nchan)[:, None, None]
    return im.replace(data=data)


@pytest.mark.parametrize("frame", FRAMES)
def test_created_image_labels_each_plane(frame):
    im = create_image(16, 1e-5, CENTRE, [1e8, 1.1e8], polarisation_frame=frame)
    assert _world_codes(im) == _expected(im)
    assert plane_stokes_codes(im.wcs, im.npol).tolist() == _expected(im)


@pytest.mark.parametrize("frame", ["linear", "circular", "linearnp", "circularnp", "stokesIV"])
def test_converted_image_labels_each_plane(frame):
    iquv = _marked("stokesIQUV")
    out = convert_image_polarisation(iquv, frame)
    assert _world_codes(out) == _expected(out)
    back = (
        convert_image_polarisation(out, "stokesIQUV") if frame in ("linear", "circular") else iquv
    )
    assert _world_codes(back) == [1, 2, 3, 4]


@pytest.mark.parametrize("frame, product, code", [("linear", "XY", -7), ("circular", "RL", -3)])
def test_fits_round_trip_keeps_planes_and_codes_together(tmp_path, frame, product, code):
    """The XY (RL) plane holds a marker; in the file the plane holding it sits where the
    STOKES axis says −7 (−3), and reading it back puts it at XY (RL) with code −7 (−3)."""
    im = _marked(frame)
    k = im.polarisation_frame.names.index(product)
    marker = im.data[:, k, 0, 0]
    path = export_image_to_fits(im, tmp_path / f"{frame}.fits")
    with fits.open(path) as hdul:
        h, raw = hdul[0].header, hdul[0].data  # numpy [npol, nchan, ny, nx]: RA, DEC, FREQ, STOKES
    assert h["CTYPE4"] == "STOKES"
    file_codes = [h["CRVAL4"] + h["CDELT4"] * (i + 1 - h["CRPIX4"]) for i in range(h["NAXIS4"])]
    held = [i for i in range(raw.shape[0]) if np.array_equal(raw[i, :, 0, 0], marker)]
    assert len(held) == 1 and file_codes[held[0]] == code
    for i, c in enumerate(file_codes):  # every plane in the file sits under its own code
        j = im.polarisation_frame.names.index({v: n for n, v in FITS_STOKES_CODES.items()}[c])
        np.testing.assert_array_equal(raw[i], im.data[:, j])
    back = import_image_from_fits(path)
    assert back.polarisation_frame == im.polarisation_frame
    np.testing.assert_array_equal(back.data, im.data)
    assert _world_codes(back)[k] == code and _world_codes(back) == _expected(im)


def _through(route: str, im: Image, tmp_path) -> Image:
    if route == "zarr":
        pytest.importorskip("zarr")
        return read_image_zarr(write_image_zarr(im, tmp_path / "im.zarr"))
    if route == "xarray":
        pytest.importorskip("xarray")
        return image_from_xarray(image_to_xarray(im))
    return pickle.loads(pickle.dumps(im))


@pytest.mark.parametrize("route", ["zarr", "xarray", "pickle"])
@pytest.mark.parametrize("frame", ["linear", "circular", "stokesIQUV"])
def test_zarr_xarray_and_pickle_keep_the_labels(tmp_path, frame, route, checks):
    im = _marked(frame)
    back = _through(route, im, tmp_path)
    checks.image_equal(im, back)
    assert _world_codes(back) == _expected(im)


def test_a_fits_order_wcs_is_relabelled_without_changing_the_callers_wcs():
    """Callers that set the FITS-order axis (CRVAL −5, CDELT −1, as stokes_axis_codes gives)
    over planes in frame order get the planes labelled in frame order."""
    base = create_image(8, 1e-5, CENTRE, 1e8)  # stokesI: a linear STOKES axis
    wcs = base.wcs.deepcopy()
    crval, cdelt = stokes_axis_codes("linear")
    assert (crval, cdelt) == (-5.0, -1.0)
    wcs.wcs.crval[2], wcs.wcs.cdelt[2] = crval, cdelt
    im = Image(data=np.zeros((1, 4, 8, 8)), wcs=wcs, polarisation_frame="linear")
    assert _world_codes(im) == [-5, -7, -8, -6]
    assert wcs.wcs.ctype[2] == "STOKES" and wcs.wcs.crval[2] == -5.0  # not mutated
    same = im.replace(data=im.data + 1.0)
    assert same.wcs is im.wcs  # already labelled: no new WCS per replace
    for attr in ("crval", "cdelt", "crpix"):  # the sky and frequency axes are untouched
        np.testing.assert_array_equal(getattr(im.wcs.wcs, attr)[[0, 1, 3]],
                                      getattr(base.wcs.wcs, attr)[[0, 1, 3]])  # fmt: skip
