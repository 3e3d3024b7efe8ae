"""Constructors take astropy quantities for user-facing units (DESIGN §3) and convert them.

Internal units: Hz, m, s (MJD seconds for times), rad, Jy. A quantity in another unit of
the same kind is converted exactly as astropy converts it (the comparisons are to 1 ulp of
the scale factor: ``rtol=1e-15``); a quantity of the wrong kind (Jy for a frequency) is a
``DataModelError`` (a ``ValueError``) naming the field and the unit expected. Plain numbers
keep meaning the internal unit: before this rule ``frequency=[100] * u.MHz`` was silently
stored as 100 Hz.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.time import Time

from uvflow.datamodels import (
    Configuration,
    DataModelError,
    GainTable,
    SkyComponent,
    create_image,
)
from uvflow.datamodels.testing import random_configuration, simple_visibility

CENTRE = SkyCoord(ra=10.0, dec=-30.0, unit="deg")


def _vis():
    return simple_visibility(random_configuration(nant=4), ntime=3, frequency=[1e8, 1.1e8])


def _gaintable(**changes):
    fields = {
        "gain": np.ones((2, 4, 3, 2, 2), complex), "weight": np.ones((2, 4, 3, 2, 2)),
        "residual": np.zeros((2, 3, 2, 2)), "time": 5.0e9 + np.arange(2.0), "interval": 10.0,
        "frequency": 1e8 + np.arange(3.0), "receptor_frame": "linear", "phasecentre": CENTRE,
    }  # fmt: skip
    return GainTable(**(fields | changes))


def _configuration(**changes):
    c = random_configuration(nant=3)
    fields = {"name": "T", "location": c.location, "names": c.names, "xyz": c.xyz,
              "diameter": 12.0}  # fmt: skip
    return Configuration(**(fields | changes))


def _component(**changes):
    fields = {"direction": CENTRE, "frequency": [1.4e9], "flux": [[1.0]]}
    return SkyComponent(**(fields | changes))


V = _vis()
C = random_configuration(nant=3)

# (builder, field given, value given, attribute read back, expected value in internal units)
CONVERTED = [
    pytest.param(lambda: V.replace(frequency=[100.0, 110.0] * u.MHz), "frequency", [1e8, 1.1e8],
                 id="Visibility.frequency MHz->Hz"),
    pytest.param(lambda: V.replace(channel_bandwidth=250.0 * u.kHz), "channel_bandwidth",
                 [2.5e5, 2.5e5], id="Visibility.channel_bandwidth kHz->Hz"),
    pytest.param(lambda: V.replace(uvw=V.uvw / 1000.0 * u.km), "uvw", V.uvw,
                 id="Visibility.uvw km->m"),
    pytest.param(lambda: V.replace(integration_time=[1.0, 2.0, 0.5] * u.min), "integration_time",
                 [60.0, 120.0, 30.0], id="Visibility.integration_time min->s"),
    pytest.param(lambda: V.replace(time=V.time / 86400.0 * u.day), "time", V.time,
                 id="Visibility.time MJD days->s"),
    pytest.param(lambda: V.replace(time=Time(V.time / 86400.0, format="mjd", scale="tai")), "time",
                 V.time - 37.0, id="Visibility.time Time(TAI)->MJD s UTC"),
    pytest.param(lambda: _configuration(xyz=C.xyz / 1000.0 * u.km), "xyz", C.xyz,
                 id="Configuration.xyz km->m"),
    pytest.param(lambda: _configuration(diameter=1350.0 * u.cm), "diameter", [13.5] * 3,
                 id="Configuration.diameter cm->m"),
    pytest.param(lambda: _gaintable(interval=[1.0, 2.0] * u.min), "interval", [60.0, 120.0],
                 id="GainTable.interval min->s"),
    pytest.param(lambda: _gaintable(frequency=[100.0, 100.5, 101.0] * u.MHz), "frequency",
                 [1e8, 1.005e8, 1.01e8], id="GainTable.frequency MHz->Hz"),
    pytest.param(lambda: _component(frequency=[1.4] * u.GHz), "frequency", [1.4e9],
                 id="SkyComponent.frequency GHz->Hz"),
    pytest.param(lambda: _component(flux=[[250.0]] * u.mJy), "flux", [[0.25]],
                 id="SkyComponent.flux mJy->Jy"),
    pytest.param(lambda: create_image(8, 2.0 * u.arcsec, CENTRE, [100.0, 101.0] * u.MHz),
                 "frequency", [1e8, 1.01e8], id="create_image frequency MHz->Hz"),
    pytest.param(lambda: create_image(8, "2asec", CENTRE, 1e8), "cellsize",
                 np.deg2rad(2.0 / 3600.0), id="create_image cellsize '2asec'->rad"),
    pytest.param(lambda: create_image(8, 1e-5, CENTRE, 1e8, channel_bandwidth=2 * u.MHz),
                 "channel_bandwidth", [2e6], id="create_image channel_bandwidth MHz->Hz"),
]  # fmt: skip


@pytest.mark.parametrize("build, attr, expected", CONVERTED)
def test_quantities_are_converted_to_internal_units(build, attr, expected):
    got = getattr(build(), attr)
    assert not isinstance(got, u.Quantity)
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)


def test_gaussian_sizes_accept_quantities_and_strings():
    g = _component(shape="gaussian", params={"bmaj": 10 * u.arcsec, "bmin": "5asec", "bpa": 0.5})
    arcsec = np.deg2rad(1 / 3600)
    assert g.params == pytest.approx({"bmaj": 10 * arcsec, "bmin": 5 * arcsec, "bpa": 0.5},
                                     rel=1e-15)  # fmt: skip


def test_plain_numbers_keep_meaning_the_internal_unit():
    v = V.replace(frequency=[100.0, 110.0], integration_time=60.0)
    np.testing.assert_array_equal(v.frequency, [100.0, 110.0])  # Hz, as given
    np.testing.assert_array_equal(v.integration_time, [60.0] * 3)
    assert _configuration(diameter=13.5).diameter[0] == 13.5


BAD_UNITS = [
    (lambda: V.replace(frequency=[1.0, 2.0] * u.Jy), r"Visibility\.frequency has unit Jy.*Hz"),
    (lambda: V.replace(channel_bandwidth=1.0 * u.m), r"Visibility\.channel_bandwidth .*Hz"),
    (lambda: V.replace(uvw=V.uvw * u.s), r"Visibility\.uvw has unit s, which is not a length.*m"),
    (lambda: V.replace(integration_time=10.0 * u.m), r"Visibility\.integration_time .*\bs\b"),
    (lambda: V.replace(time=V.time * u.Hz), r"Visibility\.time has unit Hz.*\bs\b"),
    (lambda: V.replace(weight=V.weight * u.Jy), r"Visibility\.weight takes no units"),
    (lambda: _configuration(xyz=C.xyz * u.Hz), r"Configuration\.xyz has unit Hz.*\bm\b"),
    (lambda: _configuration(diameter=12 * u.deg), r"Configuration\.diameter has unit deg"),
    (lambda: _gaintable(interval=10.0 * u.m), r"GainTable\.interval has unit m.*\bs\b"),
    (lambda: _gaintable(frequency=[1.0, 2.0, 3.0] * u.s), r"GainTable\.frequency has unit s"),
    (lambda: _component(frequency=[1.4] * u.Jy), r"SkyComponent\.frequency has unit Jy"),
    (lambda: _component(flux=[[1.0]] * u.Hz), r"SkyComponent\.flux has unit Hz.*Jy"),
    (lambda: create_image(8, 1e-5, CENTRE, 1e8 * u.km), r"create_image\.frequency has unit km"),
    (lambda: create_image(8, 1.0 * u.m, CENTRE, 1e8), r"cellsize.*not have angular units"),
    (lambda: V.replace(frequency="100 furlongs"), r"Visibility\.frequency '100 furlongs'"),
]


@pytest.mark.parametrize("build, match", BAD_UNITS)
def test_unit_of_the_wrong_kind_names_the_field(build, match):
    with pytest.raises(DataModelError, match=match):
        build()
