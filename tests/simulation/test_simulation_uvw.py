"""uvw, times and elevation flags of create_visibility, against casacore and geometry."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import AltAz, SkyCoord
from astropy.time import Time

from uvflow.datamodels import create_named_configuration
from uvflow.simulation import (
    create_visibility,
    elevation_hour_angle,
    transit_time,
    uvw_rotation,
)


def casacore_uvw(vis, baselines):
    """casacore's uvw (measures().to_uvw of an ITRF baseline) for the given baseline indices."""
    measures = pytest.importorskip("casacore.measures")
    quanta = pytest.importorskip("casacore.quanta")
    dm = measures.measures()
    config = vis.configuration
    centre = [v.to_value("m") for v in config.location.to_geocentric()]
    dm.do_frame(dm.position("itrf", *[quanta.quantity(v, "m") for v in centre]))
    pc = vis.phasecentre.icrs
    dm.do_frame(
        dm.direction("j2000", quanta.quantity(pc.ra.rad, "rad"), quanta.quantity(pc.dec.rad, "rad"))
    )
    out = np.zeros((vis.ntime, len(baselines), 3))
    for it, t in enumerate(vis.time):
        dm.do_frame(dm.epoch("utc", quanta.quantity(t, "s")))
        for k, ib in enumerate(baselines):
            d = config.xyz[vis.antenna2[ib]] - config.xyz[vis.antenna1[ib]]
            bl = dm.baseline("itrf", *[quanta.quantity(v, "m") for v in d])
            out[it, k] = dm.to_uvw(bl)["xyz"].get_value("m")
    return out


@pytest.mark.parametrize(
    "which, ra, dec, utc",
    [("wide", 45.0, -45.0, "2024-03-01T00:00:00"), ("vla-a", 200.0, 40.0, "2021-07-15T00:00:00")],
)
def test_uvw_agree_with_casacore(which, ra, dec, utc, wide_config):
    config = wide_config if which == "wide" else create_named_configuration("VLAA")
    pc = SkyCoord(ra=ra, dec=dec, unit="deg")
    vis = create_visibility(
        config, np.linspace(-2.5, 2.5, 5) * np.pi / 12, 1e9, 1e6, pc, utc_time=utc
    )
    length = np.linalg.norm(
        config.xyz[vis.antenna2] - config.xyz[vis.antenna1], axis=-1
    )  # [nbaseline]
    long_ones = np.flatnonzero(length >= 4000.0)
    assert long_ones.size >= 10
    ref = casacore_uvw(vis, long_ones)
    diff = np.linalg.norm(vis.uvw[:, long_ones] - ref, axis=-1)
    # The acceptance bound: 0.5 m on baselines >= 4 km. Both include precession, nutation,
    # polar motion, UT1 and the aberration of the phase centre (without aberration the
    # difference is ~1e-4 of the length, 1 m at 10 km); what remains is casacore's own
    # approximations (diurnal term, interpolated nutation), measured ~2e-6 of the length.
    assert diff.max() < 0.5
    assert (diff / length[long_ones]).max() < 1e-5


def test_baseline_lengths_preserved_on_zenith_track(wide_config):
    lat = wide_config.location.lat.deg
    utc = Time("2024-06-01T00:00:00", scale="utc")
    pc = SkyCoord(ra=120.0, dec=lat, unit="deg")
    vis = create_visibility(wide_config, np.linspace(-0.05, 0.05, 5), 1e9, 1e6, pc, utc_time=utc)
    el, _ = elevation_hour_angle(vis.time, wide_config.location, pc)
    assert np.rad2deg(el).min() > 87.0  # near the zenith
    dxyz = wide_config.xyz[vis.antenna2] - wide_config.xyz[vis.antenna1]
    ratio = np.linalg.norm(vis.uvw, axis=-1) / np.linalg.norm(dxyz, axis=-1)[None, :]
    # A rotation preserves length; float64 round-off on ~6e6 m ITRF coordinates is ~1e-12.
    np.testing.assert_allclose(ratio, 1.0, rtol=0, atol=1e-9)


def test_rotation_matrices_are_orthonormal(southern_field, wide_config):
    t = 5.2e9 + np.arange(4) * 3600.0
    rot, s_itrs = uvw_rotation(t, wide_config.location, southern_field)
    eye = np.einsum("tij,tkj->tik", rot, rot)
    np.testing.assert_allclose(eye, np.broadcast_to(np.eye(3), eye.shape), atol=1e-14)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-14)  # proper rotation
    np.testing.assert_allclose(np.linalg.norm(s_itrs, axis=-1), 1.0, atol=1e-14)


def test_hour_angles_and_transit(wide_config, southern_field, hour_angles):
    vis = create_visibility(wide_config, hour_angles, 1e9, 1e6, southern_field)
    el, ha = elevation_hour_angle(vis.time, wide_config.location, southern_field)
    # Requested hour angles are converted with the sidereal rate; precession over 3 h moves
    # the apparent hour angle by < 1e-5 rad.
    np.testing.assert_allclose(ha, hour_angles, atol=1e-5)
    # Elevations against astropy's AltAz (no refraction): the same IAU models, so they agree
    # to well under an arcsecond (ours is geocentric-apparent, astropy's topocentric).
    altaz = southern_field.transform_to(
        AltAz(
            obstime=Time(vis.time / 86400, format="mjd", scale="utc"),
            location=wide_config.location,
            pressure=0,
        )  # fmt: skip
    )
    np.testing.assert_allclose(np.rad2deg(el), altaz.alt.deg, rtol=0, atol=1 / 3600)
    assert np.argmax(el) == 3
    # The transit is the first at or after utc_time: within one sidereal day after it.
    t0 = Time("2024-01-01T00:00:00", scale="utc").mjd * 86400
    assert t0 <= vis.time[3] < t0 + 86164.1
    np.testing.assert_allclose(
        vis.time[3],
        transit_time(Time(t0 / 86400, format="mjd"), wide_config.location, southern_field),
    )
    # default integration time: the spacing of the track (1 h of hour angle, in UTC seconds)
    np.testing.assert_allclose(vis.integration_time, 3600.0 / 1.00273781191, rtol=1e-6)


