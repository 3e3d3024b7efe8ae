"""write_uvfits: round trips through read_uvfits, and the file as astropy alone sees it.

The observation: three fields (a flux calibrator, a phase calibrator, a target) observed in
interleaved scans by one array, circular products with random complex128 data, weights
and ~10 % flags. Tolerances follow from what the file stores (AIPS Memo 117, float32):

- vis, weights, uvw: float32 rounding, at most 2⁻²⁴ of each value (real and imaginary
  parts separately; uvw in seconds, read back × c); complex64 data and float32-exact
  weights come back bit for bit.
- times: two DATE parameters (a float32 multiple of 2⁻³¹ day plus the float32 remainder)
  keep the time to ~1e-13 day; read back as MJD seconds (~5e9 s, float64 resolution
  0.95 µs) they agree to 2 µs. The first DATE alone (AIPS's older single-parameter use)
  would give 2.6 ms (half a float32 step of a day fraction below 1).
- frequencies: the FQ table's CH WIDTH is float32 (AIPS's format): a spacing exact in
  float32 (1 MHz) reads back exactly; otherwise channel k is off by k·|Δf − float32(Δf)|.
- antenna positions (STABXYZ float64) and phase centres (SU RAEPO/DECEPO float64, or the
  header's CRVAL written with 17 significant digits) are exact.

CASA (casatasks) and AIPS are not dependencies, so these tests check the file against their
readers' rules (casacore MSFitsInput, AIPS Memo 117) with astropy. CASA's importuvfits and
pyuvdata were run on these files once by hand (results in the uvfits_write module notes).
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import FK5, SkyCoord
from astropy.io import fits
from astropy.time import Time

from uvflow.datamodels import SPEED_OF_LIGHT, UVFITSError, read_uvfits, write_uvfits
from uvflow.datamodels.testing import random_configuration, simple_visibility

F32 = 2.0**-24  # float32 relative rounding (round to nearest)
FIELDS = {
    "FLUXCAL": SkyCoord(30.0, -40.0, unit="deg"),
    "PHASECAL": SkyCoord(35.0, -42.0, unit="deg"),
    "TARGET": SkyCoord(40.0, -45.0, unit="deg"),
}
# (field, integrations of a 12-step track): calibrator scans between target scans
SCANS = [("FLUXCAL", [0, 1]), ("PHASECAL", [2, 3]), ("TARGET", [4, 5, 6]),
         ("PHASECAL", [7, 8]), ("TARGET", [9, 10, 11])]  # fmt: skip
FREQ = 1.4e9 + 1.0e6 * np.arange(4)  # 1 MHz: exact in float32


def _scan(config, name, idx, rng, frame="circular", dtype=np.complex128, freq=FREQ):
    v = simple_visibility(config, ntime=12, frequency=freq, phasecentre=FIELDS[name],
                          polarisation_frame=frame, dtype=dtype).select(time=np.array(idx))  # fmt: skip
    shape = v.vis.shape
    vis = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)
    weight = rng.uniform(0.5, 2.0, shape)
    return v.replace(vis=vis, weight=weight, flags=rng.uniform(size=shape) < 0.1, source=name)


def _joined(scans, name):
    """The scans of field ``name`` joined in time order: dict of arrays."""
    mine = sorted((s for s in scans if s.source == name), key=lambda s: s.time[0])
    keys = ("vis", "weight", "flags", "uvw", "time", "integration_time")
    return {k: np.concatenate([getattr(s, k) for s in mine]) for k in keys}


@pytest.fixture(scope="module")
def observation(tmp_path_factory):
    config = random_configuration(nant=7, radius=1500.0, seed=5)
    rng = np.random.default_rng(11)
    scans = [_scan(config, name, idx, rng) for name, idx in SCANS]
    path = tmp_path_factory.mktemp("uvfits_write") / "obs.uvfits"
    write_uvfits(scans, path)
    return path, config, scans


def _assert_rounded(actual, expected, what):
    """|actual − expected| ≤ 2⁻²⁴·|expected| elementwise (one float32 rounding)."""
    err = np.abs(actual - expected)
    bound = F32 * np.abs(expected) * (1 + 1e-6) + 1e-300
    assert np.all(err <= bound), (
        f"{what}: worst {np.max(err / np.maximum(bound, 1e-300)):.3g}× the bound"
    )


@pytest.mark.parametrize("name", list(FIELDS))
def test_each_field_reads_back(observation, name):
    path, config, scans = observation
    (v,) = read_uvfits(path, field=name)
    want = _joined(scans, name)
    assert v.source == name and v.polarisation_frame.name == "circular"
    assert v.phasecentre.separation(FIELDS[name]).to_value("arcsec") < 1e-9
    np.testing.assert_array_equal(v.antenna1, scans[0].antenna1)
    np.testing.assert_array_equal(v.antenna2, scans[0].antenna2)
    np.testing.assert_allclose(v.time, want["time"], rtol=0, atol=2e-6)
    np.testing.assert_array_equal(v.integration_time, want["integration_time"])
    _assert_rounded(v.uvw, want["uvw"], "uvw")
    _assert_rounded(v.vis.real, want["vis"].real, "vis.real")
    _assert_rounded(v.vis.imag, want["vis"].imag, "vis.imag")
    _assert_rounded(v.weight, want["weight"], "weight")
    np.testing.assert_array_equal(v.flags, want["flags"])
    np.testing.assert_array_equal(v.frequency, FREQ)
    np.testing.assert_array_equal(v.channel_bandwidth, 1.0e6)


def test_all_fields_and_the_array(observation):
    path, config, scans = observation
    out = read_uvfits(path)
    assert [v.source for v in out] == list(FIELDS)  # SU order: first appearance
    assert [v.meta["uvfits_source"] for v in out] == [1, 2, 3]
    assert sum(v.ntime for v in out) == sum(s.ntime for s in scans)
    c = out[0].configuration
    assert c.name == config.name
    np.testing.assert_array_equal(c.names, config.names)
    np.testing.assert_array_equal(c.xyz, config.xyz)  # STABXYZ float64, ARRAYX/Y/Z = 0
    np.testing.assert_array_equal(c.diameter, config.diameter)
    np.testing.assert_array_equal(c.mount, config.mount)
    # ARRAYX/Y/Z = 0 (CASA's and the EVLA's convention): the reader's centre is the mean
    centre = np.array([x.to_value("m") for x in c.location.to_geocentric()])
    np.testing.assert_allclose(centre, config.xyz.mean(axis=0), rtol=0, atol=1e-6)


def test_file_as_astropy_sees_it(observation):
    path, config, scans = observation
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "AIPS AN", "AIPS FQ", "AIPS SU"]
        h, g = hdul[0].header, hdul[0].data
        assert isinstance(hdul[0], fits.GroupsHDU) and h["GROUPS"] and h["BITPIX"] == -32
        assert g.parnames == ["UU---SIN", "VV---SIN", "WW---SIN", "DATE", "DATE", "BASELINE",
                              "SOURCE", "FREQSEL", "INTTIM"]  # fmt: skip
        axes = [h[f"CTYPE{k}"] for k in range(2, h["NAXIS"] + 1)]
        assert axes == ["COMPLEX", "STOKES", "FREQ", "IF", "RA", "DEC"]
        assert (h["NAXIS2"], h["NAXIS3"], h["NAXIS4"], h["NAXIS5"]) == (3, 4, 4, 1)
        assert (h["CRVAL3"], h["CDELT3"]) == (-1.0, -1.0)  # RR LL RL LR
        assert (h["CRVAL4"], h["CDELT4"]) == (FREQ[0], 1.0e6)
        assert (h["OBJECT"], h["CRVAL6"], h["CRVAL7"]) == ("MULTI", 0.0, 0.0)
        assert h["TELESCOP"] == h["INSTRUME"] == config.name
        assert h["EPOCH"] == h["EQUINOX"] == 2000.0 and h["BUNIT"] == "UNCALIB"
        t0 = min(s.time.min() for s in scans)
        day = np.floor(t0 / 86400.0)
        assert h["PZERO4"] == day + 2400000.5 and h["PZERO5"] == 0.0
        assert h["DATE-OBS"] == Time(day, format="mjd").isot[:10]
        an, fq, su = hdul["AIPS AN"], hdul["AIPS FQ"], hdul["AIPS SU"]
        assert {"ANNAME", "STABXYZ", "NOSTA", "MNTSTA", "POLTYA", "POLTYB"} <= set(an.columns.names)
        assert (an.header["ARRAYX"], an.header["FRAME"], an.header["TIMSYS"]) == (
            0.0,
            "ITRF",
            "UTC",
        )
        np.testing.assert_array_equal(an.data["NOSTA"], np.arange(1, config.nants + 1))
        assert set(an.data["POLTYA"]) == {"R"} and set(an.data["POLTYB"]) == {"L"}
        assert fq.data["CH WIDTH"][0] == 1.0e6 and fq.data["SIDEBAND"][0] == 1
        assert fq.data["TOTAL BANDWIDTH"][0] == 4.0e6
        assert list(su.data["ID. NO."]) == [1, 2, 3] and list(su.data["SOURCE"]) == list(FIELDS)
        np.testing.assert_array_equal(su.data["RAEPO"], [c.ra.deg for c in FIELDS.values()])
        np.testing.assert_array_equal(su.data["DECEPO"], [c.dec.deg for c in FIELDS.values()])
        assert set(su.data["EPOCH"]) == {2000.0} and not np.any(su.data["IFLUX"])
        # RAAPP/DECAPP: true place of date. From the mean place of date (FK5 precessed to
        # RDATE) they differ by nutation (≤ 19″) and aberration (≤ 20.5″) only
        mean = SkyCoord(su.data["RAEPO"], su.data["DECEPO"], unit="deg").transform_to(
            FK5(equinox=Time(h["PZERO4"], format="jd")))  # fmt: skip
        app = SkyCoord(su.data["RAAPP"], su.data["DECAPP"], unit="deg", frame=mean.frame)
        assert np.all(app.separation(mean).arcsec < 40.0)
        # ... while 17 years of precession moved them 455–553″ here (50.3″/yr in longitude)
        epo = SkyCoord(su.data["RAEPO"], su.data["DECEPO"], unit="deg", frame=mean.frame)
        assert np.all(app.separation(epo).arcsec > 400.0)
        # GSTIA0: Meeus (12.3) GMST at 0h UT; DEGPDY: the sidereal rate
        tcent = (h["PZERO4"] - 2451545.0) / 36525.0
        meeus = (100.46061837 + 36000.770053608 * tcent + 0.000387933 * tcent**2) % 360.0
        assert abs(an.header["GSTIA0"] - meeus) < 1e-4
        assert abs(an.header["DEGPDY"] - 360.98564736629) < 1e-6

        # time-baseline order; the scans of the fields stay interleaved
        dates = g.par("DATE")  # astropy sums the two DATE parameters and applies PZERO
        bl = g.par("BASELINE")
        assert np.all(np.diff(dates) >= 0)
        same = np.diff(dates) == 0
        assert np.all(np.diff(bl)[same] > 0)
        src = g.par("SOURCE").astype(int)
        changes = src[np.r_[True, np.diff(src) != 0]]
        assert changes.tolist() == [1, 2, 3, 2, 3]
        a1, a2 = scans[0].antenna1 + 1, scans[0].antenna2 + 1
        assert set(bl.astype(int)) == set((256 * a1 + a2).tolist())
        # group k is scan s's cell (t, b): raw values against the Visibility
        first = scans[0]
        nb = first.nbaseline
        raw = g.data[:nb, 0, 0, 0]  # [nbaseline, nchan, 4, 3]: the first integration
        order = np.argsort(256 * a1 + a2)
        rl, lr = first.vis[0, order, :, 1], first.vis[0, order, :, 2]  # uvflow RR RL LR LL
        np.testing.assert_array_equal(raw[..., 2, 0], lr.real.astype(np.float32))  # file RL
        np.testing.assert_array_equal(raw[..., 2, 1], (-lr.imag).astype(np.float32))  # = conj LR
        np.testing.assert_array_equal(raw[..., 3, 0], rl.real.astype(np.float32))
        w = raw[..., 0, 2]
        np.testing.assert_array_equal(w <= 0, first.flags[0, order, :, 0])  # negative: flagged
        uu = g.par("UU---SIN")[:nb]
        np.testing.assert_array_equal(
            uu, (-first.uvw[0, order, 0] / SPEED_OF_LIGHT).astype(np.float32)
        )
        np.testing.assert_array_equal(g.par("INTTIM"), 60.0)


def test_date_precision(observation):
    """Two DATE parameters keep µs; the first alone would keep the float32 day fraction."""
    path, _, scans = observation
    with fits.open(path) as hdul:
        g = hdul[0].data
        raw = g.view(np.ndarray)
        pzero = hdul[0].header["PZERO4"]
        hi, lo = raw["DATE"].astype(np.float64), raw["_DATE"].astype(np.float64)
    assert np.all(np.abs(lo) < 2.0**-25)  # the remainder is below half a float32 step
    assert np.all(np.round(hi * 2.0**31) == hi * 2.0**31)  # pzero + hi is exact in float64
    times = np.unique(np.concatenate([s.time for s in scans]))
    jd = Time(pzero + hi, lo, format="jd", scale="utc")
    back = np.unique((jd.jd1 - 2400000.5) * 86400.0 + jd.jd2 * 86400.0)
    np.testing.assert_allclose(back, times, rtol=0, atol=2e-6)
    one = np.unique(Time(pzero + hi, format="jd", scale="utc").mjd * 86400.0)
    assert np.max(np.abs(one - times)) < 2.6e-3  # one float32 DATE: ms, not µs


@pytest.mark.parametrize(
    "frame, codes",
    [("stokesI", (1, 1)), ("stokesIQUV", (1, 1)), ("stokesIQ", (1, 1)), ("stokesIV", (1, 3)),
     ("linear", (-5, -1)), ("linearnp", (-5, -1)), ("circular", (-1, -1)), ("circularnp", (-1, -1))],
)  # fmt: skip
def test_single_field_every_frame(tmp_path, frame, codes):
    """One field: a single-source file (no SU table, no SOURCE); complex64 data and float32
    weights are stored without rounding, so they come back bit for bit."""
    rng = np.random.default_rng(3)
    config = random_configuration(nant=5, seed=2)
    v = _scan(config, "TARGET", [3, 4, 5], rng, frame=frame, dtype=np.complex64)
    v = v.replace(weight=v.weight.astype(np.float32).astype(float))
    path = tmp_path / "one.uvfits"
    write_uvfits(v, path)
    with fits.open(path) as hdul:
        h = hdul[0].header
        assert [x.name for x in hdul] == ["PRIMARY", "AIPS AN", "AIPS FQ"]
        assert "SOURCE" not in hdul[0].data.parnames
        assert (h["CRVAL3"], h["CDELT3"]) == codes
        assert (h["OBJECT"], h["CRVAL6"], h["CRVAL7"]) == ("TARGET", 40.0, -45.0)
    (back,) = read_uvfits(path, field="TARGET")
    assert back.polarisation_frame.name == frame and back.source == "TARGET"
    assert back.phasecentre.separation(FIELDS["TARGET"]).to_value("arcsec") < 1e-9
    np.testing.assert_array_equal(back.vis, v.vis)
    np.testing.assert_array_equal(back.weight, v.weight)
    np.testing.assert_array_equal(back.flags, v.flags)


def test_zero_weight_and_empty_cells(tmp_path):
    """Weight 0 is a flag in UVFITS; cells that carry nothing (write_ms's rule) are left out."""
    rng = np.random.default_rng(4)
    v = _scan(random_configuration(nant=5, seed=1), "FLUXCAL", [0, 1, 2], rng)
    weight, flags, vis, uvw = v.weight.copy(), v.flags.copy(), v.vis.copy(), v.uvw.copy()
    weight[0, 0, 0, 0], flags[0, 0, 0, 0] = 0.0, False  # unflagged, weight 0
    weight[1, 2], flags[1, 2], vis[1, 2], uvw[1, 2] = 0.0, True, 0.0, 0.0  # empty cell
    v = v.replace(weight=weight, flags=flags, vis=vis, uvw=uvw)
    path = tmp_path / "w.uvfits"
    write_uvfits([v], path)
    with fits.open(path) as hdul:
        assert len(hdul[0].data) == v.ntime * v.nbaseline - 1
    (back,) = read_uvfits(path)
    assert back.flags[0, 0, 0, 0] and back.weight[0, 0, 0, 0] == 0.0
    assert back.meta["uvfits_groups"][1, 2] == -1 and back.flags[1, 2].all()


def test_many_antennas_use_antenna_parameters(tmp_path):
    config = random_configuration(nant=300, radius=5000.0, seed=7)
    v = simple_visibility(config, ntime=1, polarisation_frame="stokesI")
    path = tmp_path / "big.uvfits"
    write_uvfits(v, path)
    with fits.open(path) as hdul:
        names = hdul[0].data.parnames
    assert "BASELINE" not in names and {"ANTENNA1", "ANTENNA2", "SUBARRAY"} <= set(names)
    (back,) = read_uvfits(path)
    np.testing.assert_array_equal(back.antenna1, v.antenna1)
    np.testing.assert_array_equal(back.antenna2, v.antenna2)


def test_frequency_axes(tmp_path):
    rng = np.random.default_rng(5)
    config = random_configuration(nant=4, seed=3)
    down = 1.0e9 - 2.0e5 * np.arange(6)  # decreasing: CH WIDTH < 0, SIDEBAND −1
    v = _scan(config, "TARGET", [0], rng, freq=down)
    write_uvfits(v, tmp_path / "down.uvfits")
    with fits.open(tmp_path / "down.uvfits") as hdul:
        assert hdul["AIPS FQ"].data["SIDEBAND"][0] == -1
    np.testing.assert_array_equal(read_uvfits(tmp_path / "down.uvfits")[0].frequency, down)
    third = 1.0e8 + (1.0e6 / 3.0) * np.arange(8)  # Δf not exact in float32
    v = _scan(config, "TARGET", [0], rng, freq=third).replace(channel_bandwidth=1.0e6 / 3.0)
    write_uvfits(v, tmp_path / "third.uvfits")
    back = read_uvfits(tmp_path / "third.uvfits")[0].frequency
    step = abs(float(np.float32(1.0e6 / 3.0)) - 1.0e6 / 3.0)
    assert np.all(np.abs(back - third) <= np.arange(8) * step * 1.001 + 1e-6)


def test_same_name_different_centres(tmp_path):
    rng = np.random.default_rng(6)
    config = random_configuration(nant=4, seed=3)
    a = _scan(config, "TARGET", [0, 1], rng)
    b = _scan(config, "FLUXCAL", [2, 3], rng).replace(source="TARGET")  # another pointing
    write_uvfits([a, b], tmp_path / "mosaic.uvfits")
    with fits.open(tmp_path / "mosaic.uvfits") as hdul:
        assert list(hdul["AIPS SU"].data["QUAL"]) == [0, 1]
    out = read_uvfits(tmp_path / "mosaic.uvfits")
    assert [v.source for v in out] == ["TARGET", "TARGET"]
    assert out[1].phasecentre.separation(FIELDS["FLUXCAL"]).arcsec < 1e-9


def test_errors(tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    config = random_configuration(nant=4, seed=3)
    v = _scan(config, "TARGET", [0, 1], rng)
    path = tmp_path / "e.uvfits"
    with pytest.raises(UVFITSError, match="Visibility 1 has no configuration"):
        write_uvfits([v, v.replace(configuration=None)], path)
    with pytest.raises(UVFITSError, match="different configuration"):
        write_uvfits([v, v.replace(configuration=random_configuration(nant=4, seed=9))], path)
    other = _scan(config, "TARGET", [2], rng, freq=FREQ + 1.0e7)
    with pytest.raises(UVFITSError, match="different frequencies"):
        write_uvfits([v, other], path)
    with pytest.raises(UVFITSError, match="polarisation frame linear"):
        write_uvfits([v, _scan(config, "TARGET", [2], rng, frame="linear")], path)
    uneven = _scan(config, "TARGET", [0], rng, freq=np.array([1.0e9, 1.001e9, 1.003e9]))
    with pytest.raises(UVFITSError, match="not evenly spaced"):
        write_uvfits(uneven, path)
    with pytest.raises(UVFITSError, match="at most 20"):
        write_uvfits([v, _scan(config, "FLUXCAL", [3], rng).replace(source="X" * 21)], path)
    with pytest.raises(TypeError, match="Visibility"):
        write_uvfits([], path)
    assert list(tmp_path.iterdir()) == []  # nothing written

    write_uvfits(v, path)
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True") as err:
        write_uvfits(v, path)
    assert "\n" not in str(err.value)
    write_uvfits(_scan(config, "FLUXCAL", [5], rng), path, overwrite=True)
    assert read_uvfits(path)[0].source == "FLUXCAL"

    def broken(self, name, **kw):  # a write that fails half-way
        with open(name, "wb") as f:
            f.write(b"SIMPLE  =")
        raise OSError("disk full")

    monkeypatch.setattr(fits.HDUList, "writeto", broken)
    with pytest.raises(OSError, match="disk full"):
        write_uvfits(v, path, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["e.uvfits"]  # no temporary left
    monkeypatch.undo()
    assert read_uvfits(path)[0].source == "FLUXCAL"  # the old file is intact
