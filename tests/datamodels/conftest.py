"""Shared fixtures for the uvflow.datamodels tests: tiny synthetic data and the shared data dir."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``<repo>/../shared/data`` (CI keeps ``shared/`` beside the checkout); skip if absent."""
    path = REPO.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data directory {path} not found")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def random_visibility(rng, frame="linear", ntime=4, nchan=3, nant=6, dtype=np.complex128):
    """A small Visibility with random data, weights and ~10 % flags."""
    config = random_configuration(nant=nant, radius=500.0, seed=int(rng.integers(1000)))
    freq = 1.0e8 + 1.0e6 * np.arange(nchan)
    vis = simple_visibility(
        config, ntime=ntime, frequency=freq, polarisation_frame=frame, dtype=dtype
    )
    shape = vis.vis.shape
    return vis.replace(
        vis=(rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype),
        weight=rng.uniform(0.5, 2.0, size=shape),
        flags=rng.uniform(size=shape) < 0.1,
        meta={"origin": "conftest", "seed": 1},
    )


@pytest.fixture
def make_vis(rng):
    """Factory: ``make_vis(frame='linear', ntime=4, nchan=3, nant=6, dtype=complex128)``."""
    return lambda **kw: random_visibility(rng, **kw)


@pytest.fixture
def vis(rng):
    return random_visibility(rng)


def random_image(rng, frame="stokesIQUV", npix=32, nchan=2, dtype=np.float64):
    im = create_image(
        npix,
        np.deg2rad(2.0 / 3600.0),
        SkyCoord(ra=187.70593075, dec=12.39112331, unit="deg"),
        1.0e8 + 2.0e6 * np.arange(nchan),
        polarisation_frame=frame,
        dtype=dtype,
    )
    data = rng.normal(size=im.data.shape).astype(dtype)
    return im.replace(data=data, clean_beam={"bmaj": 1.1e-3, "bmin": 7.3e-4, "bpa": 31.7})


@pytest.fixture
def make_image(rng):
    """Factory: ``make_image(frame='stokesIQUV', npix=32, nchan=2, dtype=float64)``."""
    return lambda **kw: random_image(rng, **kw)


@pytest.fixture
def image(rng):
    return random_image(rng)


def assert_visibility_equal(a, b) -> None:
    """Every array bit-identical (dtype too) and every attribute equal."""
    for name in ("vis", "weight", "flags", "uvw", "time", "integration_time", "antenna1",
                 "antenna2", "frequency", "channel_bandwidth"):  # fmt: skip
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.polarisation_frame == b.polarisation_frame
    assert a.phasecentre.frame.name == b.phasecentre.frame.name
    assert a.phasecentre.ra.deg == b.phasecentre.ra.deg
    assert a.phasecentre.dec.deg == b.phasecentre.dec.deg
    assert a.source == b.source
    assert_configuration_equal(a.configuration, b.configuration)


def assert_configuration_equal(a, b) -> None:
    if a is None or b is None:
        assert a is b
        return
    assert a.name == b.name
    np.testing.assert_array_equal(a.names, b.names)
    np.testing.assert_array_equal(a.xyz, b.xyz)
    np.testing.assert_array_equal(a.diameter, b.diameter)
    np.testing.assert_array_equal(a.mount, b.mount)
    for u, v in zip(a.location.to_geocentric(), b.location.to_geocentric()):
        assert u.to_value("m") == v.to_value("m")


def assert_wcs_equal(a, b) -> None:
    wa, wb = a.wcs, b.wcs
    assert list(wa.ctype) == list(wb.ctype)
    assert list(wa.cunit) == list(wb.cunit)
    for name in ("crval", "cdelt", "crpix"):
        np.testing.assert_array_equal(getattr(wa, name), getattr(wb, name), err_msg=name)
    np.testing.assert_array_equal(wa.get_pc(), wb.get_pc())
    assert wa.radesys == wb.radesys
    assert wa.lonpole == wb.lonpole and wa.latpole == wb.latpole


def assert_image_equal(a, b) -> None:
    assert a.data.dtype == b.data.dtype
    np.testing.assert_array_equal(a.data, b.data)
    assert_wcs_equal(a.wcs, b.wcs)
    assert a.polarisation_frame == b.polarisation_frame
    assert a.clean_beam == b.clean_beam


@pytest.fixture
def checks():
    """The equality assertions above, for test modules (importlib mode: no conftest imports)."""

    class Checks:
        visibility_equal = staticmethod(assert_visibility_equal)
        configuration_equal = staticmethod(assert_configuration_equal)
        wcs_equal = staticmethod(assert_wcs_equal)
        image_equal = staticmethod(assert_image_equal)

    return Checks
