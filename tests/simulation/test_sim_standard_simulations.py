"""RASCIL's standard MID and LOW simulation workflows on uvflow's Visibility."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import Configuration, create_named_configuration
from uvflow.execution import rsexecute
from uvflow.simulation import SimulationError, elevation_hour_angle, named_configuration
from uvflow.simulation.standard_configurations import (
    LOW_LOCATION,
    MID_LOCATION,
    create_configuration_from_MIDfile,
)
from uvflow.simulation.standard_simulation_workflows import (
    create_standard_low_simulation_rsexecute_workflow as low_workflow,
)
from uvflow.simulation.standard_simulation_workflows import (
    create_standard_mid_simulation_rsexecute_workflow as mid_workflow,
)

PC = SkyCoord(ra=15.0, dec=-45.0, unit="deg")
S2R = np.pi / 43200.0


def mid(band="B2", rmax=100.0, phasecentre=PC, time_range=(-1.0, 1.0), time_chunk=1800.0,
        integration_time=600.0, shared_directory=None, **kw):  # fmt: skip
    graphs = mid_workflow(band, rmax, phasecentre, time_range, time_chunk, integration_time,
                          shared_directory, **kw)  # fmt: skip
    return rsexecute.compute(graphs, sync=True)


def test_chunks_times_and_hour_angles(serial):
    vis = mid()
    # RASCIL: starts arange(-3600, 3600, 1800), samples arange(start, start + 1800, 600)
    assert len(vis) == 4 and [v.ntime for v in vis] == [3, 3, 3, 3]
    expected = np.arange(-3600.0, 3600.0, 600.0) * S2R
    times = np.concatenate([v.time for v in vis])
    _, ha = elevation_hour_angle(times, MID_LOCATION, PC)
    # hour angles of the apparent phase centre: precession over 2 h moves them < 1e-5 rad
    np.testing.assert_allclose(ha, expected, atol=1e-5)
    assert np.all(np.diff(times) > 0)
    for v in vis:
        np.testing.assert_array_equal(v.integration_time, 600.0)
        assert v.configuration.location is MID_LOCATION and not v.flags.any()
        assert v.polarisation_frame.name == "stokesI" and v.vis.dtype == np.complex128


@pytest.mark.parametrize(
    "telescope, band, frequency",
    [("MID", "B1", 0.765e9), ("MID", "B2", 1.36e9), ("MID", "Ku", 12.179e9), ("LOW", "B", 1.5e8)],
)
def test_frequency_per_band(serial, layouts, telescope, band, frequency):
    if telescope == "MID":
        vis = mid(band, time_range=(0.0, 0.5))
    else:
        vis = rsexecute.compute(low_workflow(band, 60.0, PC, (0.0, 0.5), 1800.0, 600.0, layouts),
                                sync=True)  # fmt: skip
        assert vis[0].configuration.location is LOW_LOCATION
    assert len(vis) == 1
    np.testing.assert_array_equal(vis[0].frequency, [frequency])
    np.testing.assert_array_equal(vis[0].channel_bandwidth, [1e7])


def test_unknown_band_lists_the_known_ones(serial, layouts):
    with pytest.raises(SimulationError, match=r"band 'B5' unknown for SKA-MID; known: B1.*B2.*Ku"):
        mid("B5")
    with pytest.raises(SimulationError, match=r"band 'B1' unknown for SKA-LOW; known: B \("):
        low_workflow("B1", 60.0, PC, (0.0, 0.5), 1800.0, 600.0, layouts)


def _spherical_elevation(ha, dec, lat):
    return np.arcsin(np.sin(lat) * np.sin(dec) + np.cos(lat) * np.cos(dec) * np.cos(ha))


def test_elevation_cut_drops_chunks_and_flags_low_samples(serial):
    # Dec +10 at latitude -30.7: highest elevation 49.3 deg, below 15 deg beyond |HA| ~ 5.2 h
    pc = SkyCoord(ra=15.0, dec=10.0, unit="deg")
    vis = mid(phasecentre=pc, time_range=(-8.0, 8.0), time_chunk=3600.0, integration_time=900.0)
    starts = np.arange(-8.0, 8.0) * 3600.0
    lat, limit = MID_LOCATION.lat.rad, np.deg2rad(15.0)
    el_edges = np.stack(
        [_spherical_elevation(s * S2R, pc.dec.rad, lat) for s in (starts, starts + 3600)]
    )
    # RASCIL's rule with its spherical formula; no edge is within 0.5 deg of the limit, so the
    # apparent elevations uvflow uses (precession: < 0.2 deg) keep the same chunks
    assert np.min(np.abs(el_edges - limit)) > np.deg2rad(0.5)
    keep = np.flatnonzero(np.any(el_edges > limit, axis=0))
    assert 0 < keep.size < starts.size and len(vis) == keep.size
    for v, k in zip(vis, keep):
        _, ha = elevation_hour_angle(v.time[:1], MID_LOCATION, pc)
        assert ha[0] == pytest.approx(starts[k] * S2R, abs=1e-5)
        el, _ = elevation_hour_angle(v.time, MID_LOCATION, pc)
        low = el < limit  # samples of a kept chunk below the limit are flagged, not dropped
        assert np.all(v.flags[low]) and not np.any(v.flags[~low]) and np.all(v.weight[low] == 0)
    assert any(np.any(v.flags) for v in vis)


def test_no_data_above_the_elevation_limit(serial, layouts):
    # Dec +40 at latitude -26.8: at most 23 deg up, below LOW's 45 deg limit
    with pytest.raises(SimulationError, match="no data above the SKA-LOW elevation limit 45 deg"):
        low_workflow("B", 60.0, SkyCoord(ra=0.0, dec=40.0, unit="deg"), (-2, 2), 3600, 600, layouts)


@pytest.mark.parametrize(
    "time_range, time_chunk, integration_time, match",
    [((1.0, -1.0), 1800, 600, "start < end"), ((0.0,), 1800, 600, r"\(start, end\)"),
     (("a", 1.0), 1800, 600, r"\(start, end\)"), ((0.0, np.nan), 1800, 600, "finite"),
     ((0.0, 1.0), 0.0, 600, "time_chunk"), ((0.0, 1.0), 1800, -1.0, "integration_time")],
)  # fmt: skip
def test_bad_times_are_one_line_errors(serial, time_range, time_chunk, integration_time, match):
    with pytest.raises(SimulationError, match=match) as info:
        mid(time_range=time_range, time_chunk=time_chunk, integration_time=integration_time)
    assert "\n" not in str(info.value)


def test_rmax_cut_of_the_fallback_layouts(serial, layouts):
    meerkat = create_named_configuration("MEERKAT")
    at_mid = Configuration(name="m", location=MID_LOCATION, names=meerkat.names, xyz=meerkat.xyz,
                           diameter=meerkat.diameter)  # fmt: skip
    radius = np.hypot(*at_mid.enu()[:, :2].T)  # horizontal distance from the MID centre
    for rmax in (100.0, 200.0):
        config = mid(rmax=rmax, time_range=(0.0, 0.5))[0].configuration
        inside = radius <= rmax
        assert 2 < config.nants == inside.sum() < meerkat.nants
        assert list(config.names) == list(meerkat.names[inside])
        np.testing.assert_array_equal(config.xyz, meerkat.xyz[inside])  # positions kept
    low = rsexecute.compute(low_workflow("B", 100.0, PC, (0.0, 0.5), 1800, 600, layouts), sync=True)
    assert low[0].configuration.nants == named_configuration("LOWBD2", 100.0, layouts).nants == 13


MIDFILE = """# SKA1-MID local coordinates
# five header lines, as RASCIL's genfromtxt(skip_header=5) expects
#
# X Y Z Diam Station
#
9.36976 35.48262 1052.99987 13.50 M001
-20.0 10.0 1050.0 15.00 SKA001
300.0 -40.0 1060.0 15.00 SKA002
-10.0 -30.0 1055.0 15.00 SKA003
2500.0 900.0 1080.0 15.00 SKA004
"""


def test_layout_file_is_read_as_rascil_does(serial, tmp_path):
    (tmp_path / "ska1mid_local.cfg").write_text(MIDFILE)
    vis = mid(rmax=1500.0, time_range=(0.0, 0.5), shared_directory=tmp_path)
    config = vis[0].configuration
    rows = np.loadtxt(tmp_path / "ska1mid_local.cfg", skiprows=5, usecols=(0, 1, 2, 3))
    # rmax: 3-D distance from the mean position (RASCIL's limit_rmax) drops SKA004 only
    r = np.linalg.norm(rows[:, :3] - rows[:, :3].mean(axis=0), axis=1)
    assert list(r < 1500.0) == [True, True, True, True, False]
    assert list(config.names) == ["M001", "SKA001", "SKA002", "SKA003"]
    np.testing.assert_allclose(config.enu(), rows[:4, :3], atol=1e-6)  # X east, Y north, Z up
    np.testing.assert_array_equal(config.diameter, rows[:4, 3])
    assert config.location is MID_LOCATION and set(config.mount) == {"altaz"}
    with pytest.raises(SimulationError, match="needs location"):
        create_configuration_from_MIDfile(tmp_path / "ska1mid_local.cfg")


def test_polarisation_and_zerow(serial):
    vis = mid(time_range=(0.0, 0.5), polarisation_frame="linear", zerow=True)
    assert vis[0].vis.shape[-1] == 4 and np.all(vis[0].uvw[..., 2] == 0)


def test_serial_and_dask_give_the_same_chunks(serial, layouts):
    args = ("B", 100.0, PC, (-1.0, 1.0), 1800.0, 900.0, layouts)
    ref = rsexecute.compute(low_workflow(*args), sync=True)
    rsexecute.set_client(use_dask=True, scheduler="threads", n_workers=2)
    graphs = low_workflow(*args)
    assert all(hasattr(g, "dask") for g in graphs)
    out = rsexecute.compute(graphs, sync=True)
    assert len(out) == len(ref) == 4
    for a, b in zip(ref, out):
        np.testing.assert_array_equal(a.time, b.time)
        np.testing.assert_array_equal(a.uvw, b.uvw)
        np.testing.assert_array_equal(a.flags, b.flags)
        np.testing.assert_array_equal(a.frequency, b.frequency)


def test_mid_fallback_is_logged_once(serial, monkeypatch, caplog):
    import uvflow.simulation.standard_configurations as sc

    monkeypatch.setattr(sc, "_warned_mid_fallback", False)
    mid(time_range=(0.0, 0.5))
    mid(time_range=(0.0, 0.5))
    assert caplog.text.count("uses the MeerKAT dishes") == 1
