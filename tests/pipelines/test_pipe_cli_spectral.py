"""``uvflow image --mode spectral``: one product per data channel at its frequency, the
continuum found in every channel, and removed by ``--continuum-subtraction-degree``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from uvflow.pipelines.cli import main

# Flat-spectrum point sources (spectral index 0) in four channels 1.30–1.45 GHz.
SIMULATE = [
    "simulate", "--array", "meerkat", "--rmax", "1000", "--ntimes", "8", "--nchan", "4",
    "--freq", "1.3e9", "1.45e9", "--nsrc", "5", "--flux", "0.5", "2", "--fov", "0.15deg",
    "--noise", "0.01", "--seed", "1234",
]  # fmt: skip
IMAGE = ["-size", "128", "-scale", "7asec", "-niter", "500", "-weight", "briggs", "0",
         "--nmajor", "3", "--nworkers", "0", "--mode", "spectral", "--channels-out", "2"]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("spectral")
    ms = d / "s.ms"
    assert main([*SIMULATE, "--out", str(ms)]) == 0
    assert main(["image", str(ms), "-name", str(d / "line"), *IMAGE]) == 0
    assert main(["image", str(ms), "-name", str(d / "sub"), *IMAGE,
                 "--continuum-subtraction-degree", "0", "--line-free-channels", "0-3"]) == 0  # fmt: skip
    return d, json.loads((d / "s-sky.json").read_text())


def test_one_product_per_channel_at_its_frequency(runs):
    d, _ = runs
    kinds = ("dirty", "psf", "model", "residual", "image")
    names = {p.name for p in d.iterdir() if p.name.startswith("line-")}
    assert names == (
        {f"line-{c:04d}-{k}.fits" for c in range(4) for k in kinds}
        | {f"line-MFS-{k}.fits" for k in kinds} | {"line-sources.json", "line-report.json"}
    )  # fmt: skip
    for c, f in enumerate(np.linspace(1.3e9, 1.45e9, 4)):
        h = fits.getheader(d / f"line-{c:04d}-image.fits")
        assert h["CRVAL3"] == pytest.approx(f) and h["CRPIX3"] == 1 and h["NAXIS3"] == 1
        assert h["BMAJ"] > 0 and h["CTYPE3"] == "FREQ"
    assert fits.getheader(d / "line-MFS-image.fits")["CRVAL3"] == pytest.approx(1.375e9)


def test_continuum_in_every_channel(runs):
    d, truth = runs
    brightest = max(truth["components"], key=lambda c: c["flux_jy"])
    pos = SkyCoord(brightest["ra_deg"], brightest["dec_deg"], unit="deg")
    for c in range(4):
        model = fits.getdata(d / f"line-{c:04d}-model.fits")[0, 0]
        h = fits.getheader(d / f"line-{c:04d}-model.fits")
        # 0-based pixel of the source (CRPIX is 1-based; RA increases to the left)
        x, y = h["CRPIX1"] - 1, h["CRPIX2"] - 1
        px, py = WCS(h).celestial.world_to_pixel(pos)
        box = model[int(round(float(py))) - 3 : int(round(float(py))) + 4,
                    int(round(float(px))) - 3 : int(round(float(px))) + 4]  # fmt: skip
        assert (x, y) == (64, 64)
        # flat spectrum: every channel's clean flux at the source is its flux; one channel has
        # a quarter of the data (S/N ~100): within 5 %
        assert box.sum() == pytest.approx(brightest["flux_jy"], rel=0.05), c


def test_continuum_subtraction(runs):
    d, truth = runs
    peak = max(c["flux_jy"] for c in truth["components"])
    with_line = json.loads((d / "line-report.json").read_text())["images"]
    subtracted = json.loads((d / "sub-report.json").read_text())["images"]
    assert with_line["dirty"]["max"] > 0.8 * peak
    # a constant continuum fitted over every channel removes the flat-spectrum sources:
    # what is left is noise (~1 mJy/beam per channel) and the fit's noise
    assert subtracted["residual"]["maxabs"] < 0.02 * peak
    assert json.loads((d / "sub-report.json").read_text())["parameters"][
        "continuum_subtraction_degree"] == 0  # fmt: skip


def test_spectral_bad_arguments(runs, tmp_path, capsys):
    d, _ = runs
    base = [
        "image",
        str(d / "s.ms"),
        "-name",
        str(tmp_path / "x"),
        "-size",
        "64",
        "--nworkers",
        "0",
    ]
    for extra, message in (
        (["--mode", "spectral", "--line-free-channels", "0-9"], "channels must be in 0..3"),
        (["--mode", "spectral", "--line-free-channels", "a-b"], "give channel ranges"),
        (["--line-free-channels", "0-1"], "need --mode spectral"),
        (["--mode", "spectral", "--join-channels", "--channels-out", "2"], "does not apply"),
    ):
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
