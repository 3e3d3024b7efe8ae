"""Data-model constructors reject inconsistent fields with an error naming the field."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uvflow.datamodels import (
    Configuration,
    DataModelError,
    GainTable,
    Image,
    PolarisationError,
    Visibility,
    create_image,
)
from uvflow.datamodels.testing import random_configuration, simple_visibility

NT, NB, NC, NP = 3, 6, 2, 4  # small: every shape check is independent of size


def _vis_fields() -> dict:
    v = simple_visibility(random_configuration(nant=4), ntime=NT, frequency=[1e8, 1.1e8],
                          polarisation_frame="linear")  # fmt: skip
    return {f: getattr(v, f) for f in (
        "vis", "weight", "flags", "uvw", "time", "integration_time", "antenna1", "antenna2",
        "frequency", "channel_bandwidth", "phasecentre", "polarisation_frame", "configuration",
    )}  # fmt: skip


# field -> the shape it must have (None: several ndim are wrong for it)
VIS_SHAPES = {
    "weight": (NT, NB, NC, NP),
    "flags": (NT, NB, NC, NP),
    "uvw": (NT, NB, 3),
    "time": (NT,),
    "integration_time": (NT,),
    "antenna1": (NB,),
    "antenna2": (NB,),
    "frequency": (NC,),
    "channel_bandwidth": (NC,),
}
BROADCASTABLE = {"integration_time", "channel_bandwidth"}


def test_valid_fields_construct():
    v = Visibility(**_vis_fields())
    assert v.vis.shape == (NT, NB, NC, NP)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(sorted(VIS_SHAPES)),
    shape=st.lists(st.integers(0, 7), min_size=0, max_size=5).map(tuple),
)
def test_visibility_bad_shape_names_the_field(field, shape):
    want = VIS_SHAPES[field]
    if shape == want or (field in BROADCASTABLE and shape in ((), (1,))):
        return  # a valid shape (scalars broadcast for these fields)
    fields = _vis_fields()
    dtype = fields[field].dtype
    fields[field] = np.zeros(shape, dtype=dtype) + (1 if dtype.kind == "f" else 0)
    with pytest.raises(DataModelError, match=rf"Visibility\.{field}\b"):
        Visibility(**fields)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("vis", np.zeros((NT, NB, NC, NP)), r"Visibility\.vis has dtype float64"),
        ("vis", np.zeros((NT, NB, NC), complex), r"Visibility\.vis must have 4 dimensions"),
        ("frequency", np.array([1e8, -1.0]), r"frequency must be > 0"),
        ("phasecentre", (15.0, -45.0), r"phasecentre must be an astropy SkyCoord"),
        ("polarisation_frame", "stokesI", r"4 polarisations but polarisation_frame stokesI has 1"),
        ("polarisation_frame", "linearnp", r"4 polarisations but polarisation_frame linearnp"),
        ("polarisation_frame", "XXYY", r"frame 'XXYY' unknown; use one of stokesI"),
        ("antenna2", np.full(NB, 9), r"exceed the configuration's 4 antennas"),
    ],
)
def test_visibility_bad_values(field, value, match):
    fields = _vis_fields()
    fields[field] = value
    with pytest.raises(ValueError, match=match):
        Visibility(**fields)


def test_visibility_scalar_broadcast_and_flag_ints():
    fields = _vis_fields()
    fields["integration_time"] = 8.0
    fields["channel_bandwidth"] = 1e6
    fields["flags"] = fields["flags"].astype(np.int8)
    v = Visibility(**fields)
    np.testing.assert_array_equal(v.integration_time, np.full(NT, 8.0))
    np.testing.assert_array_equal(v.channel_bandwidth, np.full(NC, 1e6))
    assert v.flags.dtype == bool


def test_polarisation_error_is_a_value_error():
    assert issubclass(PolarisationError, ValueError) and issubclass(DataModelError, ValueError)


def _image_parts():
    im = create_image(16, 1e-5, SkyCoord(ra=10.0, dec=-30.0, unit="deg"), [1e8, 1.1e8],
                      polarisation_frame="stokesIQUV")  # fmt: skip
    return im.data, im.wcs


@pytest.mark.parametrize(
    "change, match",
    [
        ({"data": np.zeros((2, 4, 16))}, r"Image\.data must have 4 dimensions"),
        ({"data": np.zeros((2, 3, 16, 16))}, r"Image\.data has 3 polarisation planes"),
        ({"data": np.zeros((2, 4, 16, 16), dtype="U1")}, r"Image\.data has dtype"),
        ({"wcs": None}, r"Image\.wcs must be a 4-axis astropy WCS"),
        ({"clean_beam": {"bmaj": 1.0}}, r"clean_beam lacks \['bmin', 'bpa'\]"),
    ],
)
def test_image_bad_fields(change, match):
    data, wcs = _image_parts()
    kw = {"data": data, "wcs": wcs, "polarisation_frame": "stokesIQUV"} | change
    with pytest.raises(DataModelError, match=match):
        Image(**kw)


def test_image_wcs_axis_order_checked():
    data, wcs = _image_parts()
    with pytest.raises(DataModelError, match=r"axes 3, 4 must be STOKES, FREQ"):
        Image(data=data, wcs=wcs.swapaxes(2, 3), polarisation_frame="stokesIQUV")


@pytest.mark.parametrize(
    "npixel, cellsize, freq, match",
    [
        (0, 1e-5, 1e8, "image size must be positive"),
        (16, 0.0, 1e8, "cellsize must be > 0"),
        (16, 1e-5, [1e8, 1.1e8, 1.3e8], "evenly spaced"),
        (16, 1e-5, -1.0, "frequencies must be > 0"),
    ],
)
def test_create_image_bad_arguments(npixel, cellsize, freq, match):
    with pytest.raises(DataModelError, match=match):
        create_image(npixel, cellsize, SkyCoord(ra=1.0, dec=2.0, unit="deg"), freq)


def _gaintable_fields(nt=2, na=4, nc=3, nr=2) -> dict:
    return {
        "gain": np.ones((nt, na, nc, nr, nr), complex),
        "weight": np.ones((nt, na, nc, nr, nr)),
        "residual": np.zeros((nt, nc, nr, nr)),
        "time": np.arange(nt, dtype=float),
        "interval": 10.0,
        "frequency": 1e8 + np.arange(nc),
        "receptor_frame": "linear",
        "phasecentre": SkyCoord(ra=1.0, dec=2.0, unit="deg"),
    }


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("gain", np.ones((2, 4, 3, 2, 1), complex), r"gain must be \[\.\.\., nrec, nrec\]"),
        ("weight", np.ones((2, 4, 3, 2)), r"GainTable\.weight has shape"),
        ("residual", np.zeros((2, 4, 3, 2, 2)), r"GainTable\.residual has shape"),
        ("time", np.arange(3.0), r"GainTable\.time has shape \[3\], expected \[2\]"),
        ("interval", np.ones(5), r"GainTable\.interval has shape \[5\], expected \[2\]"),
        ("frequency", np.ones(2), r"GainTable\.frequency has shape"),
        ("receptor_frame", "circular_feeds", r"receptor frame 'circular_feeds' unknown"),
        ("receptor_frame", "stokesI", r"2 receptors but receptor_frame stokesI has 1"),
        ("configuration", random_configuration(nant=5), r"4 antennas, its configuration 5"),
    ],
)
def test_gaintable_bad_fields(field, value, match):
    fields = _gaintable_fields()
    fields[field] = value
    with pytest.raises(ValueError, match=match):
        GainTable(**fields)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("xyz", np.zeros((3, 2)), r"Configuration\.xyz has shape \[3, 2\], expected \[\*, 3\]"),
        ("names", ["a", "b"], r"Configuration\.names has shape \[2\], expected \[3\]"),
        ("names", ["a", "a", "b"], r"names must be unique"),
        ("diameter", [1.0, 2.0], r"Configuration\.diameter has shape \[2\], expected \[3\]"),
        (
            "diameter",
            "big",
            r"Configuration\.diameter 'big' is not a number with a unit; give a length",
        ),
        ("diameter", ["big", "small", "tiny"], r"Configuration\.diameter must be float64 values"),
        ("mount", ["altaz", "xy"], r"Configuration\.mount has shape \[2\]"),
        ("location", (21.4, -30.7), r"location must be an astropy EarthLocation"),
    ],
)
def test_configuration_bad_fields(field, value, match):
    c = random_configuration(nant=3)
    fields = {"name": "T", "location": c.location, "names": c.names, "xyz": c.xyz,
              "diameter": 12.0, "mount": "altaz"} | {field: value}  # fmt: skip
    with pytest.raises(DataModelError, match=match):
        Configuration(**fields)


def test_select_rejects_single_int_and_bad_mask(vis):
    with pytest.raises(DataModelError, match="not a single int"):
        vis.select(time=1)
    with pytest.raises(DataModelError, match="mask has length 2, expected 4"):
        vis.select(time=np.array([True, False]))


def test_image_pickles_bit_exactly():
    """An Image crossing a process boundary (Dask) keeps its grid to the last bit: astropy's
    own WCS pickling goes through header text and rounds CDELT, which made Dask images
    differ from serial ones at 1e-13."""
    import pickle

    from astropy.coordinates import SkyCoord

    from uvflow.datamodels import create_image

    im = create_image(
        64, 1.2345678901234e-5, SkyCoord(ra=15.123456789012, dec=-45.98765432101, unit="deg"),
        [1.3e9, 1.3e9 + 1.23456789e6], polarisation_frame="linear",
    )  # fmt: skip
    im.clean_beam = {"bmaj": 1e-3, "bmin": 5e-4, "bpa": 12.0}
    back = pickle.loads(pickle.dumps(im))
    for name in ("crval", "cdelt", "crpix"):
        np.testing.assert_array_equal(getattr(back.wcs.wcs, name), getattr(im.wcs.wcs, name))
    assert list(back.wcs.wcs.ctype) == list(im.wcs.wcs.ctype)
    assert back.polarisation_frame == im.polarisation_frame and back.clean_beam == im.clean_beam
    np.testing.assert_array_equal(back.frequency, im.frequency)
    assert back.cellsize == im.cellsize
