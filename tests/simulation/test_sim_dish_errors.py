"""Dish voltage patterns, pointing errors and RASCIL's error-simulation workflows (issue 18).

References: the Airy voltage 2 J1(u)/u (exact; the aperture quadrature must reproduce it),
the Ruze loss ⟨exp iφ⟩ ≈ 1 − σ²/2 of a deformed surface, the parallactic angle from
astropy's own AltAz transform, the patterns' closed forms for the gains, and, for the
residual images, the dirty image of a point source whose visibilities all scale by
``V_err² − V_0²`` (a point source's dirty-image peak equals its flux).
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import TETE, AltAz, SkyCoord
from astropy.time import Time

from uvflow.datamodels import SPEED_OF_LIGHT, create_image
from uvflow.execution import rsexecute
from uvflow.simulation import (
    DeformedPattern,
    IdealPattern,
    PolarisedPattern,
    SimulationError,
    aperture_voltage,
    calculate_residual_from_gaintables_rsexecute_workflow,
    calculate_selfcal_residual_from_gaintables_rsexecute_workflow,
    create_pointing_errors_gaintable_rsexecute_workflow,
    create_polarisation_gaintable_rsexecute_workflow,
    create_skycomponent,
    create_surface_errors_gaintable_rsexecute_workflow,
    elevation_hour_angle,
    gaintables_from_voltage_pattern,
    parallactic_angle,
    simulate_list_rsexecute_workflow,
    simulate_pointing_offsets,
    voltage_pattern,
)

PC = SkyCoord(ra=45.0, dec=-45.0, unit="deg")
FREQ = np.array([1.3e9, 1.4e9])
D = 15.0
ARCMIN = np.pi / 180 / 60
#: half-power radius of a 15 m dish at 1.4 GHz: 0.5 × 1.029 λ/D ≈ 25 arcmin
RHO_HALF = 0.5 * 1.02899397 * SPEED_OF_LIGHT / 1.4e9 / D


def _observe(config, pol="stokesI", ntimes=5):
    rsexecute.set_client(use_dask=False)
    (vis,) = simulate_list_rsexecute_workflow(
        config, PC, FREQ, 1e7, np.linspace(-2, 2, ntimes) * np.pi / 12, order=None,
        polarisation_frame=pol,
    )  # fmt: skip
    return vis


@pytest.fixture(scope="module")
def dish_config():
    from uvflow.datamodels.testing import random_configuration

    return random_configuration(nant=6, radius=1000.0, seed=5)  # 15 m dishes


@pytest.fixture(scope="module")
def vis(dish_config):
    return _observe(dish_config)


def _component(offset_arcmin, flux=1.0, pa_deg=0.0):
    # at position angle pa (east of north), offset_arcmin from the phase centre
    direction = PC.directional_offset_by(pa_deg * u.deg, offset_arcmin * u.arcmin)
    return create_skycomponent(direction, flux, FREQ)


def _run(dask, build):
    if dask:
        rsexecute.set_client(use_dask=True, scheduler="synchronous")
        try:
            return rsexecute.compute(build(), sync=True)
        finally:
            rsexecute.set_client(use_dask=False)
    rsexecute.set_client(use_dask=False)
    return build()


# ---- voltage patterns -------------------------------------------------------------------


def test_aperture_quadrature_reproduces_the_airy_voltage():
    # a perfect uniformly illuminated disc radiates 2 J1(u)/u: the quadrature (24 x 96
    # nodes) is exact for it to rounding within ±4 beam widths at both frequencies
    for nu in (1.4e9, 12e9):
        lam = SPEED_OF_LIGHT / nu
        x = np.linspace(-4, 4, 33) * lam / D
        y = 0.4 * x
        v = aperture_voltage(x, y, [nu], D)[:, 0]
        np.testing.assert_allclose(v, voltage_pattern(np.hypot(x, y), nu, D), atol=1e-12)


def test_deformed_dish_is_perfect_at_rigging_and_loses_the_ruze_fraction_elsewhere():
    pattern = DeformedPattern(D, zenith_rms=5e-4, horizon_rms=5e-4)
    x = np.array([0.0, 0.5 * RHO_HALF])
    at_rigging = pattern(x, 0 * x, [1.4e9], np.radians(45.0))[:, 0, 0, 0]
    np.testing.assert_allclose(at_rigging, voltage_pattern(x, 1.4e9, D), atol=1e-12)
    # at the zenith the path error is 2(a·astig + b·coma), both of unit rms over the disc
    # and orthogonal: phase rms σ = 4π/λ · sqrt(a² + b²); on axis |V| = |<exp iφ>| which
    # is 1 − σ²/2 to O(σ⁴) (σ ≈ 0.19 rad at 12 GHz: the fourth-order term is ~2e-4)
    nu = 12e9
    a = 5e-4 * (1 - np.sin(np.radians(45)))
    b = 5e-4 * (0 - np.cos(np.radians(45)))
    sigma = 4 * np.pi * nu / SPEED_OF_LIGHT * np.hypot(a, b)
    on_axis = abs(pattern(np.zeros(1), np.zeros(1), [nu], np.radians(90.0))[0, 0, 0, 0])
    assert on_axis == pytest.approx(1 - sigma**2 / 2, abs=sigma**4 / 4)
    assert on_axis < 0.99  # a real loss at Ku band (1.8 %)


def test_polarised_pattern_closed_forms():
    p = PolarisedPattern(D, ellipticity=0.05, leakage=0.03)
    nu = np.array([1.4e9])
    # on axis: unit co-polar, no leakage
    j = p(np.zeros(1), np.zeros(1), nu)[0, 0]
    np.testing.assert_allclose(j, np.eye(2), atol=1e-15)
    # at the half-power radius along 45°: no ellipticity (cos 2φ = 0), leakage κ·V(ρ_h)
    r = RHO_HALF / np.sqrt(2)
    j = p(np.array([r]), np.array([r]), nu)[0, 0]
    vh = voltage_pattern(RHO_HALF, 1.4e9, D)
    assert vh == pytest.approx(2**-0.5, rel=1e-6)  # the half-power radius is right
    np.testing.assert_allclose(j, [[vh, 0.03 * vh], [0.03 * vh, vh]], atol=1e-12)
    # along x the X beam is narrower (stretch 1 + ε), the Y beam wider
    j = p(np.array([RHO_HALF]), np.zeros(1), nu)[0, 0]
    assert j[0, 0] == pytest.approx(voltage_pattern(RHO_HALF * 1.05, 1.4e9, D), abs=1e-14)
    assert j[1, 1] == pytest.approx(voltage_pattern(RHO_HALF * 0.95, 1.4e9, D), abs=1e-14)
    assert j[0, 1] == pytest.approx(0.0, abs=1e-15)
    n = p.nominal()(np.array([RHO_HALF]), np.zeros(1), nu)[0, 0]
    np.testing.assert_allclose(n, np.diag([0.5 * (j[0, 0] + j[1, 1])] * 2), atol=1e-15)


def test_bad_pattern_parameters_are_refused():
    for bad in (lambda: IdealPattern(-1.0), lambda: IdealPattern(15, beam="cosine"),
                lambda: DeformedPattern(15, zenith_rms=-1), lambda: PolarisedPattern(15, 0.7),
                lambda: DeformedPattern(15, rigging_elevation=120)):  # fmt: skip
        with pytest.raises(SimulationError):
            bad()


# ---- gain tables --------------------------------------------------------------------------


def test_parallactic_angle_matches_astropy():
    # the position angle of the zenith seen from the source in astropy's true equator and
    # equinox of date (TETE: the parallactic angle is measured from the pole of date; in
    # ICRS it differs by the precession since J2000, 2.7e-3 rad in 2026). The formula takes
    # the ICRS declination, 0.1° (1.7e-3 rad) from that of date: agreement to 2e-3 rad.
    from uvflow.datamodels.testing import random_configuration

    loc = random_configuration(nant=3, radius=100.0, seed=1).location
    times = Time("2026-03-01T00:00:00") + np.linspace(0, 10, 6) * u.hour
    el, ha = elevation_hour_angle(times.utc.mjd * 86400.0, loc, PC)
    chi = parallactic_angle(ha, PC.dec.rad, loc.lat.rad)
    zenith = SkyCoord(alt=90 * u.deg, az=0 * u.deg, frame=AltAz(obstime=times, location=loc))
    tete = TETE(obstime=times, location=loc)
    reference = PC.transform_to(tete).position_angle(zenith.transform_to(tete)).rad
    diff = np.angle(np.exp(1j * (chi - reference)))
    np.testing.assert_allclose(diff, 0.0, atol=2e-3)


def test_ideal_gains_are_the_pattern_at_the_component(vis):
    comps = [_component(0.0), _component(12.0, pa_deg=30.0)]
    tables = gaintables_from_voltage_pattern(vis, comps, IdealPattern(D))
    assert [t.phasecentre.separation(c.direction).arcsec for t, c in zip(tables, comps)] == [
        pytest.approx(0.0, abs=1e-6)] * 2  # fmt: skip
    np.testing.assert_allclose(tables[0].gain, 1.0, atol=1e-15)
    # a circular pattern does not care about the parallactic angle: V(ρ) at every time
    rho = np.sin(12.0 * ARCMIN)
    expected = voltage_pattern(rho, FREQ, D)  # [nchan]
    g = tables[1].gain[..., 0, 0]  # [ntime, nant, nchan]
    np.testing.assert_allclose(g, np.broadcast_to(expected, g.shape), rtol=1e-6)


def test_a_global_pointing_offset_moves_the_pattern(vis):
    # in the sky frame (use_radec) an offset of 10' towards the north puts a component 10'
    # north on the pattern's axis and one 10' south at 20'
    comps = [_component(10.0, pa_deg=0.0), _component(10.0, pa_deg=180.0)]
    ntime = np.unique(vis.time).size
    offsets = simulate_pointing_offsets(ntime, vis.configuration.nants,
                                        global_pointing_error=[0.0, 10.0 * ARCMIN])  # fmt: skip
    north, south = gaintables_from_voltage_pattern(vis, comps, IdealPattern(D), offsets,
                                                   use_radec=True)  # fmt: skip
    np.testing.assert_allclose(north.gain, 1.0, atol=1e-6)  # sin vs angle: 1e-8 rad apart
    far = voltage_pattern(np.sin(20 * ARCMIN), FREQ, D)
    np.testing.assert_allclose(south.gain[..., 0, 0], np.broadcast_to(far, south.gain.shape[:3]),
                               rtol=1e-5)  # fmt: skip


def test_pointing_offsets_have_the_asked_statistics():
    off = simulate_pointing_offsets(400, 50, pointing_error=1e-4,
                                    static_pointing_error=[2e-4, 0.0], seed=4)  # fmt: skip
    # dynamic part: per-time deviations from each antenna's mean; 40000 samples per axis
    # give the rms to 0.4 % (1σ): 2 % is 5σ
    dyn = off - off.mean(axis=0)
    np.testing.assert_allclose(dyn.std(axis=(0, 1)), 1e-4, rtol=0.02)
    # static part: per-antenna means; 50 antennas give the rms to 10 % (1σ): 35 % is 3.5σ
    assert off.mean(axis=0)[:, 0].std() == pytest.approx(2e-4, rel=0.35)
    assert abs(off.mean(axis=0)[:, 1]).max() < 5 * 1e-4 / np.sqrt(400)  # no static elevation
    again = simulate_pointing_offsets(400, 50, pointing_error=1e-4,
                                      static_pointing_error=[2e-4, 0.0], seed=4)  # fmt: skip
    np.testing.assert_array_equal(off, again)
    with pytest.raises(SimulationError, match="static_pointing_error"):
        simulate_pointing_offsets(2, 2, static_pointing_error=[1e-4, -1e-4])


# ---- workflows ----------------------------------------------------------------------------


@pytest.mark.parametrize("dask", [False, True])
def test_pointing_workflow_and_residual_image(vis, dask):
    comp = _component(15.0, flux=2.0, pa_deg=0.0)
    model = create_image(128, 20 * ARCMIN / 64, PC, FREQ.mean(), channel_bandwidth=2e7)

    def build():
        no_err, err = create_pointing_errors_gaintable_rsexecute_workflow(
            [vis], [comp], [D], use_radec=True, global_pointing_error=[0.0, 5 * ARCMIN]
        )
        residual = calculate_residual_from_gaintables_rsexecute_workflow(
            [vis], [comp], [model], no_err, err, context="ng"
        )
        return no_err, err, residual  # fmt: skip

    no_err, err, residual = _run(dask, build)
    v0 = voltage_pattern(np.sin(15 * ARCMIN), FREQ, D)
    v1 = voltage_pattern(np.sin(10 * ARCMIN), FREQ, D)  # 5' closer to the pattern's axis
    np.testing.assert_allclose(no_err[0][0].gain[..., 0, 0].mean(axis=(0, 1)), v0, rtol=1e-5)
    np.testing.assert_allclose(err[0][0].gain[..., 0, 0].mean(axis=(0, 1)), v1, rtol=1e-5)
    image, _ = residual[0]
    # every visibility of the difference is S (V1² − V0²) at the component: the dirty
    # image there is that (channel-averaged), to the gridder's accuracy and the pixel
    # offset of the component (a fraction of the ~1.3' synthesised beam: < 0.5 %)
    x, y = (int(round(float(c))) for c in image.sky_to_pixel(comp.direction))
    expected = 2.0 * np.mean(v1**2 - v0**2)
    assert image.data[0, 0, y, x] == pytest.approx(expected, rel=5e-3)


def test_residual_per_component_images_add_up(vis):
    comps = [_component(15.0, 2.0, 0.0), _component(10.0, 1.0, 120.0)]
    model = create_image(128, 20 * ARCMIN / 64, PC, FREQ.mean(), channel_bandwidth=2e7)
    rsexecute.set_client(use_dask=False)
    no_err, err = create_pointing_errors_gaintable_rsexecute_workflow(
        [vis], comps, ["MID"], pointing_error=2 * ARCMIN, seed=7)  # fmt: skip
    summed = calculate_residual_from_gaintables_rsexecute_workflow(
        [vis], comps, [model], no_err, err, context="ng")[0][0]  # fmt: skip
    separate = calculate_residual_from_gaintables_rsexecute_workflow(
        [vis], comps, [model], no_err, err, context="ng", sum_vis=False)[0][0]  # fmt: skip
    # imaging is linear: the two orders agree to the gridder's accuracy (1e-6 here of peak)
    peak = np.abs(summed.data).max()
    assert peak > 1e-3
    np.testing.assert_allclose(separate.data, summed.data, atol=1e-5 * peak)
    # no errors: the residual is exactly zero
    zero = calculate_residual_from_gaintables_rsexecute_workflow(
        [vis], comps, [model], no_err, no_err, context="ng")[0][0]  # fmt: skip
    assert np.abs(zero.data).max() == 0.0


@pytest.mark.parametrize("dask", [False, True])
def test_surface_errors_and_selfcal(dish_config, dask):
    nu = np.array([12.0e9, 12.2e9])
    rsexecute.set_client(use_dask=False)
    (ku,) = simulate_list_rsexecute_workflow(dish_config, PC, nu, 1e8,
                                             np.linspace(-3, 3, 7) * np.pi / 12, order=None)  # fmt: skip
    comp = create_skycomponent(PC.directional_offset_by(0 * u.deg, 1.5 * u.arcmin), 1.0, nu)
    model = create_image(128, 1.5 * ARCMIN / 40, PC, nu.mean(), channel_bandwidth=4e8)

    def build():
        no_err, err = create_surface_errors_gaintable_rsexecute_workflow(
            "Ku", [ku], [comp], zenith_rms=1e-3, horizon_rms=1e-3
        )
        before = calculate_selfcal_residual_from_gaintables_rsexecute_workflow(
            [ku], [comp], [model], no_err, err, context="ng", selfcal=False
        )
        after = calculate_selfcal_residual_from_gaintables_rsexecute_workflow(
            [ku], [comp], [model], no_err, err, context="ng"
        )
        return no_err, err, before, after  # fmt: skip

    no_err, err, before, after = _run(dask, build)
    el, _ = elevation_hour_angle(err[0][0].time, ku.configuration.location, PC)
    ratio = np.abs(err[0][0].gain[:, 0, 0, 0, 0] / no_err[0][0].gain[:, 0, 0, 0, 0])
    # the sag grows away from the rigging elevation (45°): the gain falls with it
    far, near = np.argmax(abs(np.degrees(el) - 45)), np.argmin(abs(np.degrees(el) - 45))
    assert ratio[far] < ratio[near] <= 1.0 + 1e-12
    assert ratio[far] < 0.99
    # a phase-only selfcal removes the errors' common phase: the residual shrinks
    rms_before = np.sqrt(np.mean(before[0][0].data ** 2))
    rms_after = np.sqrt(np.mean(after[0][0].data ** 2))
    assert rms_after < rms_before


@pytest.mark.parametrize("dask", [False, True])
def test_polarisation_gains(dish_config, dask):
    lin = _observe(dish_config, pol="linear", ntimes=3)
    comps = [_component(0.0), _component(20.0, pa_deg=60.0)]

    def build():
        return create_polarisation_gaintable_rsexecute_workflow("B2", [lin], comps)

    no_err, err = _run(dask, build)
    on_axis, off_axis = err[0]
    np.testing.assert_allclose(on_axis.gain, np.broadcast_to(np.eye(2), on_axis.gain.shape),
                               atol=1e-15)  # fmt: skip
    # nominal: diagonal and equal; actual: leakage off axis and unequal co-polar beams
    nominal = no_err[0][1].gain
    assert np.all(nominal[..., 0, 1] == 0) and np.allclose(nominal[..., 0, 0], nominal[..., 1, 1])
    assert np.abs(off_axis.gain[..., 0, 1]).max() > 1e-3
    assert np.abs(off_axis.gain[..., 0, 0] - off_axis.gain[..., 1, 1]).max() > 1e-3


def test_workflow_errors_are_one_line(vis):
    rsexecute.set_client(use_dask=False)
    with pytest.raises(SimulationError, match="band 'B9' unknown; use one of B1, B2, Ku"):
        create_surface_errors_gaintable_rsexecute_workflow("B9", [vis], [])
    with pytest.raises(SimulationError, match="time series"):
        create_pointing_errors_gaintable_rsexecute_workflow([vis], [], [D], time_series="wind")
    with pytest.raises(SimulationError, match="sub_vp_list has 2 entries for 1 windows"):
        create_pointing_errors_gaintable_rsexecute_workflow([vis], [], [D, D])
    with pytest.raises(SimulationError, match="each sub_vp_list entry"):
        create_pointing_errors_gaintable_rsexecute_workflow([vis], [_component(1.0)], [object()])
