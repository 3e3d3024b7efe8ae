"""read_ms on a MeasurementSet built directly with casacore's table API (not write_ms).

The MS has rows in shuffled order, a missing baseline row, a FLAG_ROW, WEIGHT_SPECTRUM
different from WEIGHT, autocorrelations, and correlations in AIPS order RR LL RL LR; every
value read back must be the value put in, in uvflow's block layout and frame order.
"""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.datamodels import MeasurementSetError, read_ms

tables = pytest.importorskip("casacore.tables")

NANT, NCHAN = 4, 3
TIMES = 5.0e9 + np.array([0.0, 10.0, 20.0])
FREQ = np.array([1.0e9, 1.001e9, 1.002e9])
CENTRE = np.array([1.2, -0.6])  # rad
XYZ = np.array([5109224.0, 2006790.0, -3239100.0]) + np.arange(NANT * 3).reshape(NANT, 3) * 40.0
MS_CORR = [5, 8, 6, 7]  # RR LL RL LR (casacore Stokes codes)
TO_CIRCULAR = [0, 2, 3, 1]  # uvflow circular RR RL LR LL from MS order RR LL RL LR
MISSING = (1, 1, 3)  # (time index, antenna1, antenna2) with no row


def _build(path, rng):
    desc = tables.maketabdesc(
        [
            tables.makearrcoldesc("DATA", 0, shape=[NCHAN, 4], valuetype="complex"),
            tables.makearrcoldesc("WEIGHT_SPECTRUM", 0, shape=[NCHAN, 4], valuetype="float"),
        ]
    )
    rows = [
        (ti, a1, a2)
        for ti in range(TIMES.size)
        for a1 in range(NANT)
        for a2 in range(a1, NANT)
        if (ti, a1, a2) != MISSING
    ]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    n = len(rows)
    cols = {
        "TIME": TIMES[[r[0] for r in rows]],
        "ANTENNA1": np.array([r[1] for r in rows], np.int32),
        "ANTENNA2": np.array([r[2] for r in rows], np.int32),
        "DATA": (rng.normal(size=(n, NCHAN, 4)) + 1j * rng.normal(size=(n, NCHAN, 4))).astype(
            np.complex64
        ),
        "FLAG": rng.uniform(size=(n, NCHAN, 4)) < 0.2,
        "FLAG_ROW": np.zeros(n, bool),
        "WEIGHT_SPECTRUM": rng.uniform(1, 2, (n, NCHAN, 4)).astype(np.float32),
        "WEIGHT": rng.uniform(3, 4, (n, 4)).astype(np.float32),
        "SIGMA": rng.uniform(0.1, 0.5, (n, 4)).astype(np.float32),
        "UVW": rng.normal(0, 300, (n, 3)),
        "INTERVAL": np.full(n, 10.0),
    }
    flagged_row = next(i for i, r in enumerate(rows) if r[1] != r[2])
    cols["FLAG_ROW"][flagged_row] = True
    cols["FLAG"][flagged_row] = False  # flagged only through FLAG_ROW
    ms = tables.default_ms(str(path), desc)
    try:
        ms.addrows(n)
        for name, value in cols.items():
            ms.putcol(name, value)
        for name in ("DATA_DESC_ID", "FIELD_ID"):
            ms.putcol(name, np.zeros(n, np.int32))
    finally:
        ms.close()
    with tables.table(f"{path}/ANTENNA", readonly=False, ack=False) as t:
        t.addrows(NANT)
        t.putcol("NAME", [f"ANT{i}" for i in range(NANT)])
        t.putcol("STATION", [f"PAD{i}" for i in range(NANT)])
        t.putcol("POSITION", XYZ)
        t.putcol("DISH_DIAMETER", np.array([12.0, 12.0, 13.5, 13.5]))
        t.putcol("MOUNT", ["ALT-AZ", "ALT-AZ", "EQUATORIAL", "ALT-AZ"])
    with tables.table(f"{path}/SPECTRAL_WINDOW", readonly=False, ack=False) as t:
        t.addrows(1)
        t.putcell("CHAN_FREQ", 0, FREQ)
        t.putcell("CHAN_WIDTH", 0, np.full(NCHAN, 1.0e6))
        t.putcell("NUM_CHAN", 0, NCHAN)
        t.putcell("NAME", 0, "BAND1")
    with tables.table(f"{path}/POLARIZATION", readonly=False, ack=False) as t:
        t.addrows(1)
        t.putcell("CORR_TYPE", 0, np.array(MS_CORR, np.int32))
        t.putcell("NUM_CORR", 0, 4)
    with tables.table(f"{path}/DATA_DESCRIPTION", readonly=False, ack=False) as t:
        t.addrows(1)
        t.putcell("SPECTRAL_WINDOW_ID", 0, 0)
        t.putcell("POLARIZATION_ID", 0, 0)
    with tables.table(f"{path}/FIELD", readonly=False, ack=False) as t:
        t.addrows(1)
        t.putcell("NAME", 0, "TARGET")
        t.putcell("PHASE_DIR", 0, CENTRE.reshape(1, 2))
    return rows, cols


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    path = tmp_path_factory.mktemp("hand") / "hand.ms"
    rows, cols = _build(path, np.random.default_rng(11))
    return path, rows, cols


def _cell(v, row):
    ti, a1, a2 = row
    b = np.nonzero((v.antenna1 == a1) & (v.antenna2 == a2))[0]
    return ti, (int(b[0]) if b.size else None)


