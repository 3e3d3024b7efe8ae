"""read_uvfits on files written here per AIPS Memo 117, from a known polarised sky.

The file holds, for baseline (a1, a2), uvw_file = XYZ(a1) − XYZ(a2) (in light-seconds) and
V_file^p = P exp(+2πi u_file·l) with RL = Q + iU (the conventions established on the real
3C273 file in test_dm_uvfits_3c273.py). Read back, the data must be uvflow's model of the
same sky, V^p = P exp(+2πi u·l) with u = XYZ(a2) − XYZ(a1): this pins the exchange of the
cross hands (RL ↔ LR) that the Stokes-I image of 3C273 cannot see. Also: several sources
(SU table), two IFs (FQ table), IAT times, ITRF antenna frame, flags from negative weights.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import FK4, FK4NoETerms, SkyCoord
from astropy.io import fits
from astropy.time import Time

from uvflow.datamodels import SPEED_OF_LIGHT, UVFITSError, read_uvfits
from uvflow.datamodels.testing import hour_angle_uvw, random_configuration

STOKES = {"I": 2.0, "Q": 0.3, "U": -0.2, "V": 0.1}
PRODUCTS = {  # Stokes combinations (polarisation.py conventions)
    "RR": STOKES["I"] + STOKES["V"], "LL": STOKES["I"] - STOKES["V"],
    "RL": STOKES["Q"] + 1j * STOKES["U"], "LR": STOKES["Q"] - 1j * STOKES["U"],
}  # fmt: skip
FILE_ORDER = ["RR", "LL", "RL", "LR"]  # FITS codes -1 -2 -3 -4
LM = (2.0e-4, -1.0e-4)  # source offset (rad) east, north of the phase centre
F0, DF, IF_OFFSETS = 1.4e9, 1.0e6, [0.0, 8.0e6]
NCHAN, NTIME = 3, 4
JD0 = 2459000.5  # 2020-05-31: TAI − UTC = 37 s


def _model(uvw, freq, sign_u):
    """P exp(+2πi sign_u·(u l + v m + w (n−1))/λ) for each product: [nrow, nchan, 4] in FILE_ORDER."""
    el, em = LM
    n1 = np.sqrt(1 - el * el - em * em) - 1
    arg = (
        sign_u
        * (uvw[:, 0, None] * el + uvw[:, 1, None] * em + uvw[:, 2, None] * n1)
        * freq
        / SPEED_OF_LIGHT
    )
    return np.stack([PRODUCTS[p] * np.exp(2j * np.pi * arg) for p in FILE_ORDER], axis=-1)


def _write(path, config, rng):
    a1, a2 = np.triu_indices(config.nants, k=1)
    nb = a1.size
    ha = np.linspace(-0.3, 0.3, NTIME)
    dec = np.radians(-35.0)
    true_uvw = hour_angle_uvw(config, ha, dec, a1, a2).reshape(-1, 3)  # XYZ(a2) − XYZ(a1)
    rows = NTIME * nb
    source = np.where(np.arange(rows) % 2 == 0, 1, 2)  # alternate two sources
    file_uvw = -true_uvw  # Memo 117: the opposite baseline vector
    freqs = F0 + np.array(IF_OFFSETS)[:, None] + np.arange(NCHAN)[None, :] * DF  # [nif, nchan]
    data = np.zeros((rows, 1, 1, 2, NCHAN, 4, 3), np.float32)
    for k in range(2):
        v = _model(file_uvw, freqs[k], +1.0)  # file phase sign relative to its own uvw
        data[:, 0, 0, k, :, :, 0] = v.real
        data[:, 0, 0, k, :, :, 1] = v.imag
    weight = rng.uniform(1.0, 2.0, data.shape[:-1])
    weight[rng.uniform(size=weight.shape) < 0.1] *= -1  # flagged
    data[..., 2] = weight
    day_fraction = (np.repeat(np.arange(NTIME), nb) * 30.0) / 86400.0
    pars = [file_uvw[:, 0] / SPEED_OF_LIGHT, file_uvw[:, 1] / SPEED_OF_LIGHT,
            file_uvw[:, 2] / SPEED_OF_LIGHT, 256.0 * (a1[None] + 1) + (a2[None] + 1) + 0 * ha[:, None],
            np.full(rows, JD0), day_fraction, source]  # fmt: skip
    pars[3] = pars[3].reshape(-1)
    names = ["UU---SIN", "VV---SIN", "WW---SIN", "BASELINE", "DATE", "DATE", "SOURCE"]
    groups = fits.GroupData(data, parnames=names, pardata=pars, bitpix=-32)
    hdu = fits.GroupsHDU(groups)
    h = hdu.header
    for k, (ctype, crval, cdelt) in enumerate(
        [("COMPLEX", 1.0, 1.0), ("STOKES", -1.0, -1.0), ("FREQ", F0, DF), ("IF", 1.0, 1.0),
         ("RA", 0.0, 1.0), ("DEC", 0.0, 1.0)], start=2,
    ):  # fmt: skip
        h[f"CTYPE{k}"], h[f"CRVAL{k}"], h[f"CDELT{k}"], h[f"CRPIX{k}"] = ctype, crval, cdelt, 1.0
    h["OBJECT"] = "MULTI"
    h["EQUINOX"] = 2000.0
    centre = np.array([v.to_value("m") for v in config.location.to_geocentric()])
    an = fits.BinTableHDU.from_columns(
        [
            fits.Column("ANNAME", "8A", array=np.array(config.names)),
            fits.Column("STABXYZ", "3D", array=config.xyz - centre),
            fits.Column("NOSTA", "1J", array=np.arange(1, config.nants + 1)),
            fits.Column("MNTSTA", "1J", array=np.zeros(config.nants, int)),
        ],
        name="AIPS AN",
    )
    for key, val in zip(("ARRAYX", "ARRAYY", "ARRAYZ"), centre):
        an.header[key] = val
    an.header.update({"FRAME": "ITRF", "TIMSYS": "IAT", "ARRNAM": "TEST", "XYZHAND": "RIGHT"})
    fq = fits.BinTableHDU.from_columns(
        [
            fits.Column("FRQSEL", "1J", array=[1]),
            fits.Column("IF FREQ", "2D", array=[IF_OFFSETS]),
            fits.Column("CH WIDTH", "2E", array=[[DF, DF]]),
            fits.Column("TOTAL BANDWIDTH", "2E", array=[[NCHAN * DF] * 2]),
            fits.Column("SIDEBAND", "2J", array=[[1, 1]]),
        ],
        name="AIPS FQ",
    )
    su = fits.BinTableHDU.from_columns(
        [
            fits.Column("ID. NO.", "1J", array=[1, 2]),
            fits.Column("SOURCE", "16A", array=["SRC_A", "SRC_B"]),
            fits.Column("RAEPO", "1D", array=[150.0, 151.0]),
            fits.Column("DECEPO", "1D", array=[-35.0, -36.0]),
            fits.Column("EPOCH", "1D", array=[2000.0, 2000.0]),
        ],
        name="AIPS SU",
    )
    fits.HDUList([hdu, an, fq, su]).writeto(path)
    return true_uvw.reshape(NTIME, nb, 3), freqs, weight, source.reshape(NTIME, nb)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    config = random_configuration(nant=5, radius=800.0, seed=4)
    path = tmp_path_factory.mktemp("uvfits") / "multi.uvfits"
    truth = _write(path, config, np.random.default_rng(2))
    return path, config, truth


def test_polarised_sky_reads_as_uvflow_model(synthetic):
    path, config, (true_uvw, freqs, weight, source) = synthetic
    out = read_uvfits(path)
    assert [(v.source, v.meta["uvfits_if"]) for v in out] == [
        ("SRC_A", 0), ("SRC_A", 1), ("SRC_B", 0), ("SRC_B", 1)
    ]  # fmt: skip
    to_circular = [FILE_ORDER.index(p) for p in ("RR", "RL", "LR", "LL")]
    # uvflow's RL is the file's LR conjugated (and vice versa): weights follow that column
    file_column = [FILE_ORDER.index(p) for p in ("RR", "LR", "RL", "LL")]
    for v in out:
        k = v.meta["uvfits_if"]
        np.testing.assert_allclose(v.frequency, freqs[k], rtol=1e-15)
        groups = v.meta["uvfits_groups"]
        ti, bi = np.nonzero(groups >= 0)
        g = groups[ti, bi]
        uvw_rows = true_uvw.reshape(-1, 3)[g]
        # uvw: light-seconds stored as float32 (relative 6e-8 of ≤ 1.6 km) → ≤ 1e-4 m
        np.testing.assert_allclose(v.uvw[ti, bi], uvw_rows, rtol=0, atol=1e-4)
        expect = _model(uvw_rows, freqs[k], +1.0)[..., to_circular]  # uvflow: exp(+2πi u·l)
        # float32 storage of values ≤ 2.1: 2e-7; the phase from float32 uvw: 2π·1e-4 m/0.21 m·2e-4
        np.testing.assert_allclose(v.vis[ti, bi], expect, rtol=0, atol=2e-6)
        w = weight.reshape(-1, 2, NCHAN, 4)[g, k][..., file_column]
        np.testing.assert_allclose(v.weight[ti, bi], np.abs(w), rtol=1e-7)
        np.testing.assert_array_equal(v.flags[ti, bi], w <= 0)
        np.testing.assert_array_equal(v.configuration.xyz, config.xyz)  # ITRF frame: offsets


def test_stokes_recovered_from_cross_hands(synthetic):
    """At the phase-centre-referred model, RL/LR give Q + iU / Q − iU (not the conjugates)."""
    path, _, (true_uvw, freqs, _, _) = synthetic
    v = read_uvfits(path, field="SRC_A", spw=0, pol="stokesIQUV")[0]
    groups = v.meta["uvfits_groups"]
    ti, bi = np.nonzero(groups >= 0)
    uvw = true_uvw.reshape(-1, 3)[groups[ti, bi]]
    phase = _model(uvw, freqs[0], +1.0)[..., 0] / PRODUCTS["RR"]  # the source's fringe
    recovered = v.vis[ti, bi] / phase[..., None]  # remove the source's fringe
    ok = ~v.flags[ti, bi]
    for i, s in enumerate("IQUV"):
        np.testing.assert_allclose(recovered[..., i][ok[..., i]], STOKES[s], atol=2e-6)


def test_times_iat_to_utc(synthetic):
    path, _, _ = synthetic
    v = read_uvfits(path, field=2, spw=[1])[0]
    t0 = Time(JD0, format="jd", scale="tai").utc
    expect = (t0.mjd * 86400.0) + np.arange(NTIME) * 30.0
    # Julian-day doubles near 2.46e6 resolve ~40 µs; TAI → UTC is 37 s in 2020
    np.testing.assert_allclose(v.time, expect, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(v.integration_time, 30.0)
    assert abs(v.phasecentre.ra.deg - 151.0) < 1e-9 and abs(v.phasecentre.dec.deg + 36.0) < 1e-9


def test_errors(tmp_path):
    not_fits = tmp_path / "x.uvfits"
    not_fits.write_text("plain text")
    with pytest.raises(UVFITSError, match="is not a FITS file"):
        read_uvfits(not_fits)
    image = tmp_path / "image.fits"
    fits.PrimaryHDU(np.zeros((4, 4), np.float32)).writeto(image)
    with pytest.raises(UVFITSError, match="no random groups"):
        read_uvfits(image)


def _b1950(uvw_j2000: np.ndarray, centre: SkyCoord) -> np.ndarray:
    """uvw [n, 3] of J2000 (ICRS) baselines for ``centre`` re-expressed in the FK4 B1950
    frame: each baseline vector is carried by astropy's ICRS → FK4NoETerms transform and
    projected on the (u, v, w) axes of the source's B1950 direction."""
    fk4 = FK4NoETerms(equinox="B1950")

    def basis(c):
        ra, dec = c.spherical.lon.rad, c.spherical.lat.rad
        return np.array([[-np.sin(ra), np.cos(ra), 0.0],
                         [-np.sin(dec) * np.cos(ra), -np.sin(dec) * np.sin(ra), np.cos(dec)],
                         [np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)]])  # fmt: skip

    b = uvw_j2000 @ basis(centre.icrs)  # ICRS cartesian baseline vectors, metres
    length = np.linalg.norm(b, axis=1)
    unit = SkyCoord(x=b[:, 0] / length, y=b[:, 1] / length, z=b[:, 2] / length,
                    frame="icrs", representation_type="cartesian")  # fmt: skip
    b_fk4 = unit.transform_to(fk4).cartesian.xyz.value.T * length[:, None]
    return b_fk4 @ basis(centre.transform_to(fk4)).T


