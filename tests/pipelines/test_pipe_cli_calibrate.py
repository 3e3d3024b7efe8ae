"""``uvflow calibrate`` on simulated raw observations (issue 19 acceptance).

Each observation (:func:`uvflow.simulation.simulate_calibrator_observation`) has a flux
calibrator at its Perley-Butler 2017 flux, a phase calibrator of known (to the test, not to
the command) flux, and a target of point sources, seen through a bandpass (10 % ripple,
2 ns delays), gains drifting 2 % in amplitude and 1 rad in phase (30 min correlation), and
noise. The command's outputs are checked against that truth: the bootstrapped flux within
1 % and 3 σ of its reported uncertainty, the bandpass to the noise, and the target imaged
by ``uvflow image``: fluxes within 2 %, positions within 0.1 beam.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.calibration import apply_gaintable, interpolate_gaintable, read_h5parm
from uvflow.datamodels import read_ms, write_ms
from uvflow.pipelines.cli import main
from uvflow.simulation import (
    ObservedField,
    create_skycomponent,
    flux_calibrator_field,
    named_configuration,
    simulate_calibrator_observation,
)

FREQ = np.linspace(1.3e9, 1.5e9, 16)


def _observation(array, flux_cal, pcal, target, sources, frame, rmax=None, seed=11, freq=FREQ):
    config = named_configuration(array, rmax=rmax)
    fields = [
        flux_calibrator_field(flux_cal, freq),
        ObservedField("PHASECAL", pcal, (create_skycomponent(
            pcal, 2.5, freq, reference_frequency=1.4e9, spectral_index=-0.3),)),
        ObservedField("TARGET", target, tuple(
            create_skycomponent(target.spherical_offsets_by(dx, dy), s, freq)
            for dx, dy, s in sources)),
    ]  # fmt: skip
    schedule = [flux_cal] + ["PHASECAL", "TARGET"] * 4 + ["PHASECAL", flux_cal]
    return simulate_calibrator_observation(config, fields, schedule, freq, 12.5e6,
                                           noise_sigma=0.05, polarisation_frame=frame,
                                           seed=seed)  # fmt: skip


@pytest.fixture(scope="module")
def vla(tmp_path_factory):
    """VLA D configuration, circular feeds, 3C286; a 0.5 Jy and a 0.2 Jy source 4' apart."""
    from astropy import units as u

    d = tmp_path_factory.mktemp("vla")
    target = SkyCoord(ra=201.0, dec=33.0, unit="deg")
    obs = _observation("VLAD", "3C286", SkyCoord(ra=200.0, dec=32.0, unit="deg"), target,
                       [(0 * u.arcmin, 0 * u.arcmin, 0.5), (3 * u.arcmin, -2.5 * u.arcmin, 0.2)],
                       "circularnp")  # fmt: skip
    write_ms(obs.scans, d / "raw.ms")
    return d, obs


def _calibrate(d, *extra, out="cal.ms"):
    return main(["calibrate", str(d / "raw.ms"), "--flux-calibrator", "3C286",
                 "--phase-calibrator", "PHASE", "--target", "2", "--out", str(d / out),
                 *extra])  # fmt: skip


def _check_flux(report: dict) -> None:
    flux = report["fluxscale"]["PHASECAL"]
    assert abs(flux["flux_jy"] - 2.5) < 0.01 * 2.5
    assert abs(flux["flux_jy"] - 2.5) < 3 * flux["error_jy"]
    assert flux["frequency_hz"] == pytest.approx(1.4e9)


def _check_bandpass(d, obs, flux_cal: str) -> None:
    """The solved bandpass against the truth, both referenced to the command's reference
    antenna and up to a constant per antenna and receptor (what the gains absorb). Each
    channel's solution has an error of about σ = noise / (S √((nant − 1) ntime)) per real
    component (S the calibrator's weakest channel); |complex| adds √2 and the reference
    antenna's own error adds more: measured rms 1.6 σ, largest 5.6 σ over ~1000 solutions.
    Demand rms < 2.5 σ and max < 8 σ."""
    from uvflow.calibration import flux_density

    report = json.loads((d / "cal-report.json").read_text())
    names = [str(n) for n in obs.scans[0].configuration.names]
    ref = names.index(report["refant"])
    solved = np.diagonal(read_h5parm(d / "cal-solutions.h5")["bandpass"].gain[0], axis1=-2,
                         axis2=-1)  # fmt: skip
    truth = obs.bandpass * np.exp(-1j * np.angle(obs.bandpass[ref]))[None]
    ratio = solved / truth
    err = np.abs(ratio / ratio.mean(axis=1, keepdims=True) - 1)
    ntime = sum(s.ntime for s in obs.field_scans(flux_cal))
    sigma = 0.05 / (flux_density(flux_cal, FREQ).min() * np.sqrt((len(names) - 1) * ntime))
    assert np.sqrt(np.mean(err**2)) < 2.5 * sigma
    assert err.max() < 8 * sigma


