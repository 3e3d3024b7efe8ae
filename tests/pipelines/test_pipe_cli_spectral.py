"""``uvflow image --mode spectral``: one product per data channel at its frequency, the
continuum found in every channel, and removed channel by channel by
``--continuum-subtraction-degree`` for a source near the phase centre.
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
# One 2 Jy source of spectral index -0.7 (+-3.9 % over the band), 13" from the phase centre
# (half the 25" beam): across the 11 % band the phase of its longest baselines (2 km) turns
# by α = 2π · 0.11 · 13"/22" ≈ 0.4 rad, within what a degree-1 uv fit follows (see
# uvflow.pipelines.uv_continuum_subtraction: ~1 % of the flux in the worst sample).
SIMULATE_NEAR = [
    "simulate", "--array", "meerkat", "--rmax", "1000", "--ntimes", "8", "--nchan", "4",
    "--freq", "1.3e9", "1.45e9", "--nsrc", "1", "--flux", "1", "2", "--fov", "30asec",
    "--noise", "0.01", "--seed", "1234", "--spectral-index", "-0.7", "0",
]  # fmt: skip
IMAGE = ["-size", "128", "-scale", "7asec", "-niter", "500", "-weight", "briggs", "0",
         "--nmajor", "3", "--nworkers", "0", "--mode", "spectral"]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("spectral")
    ms, near = d / "s.ms", d / "near.ms"
    assert main([*SIMULATE, "--out", str(ms)]) == 0
    assert main([*SIMULATE_NEAR, "--out", str(near)]) == 0
    assert main(["image", str(ms), "-name", str(d / "line"), *IMAGE]) == 0
    for degree in (0, 1):
        assert main(["image", str(near), "-name", str(d / f"sub{degree}"), *IMAGE,
                     "--continuum-subtraction-degree", str(degree),
                     "--line-free-channels", "0-3"]) == 0  # fmt: skip
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


def _at_source(d, name, channel, component) -> float:
    """The restored image (Jy/beam) at the pixel of ``component`` in one output channel."""
    path = d / f"{name}-{channel}-image.fits"
    x, y = WCS(fits.getheader(path)).celestial.world_to_pixel(
        SkyCoord(component["ra_deg"], component["dec_deg"], unit="deg")
    )
    return float(fits.getdata(path)[0, 0, int(round(float(y))), int(round(float(x)))])


def test_continuum_subtraction_in_every_channel(runs):
    """Each channel's cube, not the MFS image: a degree-0 fit zeroes the band mean by
    construction (its MFS image shows 0.09 % of the source), but leaves the spectral slope
    in the edge channels (measured +2.9 % and -2.3 %); degree 1 removes the source from
    every channel (measured <= 0.02 %, the noise level; tested at 0.5 %)."""
    d, _ = runs
    (source,) = json.loads((d / "near-sky.json").read_text())["components"]
    flux = np.array(source["flux_per_channel_jy"])
    left0 = np.array([_at_source(d, "sub0", f"{c:04d}", source) for c in range(4)])
    left1 = np.array([_at_source(d, "sub1", f"{c:04d}", source) for c in range(4)])
    assert np.all(np.abs(left1) < 0.005 * flux), left1 / flux
    assert abs(_at_source(d, "sub0", "MFS", source)) < 0.005 * flux.mean()
    assert left0[0] > 0.02 * flux[0] and left0[-1] < -0.02 * flux[-1], left0 / flux
    report = json.loads((d / "sub1-report.json").read_text())
    assert report["parameters"]["continuum_subtraction_degree"] == 1
    assert report["parameters"]["channels_out"] is None


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
        (
            ["--mode", "spectral", "--channels-out", "2"],
            "--channels-out does not apply to --mode spectral (one product per data channel",
        ),
    ):
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
