"""Shared fixtures of the imaging kernel tests: small synthetic observations and images."""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.datamodels import SkyComponent, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.imaging import invert_dft, predict_dft


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / ||b|| (Frobenius over all elements)."""
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.fixture(scope="session")
def rel():
    """The relative error ||a - b|| / ||b||."""
    return rel_error


@pytest.fixture(scope="session")
def wide_vis():
    """A low-frequency, long-baseline 6-hour track: 20 antennas within 600 m at 100–105 MHz.

    uv up to ~400 wavelengths and w up to ~350: over an 8-degree field the w-term reaches
    ~1 turn at the edge, so ignoring it ('2d') is wrong by tens of percent.
    """
    config = random_configuration(nant=20, radius=600.0, seed=3)
    return simple_visibility(
        config, ntime=6, frequency=[1.0e8, 1.05e8], channel_bandwidth=5.0e6,
        hour_angle_span=np.pi / 2,
    )  # fmt: skip


@pytest.fixture(scope="session")
def wide_image(wide_vis):
    """256 × 256 MFS template over 8 degrees (pixels ~2.5× finer than Nyquist)."""
    return create_image(
        256, np.deg2rad(8.0 / 256), wide_vis.phasecentre, frequency=1.025e8,
        channel_bandwidth=1.0e7,
    )  # fmt: skip


@pytest.fixture(scope="session")
def wide_pixels():
    """Pixels (x, y) of the test sources: far off-centre (up to 5.4 degrees from it)."""
    return [(40, 200), (220, 30), (250, 250), (128, 128), (5, 128)]


@pytest.fixture(scope="session")
def wide_components(wide_image, wide_pixels):
    return [
        SkyComponent(
            direction=wide_image.pixel_to_sky(x, y), frequency=[1.025e8], flux=[[1.0 + 0.5 * i]]
        )
        for i, (x, y) in enumerate(wide_pixels)
    ]


@pytest.fixture(scope="session")
def wide_data(wide_vis, wide_components):
    """The wide-field visibilities of the components (exact, by DFT)."""
    return predict_dft(wide_vis, wide_components)


@pytest.fixture(scope="session")
def wide_dft_dirty(wide_data, wide_image):
    """The exact dirty image of ``wide_data`` (one DFT, shared: ~2 s)."""
    return invert_dft(wide_data, wide_image)


@pytest.fixture(scope="session")
def zerow_vis():
    """w = 0 data (for the '2d' context): 16 antennas within 1 km, 2 channels."""
    config = random_configuration(nant=16, radius=1000.0, seed=5)
    return simple_visibility(config, ntime=5, frequency=[1.0e8, 1.1e8], zerow=True)
