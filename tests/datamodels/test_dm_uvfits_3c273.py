"""read_uvfits on a real VLA observation: 3C273 at 8.085 GHz, 27 June 1989 (AIPS, TIMSYS IAT).

The file (7669 groups, 1 channel, RR LL RL LR) is checked against physics, not against
itself: baseline lengths from the AN table bound |uvw|; uvw recomputed from antenna
positions and times (J2000, IAU 2006/2000A) pin the baseline direction, the frame (the
file's B1950 turned to J2000) and the time system; the known
structure of 3C273 (a bright core at the phase centre and a jet whose hot spot is ~21″
from it at position angle ~222°) pins the phase sign.
"""

from __future__ import annotations

import os
from pathlib import Path

import astropy.units as u
import erfa
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from astropy.utils import iers

from uvflow.datamodels import PolarisationError, UVFITSError, read_uvfits

DATA = Path(
    os.environ.get("UVFLOW_REAL_DATA", Path(__file__).resolve().parents[3] / "shared/data/real")
)
FILE = DATA / "3C273XC1.fits"
pytestmark = pytest.mark.skipif(not FILE.exists(), reason=f"{FILE} not available")
ARCSEC = np.pi / 180 / 3600


@pytest.fixture(scope="module")
def vis():
    (v,) = read_uvfits(FILE)
    return v


def test_structure(vis):
    assert vis.source == "3C273"
    assert vis.polarisation_frame.name == "circular"  # RR LL RL LR reordered to RR RL LR LL
    assert (vis.nchan, vis.npol) == (1, 4)
    np.testing.assert_array_equal(vis.frequency, [8.085e9])
    np.testing.assert_array_equal(vis.channel_bandwidth, [5.0e7])
    assert vis.configuration.nants == 28  # AN table rows
    present = np.unique(np.concatenate([vis.antenna1, vis.antenna2]))
    assert 20 <= present.size <= 27  # the VLA has 27 antennas
    assert np.all(vis.antenna1 < vis.antenna2)  # no autocorrelations kept
    assert (vis.meta["uvfits_groups"] >= 0).sum() == 7669  # every group is in the block
    # B1950 12h26m33.2s +02°19'43" converted to ICRS: 3C273 at 12h29m06.70s +02°03'08.6"
    icrs = SkyCoord("12h29m06.6997s", "+02d03m08.598s", frame="icrs")
    assert vis.phasecentre.separation(icrs).arcsec < 0.5
    np.testing.assert_array_equal(vis.integration_time, 10.0)  # FILLM CPARM(1) = 10 s


def test_values_are_hermitian_transpose_of_groups(vis):
    """vis = conj(file) with RL and LR exchanged; weight = |w|, flagged where w <= 0."""
    with fits.open(FILE) as h:
        raw = np.array(h[0].data.data[:, 0, 0, 0, 0, :, :], dtype=np.float64)  # [g, RR LL RL LR, 3]
    groups = vis.meta["uvfits_groups"]
    ti, bi = np.nonzero(groups >= 0)
    g = groups[ti, bi]
    file_vis = raw[g, :, 0] + 1j * raw[g, :, 1]
    expect = np.conj(file_vis[:, [0, 3, 2, 1]])  # RR, conj LR, conj RL, LL
    np.testing.assert_array_equal(vis.vis[ti, bi, 0], expect.astype(np.complex64))
    w = raw[g][:, [0, 3, 2, 1], 2]
    np.testing.assert_array_equal(vis.weight[ti, bi, 0], np.abs(w))
    np.testing.assert_array_equal(vis.flags[ti, bi, 0], w <= 0)
    assert np.all(vis.flags[groups < 0]) and np.all(vis.weight[groups < 0] == 0)


def test_uvw_never_longer_than_the_baseline(vis):
    """|uvw| ≤ |XYZ(a2) − XYZ(a1)|: checks light-seconds → metres and the antenna mapping.

    Tolerance 1e-3: uvw include annual aberration (v/c ≈ 1e-4) and float32 storage (6e-8);
    a wrong unit (c missing: ×3e8) or a wrong antenna (baselines of 78 m to 3.7 km here)
    breaks it by far more. Lengths are also ≥ 1 % of the baseline (the source is never
    along a baseline) — a wrongly mapped short baseline would violate that.
    """
    c = vis.configuration
    length = np.linalg.norm(c.xyz[vis.antenna2] - c.xyz[vis.antenna1], axis=1)
    ok = vis.meta["uvfits_groups"] >= 0
    ratio = (np.linalg.norm(vis.uvw, axis=-1) / length[None, :])[ok]
    assert ratio.max() <= 1 + 1e-3 and ratio.min() > 0.01
    assert 50.0 < length.min() and length.max() < 36.4e3  # VLA A config max is 36.4 km


