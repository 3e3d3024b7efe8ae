"""Bad input to the MeasurementSet IO gives clear errors and leaves no partial output."""

from __future__ import annotations

import sys

import pytest

from uvflow.datamodels import (
    MeasurementSetError,
    PolarisationError,
    read_ms,
    write_column,
    write_ms,
)
from uvflow.datamodels.io import measurementset_write
from uvflow.datamodels.io.ms_tables import casacore_tables
from uvflow.datamodels.testing import simple_visibility

pytest.importorskip("casacore.tables")


@pytest.fixture(scope="module")
def linearnp_ms(tmp_path_factory):
    v = simple_visibility(ntime=3, frequency=[1.0e8, 1.1e8], polarisation_frame="linearnp")
    v = v.replace(source="CAL")
    path = tmp_path_factory.mktemp("err") / "xxyy.ms"
    write_ms([v], path)
    return path, v


def test_not_a_measurement_set(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    for p in (tmp_path / "empty", tmp_path / "file.txt", tmp_path / "absent"):
        with pytest.raises(MeasurementSetError, match="is not a MeasurementSet"):
            read_ms(p)


def test_casacore_table_that_is_not_an_ms(tmp_path):
    tables = casacore_tables()
    path = tmp_path / "plain.tab"
    tables.table(
        str(path), tables.maketabdesc([tables.makescacoldesc("X", 1.0)]), ack=False
    ).close()
    with pytest.raises(MeasurementSetError, match="subtables ANTENNA.* missing"):
        read_ms(path)


def test_missing_data_column_lists_available(linearnp_ms):
    path, _ = linearnp_ms
    with pytest.raises(
        MeasurementSetError, match=r"no data column 'CORRECTED_DATA'; available: DATA"
    ):
        read_ms(path, datacolumn="CORRECTED_DATA")


def test_unknown_pol_request(linearnp_ms):
    path, _ = linearnp_ms
    with pytest.raises(
        PolarisationError, match=r"pol=.stokesIQUV.: cannot form U, V \(stokesIQUV\) from XX YY"
    ):
        read_ms(path, pol="stokesIQUV")
    with pytest.raises(PolarisationError, match="unknown; use one of"):
        read_ms(path, pol="stokesX")


def test_unknown_field_and_spw_list_available(linearnp_ms):
    path, _ = linearnp_ms
    with pytest.raises(MeasurementSetError, match=r"field 'NOPE' unknown; available: 0 'CAL'"):
        read_ms(path, field="NOPE")
    with pytest.raises(
        MeasurementSetError, match=r"spectral window 3 unknown; available: 0 'SPW0'"
    ):
        read_ms(path, spw=3)


def test_bad_selections(linearnp_ms):
    path, v = linearnp_ms
    with pytest.raises(TypeError, match="times must be"):
        read_ms(path, times="yesterday")
    with pytest.raises(TypeError, match="max_rows or time_chunks, not both"):
        read_ms(path, max_rows=100, time_chunks=2)
    with pytest.raises(ValueError, match="smaller than the 45 rows of one integration"):
        read_ms(path, max_rows=10)
    with pytest.raises(ValueError, match="out of range"):
        read_ms(path, channels=[0, 5])
    with pytest.raises(MeasurementSetError, match="selection .* is empty"):
        read_ms(path, times=(0.0, 1.0))


def test_write_ms_needs_configuration(tmp_path):
    v = simple_visibility(ntime=2).replace(configuration=None)
    with pytest.raises(MeasurementSetError, match="no configuration"):
        write_ms([v], tmp_path / "x.ms")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    """A failure after the main table was created and filled removes the temporary MS."""
    v = simple_visibility(ntime=2)

    def broken(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(measurementset_write, "write_fields_and_sources", broken)
    with pytest.raises(OSError, match="disk full"):
        write_ms([v], tmp_path / "fail.ms")
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_old(tmp_path, monkeypatch, linearnp_ms):
    _, v = linearnp_ms
    path = tmp_path / "keep.ms"
    write_ms([v], path)
    monkeypatch.setattr(measurementset_write, "write_history", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_ms([v.replace(source="OTHER")], path, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.ms"]
    assert read_ms(path)[0].source == "CAL"


def test_write_column_provenance(linearnp_ms, tmp_path):
    path, v = linearnp_ms
    other = tmp_path / "other.ms"
    write_ms([v], other)
    from_other = read_ms(other)
    with pytest.raises(MeasurementSetError, match="came from .*other.ms, not from"):
        write_column(path, from_other)
    with pytest.raises(MeasurementSetError, match="not read by read_ms"):
        write_column(path, [v])
    r = read_ms(path)[0]
    with pytest.raises(MeasurementSetError, match="reshaped or selected after reading"):
        write_column(path, [r.select(time=slice(0, 1))])


def test_import_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "casacore", None)
    with pytest.raises(ImportError, match=r"pip install 'uvflow-datamodels\[ms\]'"):
        casacore_tables()


def test_datamodels_imports_without_casacore():
    """Reading the package must not import casacore (it is an optional extra)."""
    import subprocess

    code = "import sys, uvflow.datamodels; assert 'casacore' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
