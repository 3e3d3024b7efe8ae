"""Visibility → write_ms → read_ms, selections on read, and write_column."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import (
    correlation_weights,
    read_ms,
    write_column,
    write_ms,
)
from uvflow.datamodels.testing import random_configuration, simple_visibility

casacore_tables = pytest.importorskip("casacore.tables")

# DATA is complex64 and WEIGHT_SPECTRUM float32 in the MS: values come back to float32
# rounding (relative 6e-8); everything stored as double (UVW, TIME, frequencies) exactly.
F32 = 1.2e-7


def _random_vis(config, seed, frequency, pol, centre, source, ntime=4):
    rng = np.random.default_rng(seed)
    v = simple_visibility(
        config, ntime=ntime, frequency=frequency, channel_bandwidth=2.0e5,
        phasecentre=centre, polarisation_frame=pol, dtype=np.complex64,
    )  # fmt: skip
    shape = v.vis.shape
    vis = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)
    weight = rng.uniform(0.5, 2.0, shape)
    flags = rng.uniform(size=shape) < 0.1
    return v.replace(vis=vis, weight=weight, flags=flags, source=source)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Four Visibility: two fields, two spectral windows, two polarisation frames."""
    config = random_configuration(nant=6, radius=500.0, seed=3)
    c1 = SkyCoord(ra=30.0, dec=-40.0, unit="deg")
    c2 = SkyCoord(ra=31.0, dec=-41.5, unit="deg")
    f1, f2 = [1.0e8, 1.002e8, 1.004e8], [1.5e8, 1.51e8]
    vis_list = [
        _random_vis(config, 1, f1, "linear", c1, "A"),
        _random_vis(config, 2, f2, "linear", c1, "A"),
        _random_vis(config, 3, f1, "linear", c2, "B"),
        _random_vis(config, 4, f1, "stokesI", c2, "B"),
    ]
    path = tmp_path_factory.mktemp("ms") / "rt.ms"
    write_ms(vis_list, path)
    return vis_list, path


def _match(read, original):
    """The read Visibility with the same field, frequencies and polarisation frame."""
    found = [
        r
        for r in read
        if r.source == original.source
        and np.array_equal(r.frequency, original.frequency)
        and r.polarisation_frame == original.polarisation_frame
    ]
    assert len(found) == 1
    return found[0]


def test_round_trip_equal(written):
    vis_list, path = written
    read = read_ms(path)
    assert len(read) == 4
    for v in vis_list:
        r = _match(read, v)
        np.testing.assert_array_equal(r.antenna1, v.antenna1)
        np.testing.assert_array_equal(r.antenna2, v.antenna2)
        np.testing.assert_array_equal(r.vis, v.vis)  # complex64 in, complex64 out: exact
        np.testing.assert_allclose(r.weight, v.weight, rtol=F32)
        np.testing.assert_array_equal(r.flags, v.flags)
        np.testing.assert_array_equal(r.uvw, v.uvw)
        np.testing.assert_array_equal(r.time, v.time)
        np.testing.assert_array_equal(r.integration_time, v.integration_time)
        np.testing.assert_array_equal(r.frequency, v.frequency)
        np.testing.assert_array_equal(r.channel_bandwidth, v.channel_bandwidth)
        # radians as doubles in PHASE_DIR: only the deg↔rad round off (< 1e-9 arcsec)
        assert r.phasecentre.separation(v.phasecentre).arcsec < 1e-6
        np.testing.assert_array_equal(r.configuration.xyz, v.configuration.xyz)
        np.testing.assert_array_equal(r.configuration.names, v.configuration.names)
        np.testing.assert_array_equal(r.configuration.diameter, v.configuration.diameter)
        assert np.all(r.meta["ms_rows"] >= 0)  # no missing rows in a full block


def test_subtables_one_row_per_distinct_item(written):
    _, path = written
    n = {}
    for sub in (
        "SPECTRAL_WINDOW",
        "POLARIZATION",
        "DATA_DESCRIPTION",
        "FIELD",
        "SOURCE",
        "ANTENNA",
        "FEED",
    ):
        with casacore_tables.table(f"{path}/{sub}", ack=False) as t:
            n[sub] = t.nrows()
    # 2 frequency sets, 2 frames (linear, stokesI), 3 (spw, pol) pairs, 2 phase centres
    assert n == {
        "SPECTRAL_WINDOW": 2, "POLARIZATION": 2, "DATA_DESCRIPTION": 3, "FIELD": 2,
        "SOURCE": 2, "ANTENNA": 6, "FEED": 6,
    }  # fmt: skip
    with casacore_tables.table(str(path), ack=False) as t:
        assert t.getcolkeyword("UVW", "MEASINFO")["Ref"] == "J2000"
        assert set(t.getcol("STATE_ID")) == {-1}
        assert "SOURCE" in t.getkeywords()