def test_ms_baseline_convention(small_config, southern_field):
    vis = create_visibility(small_config, [0.0, 0.3], [1e8, 2e8], 1e6, southern_field)
    nant = small_config.nants
    assert vis.nbaseline == nant * (nant - 1) // 2
    assert np.all(vis.antenna1 < vis.antenna2)
    # uvw = XYZ(a2) - XYZ(a1): the per-baseline uvw is antisymmetric in the antenna order and
    # additive along closed triangles (exact up to round-off).
    b01 = np.flatnonzero((vis.antenna1 == 0) & (vis.antenna2 == 1))[0]
    b12 = np.flatnonzero((vis.antenna1 == 1) & (vis.antenna2 == 2))[0]
    b02 = np.flatnonzero((vis.antenna1 == 0) & (vis.antenna2 == 2))[0]
    np.testing.assert_allclose(vis.uvw[:, b01] + vis.uvw[:, b12], vis.uvw[:, b02], atol=1e-9)
    assert vis.vis.dtype == np.complex128 and not vis.vis.any()
    assert vis.weight.shape == (2, vis.nbaseline, 2, 1) and np.all(vis.weight == 1.0)


def test_zerow_and_utc_times(small_config, southern_field):
    t0 = transit_time(Time("2024-01-01T00:00:00"), small_config.location, southern_field)
    times = Time((t0 + np.array([0.0, 60.0, 120.0])) / 86400, format="mjd", scale="utc")
    a = create_visibility(small_config, times, 1e8, 1e6, southern_field, times_are="utc")
    b = create_visibility(
        small_config, times.mjd * 86400, 1e8, 1e6, southern_field, times_are="utc", zerow=True
    )
    np.testing.assert_allclose(a.time, times.mjd * 86400, rtol=0, atol=1e-5)
    np.testing.assert_allclose(a.integration_time, 60.0, rtol=1e-9)
    np.testing.assert_array_equal(a.uvw[..., :2], b.uvw[..., :2])
    assert np.all(b.uvw[..., 2] == 0) and np.any(a.uvw[..., 2] != 0)


def test_low_elevation_rows_are_flagged_not_dropped(small_config):
    pc = SkyCoord(ra=0.0, dec=10.0, unit="deg")  # transits at 49 deg from -30.7 deg
    ha = np.linspace(-6, 6, 13) * np.pi / 12
    vis = create_visibility(small_config, ha, 1e8, 1e6, pc, polarisation_frame="linear")
    el, _ = elevation_hour_angle(vis.time, small_config.location, pc)
    low = el < np.deg2rad(15.0)
    assert low.any() and not low.all()
    assert vis.ntime == 13
    assert np.all(vis.flags[low]) and not np.any(vis.flags[~low])
    assert np.all(vis.weight[low] == 0) and np.all(vis.weight[~low] == 1.0)
    open_limit = create_visibility(small_config, ha, 1e8, 1e6, pc, elevation_limit=None)
    assert not open_limit.flags.any()
    lower = create_visibility(small_config, ha, 1e8, 1e6, pc, elevation_limit="5deg")
    assert lower.flags[:, 0, 0, 0].sum() == np.sum(el < np.deg2rad(5.0))


@pytest.mark.filterwarnings("ignore:ERFA function:erfa.ErfaWarning")  # 2040: "dubious year"
def test_times_beyond_the_iers_table_warn_and_stay_offline(small_config, southern_field, caplog):
    from astropy.utils import iers

    before = iers.conf.auto_download
    with caplog.at_level("WARNING", logger="uvflow.simulation.earth_orientation"):
        vis = create_visibility(
            small_config, [0.0, 0.1], 1e8, 1e6, southern_field, utc_time="2040-01-01T00:00:00"
        )
    assert "outside the IERS Earth-orientation table" in caplog.text
    assert iers.conf.auto_download == before  # the temporary switch is undone
    dxyz = small_config.xyz[vis.antenna2] - small_config.xyz[vis.antenna1]
    np.testing.assert_allclose(
        np.linalg.norm(vis.uvw, axis=-1),
        np.broadcast_to(np.linalg.norm(dxyz, axis=-1), (2, vis.nbaseline)),
        rtol=1e-12,
    )


def test_uvw_do_not_depend_on_how_the_track_is_split(small_config, southern_field):
    """Windows of a track (one time each) get bit-identical uvw to the whole track, so
    simulations split by time in workflows equal unsplit ones."""
    whole = create_visibility(small_config, np.linspace(-1, 1, 9), 1e8, 1e6, southern_field)
    for i in range(whole.ntime):
        one = create_visibility(
            small_config, whole.time[i : i + 1], 1e8, 1e6, southern_field, times_are="utc"
        )
        np.testing.assert_array_equal(one.uvw[0], whole.uvw[i])