def test_times_utc_from_iat(vis):
    """First DATE is 1989-06-27 01:03:20 IAT; TAI − UTC was 24 s in June 1989."""
    t0 = Time(vis.time[0] / 86400.0, format="mjd", scale="utc")
    assert abs((t0 - Time("1989-06-27T01:02:56", scale="utc")).sec) < 0.05
    assert np.all(np.diff(vis.time) > 0)
    span = vis.time[-1] - vis.time[0]
    assert 3.5 * 3600 < span < 3.8 * 3600  # TVFLG TIMERANG 01:02:55 – 04:45:25


def _j2000_uvw(vis, dt: float = 0.0) -> np.ndarray:
    """uvw [ntime, nbaseline, 3] of XYZ(a2) − XYZ(a1) in the J2000 (ICRS) frame of the phase
    centre at times ``vis.time + dt``: ITRF → GCRS with ERFA's IAU 2006/2000A ``c2t06a``,
    UT1 and polar motion from astropy's bundled IERS-B table (no aberration: it changes
    the comparison below by < 1e-6)."""
    t = Time((vis.time + dt) / 86400.0, format="mjd", scale="utc")
    with iers.conf.set_temp("auto_download", False):
        xp, yp = iers.earth_orientation_table.get().pm_xy(t)
        tt, ut1 = t.tt, t.ut1
    rc2t = erfa.c2t06a(tt.jd1, tt.jd2, ut1.jd1, ut1.jd2, xp.to_value(u.rad), yp.to_value(u.rad))
    c = vis.configuration
    b_gcrs = np.einsum("tji,bj->tbi", rc2t, c.xyz[vis.antenna2] - c.xyz[vis.antenna1])
    ra, dec = vis.phasecentre.icrs.ra.rad, vis.phasecentre.icrs.dec.rad
    basis = np.array([[-np.sin(ra), np.cos(ra), 0.0],
                      [-np.sin(dec) * np.cos(ra), -np.sin(dec) * np.sin(ra), np.cos(dec)],
                      [np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)]])  # fmt: skip
    return b_gcrs @ basis.T


def _uv_rotation_arcsec(obs: np.ndarray, ref: np.ndarray) -> float:
    """The rotation about w (arcsec, counter-clockwise u → v) that best takes ref onto obs."""
    num = np.sum(ref[:, 0] * obs[:, 1] - ref[:, 1] * obs[:, 0])
    return float(
        np.degrees(np.arctan2(num, np.sum(ref[:, 0] * obs[:, 0] + ref[:, 1] * obs[:, 1]))) * 3600
    )


def test_uvw_are_j2000_from_antennas_and_times(vis):
    """uvw = XYZ(a2) − XYZ(a1) in the J2000 frame of the phase centre (DESIGN §3).

    The file (EPOCH 1950, AIPS) gives uvw in the B1950 frame of its coordinates: fitting a
    rotation about w between the file's own uvw and rigorous uvw leaves −6.8″ for B1950,
    −95″ for the true frame of date, −128″ for J2000. read_uvfits turns them to J2000, and
    they then match the rigorous J2000 uvw of the antennas 5 s (half the 10 s FILLM
    averaging, CPARM(1)) before each time stamp: a least-squares time offset gives −5.1 s
    (−5.5 s with UT1 = UTC, as the AN table's UT1UTC = 0 says), i.e. the file's uvw belong to
    the first record of each 10 s average while the stamp is its centre.

    Measured: median 3.2e-5 of the baseline length, 99th percentile 4.4e-5 — a −6.8″ uv
    rotation left between the 1989 on-line system's B1950 and astropy's FK4 → ICRS, plus
    float32 storage. Thresholds 6e-5 and 1e-4 reject each way of getting it wrong by a
    factor ≥ 5: uvw left in B1950 5.5e-4, the time offset ignored 3.2e-4, IAT taken as UTC
    (24 s) 1.5e-3, the baseline sign flipped 2.0. The uv rotation must be < 15″ (B1950 kept:
    −128″) and the time offset within ±0.5 s of −5 s.
    """
    ok = vis.meta["uvfits_groups"] >= 0
    c = vis.configuration
    length = np.linalg.norm(c.xyz[vis.antenna2] - c.xyz[vis.antenna1], axis=1)
    ref = _j2000_uvw(vis, -5.0)
    err = (np.linalg.norm(vis.uvw - ref, axis=-1) / length)[ok]
    assert np.median(err) < 6e-5 and np.percentile(err, 99) < 1e-4
    assert abs(_uv_rotation_arcsec(vis.uvw[ok], ref[ok])) < 15.0
    flipped = (np.linalg.norm(vis.uvw + ref, axis=-1) / length)[ok]
    assert np.median(flipped) > 1.9
    # least-squares time offset: r ≈ dt · d(uvw)/dt around −5 s
    rate = (_j2000_uvw(vis, -4.5) - _j2000_uvw(vis, -5.5))[ok]  # per second
    offset = -5.0 + np.sum((vis.uvw - ref)[ok] * rate) / np.sum(rate * rate)
    assert -5.5 < offset < -4.5, offset
    assert vis.meta["uvfits_equinox"] == 1950.0


