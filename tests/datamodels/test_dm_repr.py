"""``repr`` of each data model summarises its shapes and ranges (the numbers are checked).

The objects are built with known contents, so every number in the summary is known: the
checks read the numbers back out of the text, not just that a repr exists.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import GainTable, SkyComponent, SkyModel, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility

CENTRE = SkyCoord(ra=187.5, dec=2.25, unit="deg")


def test_visibility_repr():
    config = random_configuration(nant=5, radius=800.0, seed=2)
    v = simple_visibility(config, ntime=4, frequency=[1.0e8, 1.05e8, 1.1e8],
                          polarisation_frame="linear", phasecentre=CENTRE)  # fmt: skip
    flags = np.zeros(v.vis.shape, bool)
    flags[0] = True  # one of four integrations: 25 %
    uvw = v.uvw * (500.0 / np.linalg.norm(v.uvw, axis=-1).max())  # all |uvw| <= 500 m
    uvw[2, 3] = [300.0, -400.0, 1200.0]  # |uvw| = 1300 m, the longest
    v = v.replace(flags=flags, uvw=uvw, source="3C273")
    text = repr(v)
    assert text.startswith(
        "Visibility(source='3C273', ntime=4, nbaseline=10, nchan=3, npol=4 linear"
    )
    assert "100.000–110.000 MHz" in text
    span = float(re.search(r"time span ([0-9.]+) s", text).group(1))
    assert span == pytest.approx(v.time[-1] - v.time[0], abs=0.05)
    assert "|uvw| <= 1300.0 m" in text
    assert "dtype=complex128" in text and "flagged=25.0%" in text


def test_image_repr():
    im = create_image(32, np.deg2rad(1.5 / 3600), CENTRE, [1.4e9, 1.401e9],
                      polarisation_frame="stokesIQUV", dtype=np.float32)  # fmt: skip
    data = np.zeros(im.shape, np.float32)
    data[1, 0, 3, 4], data[0, 2, 5, 6] = 2.5, -0.75
    im = im.replace(data=data, clean_beam={"bmaj": 1e-3, "bmin": 5e-4, "bpa": 10.0})
    text = repr(im)
    assert text.startswith("Image(shape=[2, 4, 32, 32], stokesIQUV, cell=1.5 arcsec")
    assert "freq=1400–1401 MHz" in text and "dtype=float32" in text
    assert "range -0.75..2.5" in text
    assert "beam={'bmaj': 0.001, 'bmin': 0.0005, 'bpa': 10.0}" in text


def test_gaintable_repr():
    nt, na, nc = 3, 6, 2
    gain = np.ones((nt, na, nc, 2, 2), complex)
    gain[..., 0, 1] = gain[..., 1, 0] = 0.0  # diagonal Jones: off-diagonal |g| = 0
    gain[1, 2, 0, 0, 0] = 1.75j  # |g| = 1.75, the largest
    gt = GainTable(
        gain=gain, weight=np.ones(gain.shape), residual=np.zeros((nt, nc, 2, 2)),
        time=5e9 + 10.0 * np.arange(nt), interval=10.0, frequency=[1e8, 1.1e8],
        receptor_frame="circular", phasecentre=CENTRE, jones_type="G",
    )  # fmt: skip
    assert repr(gt) == "GainTable(G, ntimes=3, nants=6, nchan=2, nrec=2 circular, |g| 0..1.75)"


def test_configuration_repr():
    c = random_configuration(nant=7, radius=1500.0, seed=4, latitude_deg=-26.7, name="ARRAY")
    radius = np.linalg.norm(c.enu()[:, :2], axis=1).max()
    text = repr(c)
    assert text.startswith("Configuration('ARRAY', nants=7, lon=21.4400°, lat=-26.7000°")
    assert f"max radius {radius:.1f} m" in text and radius <= 1500.0


def test_skycomponent_repr():
    point = SkyComponent(direction=CENTRE, frequency=[1.4e9], flux=[[2.5, 0.1, 0.0, -0.05]],
                         polarisation_frame="stokesIQUV", name="core")  # fmt: skip
    assert repr(point) == (
        "SkyComponent('core', point, ra=187.500000°, dec=2.250000°, "
        "flux[0]=[2.5, 0.1, 0.0, -0.05] Jy stokesIQUV at 1400 MHz)"
    )
    gauss = SkyComponent(
        direction=CENTRE, frequency=[1.0e8, 1.2e8], flux=[[1.0], [0.8]], shape="gaussian",
        params={"bmaj": "20asec", "bmin": "8asec", "bpa": np.deg2rad(45.0)}, name="lobe",
    )  # fmt: skip
    text = repr(gauss)
    assert "gaussian 20x8 arcsec pa 45°" in text
    assert "flux[0]=[1.0] Jy stokesI at 100–120 MHz (2 channels)" in text


def test_skymodel_repr():
    im = create_image(16, 1e-5, CENTRE, 1e8)
    comp = SkyComponent(direction=CENTRE, frequency=[1e8], flux=[[1.0]])
    model = SkyModel(image=im, components=[comp, comp.copy()], mask=im.copy(), fixed=True)
    assert repr(model) == (
        "SkyModel(image=[1, 1, 16, 16], 2 components, gaintable=False, mask=True, fixed=True)"
    )
