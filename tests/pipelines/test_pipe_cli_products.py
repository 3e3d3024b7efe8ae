"""``uvflow image`` products an astronomer accepts (DESIGN §3): WSClean's names, float32
FITS with DATE-OBS, TELESCOP, OBJECT, RADESYS/EQUINOX, ORIGIN, HISTORY and the beam on
every product, compared with what WSClean writes for the same MeasurementSet; PNG previews
on the sky; ``--plot`` without matplotlib fails at once.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS

from uvflow.datamodels import (
    DataModelError,
    create_image,
    export_image_to_fits,
    import_image_from_fits,
)
from uvflow.datamodels.io import uvfits_index
from uvflow.pipelines import __version__
from uvflow.pipelines.cli import main
from uvflow.pipelines.cli.previews import DPI, INSTALL_HINT, PANEL_INCHES, preview_figure
from uvflow.pipelines.cli.products import mjd_seconds_to_iso, observation_of, write_png

KINDS = ("dirty", "psf", "model", "residual", "image")
SIMULATE = ["simulate", "--array", "meerkat", "--rmax", "1000", "--ntimes", "4", "--nchan", "2",
            "--freq", "1.3e9", "1.4e9", "--nsrc", "3", "--flux", "0.5", "2", "--fov", "0.1deg",
            "--noise", "0.01", "--seed", "7"]  # fmt: skip
IMAGE = ["-size", "64", "-scale", "10asec", "-niter", "50", "-channels-out", "2"]
UVFITS_3C273 = "/work/shared/data/real/3C273XC1.fits"


@pytest.fixture
def image():
    """A 32² Stokes I image of random float64 values with a clean beam."""
    im = create_image(32, np.deg2rad(10 / 3600), SkyCoord(15.0, -45.0, unit="deg"), 1.4e9,
                      channel_bandwidth=1e6)  # fmt: skip
    data = np.random.default_rng(3).normal(size=im.data.shape)
    return im.replace(data=data, clean_beam={"bmaj": 0.01, "bmin": 0.008, "bpa": 30.0})


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def ms(tmp_path_factory):
    path = tmp_path_factory.mktemp("products") / "p.ms"
    assert main([*SIMULATE, "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def imaged(ms, tmp_path_factory):
    """uvflow image (two output channels, serial, with previews): (directory, argv)."""
    d = tmp_path_factory.mktemp("uvflow")
    argv = ["image", str(ms), "-name", str(d / "p"), *IMAGE, "--nworkers", "0", "--plot"]
    assert main(argv) == 0
    return d, argv


@pytest.fixture(scope="module")
def wsclean(ms, tmp_path_factory):
    """WSClean on the same MeasurementSet and options, for its names and headers."""
    exe = shutil.which("wsclean")
    if exe is None:
        pytest.skip("WSClean is not installed")
    d = tmp_path_factory.mktemp("wsclean")
    run = subprocess.run([exe, *IMAGE[:2], "64", *IMAGE[2:], "-make-psf", "-name", str(d / "p"),
                          str(ms)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    return d


def _ms_observation(ms) -> tuple[str, str, str]:
    """First TIME (ISO, UTC), OBSERVATION TELESCOPE_NAME and FIELD NAME, read with casacore."""
    import casacore.tables as ct

    with ct.table(str(ms), ack=False) as t:
        first = float(t.getcol("TIME").min())
    with ct.table(f"{ms}::OBSERVATION", ack=False) as t:
        telescope = str(t.getcell("TELESCOPE_NAME", 0))
    with ct.table(f"{ms}::FIELD", ack=False) as t:
        field = str(t.getcell("NAME", 0))
    return Time(first / 86400.0, format="mjd", scale="utc").isot, telescope, field


def test_product_names_are_wsclean_names(imaged, wsclean):
    d, _ = imaged
    ours = {p.name for p in d.glob("*.fits")}
    theirs = {p.name for p in wsclean.glob("*.fits")}
    assert ours == theirs == {f"p-{c}-{k}.fits" for c in ("0000", "0001", "MFS") for k in KINDS}
    assert (d / "p-MFS-image.png").exists()


def test_every_product_is_float32_with_the_observation(imaged, ms):
    d, argv = imaged
    date_obs, telescope, field = _ms_observation(ms)
    paths = sorted(d.glob("*.fits"))
    assert len(paths) == 15
    for path in paths:
        with fits.open(path) as hdul:
            h, data = hdul[0].header, hdul[0].data
        assert h["BITPIX"] == -32 and data.dtype == np.dtype(">f4"), path.name
        assert h["DATE-OBS"] == date_obs and h["TELESCOP"] == telescope == "MEERKAT"
        assert h["OBJECT"] == field and (h["RADESYS"], h["EQUINOX"]) == ("ICRS", 2000.0)
        assert h["ORIGIN"] == f"uvflow {__version__}"
        assert " ".join(h["HISTORY"]) == " ".join(["uvflow", *argv])
        assert h["BMAJ"] >= h["BMIN"] > 0 and "BPA" in h, path.name
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # astropy reads the header without fixing it
            assert WCS(h).celestial.pixel_to_world(32, 32).separation(
                WCS(h).celestial.pixel_to_world(33, 32)
            ).arcsec == pytest.approx(10.0, rel=1e-6)


def test_headers_say_what_wsclean_says(imaged, wsclean):
    """The keywords both write agree: DATE-OBS (WSClean keeps 0.1 s), TELESCOP, OBJECT,
    EQUINOX, BUNIT and the geometry. WSClean 3.1's own slips are not compared: its PSFs
    (all but the last channel's) are dated MJD 0, its MFS model is in JY/BEAM."""
    d, _ = imaged
    for channel in ("0000", "0001", "MFS"):
        for kind in KINDS:
            ours = fits.getheader(d / f"p-{channel}-{kind}.fits")
            theirs = fits.getheader(wsclean / f"p-{channel}-{kind}.fits")
            keys = ["TELESCOP", "OBJECT", "EQUINOX", "CTYPE1", "CTYPE2", "CTYPE3", "CTYPE4",
                    "NAXIS1", "NAXIS2", "CRPIX1", "CRPIX2", "CRVAL4"]  # fmt: skip
            if channel != "MFS" or kind != "model":
                keys.append("BUNIT")
            if kind != "psf":
                assert abs((Time(ours["DATE-OBS"]) - Time(theirs["DATE-OBS"])).sec) < 0.1
            for key in keys:
                assert ours[key] == theirs[key], (channel, kind, key)
            for key in ("CRVAL1", "CRVAL2", "CDELT1", "CDELT2", "CRVAL3", "CDELT3"):
                assert ours[key] == pytest.approx(theirs[key], rel=1e-9), (channel, kind, key)


def test_observation_of_a_uvfits_file():
    parts = uvfits_index(UVFITS_3C273)
    obs = observation_of(parts, "uvflow image 3C273XC1.fits -name x")
    expected = Time(float(np.min(parts[0].times)) / 86400.0, format="mjd", scale="utc")
    assert obs.date_obs == expected.isot == "1989-06-27T01:02:56.000"
    assert (obs.telescope, obs.object_name) == ("VLA", "3C273")
    assert obs.history == ("uvflow image 3C273XC1.fits -name x",)


def test_observation_of_several_inputs_names_them_all():
    class Part:
        def __init__(self, t0, telescope, field):
            self.times = np.array([t0, t0 + 8.0])
            self.configuration = type("C", (), {"name": telescope})()
            self.field_name = field

    obs = observation_of([Part(5.2e9 + 10, "VLA", "A"), Part(5.2e9, "unknown", "A"),
                          Part(5.2e9 + 5, "MeerKAT", "B")])  # fmt: skip
    assert obs.date_obs == mjd_seconds_to_iso(5.2e9)
    assert (obs.telescope, obs.object_name, obs.history) == ("VLA+MeerKAT", "A+B", ())


@pytest.mark.parametrize("seconds", [4.0e9, 4.5e9 + 0.0004, 5210833946.305245, 5.3e9 + 59.9996])
def test_mjd_seconds_to_iso_agrees_with_astropy(seconds):
    t = Time(seconds / 86400.0, format="mjd", scale="utc")
    assert mjd_seconds_to_iso(seconds) == t.isot


def test_export_writes_the_dtype_asked_and_refuses_others(tmp_path, image):
    path = export_image_to_fits(image, tmp_path / "a.fits", dtype="float32",
                                telescope="VLA", object_name="3C273", history=["x " * 50])  # fmt: skip
    h = fits.getheader(path)
    assert h["BITPIX"] == -32 and h["TELESCOP"] == "VLA" and h["OBJECT"] == "3C273"
    assert [len(line) for line in h["HISTORY"]] == [71, 27]  # at word boundaries
    back = import_image_from_fits(path)
    np.testing.assert_array_equal(back.data, image.data.astype(np.float32))
    with pytest.raises(DataModelError, match="as complex64"):
        export_image_to_fits(image, tmp_path / "b.fits", dtype="complex64")
    assert not (tmp_path / "b.fits").exists()


def test_preview_is_a_sky_plot_of_the_expected_size(imaged):
    d, _ = imaged
    panels = ("image", "residual", "dirty")
    width, height = PANEL_INCHES
    assert _png_size(d / "p-MFS-image.png") == (round(3 * width * DPI), round(height * DPI))
    images = {k: import_image_from_fits(d / f"p-MFS-{k}.fits") for k in panels}
    fig = preview_figure(images, object_name="simulated")
    sky = [ax for ax in fig.axes if hasattr(ax, "coords")]
    assert len(sky) == 3
    for ax, kind in zip(sky, panels):
        assert ax.coords[0].get_axislabel() == "Right ascension (ICRS)"
        assert ax.coords[1].get_axislabel() == "Declination (ICRS)"
        assert ax.get_title() == f"simulated — {kind} — 1.35 GHz"
        beams = [a for a in ax.artists if type(a).__name__ == "AnchoredOffsetbox"]
        assert len(beams) == 1  # the restoring beam, in a corner
    bars = [ax.get_ylabel() for ax in fig.axes if not hasattr(ax, "coords")]
    assert bars == ["Jy/beam"] * 3


def test_plot_without_matplotlib_fails_at_once(ms, tmp_path, monkeypatch, capsys):
    import uvflow.pipelines.cli.image as image_command

    def no_reading(*args, **kwargs):
        raise AssertionError("data were read")

    monkeypatch.setattr(image_command, "index_inputs", no_reading)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # not installed
    out = tmp_path / "out"
    out.mkdir()
    assert main(["image", str(ms), "-name", str(out / "p"), *IMAGE, "--plot"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and INSTALL_HINT in err[0] and err[0].startswith("uvflow: error:")
    assert list(out.iterdir()) == []


def test_previews_without_matplotlib_are_skipped(tmp_path, image, monkeypatch, caplog):
    """The demo's previews (no --plot): a warning naming the install hint, no file."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert write_png({"image": image}, tmp_path / "x.png") is False
    assert not (tmp_path / "x.png").exists() and INSTALL_HINT in caplog.text