def test_b1950_uvw_are_turned_to_j2000(synthetic, tmp_path):
    """AIPS files give uvw in the frame of their coordinates' epoch (SU EPOCH; the header's
    EPOCH for single-source files). A B1950 file is read into J2000 uvw (DESIGN §3: the MS
    convention): here the file's uvw are the B1950 uvw of the J2000 truth (astropy's FK4
    transform of each baseline vector) and its SU positions the sources' FK4 B1950
    coordinates. Read back, the uvw equal the truth to 2e-7 of the baseline length (measured
    4e-8): UU, VV, WW are float32 light-seconds, 6e-8 relative per component. Kept in
    B1950 they would differ by 2.8e-3 (the ~0.16° the position angle turns between the
    frames at these positions).
    """
    path, _, (true_uvw, _, _, source) = synthetic
    centres = {1: SkyCoord(150.0, -35.0, unit="deg"), 2: SkyCoord(151.0, -36.0, unit="deg")}
    rows = true_uvw.reshape(-1, 3)
    src = source.reshape(-1)
    file_uvw = np.empty_like(rows)
    for sid, centre in centres.items():
        file_uvw[src == sid] = -_b1950(rows[src == sid], centre)  # Memo 117: opposite vector
    with fits.open(path) as hdul:
        hdul[0].data.par("UU---SIN")[:] = file_uvw[:, 0] / SPEED_OF_LIGHT
        hdul[0].data.par("VV---SIN")[:] = file_uvw[:, 1] / SPEED_OF_LIGHT
        hdul[0].data.par("WW---SIN")[:] = file_uvw[:, 2] / SPEED_OF_LIGHT
        su = hdul["AIPS SU"].data
        b1950 = [centres[i].transform_to(FK4(equinox="B1950")) for i in (1, 2)]
        su["RAEPO"], su["DECEPO"] = [c.ra.deg for c in b1950], [c.dec.deg for c in b1950]
        su["EPOCH"] = 1950.0
        hdul.writeto(tmp_path / "b1950.uvfits")
    for v in read_uvfits(tmp_path / "b1950.uvfits", spw=0):
        sid = v.meta["uvfits_source"]
        assert v.meta["uvfits_equinox"] == 1950.0
        assert v.phasecentre.separation(centres[sid]).arcsec < 1e-3  # FK4 → ICRS round trip
        groups = v.meta["uvfits_groups"]
        ti, bi = np.nonzero(groups >= 0)
        truth = rows[groups[ti, bi]]
        length = np.linalg.norm(truth, axis=1)
        err = np.linalg.norm(v.uvw[ti, bi] - truth, axis=1) / length
        assert err.max() < 2e-7, err.max()
        kept = np.linalg.norm(-file_uvw[groups[ti, bi]] - truth, axis=1) / length
        assert kept.min() > 1e-3  # what not turning them would have left
