"""Named observations and bad input to create_visibility."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import PolarisationError
from uvflow.simulation import (
    STANDARD_OBSERVATIONS,
    SimulationError,
    create_named_observation,
    create_visibility,
    named_configuration,
)


@pytest.mark.parametrize("name, nant", [("meerkat", 63), ("VLA-A", 27), ("vla_d", 27)])
def test_named_observations(name, nant):
    vis = create_named_observation(name, times=np.array([-0.2, 0.0, 0.2]))
    assert vis.configuration.nants == nant
    assert vis.nbaseline == nant * (nant - 1) // 2 and vis.ntime == 3 and vis.nchan == 3
    assert not vis.flags.any()  # the standard fields are well above 15 deg at these times


def test_lowbd2_from_the_layout_file(layouts):
    # /work/shared/data/README.md: a 750 m cut about the mean position leaves 236 stations
    config = named_configuration("lowbd2", rmax=750.0, layout_path=layouts)
    assert config.nants == 236
    assert np.all(config.diameter == 35.0)
    assert config.location.lon.deg == pytest.approx(116.7644)
    vis = create_named_observation(
        "LOWBD2-CORE", layout_path=layouts / "LOWBD2-CORE.csv", rmax=200.0, times=[0.0]
    )
    assert vis.frequency[1] == 1.0e8 and vis.configuration.nants >= 2


def test_unknown_configuration_lists_the_known_ones():
    with pytest.raises(SimulationError) as err:
        create_named_observation("ALMA")
    for known in STANDARD_OBSERVATIONS:
        assert known in str(err.value)
    with pytest.raises(SimulationError, match="layout_path"):
        named_configuration("lowbd2")


def test_bad_input(small_config, southern_field):
    good = dict(config=small_config, times=[0.0], frequency=1e8, channel_bandwidth=1e6,
                phasecentre=southern_field)  # fmt: skip
    create_visibility(**good)

    def bad(match, **changes):
        with pytest.raises(SimulationError, match=match):
            create_visibility(**{**good, **changes})

    bad("times is empty", times=[])
    bad("times is empty", times=np.array([]), times_are="utc")
    bad("strictly increasing", times=[0.1, 0.0])
    bad("finite", times=[0.0, np.nan])
    bad("times_are 'lst' unknown", times_are="lst")
    bad("frequency must be finite and > 0", frequency=0.0)
    bad("frequency must be finite and > 0", frequency=[1e8, -1e8])
    bad("frequency is empty", frequency=[])
    bad("channel_bandwidth must be", channel_bandwidth=0.0)
    bad(
        "channel_bandwidth must be a scalar or have 2",
        frequency=[1e8, 2e8],
        channel_bandwidth=[1, 2, 3],
    )
    bad("integration_time must be finite and > 0 s", integration_time=-1.0)
    bad("weight must be", weight=0.0)
    bad("dtype", dtype=np.float64)
    bad("elevation_limit", elevation_limit=2.0)
    bad("phasecentre must be", phasecentre="3C273")
    bad("config must be a Configuration", config="MEERKAT")
    bad("need >= 2", config=small_config.select([0]))
    bad("utc_time", utc_time="yesterday")
    with pytest.raises(PolarisationError, match="unknown"):
        create_visibility(**good, polarisation_frame="stokesXYZ")


def test_source_below_the_horizon_for_the_whole_track(small_config):
    north = SkyCoord(ra=10.0, dec=75.0, unit="deg")  # never rises at latitude -30.7 deg
    with pytest.raises(SimulationError, match="below the elevation limit .* whole track"):
        create_visibility(small_config, np.linspace(-1, 1, 5), 1e8, 1e6, north)
    with pytest.raises(SimulationError, match="below the horizon"):
        create_visibility(
            small_config, np.linspace(-1, 1, 5), 1e8, 1e6, north, elevation_limit=None
        )
    # transits at 9.3 deg for the J2000 declination (9.2 deg after precession to 2024)
    low = SkyCoord(ra=10.0, dec=50.0, unit="deg")
    with pytest.raises(SimulationError, match=r"highest elevation 9\.[12]"):
        create_visibility(small_config, [0.0], 1e8, 1e6, low)
    vis = create_visibility(small_config, [0.0], 1e8, 1e6, low, elevation_limit="5deg")
    assert not vis.flags.any()