def test_values_as_put(handmade):
    path, rows, cols = handmade
    (v,) = read_ms(path)
    assert v.polarisation_frame.name == "circular"
    assert (v.ntime, v.nbaseline, v.nchan, v.npol) == (3, 6, NCHAN, 4)
    np.testing.assert_array_equal(v.time, TIMES)
    np.testing.assert_array_equal(v.frequency, FREQ)
    np.testing.assert_array_equal(v.channel_bandwidth, 1.0e6)
    np.testing.assert_array_equal(v.integration_time, 10.0)
    assert v.source == "TARGET"
    assert abs(v.phasecentre.ra.rad - CENTRE[0]) < 1e-12
    assert abs(v.phasecentre.dec.rad - CENTRE[1]) < 1e-12
    np.testing.assert_array_equal(v.configuration.xyz, XYZ)
    np.testing.assert_array_equal(v.configuration.names, [f"ANT{i}" for i in range(NANT)])
    np.testing.assert_array_equal(v.configuration.diameter, [12.0, 12.0, 13.5, 13.5])
    assert list(v.configuration.mount) == ["altaz", "altaz", "equatorial", "altaz"]
    loc = v.configuration.location
    np.testing.assert_allclose(
        [q.to_value("m") for q in loc.to_geocentric()], XYZ.mean(0), atol=1e-6
    )
    seen = 0
    for r, row in enumerate(rows):
        ti, b = _cell(v, row)
        if row[1] == row[2]:
            assert b is None  # autocorrelations excluded by default
            continue
        seen += 1
        np.testing.assert_array_equal(v.vis[ti, b], cols["DATA"][r][:, TO_CIRCULAR])
        np.testing.assert_array_equal(v.weight[ti, b], cols["WEIGHT_SPECTRUM"][r][:, TO_CIRCULAR])
        flag = cols["FLAG"][r][:, TO_CIRCULAR] | cols["FLAG_ROW"][r]
        np.testing.assert_array_equal(v.flags[ti, b], flag)
        np.testing.assert_array_equal(v.uvw[ti, b], cols["UVW"][r])
        assert v.meta["ms_rows"][ti, b] == r
    assert seen == 3 * 6 - 1
    k = int(np.nonzero(cols["FLAG_ROW"])[0][0])
    assert not np.any(cols["FLAG"][k]) and np.all(v.flags[_cell(v, rows[k])])


def test_missing_row_filled_flagged(handmade):
    path, _, _ = handmade
    (v,) = read_ms(path)
    ti, b = _cell(v, MISSING)
    assert b is not None  # the baseline exists at other times
    assert np.all(v.flags[ti, b]) and np.all(v.weight[ti, b] == 0) and np.all(v.vis[ti, b] == 0)
    assert np.all(v.uvw[ti, b] == 0) and v.meta["ms_rows"][ti, b] == -1
    assert (v.meta["ms_rows"] == -1).sum() == 1


def test_autocorrelations_on_request(handmade):
    path, rows, cols = handmade
    (v,) = read_ms(path, include_autocorrelations=True)
    assert v.nbaseline == 10
    r = next(i for i, row in enumerate(rows) if row[1] == row[2] == 2)
    ti, b = _cell(v, rows[r])
    np.testing.assert_array_equal(v.vis[ti, b], cols["DATA"][r][:, TO_CIRCULAR])


def test_weight_fallbacks(tmp_path):
    """Without WEIGHT_SPECTRUM: WEIGHT per correlation over channels; without WEIGHT: 1/SIGMA²."""
    path = tmp_path / "w.ms"
    rows, cols = _build(path, np.random.default_rng(5))
    with tables.table(str(path), readonly=False, ack=False) as t:
        t.removecols("WEIGHT_SPECTRUM")
    (v,) = read_ms(path)
    r = next(i for i, row in enumerate(rows) if row[1] != row[2])
    ti, b = _cell(v, rows[r])
    np.testing.assert_array_equal(
        v.weight[ti, b], np.broadcast_to(cols["WEIGHT"][r][TO_CIRCULAR], (NCHAN, 4))
    )
    with tables.table(str(path), readonly=False, ack=False) as t:
        t.removecols("WEIGHT")
    (v,) = read_ms(path)
    expect = 1.0 / cols["SIGMA"][r][TO_CIRCULAR].astype(np.float64) ** 2
    # 1/σ² evaluated in float32 then stored float32: relative rounding ~1e-7
    np.testing.assert_allclose(v.weight[ti, b], np.broadcast_to(expect, (NCHAN, 4)), rtol=3e-7)


def test_stokes_i_from_circular(handmade):
    path, rows, cols = handmade
    (v,) = read_ms(path, pol="stokesI")
    r = next(i for i, row in enumerate(rows) if row[1] != row[2] and not cols["FLAG_ROW"][i])
    ti, b = _cell(v, rows[r])
    rr, ll = cols["DATA"][r][:, 0], cols["DATA"][r][:, 1]
    # (RR + LL)/2 of complex64 values ~1 computed in double, stored complex64
    np.testing.assert_allclose(v.vis[ti, b, :, 0], (rr + ll) / 2, atol=2e-7)
    both_ok = ~(cols["FLAG"][r][:, 0] | cols["FLAG"][r][:, 1])
    np.testing.assert_array_equal(v.flags[ti, b, :, 0], ~both_ok)


def test_duplicate_cells_are_an_error(tmp_path):
    """Two rows for one (time, baseline) cannot both go into the block: a clear error."""
    path = tmp_path / "dup.ms"
    rows, _ = _build(path, np.random.default_rng(8))
    r = next(i for i, row in enumerate(rows) if row[1] != row[2])
    with tables.table(str(path), readonly=False, ack=False) as t:
        t.addrows(1)
        for col in ("TIME", "ANTENNA1", "ANTENNA2", "DATA", "FLAG", "UVW", "WEIGHT", "SIGMA"):
            t.putcell(col, t.nrows() - 1, t.getcell(col, r))
    with pytest.raises(MeasurementSetError, match="several rows share the same time and baseline"):
        read_ms(path)
