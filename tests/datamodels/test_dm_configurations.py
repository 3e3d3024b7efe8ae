"""Antenna layouts: CASA .cfg, CSV and whitespace tables; named configurations shipped."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
from astropy.coordinates import EarthLocation

from uvflow.datamodels import (
    NAMED_CONFIGURATIONS,
    DataModelError,
    array_centre,
    create_configuration_from_file,
    create_named_configuration,
    limit_configuration_radius,
)


def _geocentric(loc: EarthLocation) -> np.ndarray:
    return np.array([v.to_value("m") for v in loc.to_geocentric()])


def _horizontal_radius(config) -> np.ndarray:
    enu = config.enu()
    return np.hypot(enu[:, 0], enu[:, 1])


def test_meerkat_table_is_itrf(shared_data):
    path = shared_data / "layouts" / "meerkat.txt"
    config = create_configuration_from_file(path, location="MEERKAT")
    table = np.loadtxt(path, skiprows=1, usecols=(1, 2, 3))
    assert config.nants == 63
    np.testing.assert_array_equal(config.xyz, table)  # ITRF values taken as they are
    assert config.names[0] == "m000" and np.all(config.diameter == 13.5)
    r = _horizontal_radius(config)
    assert 3.9e3 < r.max() < 4.2e3  # MeerKAT's outermost dishes are ~4 km from the centre
    # the array centre lies among the dishes: its nearest dish is tens of metres away
    assert r.min() < 50.0
    assert np.all(
        np.abs(config.enu()[:, 2]) < 60.0
    )  # dishes within tens of m of the centre's height


def test_vla_table_is_local_xyz_and_matches_casa_b_configuration(shared_data):
    layouts = shared_data / "layouts"
    table = create_configuration_from_file(layouts / "vla.txt", location="VLA")
    casa = create_configuration_from_file(layouts / "vla.b.cfg")
    pads = {name: i for i, name in enumerate(casa.names)}
    order = [pads[n[0] + f"{int(n[1:]):02d}"] for n in table.names]  # W4 -> W04
    diff = np.linalg.norm(table.xyz - casa.xyz[order], axis=1)
    # two independent sources of the same pad positions; measured max 0.25 m, rms 0.06 m
    assert diff.max() < 0.3 and np.sqrt(np.mean(diff**2)) < 0.1


def test_vla_table_without_location_needs_one(shared_data):
    with pytest.raises(DataModelError, match="local_xyz offsets and need the array centre"):
        create_configuration_from_file(shared_data / "layouts" / "vla.txt")


@pytest.mark.parametrize("conf, rmax_km", [("a", 21.0), ("b", 6.4), ("c", 1.95), ("d", 0.59)])
def test_casa_cfg_vla_configurations(shared_data, conf, rmax_km):
    path = shared_data / "layouts" / f"vla.{conf}.cfg"
    config = create_configuration_from_file(path)
    rows = np.loadtxt(path, comments="#", usecols=(0, 1, 2))
    np.testing.assert_array_equal(config.xyz, rows)
    assert config.name == "VLA" and config.nants == 27 and np.all(config.diameter == 25.0)
    assert config.location == array_centre("VLA")  # from '# observatory=VLA'
    # the VLA arms are 21 km (A), 6.4 km (B), 1.95 km (C), 0.59 km (D) long
    assert _horizontal_radius(config).max() == pytest.approx(rmax_km * 1e3, rel=0.01)


def test_casa_cfg_local_tangent_plane(tmp_path):
    loc = array_centre("VLA")
    text = "# observatory=VLA\n# coordsys=LOC (local tangent plane)\n"
    text += "0 0 0 25. C00\n0 0 100 25. UP100\n1000 0 0 25. E1000\n0 -500 0 25. S500\n"
    cfg = tmp_path / "loc.cfg"
    cfg.write_text(text)
    config = create_configuration_from_file(cfg)
    # independent of our rotation matrices: astropy's geodetic -> geocentric
    up = EarthLocation.from_geodetic(loc.lon, loc.lat, loc.height + 100 * loc.height.unit)
    np.testing.assert_allclose(config.xyz[0], _geocentric(loc), rtol=0, atol=1e-6)
    np.testing.assert_allclose(config.xyz[1], _geocentric(up), rtol=0, atol=1e-6)
    # East is perpendicular to the local vertical and to the polar axis
    east = config.xyz[2] - config.xyz[0]
    assert np.linalg.norm(east) == pytest.approx(1000.0, abs=1e-9)
    assert abs(east[2]) < 1e-9 and abs(east @ (config.xyz[1] - config.xyz[0])) < 1e-6
    np.testing.assert_allclose(config.enu()[3], [0.0, -500.0, 0.0], atol=1e-6)


def test_lowbd2_csv_with_rmax_from_mean_position(shared_data):
    path = shared_data / "layouts" / "LOWBD2.csv"
    full = create_configuration_from_file(path, location="SKA1-LOW", diameter=35.0, mount="xy")
    assert full.nants == 512 and full.names[0] == "LOWBD2_0" and full.mount[0] == "xy"
    np.testing.assert_allclose(full.enu(), np.loadtxt(path, delimiter=","), rtol=0, atol=1e-6)
    cut = create_configuration_from_file(
        path, location="SKA1-LOW", diameter=35.0, rmax=750.0, centre="mean"
    )
    assert cut.nants == 236  # ../shared/data/README.md
    core = create_configuration_from_file(
        shared_data / "layouts" / "LOWBD2-CORE.csv", location="SKA1-LOW", diameter=35.0
    )
    assert core.nants == 166


def test_csv_errors(shared_data, tmp_path):
    path = shared_data / "layouts" / "LOWBD2.csv"
    with pytest.raises(DataModelError, match="enu offsets and need the array centre"):
        create_configuration_from_file(path, diameter=35.0)
    with pytest.raises(DataModelError, match="no antenna diameters: pass diameter="):
        create_configuration_from_file(path, location="SKA1-LOW")
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,five,6\n")
    with pytest.raises(DataModelError, match="line 2: expected numbers"):
        create_configuration_from_file(bad, location="SKA1-LOW", diameter=1.0)
    short = tmp_path / "short.csv"
    short.write_text("x,y,z\n1,2\n")
    with pytest.raises(DataModelError, match=r"line 2: expected x,y,z\[,diameter\]"):
        create_configuration_from_file(short, location="SKA1-LOW", diameter=1.0)


def test_reader_errors(tmp_path):
    utm = tmp_path / "utm.cfg"
    utm.write_text("# observatory=VLA\n# coordsys=UTM\n1 2 3 25. A\n")
    with pytest.raises(DataModelError, match="coordsys=UTM is not supported; use XYZ"):
        create_configuration_from_file(utm)
    loc = tmp_path / "alma.cfg"
    loc.write_text("# observatory=ALMA\n# coordsys=LOC\n1 2 3 12. A001\n")
    with pytest.raises(DataModelError, match="need the array centre"):
        create_configuration_from_file(loc)
    table = tmp_path / "t.txt"
    table.write_text("name east north\nA 1 2\n")
    with pytest.raises(DataModelError, match="must name the columns, with X, Y and Z"):
        create_configuration_from_file(table)
    with pytest.raises(DataModelError, match="frame 'ecef' unknown; use one of itrf, enu"):
        create_configuration_from_file(table, frame="ecef")
    with pytest.raises(DataModelError, match="array centre of 'ATCA' unknown; known: MEERKAT"):
        create_configuration_from_file(table, location="ATCA")
    with pytest.raises(TypeError, match="location must be an EarthLocation"):
        create_configuration_from_file(table, location=(1.0, 2.0))


def test_itrf_file_without_known_observatory_uses_mean_position(tmp_path, shared_data):
    rows = np.loadtxt(shared_data / "layouts" / "vla.d.cfg", comments="#", usecols=(0, 1, 2))
    cfg = tmp_path / "x.cfg"
    cfg.write_text(
        "# coordsys=XYZ\n" + "".join(f"{x:.6f} {y:.6f} {z:.6f} 25.\n" for x, y, z in rows)
    )
    config = create_configuration_from_file(cfg, name="X")
    np.testing.assert_allclose(_geocentric(config.location), rows.mean(axis=0), rtol=0, atol=1e-6)
    assert config.names[0] == "X_0"


def test_named_configurations_match_the_shared_files(shared_data):
    layouts = shared_data / "layouts"
    meerkat = create_named_configuration("meerkat")
    np.testing.assert_array_equal(
        meerkat.xyz, create_configuration_from_file(layouts / "meerkat.txt", location="MEERKAT").xyz
    )
    for key, fname in (("VLAA", "vla.a.cfg"), ("vla-b", "vla.b.cfg"), ("Vla_C", "vla.c.cfg"),
                       ("VLAD", "vla.d.cfg")):  # fmt: skip
        named = create_named_configuration(key)
        np.testing.assert_array_equal(
            named.xyz, create_configuration_from_file(layouts / fname).xyz
        )
    assert create_named_configuration("VLA").nants == 27


def test_named_configuration_rmax():
    full = create_named_configuration("MEERKAT")
    core = create_named_configuration("MEERKAT", rmax=1000.0)
    r_full = _horizontal_radius(full)
    assert core.nants == int(np.sum(r_full <= 1000.0)) and 0 < core.nants < full.nants
    assert set(core.names) == set(full.names[r_full <= 1000.0])
    with pytest.raises(DataModelError, match="rmax must be > 0"):
        limit_configuration_radius(full, 0.0)
    with pytest.raises(DataModelError, match="centre 'middle' unknown"):
        limit_configuration_radius(full, 10.0, centre="middle")
    with pytest.raises(DataModelError, match="no antenna of MEERKAT lies within rmax=1.0 m"):
        limit_configuration_radius(full, 1.0)


def test_named_configuration_errors():
    with pytest.raises(DataModelError, match="'ASKAP' unknown; known: MEERKAT, VLA, VLAA"):
        create_named_configuration("ASKAP")
    with pytest.raises(DataModelError, match=r"not shipped.*create_configuration_from_file\("
                       r"'\.\./shared/data/layouts/LOWBD2\.csv'"):  # fmt: skip
        create_named_configuration("LOWBD2")
    with pytest.raises(DataModelError, match="LOWBD2-CORE.csv"):
        create_named_configuration("lowbd2-core")


def test_shipped_layouts_carry_their_licences():
    layouts = resources.files("uvflow.datamodels").joinpath("data", "layouts")
    names = {p.name for p in layouts.iterdir()}
    for fname, *_ in NAMED_CONFIGURATIONS.values():
        assert fname in names
    assert {"LICENSE-pyvisgen", "LICENSE-LGPL-2.1", "README.md"} <= names
    assert not any(n.upper().startswith("LOWBD2") for n in names)  # must not be shipped
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in layouts.joinpath("LICENSE-LGPL-2.1").read_text()


def test_known_array_centres():
    vla = array_centre("jvla")
    # within 0.001 deg of astropy's VLA site (lon -107.6184, lat 34.0784)
    assert abs(vla.lon.deg + 107.6184) < 1e-3 and abs(vla.lat.deg - 34.0784) < 1e-3
    low = array_centre("SKA1-LOW")
    assert (low.lon.deg, low.lat.deg) == pytest.approx((116.7644, -26.8247), abs=1e-9)
    assert low.height.to_value("m") == pytest.approx(300.0, abs=1e-6)
