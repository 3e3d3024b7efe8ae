"""SkyComponent and SkyModel reject bad input with a DataModelError saying what is expected."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import (
    DataModelError,
    PolarisationError,
    SkyComponent,
    SkyModel,
    create_image,
)

CENTRE = SkyCoord(ra=10.0, dec=-30.0, unit="deg")
GAUSS = {"bmaj": 1e-4, "bmin": 5e-5, "bpa": 0.3}


def _component(**changes):
    fields = {"direction": CENTRE, "frequency": [1.0e8, 1.1e8], "flux": [[1.0, 0.1, 0.0, 0.0]] * 2,
              "polarisation_frame": "stokesIQUV"}  # fmt: skip
    return SkyComponent(**(fields | changes))


def test_valid_components():
    c = _component()
    assert (c.nchan, c.npol) == (2, 4) and c.flux.dtype == float
    g = _component(shape="gaussian", params=dict(GAUSS, extra="kept"))
    assert g.params == dict(GAUSS, extra="kept")
    circle = _component(shape="gaussian", params={"bmaj": 1e-4, "bmin": 1e-4, "bpa": 0.0})
    assert circle.params["bmin"] == 1e-4


@pytest.mark.parametrize(
    "changes, match",
    [
        # flux against frequency and polarisation frame
        ({"flux": [[1.0, 0.1, 0.0, 0.0]]},
         r"flux has shape \[1, 4\], expected \[nchan, npol\] = \[2, 4\]: 2 frequencies"),
        ({"flux": [[1.0], [1.0]]}, r"flux has shape \[2, 1\].*4 products of stokesIQUV \(I Q U V\)"),
        ({"flux": [1.0, 0.1, 0.0, 0.0]}, r"flux has shape \[4\], expected \[nchan, npol\]"),
        ({"polarisation_frame": "linearnp"}, r"expected \[nchan, npol\] = \[2, 2\].*linearnp \(XX YY\)"),
        ({"flux": [["a", "b", "c", "d"]] * 2}, r"SkyComponent\.flux has dtype <U1"),
        ({"flux": [[np.nan, 0.0, 0.0, 0.0]] * 2}, r"flux must be finite"),
        # frequency
        ({"frequency": [1.0e8, -1.0]}, r"frequency must be one or more finite values > 0 Hz"),
        ({"frequency": [], "flux": np.zeros((0, 4))}, r"frequency must be one or more"),
        ({"frequency": [[1e8, 1.1e8]]}, r"SkyComponent\.frequency must have 1 dimensions"),
        # shape and parameters
        ({"shape": "disc"}, r"shape 'disc' unknown; use one of point, gaussian"),
        ({"shape": "gaussian"}, r"needs params \['bmaj', 'bmin', 'bpa'\]: bmaj, bmin \(FWHM\)"),
        ({"shape": "gaussian", "params": {"bmaj": 1e-4}}, r"needs params \['bmin', 'bpa'\]"),
        ({"shape": "gaussian", "params": dict(GAUSS, bmaj=-1e-4)}, r"bmaj >= bmin > 0.*bmaj=-0.0001"),
        ({"shape": "gaussian", "params": dict(GAUSS, bmin=-1e-5)}, r"bmaj >= bmin > 0"),
        ({"shape": "gaussian", "params": dict(GAUSS, bmin=0.0)}, r"bmaj >= bmin > 0"),
        ({"shape": "gaussian", "params": dict(GAUSS, bmin=2e-4)}, r"bmaj >= bmin > 0"),
        ({"shape": "gaussian", "params": dict(GAUSS, bpa=np.inf)}, r"params\['bpa'\]: angle inf is not finite"),
        ({"shape": "gaussian", "params": dict(GAUSS, bpa=np.nan * u.deg)}, r"params must be finite"),
        ({"shape": "gaussian", "params": dict(GAUSS, bmaj="big")}, r"params\['bmaj'\]: angle 'big'"),
        ({"shape": "gaussian", "params": [1e-4, 5e-5, 0.3]}, r"params must be a dict, got list"),
        # types
        ({"direction": (10.0, -30.0)}, r"direction must be a scalar astropy SkyCoord, got tuple"),
        ({"direction": SkyCoord(ra=[1, 2], dec=[3, 4], unit="deg")}, r"of several directions"),
        ({"name": 7}, r"SkyComponent\.name must be a str, got int"),
        ({"shape": None}, r"shape None unknown"),
    ],
)  # fmt: skip
def test_component_bad_input(changes, match):
    with pytest.raises(DataModelError, match=match):
        _component(**changes)


def test_component_unknown_frame_is_a_polarisation_error():
    with pytest.raises(PolarisationError, match="frame 'stokesQ' unknown; use one of"):
        _component(polarisation_frame="stokesQ")


def _image(nchan=2, frame="stokesIQUV", npix=16):
    freq = 1.0e8 + 1.0e7 * np.arange(nchan)
    return create_image(npix, 1e-5, CENTRE, freq, polarisation_frame=frame)


def test_valid_skymodels():
    im = _image()
    SkyModel(image=im, components=[_component()], mask=_image(nchan=1, frame="stokesI"))
    SkyModel(image=im, mask=im.copy())
    SkyModel(components=(_component(),), mask=_image(npix=8))  # no image to compare with


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"mask": _image(npix=12)}, r"mask has shape \[2, 4, 12, 12\], the image \[2, 4, 16, 16\]"),
        ({"mask": _image(nchan=3)}, r"1 or 2 channels, 1 or 4 polarisations"),
        ({"mask": _image(frame="linearnp")}, r"mask has shape \[2, 2, 16, 16\]"),
        ({"mask": np.ones((2, 4, 16, 16))}, r"SkyModel\.mask must be Image or None, got ndarray"),
        ({"image": np.zeros((2, 4, 16, 16))}, r"SkyModel\.image must be Image or None, got ndarray"),
        ({"gaintable": {"gain": 1}}, r"SkyModel\.gaintable must be GainTable or None, got dict"),
        ({"components": _component()}, r"components must be a list of SkyComponent, got SkyComponent"),
        ({"components": [_component(), "3C273"]}, r"must be SkyComponents; item 1 is str"),
        ({"fixed": "yes"}, r"SkyModel\.fixed must be a bool, got str"),
    ],
)  # fmt: skip
def test_skymodel_bad_input(changes, match):
    with pytest.raises(DataModelError, match=match):
        SkyModel(**({"image": _image()} | changes))