def _image_target(d, ms, name, cell="8asec"):
    assert main(["image", str(ms), "--name", str(d / name), "--size", "256", "256",
                 "--scale", cell, "--niter", "1000", "--weight", "natural", "--nworkers", "0",
                 "--threshold", "0.002"]) == 0  # fmt: skip
    return json.loads((d / f"{name}-sources.json").read_text())


def test_calibrate_a_vla_like_observation(vla):
    d, obs = vla
    assert _calibrate(d) == 0
    report = json.loads((d / "cal-report.json").read_text())
    _check_flux(report)
    _check_bandpass(d, obs, "3C286")
    assert report["flux_standard"]["source"] == "3C286"
    assert report["fields"]["target"]["name"] == "TARGET"
    assert report["solutions"]["B"]["failed"] == 0
    assert set(report["flagged_fraction"]) >= {"3C286", "PHASECAL", "TARGET"}
    assert {"index", "calibrate", "write"} <= set(report["stages"])
    # the output holds the target only, calibrated: its sources imaged at their true fluxes
    (out,) = read_ms(d / "cal.ms")
    assert out.source == "TARGET" and out.ntime == 4 * 10
    sources = _image_target(d, d / "cal.ms", "img")
    beam_deg = 46.0 / 3600  # VLA D at 1.4 GHz, natural weighting: ~46"
    from astropy import units as u

    centre = SkyCoord(ra=201.0, dec=33.0, unit="deg")
    truth = [(centre, 0.5), (centre.spherical_offsets_by(3 * u.arcmin, -2.5 * u.arcmin), 0.2)]
    for direction, flux in truth:
        found = min(sources, key=lambda s: SkyCoord(ra=s["ra_deg"], dec=s["dec_deg"],
                                                    unit="deg").separation(direction).deg)  # fmt: skip
        sep = SkyCoord(ra=found["ra_deg"], dec=found["dec_deg"], unit="deg").separation(direction)
        assert sep.deg < 0.1 * beam_deg
        assert found["flux_jy"] == pytest.approx(flux, rel=0.02)


def test_solutions_file_is_a_standard_h5parm_that_reproduces_the_output(vla):
    d, obs = vla
    if not (d / "cal.ms").exists():
        assert _calibrate(d) == 0
    with h5py.File(d / "cal-solutions.h5", "r") as f:
        soltabs = f["sol000"]
        assert {"antenna", "source"} <= set(soltabs)
        amp = [k for k in soltabs if k.startswith("amplitude")]
        assert amp and all(soltabs[k].attrs["TITLE"] in (b"amplitude", "amplitude") for k in amp)
        axes = soltabs[amp[0]]["val"].attrs["AXES"]
        assert (axes.decode() if isinstance(axes, bytes) else axes).startswith("time,freq,ant")  # fmt: skip
    tables = read_h5parm(d / "cal-solutions.h5")
    assert list(tables) == ["bandpass", "gains"]
    # write, read, apply: the raw target corrected by the solutions read back (bandpass,
    # then the transfer gains interpolated to its times) is the command's output, to the
    # complex64 rounding of the stored data (1e-6 of the values)
    raw = [v for v in read_ms(d / "raw.ms", field="TARGET")]
    (out,) = read_ms(d / "cal.ms")
    corrected = []
    for v in raw:
        v = apply_gaintable(v, tables["bandpass"], inverse=True)
        at = interpolate_gaintable(tables["gains"], np.unique(v.time))
        corrected.append(apply_gaintable(v, at, inverse=True).vis)
    mine = np.concatenate(corrected)
    np.testing.assert_allclose(mine, out.vis, atol=1e-6 * np.abs(out.vis).max())


@pytest.mark.slow
@pytest.mark.cluster
def test_serial_equals_dask(vla):
    d, _ = vla
    assert _calibrate(d, "--nworkers", "0", out="serial.ms") == 0
    assert _calibrate(d, "--nworkers", "2", out="dask.ms") == 0
    (a,), (b,) = read_ms(d / "serial.ms"), read_ms(d / "dask.ms")
    np.testing.assert_array_equal(a.vis, b.vis)
    ra, rb = (json.loads((d / f"{n}-report.json").read_text()) for n in ("serial", "dask"))
    assert ra["fluxscale"] == rb["fluxscale"]