def test_selection_by_field_spw_name_and_id(written):
    vis_list, path = written
    by_name = read_ms(path, field="B")
    by_id = read_ms(path, field=1)
    assert [r.source for r in by_name] == ["B", "B"] == [r.source for r in by_id]
    only_spw1 = read_ms(path, spw=1)
    assert len(only_spw1) == 1
    np.testing.assert_array_equal(only_spw1[0].frequency, vis_list[1].frequency)


def test_channels_times_and_chunks(written):
    vis_list, path = written
    full = read_ms(path, field="A", spw=0)[0]
    part = read_ms(path, field="A", spw=0, channels=slice(1, 3))[0]
    np.testing.assert_array_equal(part.vis, full.vis[:, :, 1:3])
    np.testing.assert_array_equal(part.frequency, full.frequency[1:3])
    picked = read_ms(path, field="A", spw=0, channels=np.array([0, 2]))[0]
    np.testing.assert_array_equal(picked.weight, full.weight[:, :, [0, 2]])
    t = full.time
    window = read_ms(path, field="A", spw=0, times=(t[1] - 1.0, t[2] + 1.0))[0]
    np.testing.assert_array_equal(window.time, t[1:3])
    np.testing.assert_array_equal(window.vis, full.vis[1:3])
    sliced = read_ms(path, field="A", spw=0, times=slice(0, 4, 3))[0]
    np.testing.assert_array_equal(sliced.time, t[[0, 3]])
    nb = full.nbaseline
    chunks = read_ms(path, field="A", spw=0, max_rows=2 * nb + 1)
    assert [c.ntime for c in chunks] == [2, 2]
    assert all((c.meta["ms_rows"] >= 0).sum() <= 2 * nb + 1 for c in chunks)
    np.testing.assert_array_equal(np.concatenate([c.vis for c in chunks]), full.vis)
    three = read_ms(path, field="A", spw=0, time_chunks=3)
    assert [c.ntime for c in three] == [2, 1, 1]
    np.testing.assert_array_equal(np.concatenate([c.uvw for c in three]), full.uvw)


def test_pol_conversion_on_read(written):
    vis_list, path = written
    v = vis_list[0]
    i = read_ms(path, field="A", spw=0, pol="stokesI")[0]
    xx, yy = v.vis[..., 0], v.vis[..., 3]
    # (XX + YY)/2 in double then stored in complex64: float32 rounding of values ~1
    np.testing.assert_allclose(i.vis[..., 0], (xx + yy) / 2, rtol=0, atol=2e-7)
    w, f = correlation_weights(v.weight.astype(np.float32), v.flags, "linear", "stokesI")
    np.testing.assert_array_equal(i.flags, f)
    np.testing.assert_allclose(i.weight, w, rtol=F32)


def test_overwrite(written, tmp_path):
    vis_list, _ = written
    path = tmp_path / "o.ms"
    write_ms(vis_list[:1], path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_ms(vis_list[:1], path)
    write_ms(vis_list[1:2], path, overwrite=True)
    np.testing.assert_array_equal(read_ms(path)[0].frequency, vis_list[1].frequency)
    assert [p.name for p in tmp_path.iterdir()] == ["o.ms"]  # no temp or old dirs left


def test_write_column_model_data(written, tmp_path):
    vis_list, _ = written
    path = tmp_path / "wc.ms"
    write_ms(vis_list, path)
    read = read_ms(path, field="A")
    model = [r.replace(vis=(r.vis * (2 - 1j)).astype(np.complex64)) for r in read]
    write_column(path, model)
    back = read_ms(path, field="A", datacolumn="MODEL_DATA")
    for m, b in zip(model, back):
        np.testing.assert_array_equal(b.vis, m.vis)
    # rows of field B were not written: the new column reads zero there
    assert all(np.all(b.vis == 0) for b in read_ms(path, field="B", datacolumn="MODEL_DATA"))
    # DATA untouched
    for r, d in zip(read, read_ms(path, field="A")):
        np.testing.assert_array_equal(r.vis, d.vis)


def test_write_column_channel_subset_and_stokes_model(written, tmp_path):
    vis_list, _ = written
    path = tmp_path / "wc2.ms"
    write_ms(vis_list[:1], path)
    part = read_ms(path, channels=slice(1, 2), pol="stokesI")[0]
    model = part.replace(vis=np.full(part.vis.shape, 3 + 1j, np.complex64))
    write_column(path, [model], column="CORRECTED_DATA")
    back = read_ms(path, datacolumn="CORRECTED_DATA")[0]  # linear: XX XY YX YY
    # a Stokes-I model (Q = U = V = 0) is I in XX and YY and 0 in XY, YX; only channel 1
    np.testing.assert_array_equal(back.vis[:, :, 1, 0], 3 + 1j)
    np.testing.assert_array_equal(back.vis[:, :, 1, 3], 3 + 1j)
    np.testing.assert_array_equal(back.vis[:, :, 1, 1:3], 0)
    np.testing.assert_array_equal(back.vis[:, :, [0, 2], :], 0)
