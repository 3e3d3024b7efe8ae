"""Atmospheric phase-screen gain errors: Kolmogorov screens, pierce points, the RASCIL workflow."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from astropy.coordinates import AltAz, SkyCoord
from astropy.time import Time
from astropy.utils import iers
from astropy.wcs import WCS

from uvflow.datamodels import Configuration, Image
from uvflow.execution import rsexecute
from uvflow.simulation import SimulationError, create_skycomponent, create_visibility
from uvflow.simulation.atmospheric_screens import (
    kolmogorov_phase_screen,
    phase_structure_function,
)
from uvflow.simulation.pierce_points import pierce_points
from uvflow.simulation.standard_simulation_workflows import (
    create_atmospheric_errors_gaintable_rsexecute_workflow as atmospheric_workflow,
)

LOCATION_LAT = -30.7
FREQ = np.array([1.0e8, 1.5e8, 2.0e8])
#: coarse generated screens (a few hundred pixels) where their fine structure is not tested
FAST = {"screen_cellsize": 400.0}


@pytest.fixture(scope="module")
def config():
    """Five antennas within ~600 m; antennas 0 and 1 share a position."""
    from uvflow.datamodels.testing import random_configuration

    base = random_configuration(nant=4, radius=600.0, seed=7, latitude_deg=LOCATION_LAT)
    xyz = np.concatenate([base.xyz[:1], base.xyz])
    return Configuration(name="T", location=base.location, names=[f"A{i}" for i in range(5)],
                         xyz=xyz, diameter=15.0)  # fmt: skip


@pytest.fixture(scope="module")
def windows(config):
    """Two windows of two times each (hour angles -0.5, -0.4 and 0.4, 0.5 h), three channels."""
    pc = SkyCoord(ra=30.0, dec=-40.0, unit="deg")
    return [create_visibility(config, np.array(ha) * np.pi / 12, FREQ, 1e6, pc)
            for ha in ((-0.5, -0.4), (0.4, 0.5))]  # fmt: skip


@pytest.fixture(scope="module")
def components(windows):
    pc = windows[0].phasecentre
    return [create_skycomponent(pc, 1.0, FREQ),
            create_skycomponent(SkyCoord(ra=31.0, dec=-39.0, unit="deg"), 1.0, FREQ)]  # fmt: skip


def ramp_screen(slope=(2e-5, -1e-5), cell=500.0, n=400, meta=None, nchan=1) -> Image:
    """A screen whose phase is slope · (E, N) exactly, centred on the array."""
    wcs = WCS(naxis=4)
    wcs.wcs.ctype = ["RA", "DEC", "STOKES", "FREQ"]
    wcs.wcs.crpix = [n // 2 + 1, n // 2 + 1, 1, 1]
    wcs.wcs.crval = [0.0, 0.0, 1.0, 1.2e8]
    wcs.wcs.cdelt = [cell, cell, 1.0, 1e6]
    coords = (np.arange(n) - n // 2) * cell
    data = slope[0] * coords[None, :] + slope[1] * coords[:, None]
    return Image(data=np.broadcast_to(data, (nchan, 1, n, n)).copy(), wcs=wcs,
                 polarisation_frame="stokesI", meta=dict(meta or {}))  # fmt: skip


def computed(graphs):
    return rsexecute.compute(graphs, sync=True)


def test_kolmogorov_structure_function():
    """D(r) of generated screens against 6.88 (r/r0)^(5/3) at 4 to 32 pixels.

    The tolerance is the sampling error: 40 independent screens give 40 estimates of D(r)
    at each lag, whose mean must lie within 3 standard errors (the estimates' scatter /
    sqrt(40), 4-10% of D here) of the law. The method's own bias (expected D within 1% of the
    law at these lags, see uvflow.simulation.atmospheric_screens) is below 0.25 standard
    errors, so the test checks the normalisation and the 5/3 slope, not a tuned number.
    """
    n, cell, r0 = 128, 10.0, 80.0
    lags = np.array([4, 8, 16, 32])
    d = np.array([phase_structure_function(kolmogorov_phase_screen((n, n), cell, r0, seed=s), lags)
                  for s in range(40)])  # fmt: skip
    law = 6.88 * (lags * cell / r0) ** (5 / 3)
    se = d.std(axis=0, ddof=1) / np.sqrt(len(d))
    assert np.all(se < 0.1 * law)  # precise enough to mean something
    np.testing.assert_array_less(np.abs(d.mean(axis=0) - law), 3 * se)
    # the same numbers with r0 off by 15% (D off by 21%) are rejected
    assert np.any(np.abs(d.mean(axis=0) - 6.88 * (lags * cell / (1.15 * r0)) ** (5 / 3)) > 3 * se)


def test_pierce_point_geometry_zenith_and_low_elevation(config):
    height = 3e5
    enu = config.enu()
    lever = height - enu[:, 2]
    src = SkyCoord(ra=60.0, dec=LOCATION_LAT, unit="deg")  # passes (nearly) through the zenith
    vis = create_visibility(config, np.array([0.0, 5.0]) * np.pi / 12, 1e8, 1e6, src,
                            elevation_limit=None)  # fmt: skip
    pts, el = pierce_points(config, vis.time, src, height)
    with iers.conf.set_temp("auto_download", False):
        altaz = src.transform_to(AltAz(obstime=Time(vis.time / 86400, format="mjd", scale="utc"),
                                       location=config.location, pressure=0))  # fmt: skip
    alt, az = altaz.alt.rad, altaz.az.rad
    assert np.rad2deg(alt[0]) > 89.7 and 20 < np.rad2deg(alt[1]) < 30
    np.testing.assert_allclose(el, alt, atol=np.deg2rad(1 / 3600))
    offset = pts - enu[None, :, :2]
    for it in range(2):
        expected = lever[:, None] * np.array([np.sin(az[it]), np.cos(az[it])]) / np.tan(alt[it])
        # 2 arcsec of direction moves a pierce point by lever * 2" / sin(alt)^2
        atol = lever.max() * np.deg2rad(2 / 3600) / np.sin(alt[it]) ** 2
        np.testing.assert_allclose(offset[it], expected, rtol=0, atol=atol)
    # zenith: within 1.6 km of the antennas; 25 deg up: h cot(el) ~ 640 km out, same for all
    assert np.all(np.hypot(*offset[0].T) < height * np.tan(np.deg2rad(0.3)))
    assert np.all(np.abs(np.hypot(*offset[1].T) / lever - 1 / np.tan(alt[1])) < 1e-4)
    np.testing.assert_array_equal(pts[:, 0], pts[:, 1])  # antennas 0 and 1 share a position


@pytest.mark.parametrize("kind", ["iono", "troposphere"])
@pytest.mark.parametrize("screen_r0, r0", [(None, 5e3), (5e3, 2.5e3)])
def test_given_screen_phases_at_the_pierce_points(serial, windows, components, kind, screen_r0, r0):
    meta = {} if screen_r0 is None else {"R0": screen_r0}
    height = 2e4
    no_err, err = atmospheric_workflow(windows, components, r0=r0, screen=ramp_screen(meta=meta),
                                       height=height, type_atmosphere=kind, jones_type="B")  # fmt: skip
    assert len(err) == len(no_err) == 2 and all(len(w) == 2 for w in err + no_err)
    factor = ((5e3 if screen_r0 is None else screen_r0) / r0) ** (5 / 6)
    chan = 1.2e8 / FREQ if kind == "iono" else FREQ / 1.2e8  # reference frequency: FREQ axis
    for vis, tables, units in zip(windows, computed(err), computed(no_err)):
        for comp, gt, unit in zip(components, tables, units):
            pts, _ = pierce_points(vis.configuration, gt.time, comp.direction, height)
            ramp = 2e-5 * pts[..., 0] - 1e-5 * pts[..., 1]
            phi = factor * ramp[..., None] * chan
            assert gt.gain.shape == (2, 5, 3, 1, 1) and gt.jones_type == "B"
            np.testing.assert_allclose(gt.gain[..., 0, 0], np.exp(1j * phi), rtol=0, atol=1e-12)
            assert gt.phasecentre.separation(comp.direction).arcsec < 1e-6
            np.testing.assert_array_equal(unit.gain, 1.0)
            assert unit.phasecentre.separation(comp.direction).arcsec < 1e-6


def test_generated_screen_gains(serial, windows, components):
    no_err, err = atmospheric_workflow(windows, components, r0=2e3, seed=5, jones_type="B", **FAST)
    tables = [gt for window in computed(err) for gt in window]
    for gt in tables:
        np.testing.assert_allclose(np.abs(gt.gain), 1.0, rtol=0, atol=1e-12)  # unit amplitude
        np.testing.assert_array_equal(gt.gain[:, 0], gt.gain[:, 1])  # same position, same phase
        assert not np.allclose(gt.gain[:, 0], gt.gain[:, 2])
    assert not np.allclose(tables[0].gain, tables[1].gain)  # another direction, other phases
    # dispersive: phase · ν the same in every channel (r0 large: |phase| < π, no wrapping)
    _, err = atmospheric_workflow(windows, components, r0=1e6, seed=5, jones_type="B",
                                  reference_frequency=1e8, **FAST)  # fmt: skip
    for window in computed(err):
        for gt in window:
            phase = np.angle(gt.gain[..., 0, 0])  # [ntime, nant, nchan]
            assert np.abs(phase).max() < 1.0 and np.abs(phase).max() > 1e-3
            np.testing.assert_allclose(phase * FREQ, (phase * FREQ)[..., :1].repeat(3, -1),
                                       rtol=1e-9, atol=1e-6)  # fmt: skip


def test_serial_and_dask_give_the_same_gains(serial, windows, components):
    ref_no, ref = computed(atmospheric_workflow(windows, components, r0=3e3, seed=11, **FAST))
    other = computed(atmospheric_workflow(windows, components, r0=3e3, seed=12, **FAST)[1])
    rsexecute.set_client(use_dask=True, scheduler="threads", n_workers=2)
    no_err, err = atmospheric_workflow(windows, components, r0=3e3, seed=11, **FAST)
    assert all(hasattr(g, "dask") for window in err + no_err for g in window)
    out_no, out = computed((no_err, err))
    for w in range(2):
        for k in range(2):
            np.testing.assert_array_equal(out[w][k].gain, ref[w][k].gain)
            np.testing.assert_array_equal(out_no[w][k].gain, ref_no[w][k].gain)
            assert not np.allclose(other[w][k].gain, ref[w][k].gain)
    # seed=None: fresh entropy fixed when the graph is built, so recomputing it agrees
    _, fresh = atmospheric_workflow(windows, components[:1], r0=3e3, **FAST)
    first, second = computed(fresh), computed(fresh)
    np.testing.assert_array_equal(first[1][0].gain, second[1][0].gain)


def test_show_plots_with_matplotlib_and_warns_without(serial, windows, components, tmp_path,
                                                      monkeypatch, caplog):  # fmt: skip
    pytest.importorskip("matplotlib")
    png = tmp_path / "phases.png"
    atmospheric_workflow(
        windows, components, seed=1, show=True, basename="t", plot_file=str(png), **FAST
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # as if not installed
    other = tmp_path / "none.png"
    no_err, err = atmospheric_workflow(
        windows, components, seed=1, show=True, plot_file=str(other), **FAST
    )
    assert not other.exists() and len(computed(err)) == 2
    assert "matplotlib is not installed" in caplog.text


def test_bad_input(serial, windows, components):
    with pytest.raises(TypeError, match="'jones' .*valid keywords: jones_type"):
        atmospheric_workflow(windows, components, jones="B")
    with pytest.raises(SimulationError, match="type_atmosphere 'ionospheric' unknown"):
        atmospheric_workflow(windows, components, type_atmosphere="ionospheric")
    with pytest.raises(SimulationError, match="only apply to a generated screen"):
        atmospheric_workflow(windows, components, screen=ramp_screen(), seed=1)
    with pytest.raises(SimulationError, match="one channel and one plane"):
        atmospheric_workflow(windows, components, screen=ramp_screen(nchan=2))
    with pytest.raises(SimulationError, match="r0 must be finite and > 0"):
        atmospheric_workflow(windows, components, r0=0.0)
    with pytest.raises(SimulationError, match="sub_components is empty"):
        atmospheric_workflow(windows, [])
    # a screen far too small for pierce points 300 km up
    with pytest.raises(SimulationError, match="none of the .* pierce points lies inside"):
        computed(atmospheric_workflow(windows, components, screen=ramp_screen(cell=1.0, n=16)))