def test_calibrate_a_meerkat_like_observation(tmp_path):
    """MeerKAT's inner dishes, linear feeds, 3C138 (43° at most from MeerKAT's horizon)."""
    from astropy import units as u

    target = SkyCoord(ra=85.0, dec=5.0, unit="deg")
    obs = _observation("MEERKAT", "3C138", SkyCoord(ra=83.0, dec=7.0, unit="deg"), target,
                       [(0 * u.arcmin, 0 * u.arcmin, 0.4)], "linearnp", rmax=1000.0)  # fmt: skip
    write_ms(obs.scans, tmp_path / "raw.ms")
    assert main(["calibrate", str(tmp_path / "raw.ms"), "--flux-calibrator", "0",
                 "--phase-calibrator", "PHASECAL", "--target", "TARGET",
                 "--out", str(tmp_path / "cal.ms")]) == 0  # fmt: skip
    _check_flux(json.loads((tmp_path / "cal-report.json").read_text()))
    _check_bandpass(tmp_path, obs, "3C138")
    sources = _image_target(tmp_path, tmp_path / "cal.ms", "img", cell="10asec")
    best = max(sources, key=lambda s: s["flux_jy"])
    assert best["flux_jy"] == pytest.approx(0.4, rel=0.02)
    # position within 0.1 beam: MeerKAT's inner 1 km at 1.4 GHz, natural weighting, ~45"
    found = SkyCoord(ra=best["ra_deg"], dec=best["dec_deg"], unit="deg")
    assert found.separation(target).arcsec < 0.1 * 45.0


