"""Simulation workflows: windows, seeds (serial ≡ Dask ≡ rerun), keywords, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.calibration import apply_gaintable, create_gaintable_from_visibility
from uvflow.datamodels import SkyModel, create_image
from uvflow.execution import rsexecute
from uvflow.imaging import predict_dft
from uvflow.simulation import (
    SimulationError,
    combine_windows,
    create_skycomponent,
    simulate_gaintable,
    spawn_seeds,
)
from uvflow.simulation.simulation_workflows import (
    corrupt_list_rsexecute_workflow,
    predict_skymodel_list_rsexecute_workflow,
    simulate_list_rsexecute_workflow,
)

PC = SkyCoord(ra=45.0, dec=-45.0, unit="deg")
FREQ = np.array([1.0e8, 1.1e8, 1.2e8])
HA = np.linspace(-1.0, 1.0, 5)


def run_pipeline(config, seed, noise_seed):
    """Simulate (with noise) in frequency windows, corrupt with random gains: computed."""
    vis = simulate_list_rsexecute_workflow(
        config, PC, FREQ, 1e6, HA, polarisation_frame="linear", order="frequency",
        sefd=400.0, seed=noise_seed,
    )  # fmt: skip
    corrupted = corrupt_list_rsexecute_workflow(
        vis, seed=seed, phase_error=0.3, amplitude_error=0.05, jones_type="G"
    )
    return rsexecute.compute(corrupted, sync=True)


@pytest.mark.cluster
def test_same_seed_same_data_serial_dask_and_rerun(small_config):
    rsexecute.set_client(use_dask=False)
    serial = run_pipeline(small_config, 11, 7)
    rerun = run_pipeline(small_config, 11, 7)
    other = run_pipeline(small_config, 12, 7)
    rsexecute.set_client(use_dask=True, n_workers=2, threads_per_worker=1, dashboard_address=":0")
    try:
        dask = run_pipeline(small_config, 11, 7)
    finally:
        rsexecute.close()
    assert len(serial) == len(dask) == 3
    for s, d, r, o in zip(serial, dask, rerun, other):
        np.testing.assert_array_equal(s.vis, d.vis)  # bit-identical: same seeds, same kernels
        np.testing.assert_array_equal(s.weight, d.weight)
        np.testing.assert_array_equal(s.uvw, d.uvw)
        np.testing.assert_array_equal(s.vis, r.vis)
        assert not np.allclose(s.vis, o.vis)  # another gain seed: other data
    # windows draw independent noise (child seeds), not copies of one stream
    assert not np.allclose(serial[0].vis, serial[1].vis)


def test_window_orders(serial, small_config):
    whole = simulate_list_rsexecute_workflow(small_config, PC, FREQ, 1e6, HA, order=None)
    assert len(whole) == 1
    for order, n in (("frequency", 3), ("time", 5), ("both", 15)):
        windows = simulate_list_rsexecute_workflow(small_config, PC, FREQ, 1e6, HA, order=order)
        assert len(windows) == n
        joined = combine_windows(windows)
        np.testing.assert_array_equal(joined.uvw, whole[0].uvw)
        np.testing.assert_array_equal(joined.time, whole[0].time)
        np.testing.assert_array_equal(joined.integration_time, whole[0].integration_time)
        np.testing.assert_array_equal(joined.frequency, FREQ)


def test_named_config_and_partly_flagged_windows(serial, layouts):
    ha = np.linspace(-7.0, 0.0, 8) * np.pi / 12  # starts below 15 deg
    windows = simulate_list_rsexecute_workflow(
        "LOWBD2", PC, [1e8], 1e6, ha, order="time", rmax=300.0, layout_path=layouts
    )
    flagged = [bool(w.flags.all()) for w in windows]
    assert any(flagged) and not all(flagged)  # low windows come back flagged, no error


def test_unknown_keyword_lists_the_valid_ones(serial, small_config):
    with pytest.raises(TypeError, match="valid keywords: config, phasecentre"):
        simulate_list_rsexecute_workflow(small_config, PC, FREQ, 1e6, HA, nchan=3)
    with pytest.raises(TypeError, match="did you mean 'phase_error'"):
        corrupt_list_rsexecute_workflow([], phase_eror=0.1)
    with pytest.raises(TypeError, match="valid keywords"):
        predict_skymodel_list_rsexecute_workflow(None, [], contex="2d")


def test_workflow_bad_input(serial, small_config):
    with pytest.raises(SimulationError, match="order 'channel' unknown"):
        simulate_list_rsexecute_workflow(small_config, PC, FREQ, 1e6, HA, order="channel")
    with pytest.raises(SimulationError, match="times is empty"):
        simulate_list_rsexecute_workflow(small_config, PC, FREQ, 1e6, [])
    north = SkyCoord(ra=10.0, dec=75.0, unit="deg")
    with pytest.raises(SimulationError, match="whole track"):
        simulate_list_rsexecute_workflow(small_config, north, FREQ, 1e6, HA)
    with pytest.raises(SimulationError, match="frequency must be"):
        simulate_list_rsexecute_workflow(small_config, PC, [1e8, 0.0], 1e6, HA)
    with pytest.raises(SimulationError, match="unknown; known: MEERKAT"):
        simulate_list_rsexecute_workflow("SKA2", PC, FREQ, 1e6, HA)
    with pytest.raises(SimulationError, match="gt_list has 1 tables for 2"):
        corrupt_list_rsexecute_workflow([None, None], gt_list=[None])


def test_supplied_gain_tables_are_applied(serial, small_config):
    (vis,) = simulate_list_rsexecute_workflow(
        small_config, PC, FREQ, 1e6, HA, polarisation_frame="linear", order=None
    )
    model = vis.replace(vis=np.ones_like(vis.vis))
    gt = simulate_gaintable(create_gaintable_from_visibility(model), phase_error=0.5, seed=1)
    (out,) = corrupt_list_rsexecute_workflow([model], gt_list=[gt], seed=99)
    np.testing.assert_array_equal(out.vis, apply_gaintable(model, gt).vis)


def test_predict_skymodel_list(serial, small_config):
    (vis,) = simulate_list_rsexecute_workflow(small_config, PC, FREQ, 1e6, HA, order=None)
    comps = [
        create_skycomponent(SkyCoord(ra=45.02, dec=-44.99, unit="deg"), 2.0, FREQ),
        create_skycomponent(SkyCoord(ra=44.97, dec=-45.03, unit="deg"), 0.5, FREQ),
    ]
    gt = simulate_gaintable(create_gaintable_from_visibility(vis), phase_error=0.4, seed=3)
    models = [SkyModel(components=comps[:1]), SkyModel(components=comps[1:], gaintable=gt)]
    plain = predict_skymodel_list_rsexecute_workflow(vis, models, context="2d")
    cal = predict_skymodel_list_rsexecute_workflow(vis, models, context="2d", docal=True)
    np.testing.assert_allclose(plain[0].vis, predict_dft(vis, comps[:1]).vis, rtol=1e-12)
    np.testing.assert_allclose(cal[0].vis, plain[0].vis)  # no gain table: unchanged
    np.testing.assert_allclose(cal[1].vis, apply_gaintable(plain[1], gt).vis, rtol=1e-12)
    # an image model: a point source of 1 Jy on a pixel predicts like the component
    image = create_image(64, 2e-4, PC, FREQ, channel_bandwidth=1e7)
    x, y = 40, 20
    image.data[:, 0, y, x] = 1.0
    point = create_skycomponent(image.pixel_to_sky(x, y), 1.0, FREQ)
    (img_pred,) = predict_skymodel_list_rsexecute_workflow(
        vis, [SkyModel(image=image)], context="ng"
    )
    ref = predict_dft(vis, [point]).vis
    # gridder accuracy (ducc0 epsilon ~1e-6 or better) relative to the 1 Jy source
    assert np.max(np.abs(img_pred.vis - ref)) < 1e-4


def test_a_seed_sequence_gives_the_same_data_on_reuse(serial, small_config):
    """The same SeedSequence object passed twice gives identical noise and gains, and is
    left unchanged (before: spawn_seeds spawned from it, so its second use drew other
    children and other data); an equal, fresh SeedSequence gives the same data too."""
    ss = np.random.SeedSequence(2024)
    kw = dict(polarisation_frame="linear", order="frequency", sigma=1.0)
    first = simulate_list_rsexecute_workflow(small_config, PC, FREQ, 1e6, HA, seed=ss, **kw)
    again = simulate_list_rsexecute_workflow(small_config, PC, FREQ, 1e6, HA, seed=ss, **kw)
    fresh = simulate_list_rsexecute_workflow(
        small_config, PC, FREQ, 1e6, HA, seed=np.random.SeedSequence(2024), **kw
    )
    assert ss.n_children_spawned == 0
    for a, b, c in zip(first, again, fresh):
        np.testing.assert_array_equal(a.vis, b.vis)
        np.testing.assert_array_equal(a.vis, c.vis)
    assert not np.allclose(first[0].vis, first[1].vis)  # windows still differ
    gains = np.random.SeedSequence(7)
    c1 = corrupt_list_rsexecute_workflow(first, seed=gains, phase_error=0.3, jones_type="G")
    c2 = corrupt_list_rsexecute_workflow(first, seed=gains, phase_error=0.3, jones_type="G")
    for a, b in zip(c1, c2):
        np.testing.assert_array_equal(a.vis, b.vis)
    assert gains.n_children_spawned == 0
    # spawn_seeds: children of a SeedSequence depend on (entropy, spawn_key, position) only
    kids = [s.generate_state(4) for s in spawn_seeds(gains, 3)]
    np.testing.assert_array_equal(kids, [s.generate_state(4) for s in spawn_seeds(gains, 3)])
    np.testing.assert_array_equal(
        kids, [s.generate_state(4) for s in np.random.SeedSequence(7).spawn(3)]
    )


def test_default_lowbd2_needs_its_layout_file(serial):
    """The default configuration, LOWBD2, is not shipped (licence): the error says so and
    how to pass the layout file, before anything is simulated."""
    with pytest.raises(
        SimulationError,
        match=r"'LOWBD2' needs layout_path=: .* not shipped with uvflow \(its licence .*\); "
        r"pass layout_path='\.\./shared/data/layouts/LOWBD2\.csv'",
    ):
        simulate_list_rsexecute_workflow(
            phasecentre=PC, frequency=FREQ, channel_bandwidth=1e6, times=HA
        )


@pytest.mark.parametrize("alias", ["SKA-LOW", "ska1-low", "LOW", "low", "Ska1_Low"])
def test_ska_low_aliases(serial, layouts, alias):
    """SKA-LOW, SKA1-LOW and LOW (any case) are LOWBD2, as uvflow.datamodels treats them."""
    (vis,) = simulate_list_rsexecute_workflow(
        alias, PC, [1e8], 1e6, [0.0], order=None, rmax=750.0, layout_path=layouts
    )
    # ../shared/data/README.md: a 750 m cut about the mean position leaves 236 stations
    assert vis.configuration.nants == 236 and vis.configuration.name == "LOWBD2"
    with pytest.raises(SimulationError, match=r"LOWBD2\) needs layout_path="):
        simulate_list_rsexecute_workflow(alias, PC, [1e8], 1e6, [0.0])


def _ntasks(graphs) -> dict:
    """Tasks of a list of graphs by function name (merged: shared inputs count once)."""
    merged: dict = {}
    for g in graphs:
        merged.update(dict(g.__dask_graph__()))
    counts: dict = {}
    for key in merged:
        name = (key[0] if isinstance(key, tuple) else key).split("-")[0]
        counts[name] = counts.get(name, 0) + 1
    return counts


@pytest.mark.parametrize("nchan, ntime", [(1, 2), (3, 2), (6, 3)])
def test_task_counts_linear_in_windows(small_config, nchan, ntime):
    """One simulate task per window (order='frequency': nchan, 'time': ntime, 'both':
    ntime·nchan, None: 1) and one corrupt task per window on top: linear in windows."""
    freq = np.linspace(1.0e8, 1.2e8, nchan)
    ha = np.linspace(-0.5, 0.5, ntime)
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        for order, nwin in (("frequency", nchan), ("time", ntime), ("both", nchan * ntime),
                            (None, 1)):  # fmt: skip
            vis = simulate_list_rsexecute_workflow(
                small_config, PC, freq, 1e6, ha, order=order, sigma=1.0, seed=1
            )
            assert len(vis) == nwin and _ntasks(vis) == {"_simulate_window": nwin}
            corrupted = corrupt_list_rsexecute_workflow(vis, seed=2)
            assert _ntasks(corrupted) == {"_simulate_window": nwin, "_corrupt_window": nwin}
    finally:
        rsexecute.close()
        rsexecute.set_client(use_dask=False)
