"""Fixtures for the uvflow.simulation tests: small synthetic arrays, no downloads.

Dask pickles functions by reference, so the directory holding ``tests/`` is put on
``sys.path`` (spawned LocalCluster workers inherit it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels.testing import random_configuration
from uvflow.execution import rsexecute

TESTS_ROOT = str(Path(__file__).resolve().parents[__name__.count(".")])
if TESTS_ROOT not in sys.path:
    sys.path.append(TESTS_ROOT)

LAYOUTS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "layouts"


@pytest.fixture(scope="session")
def layouts() -> Path:
    """``../shared/data/layouts`` beside the checkout (skip when absent)."""
    if not (LAYOUTS / "LOWBD2.csv").is_file():
        pytest.skip(f"shared layouts not found at {LAYOUTS}")
    return LAYOUTS


@pytest.fixture(scope="session")
def wide_config():
    """Ten antennas within 10 km of a MeerKAT-like site (latitude -30.7 deg)."""
    return random_configuration(nant=10, radius=10000.0, seed=3)


@pytest.fixture(scope="session")
def small_config():
    """Eight antennas within 1 km."""
    return random_configuration(nant=8, radius=1000.0, seed=5)


@pytest.fixture(scope="session")
def southern_field():
    """A field that transits 14.3 deg from the zenith of the -30.7 deg site."""
    return SkyCoord(ra=45.0, dec=-45.0, unit="deg")


@pytest.fixture
def serial():
    """rsexecute in serial mode, restored afterwards."""
    rsexecute.set_client(use_dask=False)
    yield rsexecute
    rsexecute.close()


@pytest.fixture
def hour_angles():
    """Seven hour angles, -3 h .. +3 h, radians."""
    return np.linspace(-3.0, 3.0, 7) * np.pi / 12.0
