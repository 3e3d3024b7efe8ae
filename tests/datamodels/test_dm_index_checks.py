"""What the MS and UVFITS indexes check and count (issue 17): data columns, NaN UVW, uv rank.

- ``--datacolumn`` must name a column of complex visibilities; any other (FLAG, UVW,
  TIME …) is refused naming the MS's visibility columns;
- rows of a NaN or infinite UVW are left out of the uv extent (which sizes the default
  cell), counted in one warning, and flagged (weight 0, uvw 0) when a chunk loads them;
- the uv moments tell one line of samples (one row, one snapshot of a linear array) from a
  plane: :func:`~uvflow.datamodels.io.vis_parts.uv_rank`.
"""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import MeasurementSetError, write_ms
from uvflow.datamodels.io import ms_index, uvfits_index
from uvflow.datamodels.io.vis_parts import uv_moments, uv_rank
from uvflow.datamodels.testing import (
    hour_angle_uvw,
    random_configuration,
    simple_visibility,
    write_uvfits_groups,
)

tables = pytest.importorskip("casacore.tables")

BAD_ROWS = [3, 4, 11]  # rows (MS) or groups (UVFITS) given a non-finite UVW


@pytest.fixture(scope="module")
def ms(tmp_path_factory):
    """6 antennas (15 baselines) × 4 integrations × 3 channels, stokesI: 60 rows."""
    config = random_configuration(nant=6, radius=500.0, seed=3)
    v = simple_visibility(config, ntime=4, frequency=[1.0e8, 1.1e8, 1.2e8],
                          channel_bandwidth=1.0e7, phasecentre=SkyCoord(30, -40, unit="deg"),
                          polarisation_frame="stokesI", dtype=np.complex64)  # fmt: skip
    path = tmp_path_factory.mktemp("index-checks") / "c.ms"
    write_ms([v], path)
    return path


@pytest.mark.parametrize("column", ["FLAG", "UVW", "WEIGHT", "TIME", "ANTENNA1"])
def test_data_column_must_be_complex_visibilities(ms, column):
    with pytest.raises(MeasurementSetError) as info:
        ms_index(ms, datacolumn=column)
    message = str(info.value)
    assert f"column {column!r} (" in message and "is not a data column" in message
    assert message.endswith("a data column must be a complex visibility column; this MS has DATA")


def test_missing_data_column_lists_the_visibility_columns(ms):
    with pytest.raises(
        MeasurementSetError, match=r"no data column 'CORRECTED_DATA'; available: DATA$"
    ):
        ms_index(ms, datacolumn="CORRECTED_DATA")


def test_nonfinite_uvw_rows_counted_and_flagged(ms, tmp_path, caplog):
    bad = tmp_path / "nan.ms"
    shutil.copytree(ms, bad)
    with tables.table(str(bad), readonly=False, ack=False) as t:
        uvw = t.getcol("UVW")
        finite_uv_max = np.delete(np.hypot(uvw[:, 0], uvw[:, 1]), BAD_ROWS).max()
        uvw[BAD_ROWS[0], 0] = np.nan
        uvw[BAD_ROWS[1], 1] = -np.inf
        uvw[BAD_ROWS[2], 2] = np.nan
        t.putcol("UVW", uvw)
    with caplog.at_level(logging.WARNING, logger="uvflow.datamodels.io.ms_chunks"):
        (part,) = ms_index(bad)
    assert "3 of 60 rows have a non-finite UVW (NaN or inf)" in caplog.text
    assert part.nonfinite_uvw_rows == 3
    assert part.uv_max_m == finite_uv_max  # the extent of the other rows, exactly
    v = part.chunk().load()
    rows = v.meta["ms_rows"]
    for r in BAD_ROWS:
        t, b = np.argwhere(rows == r)[0]
        assert np.all(v.uvw[t, b] == 0) and np.all(v.flags[t, b]) and np.all(v.weight[t, b] == 0)
    assert np.all(np.isfinite(v.uvw))
    (clean,) = ms_index(ms)
    ok = ~np.isin(rows, BAD_ROWS) & (rows >= 0)
    w = clean.chunk().load()
    np.testing.assert_array_equal(v.uvw[ok], w.uvw[ok])  # the other rows as read before


def test_uv_rank():
    """One sample, samples on one line through the origin (any lengths, both signs): 1;
    u = v = 0 everywhere: 0; two directions: 2. The line stays a line after rounding
    (moments of 1e3 m baselines, the test's largest)."""
    direction = np.array([0.6, -0.8, 0.0])
    line = np.outer([1.0, -37.0, 512.5, 1e3], direction) + [0, 0, 5.0]
    assert uv_rank(uv_moments(line[:1])) == 1
    assert uv_rank(uv_moments(line)) == 1
    assert uv_rank(uv_moments(np.zeros((4, 3)) + [0, 0, 3.0])) == 0
    assert uv_rank(uv_moments(np.vstack([line, [[1.0, 1.0, 0.0]]]))) == 2


def test_ms_parts_know_their_rank(ms, tmp_path):
    (part,) = ms_index(ms)
    assert part.uv_rank == 2
    one = tmp_path / "one-row.ms"
    with tables.table(str(ms), ack=False) as t:
        t.selectrows([0]).copy(str(one), deep=True, valuecopy=True).close()
    (part,) = ms_index(one)
    assert part.uv_rank == 1 and part.nrow == 1


def _uvfits(path, nan_groups):
    """A one-source, one-IF UVFITS file: 10 baselines × 3 times × 2 channels, stokesI."""
    config = random_configuration(nant=5, radius=800.0, seed=5)
    a1, a2 = np.triu_indices(config.nants, k=1)
    ntime = 3
    uvw = hour_angle_uvw(config, np.linspace(-0.3, 0.3, ntime), -0.6, a1, a2).reshape(-1, 3)
    uvw[nan_groups, 0] = np.nan
    rows = uvw.shape[0]
    data = np.ones((rows, 1, 1, 2, 1, 3), np.float32)
    return write_uvfits_groups(path, config, uvw, a1, a2, ntime, data, object_name="NAN")


def test_uvfits_nonfinite_uvw_groups_counted_and_flagged(tmp_path, caplog):
    path = _uvfits(tmp_path / "nan.uvfits", BAD_ROWS)
    with caplog.at_level(logging.WARNING, logger="uvflow.datamodels.io.uvfits_chunks"):
        (part,) = uvfits_index(path)
    assert "3 of 30 groups have a non-finite UVW (NaN or inf)" in caplog.text
    assert part.nonfinite_uvw_rows == 3 and np.isfinite(part.uv_max_m) and part.uv_rank == 2
    v = part.chunk().load()
    groups = v.meta["uvfits_groups"]
    bad = np.isin(groups, BAD_ROWS)
    assert bad.sum() == 3
    assert np.all(v.uvw[bad] == 0) and np.all(v.flags[bad]) and np.all(v.weight[bad] == 0)
    assert np.all(np.isfinite(v.uvw)) and not np.any(v.flags[~bad & (groups >= 0)])
