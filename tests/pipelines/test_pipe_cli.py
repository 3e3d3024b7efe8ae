"""``uvflow simulate`` → ``uvflow image``: named FITS products with DESIGN §3 headers, the
report, sources at the simulated positions and fluxes, serial ≡ Dask ≡ the installed script.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

from uvflow.datamodels import read_ms
from uvflow.pipelines.cli import main

KINDS = ("dirty", "psf", "model", "residual", "image")
# MeerKAT within 1 km (44 dishes), 8 integrations over 6 h, 4 channels 1.30–1.45 GHz, five
# point sources of 0.5–2 Jy in a 0.15° field, noise 0.01 Jy per visibility component.
SIMULATE = [
    "simulate", "--array", "meerkat", "--rmax", "1000", "--ntimes", "8", "--nchan", "4",
    "--freq", "1.3e9", "1.45e9", "--nsrc", "5", "--flux", "0.5", "2", "--fov", "0.15deg",
    "--noise", "0.01", "--seed", "1234",
]  # fmt: skip
# 128 px of 7" (the beam is ~25", so ~3.5 pixels across it) covers the 0.15° field.
IMAGE = ["-size", "128", "-scale", "7asec", "-niter", "500", "-weight", "briggs", "0",
         "--nmajor", "3"]  # fmt: skip


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    d = tmp_path_factory.mktemp("sim")
    ms = d / "sim.ms"
    assert main([*SIMULATE, "--out", str(ms)]) == 0
    return ms, json.loads((d / "sim-sky.json").read_text())


@pytest.fixture(scope="module")
def imaged(simulated, tmp_path_factory):
    """Two output channels, serially in-process, on 2 Dask workers, and one channel via the script."""
    ms, _ = simulated
    out = {}
    for nworkers in (0, 2):
        d = tmp_path_factory.mktemp(f"img{nworkers}")
        argv = ["image", str(ms), "-name", str(d / "img"), *IMAGE, "--channels-out", "2",
                "--nworkers", str(nworkers), "--plot"]  # fmt: skip
        assert main(argv) == 0
        out[nworkers] = d
    d = tmp_path_factory.mktemp("script")
    script = shutil.which("uvflow")
    assert script is not None, "the uvflow console script is not installed"
    run = subprocess.run(
        # WSClean's order: options first, "-size WIDTH HEIGHT", the MeasurementSet last
        [script, "image", "-name", str(d / "one"), "--nworkers", "0", *IMAGE[2:], "-size", "128",
         "128", str(ms)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out["script"] = d
    out["script_stdout"] = run.stdout
    return out


def test_simulate_writes_ms_and_truth(simulated):
    ms, truth = simulated
    (vis,) = read_ms(ms)
    assert (vis.ntime, vis.nchan, vis.npol) == (8, 4, 1)
    np.testing.assert_allclose(vis.frequency, np.linspace(1.3e9, 1.45e9, 4))
    assert len(truth["components"]) == 5
    assert truth["noise_sigma_jy"] == 0.01
    for c in truth["components"]:
        assert 0.5 <= c["flux_jy"] <= 2.0


def test_product_names(imaged):
    names = {p.name for p in imaged[0].iterdir()}
    expected = {f"img-MFS-{k}.fits" for k in KINDS}
    expected |= {f"img-{c:04d}-{k}.fits" for c in (0, 1) for k in KINDS}
    expected |= {"img-sources.json", "img-report.json", "img-MFS-image.png"}
    assert names == expected  # nothing else: no temporary files left behind
    one = {p.name for p in imaged["script"].iterdir()}
    assert one == {f"one-{k}.fits" for k in KINDS} | {"one-sources.json", "one-report.json"}
    assert "one-image.fits" in imaged["script_stdout"]


def test_fits_headers_follow_design(imaged):
    for path in sorted(imaged[0].glob("*.fits")) + sorted(imaged["script"].glob("*.fits")):
        h = fits.getheader(path)
        assert (h["CTYPE1"], h["CTYPE2"], h["CTYPE3"], h["CTYPE4"]) == (
            "RA---SIN", "DEC--SIN", "FREQ", "STOKES",
        ), path.name  # fmt: skip
        assert h["NAXIS1"] == h["NAXIS2"] == 128 and h["NAXIS3"] == h["NAXIS4"] == 1
        assert h["CRPIX1"] == h["CRPIX2"] == 128 // 2 + 1
        assert h["CDELT1"] < 0 < h["CDELT2"]
        assert h["CDELT2"] * 3600 == pytest.approx(7.0, rel=1e-12)
        assert h["CRVAL4"] == 1  # Stokes I
        assert h["BUNIT"] == ("JY/PIXEL" if path.name.endswith("-model.fits") else "JY/BEAM")
        assert h["BMAJ"] > 0 and h["BMIN"] > 0 and "BPA" in h
    # CRVAL3: the centre of each output band (1.275–1.475 GHz in two bands) and of the MFS set
    assert fits.getheader(imaged[0] / "img-0000-image.fits")["CRVAL3"] == pytest.approx(1.325e9)
    assert fits.getheader(imaged[0] / "img-0001-image.fits")["CRVAL3"] == pytest.approx(1.425e9)
    assert fits.getheader(imaged[0] / "img-MFS-image.fits")["CRVAL3"] == pytest.approx(1.375e9)


def test_serial_dask_and_script_agree(imaged):
    # same kernels on the same data; only the order of sums may differ: 1e-10 relative
    for name in [f"img-MFS-{k}.fits" for k in KINDS] + ["img-0001-model.fits"]:
        a, b = fits.getdata(imaged[0] / name), fits.getdata(imaged[2] / name)
        assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(a)), name
    # one output channel images all four data channels: its dirty image is the weighted
    # combination of the two bands' (the MFS one), up to the gridding accuracy (1e-4 each)
    a = fits.getdata(imaged[0] / "img-MFS-dirty.fits")
    b = fits.getdata(imaged["script"] / "one-dirty.fits")
    assert np.max(np.abs(a - b)) <= 2e-4 * np.max(np.abs(a))


def test_psf_peaks_at_centre_with_unit_height(imaged):
    psf = fits.getdata(imaged[0] / "img-MFS-psf.fits")[0, 0]
    assert np.unravel_index(np.argmax(psf), psf.shape) == (64, 64)
    # normalised by the sum of weights; gridded to --accuracy 1e-4 (float32 data)
    assert psf[64, 64] == pytest.approx(1.0, abs=1e-4)


def _isolated(truth, separation_deg):
    comps = truth["components"]
    coords = SkyCoord([c["ra_deg"] for c in comps], [c["dec_deg"] for c in comps], unit="deg")
    out = []
    for i, c in enumerate(comps):
        d = coords[i].separation(coords).deg
        if np.sort(d)[1] > separation_deg:
            out.append(c)
    return out


@pytest.mark.parametrize("which", [0, "script"])
def test_sources_found_where_simulated(imaged, simulated, which):
    _, truth = simulated
    name = "img" if which == 0 else "one"
    sources = json.loads((imaged[which] / f"{name}-sources.json").read_text())
    found = SkyCoord([s["ra_deg"] for s in sources], [s["dec_deg"] for s in sources], unit="deg")
    # sources closer than ~3 beams (75") are blended by the grouping; the others must be
    # found one by one
    isolated = _isolated(truth, 75 / 3600)
    assert len(isolated) >= 3
    for c in isolated:
        sep = SkyCoord(c["ra_deg"], c["dec_deg"], unit="deg").separation(found).arcsec
        k = int(np.argmin(sep))
        # a clean-component centroid of a point source at S/N > 100: within 0.3 pixel (2.1")
        assert sep[k] < 2.1, (c, sources[k])
        # 3 major cycles at mgain 0.8 leave < 1 % of the flux uncleaned; noise ~1 mJy
        assert sources[k]["flux_jy"] == pytest.approx(c["flux_jy"], rel=0.03)
    # every source found corresponds to simulated flux (no spurious detections)
    truth_coords = SkyCoord([c["ra_deg"] for c in truth["components"]],
                            [c["dec_deg"] for c in truth["components"]], unit="deg")  # fmt: skip
    for s in sources:
        sep = SkyCoord(s["ra_deg"], s["dec_deg"], unit="deg").separation(truth_coords).arcsec
        assert np.min(sep) < 60, s


def test_report(imaged):
    report = json.loads((imaged[2] / "img-report.json").read_text())
    assert report["command"] == "image"
    p = report["parameters"]
    assert p["niter"] == 500 and p["weighting"] == "robust" and p["robustness"] == 0.0
    assert p["channels_out"] == 2 and p["algorithm"] == "hogbom"
    assert report["versions"]["uvflow-pipelines"] and report["versions"]["numpy"]
    assert report["execution"] == {"mode": "distributed", "n_workers": 2}
    assert report["nvis"] == 8 * 946 * 4
    for stage in ("read", "invert", "deconvolve", "write"):
        rec = report["stages"][stage]
        assert rec["seconds"] >= 0 and rec["rss_mb"] > 0 and rec["peak_rss_mb"] > 0
    assert len(report["stages"]["deconvolve"]["worker_rss_mb"]) == 2
    stats = report["images"]
    assert set(stats) == set(KINDS)
    image = fits.getdata(imaged[2] / "img-MFS-image.fits")
    # the statistics are the float64 images'; the FITS data are float32 (DESIGN §3): 2⁻²⁴
    assert image.dtype == np.dtype(">f4")
    assert stats["image"]["max"] == pytest.approx(float(image.max()), rel=2**-24)
    # the residual is at the noise/sidelobe level, far below the 0.5–2 Jy sources
    assert stats["residual"]["maxabs"] < 0.05


def test_invert_mode_writes_dirty_and_psf_only(simulated, tmp_path):
    ms, _ = simulated
    assert main(["image", str(ms), "-name", str(tmp_path / "inv"), "-size", "64", "-scale", "7asec",
                 "--mode", "invert", "--nworkers", "0", "-weight", "natural"]) == 0  # fmt: skip
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"inv-dirty.fits", "inv-psf.fits", "inv-report.json"}


def test_write_model_column(simulated, tmp_path):
    ms, _ = simulated
    copy = tmp_path / "copy.ms"
    shutil.copytree(ms, copy)
    assert main(["image", str(copy), "-name", str(tmp_path / "m"), *IMAGE, "--nworkers", "0",
                 "--write-model"]) == 0  # fmt: skip
    (data,) = read_ms(copy)
    (model,) = read_ms(copy, datacolumn="MODEL_DATA")
    # the clean model predicts the data up to the noise (0.01 Jy per component) and CLEAN's
    # few-percent residual of 0.5–2 Jy sources
    rms_data = np.sqrt(np.mean(np.abs(data.vis) ** 2))
    rms_diff = np.sqrt(np.mean(np.abs(data.vis - model.vis) ** 2))
    assert rms_diff < 0.05 * rms_data


def test_joint_channels_multiscale(simulated, tmp_path):
    ms, _ = simulated
    assert main(["image", str(ms), "-name", str(tmp_path / "mm"), *IMAGE, "--nworkers", "0",
                 "--channels-out", "2", "--join-channels", "--nmoment", "2",
                 "--auto-threshold", "5"]) == 0  # fmt: skip
    report = json.loads((tmp_path / "mm-report.json").read_text())
    assert report["parameters"]["algorithm"] == "mmclean"
    # -auto-threshold: each major cycle's threshold from that cycle's residual noise
    assert all(c["threshold"] > 0 for c in report["deconvolution"]["cycles"])
    assert report["images"]["residual"]["maxabs"] < 0.1
    sources = json.loads((tmp_path / "mm-sources.json").read_text())
    assert sources and sources[0]["flux_jy"] > 1.0


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
