"""The demo (README's first command) end to end: simulate → corrupt → calibrate → image.

Run serially and on a 2-process Dask cluster, at small settings: both give the same FITS
products (to 1e-10 relative: same kernels, same inputs, only summation order may differ),
the solved gains equal the injected ones (noise-free data, known model: StefCal converges
to ~1e-8), and every source's clean flux is within 2 % of the truth (noise-free: what is
left is the CLEAN residual of an off-pixel source at a 1 % fractional threshold).
"""

from __future__ import annotations

import importlib.util
import json
import pathlib

import numpy as np
import pytest
from astropy.io import fits

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_demo():
    spec = importlib.util.spec_from_file_location("uvflow_demo", ROOT / "examples" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    demo = load_demo()
    out = {}
    for nworkers in (0, 2):
        d = tmp_path_factory.mktemp(f"demo-w{nworkers}")
        assert demo.main(["--out", str(d), "--nworkers", str(nworkers), "--npixel", "128", "--ntimes", "8",
                          "--nmajor", "2"]) == 0  # fmt: skip
        out[nworkers] = d
    return out


KINDS = ("dirty", "psf", "model", "residual", "image")


@pytest.mark.cluster
def test_products_written_with_conventions(runs):
    for d in runs.values():
        names = {p.name for p in d.iterdir()}
        assert {f"demo-MFS-{k}.fits" for k in KINDS} <= names
        assert {"demo-report.json", "demo-sources.json", "demo-MFS-image.png"} <= names
        with fits.open(d / "demo-MFS-image.fits") as hdul:
            h = hdul[0].header
            assert (h["CTYPE1"], h["CTYPE2"], h["CTYPE3"], h["CTYPE4"]) == (
                "RA---SIN",
                "DEC--SIN",
                "FREQ",
                "STOKES",
            )
            assert (
                h["CDELT1"] < 0 and h["CRPIX1"] == 128 // 2 + 1 and h["BUNIT"].upper() == "JY/BEAM"
            )
            assert h["BMAJ"] > 0 and h["BMIN"] > 0 and "BPA" in h


@pytest.mark.cluster
def test_serial_equals_dask(runs):
    for kind in KINDS:
        a = fits.getdata(runs[0] / f"demo-MFS-{kind}.fits")
        b = fits.getdata(runs[2] / f"demo-MFS-{kind}.fits")
        assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(a)), kind


@pytest.mark.cluster
def test_gains_and_fluxes_recovered(runs):
    report = json.loads((runs[2] / "demo-report.json").read_text())
    assert report["gain_errors"]["phase_rms_rad"] < 1e-6
    assert report["gain_errors"]["amplitude_rms"] < 1e-6
    sources = json.loads((runs[2] / "demo-sources.json").read_text())
    for s in sources:
        assert s["recovered_jy"] == pytest.approx(s["true_jy"], rel=0.02)