def test_file_uvw_are_in_the_b1950_frame(vis):
    """Undoing the reader's rotation gives back the file's frame: its uv axes sit 128″ from
    J2000's (the position-angle change of 3C273's frame from B1950 to J2000, 1.2e2″ from
    precession over 50 years at RA 187°, Dec 2°), as the file's EPOCH = 1950 says."""
    from uvflow.datamodels.io.uvfits_tables import uvw_to_j2000

    ok = vis.meta["uvfits_groups"] >= 0
    rot = uvw_to_j2000(vis.phasecentre, 1950.0)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-15)  # a rotation
    np.testing.assert_allclose(rot[2], [0.0, 0.0, 1.0], atol=1e-12)  # w stays on the source
    file_frame = vis.uvw @ rot  # rot.T applied to each vector: back to the file's numbers
    with fits.open(FILE) as h:
        g = vis.meta["uvfits_groups"][ok]
        file_uvw = -np.stack(
            [h[0].data.par(p)[g] for p in ("UU---SIN", "VV---SIN", "WW---SIN")], -1
        )
    np.testing.assert_allclose(file_frame[ok], file_uvw * 299792458.0, rtol=0, atol=1e-6)
    ref = _j2000_uvw(vis, -5.0)[ok]
    assert -135.0 < _uv_rotation_arcsec(file_frame[ok], ref) < -120.0


def test_phase_sign_puts_the_jet_south_west(vis):
    """Dirty image (uvflow's adjoint exp(−2πi u·l)) of Stokes I minus the core.

    3C273's jet runs from the core to a hot spot ~21″ away at position angle ~222° (south-
    west). A wrong phase sign or a wrong uvw sign alone mirrors it to PA ~42°. 1.5″ pixels
    over ±30″ (the beam is ~2″ at 8 GHz on 3.7 km baselines): at 21″ the peak's PA is
    good to ±4°, so ±10° around 222° separates it cleanly from the mirror image.
    """
    i = vis.select(channel=slice(0, 1))
    rr, ll = i.vis[:, :, 0, 0], i.vis[:, :, 0, 3]
    ok = ~(i.flags[:, :, 0, 0] | i.flags[:, :, 0, 3])
    stokes_i = ((rr + ll) / 2)[ok].astype(complex)
    residual = stokes_i - np.median(stokes_i.real)  # the core: a point at the phase centre
    uv = i.uvw[ok][:, :2] * (i.frequency[0] / 299792458.0)
    x = np.arange(-20, 21) * 1.5 * ARCSEC
    ll, mm = np.meshgrid(x, x)  # l east, m north
    phase = np.exp(-2j * np.pi * (uv[:, 0, None] * ll.ravel() + uv[:, 1, None] * mm.ravel()))
    image = np.real(residual @ phase).reshape(ll.shape) / residual.size
    r = np.hypot(ll, mm) / ARCSEC
    image[r < 6] = -np.inf  # the core's own residual sidelobes
    iy, ix = np.unravel_index(np.argmax(image), image.shape)
    pa = np.degrees(np.arctan2(ll[iy, ix], mm[iy, ix])) % 360
    assert 18 <= r[iy, ix] <= 24
    assert 212 <= pa <= 232, f"jet at PA {pa:.0f}°"


def test_pol_requests_and_selection(vis):
    (i,) = read_uvfits(FILE, pol="stokesI")
    ok = ~i.flags[..., 0]
    np.testing.assert_allclose(
        i.vis[..., 0][ok], ((vis.vis[..., 0] + vis.vis[..., 3]) / 2)[ok], rtol=0, atol=1e-5
    )  # complex64 values ~30 Jy: float32 rounding 30 × 6e-8 × a few
    (iquv,) = read_uvfits(FILE, pol="stokesIQUV")
    ok = ~iquv.flags[..., 1]
    q = (vis.vis[..., 1] + vis.vis[..., 2]) / 2  # Q = (RL + LR) / 2
    np.testing.assert_allclose(iquv.vis[..., 1][ok], q[ok], rtol=0, atol=1e-6)
    with pytest.raises(PolarisationError, match="unknown; use one of"):
        read_uvfits(FILE, pol="stokesX")
    assert read_uvfits(FILE, field="3C273")[0].source == "3C273"
    with pytest.raises(UVFITSError, match=r"source 'M87' unknown; available: 1 '3C273'"):
        read_uvfits(FILE, field="M87")
    with pytest.raises(UVFITSError, match="IF 1 unknown; available: 0 'IF1'"):
        read_uvfits(FILE, spw=1)