def _error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("uvflow: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_bad_input_gets_one_line(vla, capsys, tmp_path):
    d, obs = vla
    raw = str(d / "raw.ms")
    base = ["calibrate", raw, "--out", str(tmp_path / "x.ms")]
    assert main([*base, "--flux-calibrator", "3C999", "--phase-calibrator", "PHASECAL",
                 "--target", "TARGET"]) == 2  # fmt: skip
    assert "the fields are: 0 3C286, 1 PHASECAL, 2 TARGET" in _error(capsys)
    assert main([*base, "--flux-calibrator", "PHASECAL", "--phase-calibrator", "PHASECAL",
                 "--target", "TARGET"]) == 2  # fmt: skip
    line = _error(capsys)
    assert "no Perley-Butler 2017 flux standard" in line and "3C286" in line and "3C48" in line
    assert main([*base, "--flux-calibrator", "3C286", "--phase-calibrator", "PHASECAL",
                 "--target", "TARGET", "--refant", "W01", "--flag-antennas", "W01"]) == 2  # fmt: skip
    assert "reference antenna W01 has no unflagged data" in _error(capsys)
    assert main([*base, "--flux-calibrator", "3C286", "--phase-calibrator", "PHASECAL",
                 "--target", "TARGET", "--refant", "XX99"]) == 2  # fmt: skip
    assert "--refant 'XX99' is no antenna" in _error(capsys)
    assert not (tmp_path / "x.ms").exists() and not list(tmp_path.glob(".x.ms*"))


def test_a_phase_calibrator_without_scans(vla, capsys, tmp_path):
    d, obs = vla
    scans = obs.field_scans("3C286") + obs.field_scans("TARGET")
    empty = obs.field_scans("PHASECAL")[0]
    empty = empty.replace(vis=np.zeros_like(empty.vis), weight=np.zeros_like(empty.weight),
                          flags=np.ones_like(empty.flags), uvw=np.zeros_like(empty.uvw))  # fmt: skip
    write_ms([*scans, empty], tmp_path / "nopc.ms")
    capsys.readouterr()  # (what writing logged)
    assert main(["calibrate", str(tmp_path / "nopc.ms"), "--flux-calibrator", "3C286",
                 "--phase-calibrator", "PHASECAL", "--target", "TARGET",
                 "--out", str(tmp_path / "x.ms")]) == 2  # fmt: skip
    assert "has no cross-correlation data: no scans" in _error(capsys)


def test_image_applies_a_solutions_file(vla, tmp_path):
    """``uvflow image --apply-solutions`` on the raw target equals imaging the calibrated
    output (the same corrections, applied in the imaging tasks): dirty images agree to the
    output's complex64 rounding (1e-6 of the peak)."""
    from astropy.io import fits

    d, _ = vla
    if not (d / "cal.ms").exists():
        assert _calibrate(d) == 0
    common = ["--size", "128", "128", "--scale", "8asec", "--niter", "0", "--nworkers", "0"]
    assert main(["image", str(d / "raw.ms"), "--field", "TARGET", "--name", str(tmp_path / "a"),
                 "--apply-solutions", str(d / "cal-solutions.h5"), *common]) == 0  # fmt: skip
    assert main(["image", str(d / "cal.ms"), "--name", str(tmp_path / "b"), *common]) == 0
    a = fits.getdata(tmp_path / "a-dirty.fits")
    b = fits.getdata(tmp_path / "b-dirty.fits")
    np.testing.assert_allclose(a, b, atol=1e-6 * np.abs(b).max())
    assert main(["image", str(d / "raw.ms"), "--field", "TARGET", "--name", str(tmp_path / "c"),
                 "--apply-solutions", str(tmp_path / "none.h5"), *common]) == 2  # fmt: skip


def test_calibrate_the_multi_source_uvfits_form(vla, tmp_path):
    """The same observation as a multi-source UVFITS file (AIPS SU table): the same flux
    as from the MeasurementSet (both hold the data as float32; times differ by < 2 µs),
    and the target imaged at its fluxes."""
    from uvflow.datamodels import write_uvfits

    d, obs = vla
    write_uvfits(obs.scans, tmp_path / "raw.uvfits")
    assert main(["calibrate", str(tmp_path / "raw.uvfits"), "--flux-calibrator", "3C286",
                 "--phase-calibrator", "PHASECAL", "--target", "TARGET",
                 "--out", str(tmp_path / "cal.ms")]) == 0  # fmt: skip
    report = json.loads((tmp_path / "cal-report.json").read_text())
    _check_flux(report)
    if not (d / "cal-report.json").exists():
        assert _calibrate(d) == 0
    from_ms = json.loads((d / "cal-report.json").read_text())["fluxscale"]["PHASECAL"]
    assert report["fluxscale"]["PHASECAL"]["flux_jy"] == pytest.approx(from_ms["flux_jy"],
                                                                       rel=1e-5)  # fmt: skip
    sources = _image_target(tmp_path, tmp_path / "cal.ms", "img")
    best = max(sources, key=lambda s: s["flux_jy"])
    assert best["flux_jy"] == pytest.approx(0.5, rel=0.02)


def test_several_spectral_windows(tmp_path):
    """Two spectral windows (1.3-1.5 and 1.6-1.8 GHz, each its own bandpass and gains):
    each is calibrated on its own, the flux is bootstrapped per window and a power law
    fitted over both (the phase calibrator's spectral index is -0.3: with a lever arm of
    ln(1.7/1.4) = 0.19 and 0.1 % errors, α is known to ~0.01; 0.05 allowed), the output
    holds both windows, and --apply-solutions applies to each window its own tables."""
    from astropy import units as u
    from astropy.io import fits

    args = ("VLAD", "3C286", SkyCoord(ra=200.0, dec=32.0, unit="deg"),
            SkyCoord(ra=201.0, dec=33.0, unit="deg"), [(0 * u.arcmin, 0 * u.arcmin, 0.5)],
            "circularnp")  # fmt: skip
    scans = []
    for k, f0 in enumerate((1.3e9, 1.6e9)):
        freq = np.linspace(f0, f0 + 2e8, 8)
        scans += _observation(*args, seed=20 + k, freq=freq).scans
    write_ms(scans, tmp_path / "raw.ms")
    assert main(["calibrate", str(tmp_path / "raw.ms"), "--flux-calibrator", "3C286",
                 "--phase-calibrator", "PHASECAL", "--target", "TARGET",
                 "--out", str(tmp_path / "cal.ms")]) == 0  # fmt: skip
    report = json.loads((tmp_path / "cal-report.json").read_text())
    flux = report["fluxscale"]["PHASECAL"]
    assert report["spectral_windows"] == [0, 1]
    assert set(flux["spectral_windows"]) == {"0", "1"} and set(report["solutions"]) == {
        "spw0",
        "spw1",
    }
    for window in flux["spectral_windows"].values():
        truth = 2.5 * (window["frequency_hz"] / 1.4e9) ** -0.3
        assert abs(window["flux_jy"] - truth) < 0.01 * truth
    assert flux["spectral_index"] == pytest.approx(-0.3, abs=0.05)
    assert len(read_ms(tmp_path / "cal.ms")) == 2
    assert list(read_h5parm(tmp_path / "cal-solutions.h5")) == [
        "bandpass_spw0", "gains_spw0", "bandpass_spw1", "gains_spw1"]  # fmt: skip
    common = ["--size", "128", "128", "--scale", "8asec", "--niter", "0", "--nworkers", "0"]
    assert main(["image", str(tmp_path / "raw.ms"), "--field", "TARGET", "--name",
                 str(tmp_path / "a"), "--apply-solutions", str(tmp_path / "cal-solutions.h5"),
                 *common]) == 0  # fmt: skip
    assert main(["image", str(tmp_path / "cal.ms"), "--name", str(tmp_path / "b"), *common]) == 0
    a, b = fits.getdata(tmp_path / "a-dirty.fits"), fits.getdata(tmp_path / "b-dirty.fits")
    np.testing.assert_allclose(a, b, atol=1e-6 * np.abs(b).max())
    # the target: a flat 0.5 Jy point at the phase centre, its dirty peak (3 %: noise)
    assert np.abs(b).max() == pytest.approx(0.5, rel=0.03)
