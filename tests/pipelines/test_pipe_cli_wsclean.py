"""``uvflow image`` with WSClean's cleaning options means what WSClean means.

``-niter`` counts components over the whole run, ``-nmiter`` bounds the major cycles, the
cycles stop as soon as the residual is at the threshold (``-threshold`` or
``-auto-threshold`` × the residual's noise at that cycle), ``-mgain`` sets how deep each
minor cycle goes, ``-auto-mask`` cleans only where components were found once the mask
level is reached, ``-fits-mask`` confines the components. The report's ``deconvolution``
says what happened (components, minor cycles, why they stopped, each cycle's state).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits

from uvflow.pipelines.cli import main

SIMULATE = ["simulate", "--array", "meerkat", "--rmax", "1000", "--ntimes", "6", "--nchan", "2",
            "--freq", "1.3e9", "1.4e9", "--nsrc", "4", "--flux", "0.5", "2", "--fov", "0.15deg",
            "--noise", "0.05", "--seed", "21"]  # fmt: skip
IMAGE = ["-size", "128", "-scale", "7asec", "--nworkers", "0"]


@pytest.fixture(scope="module")
def ms(tmp_path_factory):
    path = tmp_path_factory.mktemp("wsclean") / "w.ms"
    assert main([*SIMULATE, "--out", str(path)]) == 0
    return path


def _run(ms, out, *extra) -> dict:
    assert main(["image", str(ms), "-name", str(out), *IMAGE, *extra]) == 0
    return json.loads(out.with_name(out.name + "-report.json").read_text())["deconvolution"]


def test_niter_is_the_total(ms, tmp_path):
    """-niter 60 with -mgain 0.8: several minor cycles, 60 components in all, no more."""
    d = _run(ms, tmp_path / "a", "-niter", "60", "-mgain", "0.8")
    assert d["components"] == 60 and d["minor_cycles"] > 1
    assert "niter (60) reached" in d["stop"]
    assert [c["components"] for c in d["cycles"]] == sorted(c["components"] for c in d["cycles"])


def test_cycles_stop_at_the_threshold(ms, tmp_path):
    """A threshold above the noise: the cycles stop once the residual peak is at or below it,
    long before -nmiter or -niter."""
    d = _run(ms, tmp_path / "b", "-niter", "100000", "-mgain", "0.8", "-threshold", "0.2",
             "-nmiter", "30")  # fmt: skip
    last = d["cycles"][-1]
    assert "at or below the threshold" in d["stop"] and last["peak"] <= 0.2
    assert d["minor_cycles"] < 30 and d["components"] < 100000
    assert all(c["peak"] > 0.2 for c in d["cycles"][:-1])


def test_auto_threshold_follows_the_noise_of_each_cycle(ms, tmp_path):
    """-auto-threshold 4: each cycle's threshold is 4x the noise of that cycle's residual;
    the run ends, as WSClean's, after the first minor cycle that cleaned down to that level
    rather than to mgain's (its residual's noise, hence threshold, may come out lower; no
    further cycle chases it), with the residual peak at the level that cycle cleaned to
    (the noise: 0.05 Jy per visibility)."""
    d = _run(ms, tmp_path / "c", "-niter", "100000", "-mgain", "0.8", "-auto-threshold", "4")
    for c in d["cycles"]:
        assert c["threshold"] == pytest.approx(4 * c["noise"], rel=1e-9) and c["noise"] > 0
    assert "the last minor cycle cleaned to the final threshold" in d["stop"]
    last = d["cycles"][-2]  # the last minor cycle's start: its threshold was the final one
    assert last["threshold"] >= 0.2 * last["peak"]  # (1 - mgain) x peak: mgain's stop lower
    assert all(c["threshold"] < 0.2 * c["peak"] for c in d["cycles"][:-2])  # earlier: mgain's
    image = fits.getdata(tmp_path / "c-residual.fits")
    # 5 %: the minor cycle's subtraction is exact to the PSF's extent, the residual not quite
    assert np.max(np.abs(image)) <= 1.05 * last["threshold"]


def test_auto_mask_and_fits_mask(ms, tmp_path):
    """-auto-mask 8 -auto-threshold 3 runs both phases; a FITS mask keeps every component
    inside it."""
    d = _run(ms, tmp_path / "e", "-niter", "100000", "-mgain", "0.8", "-auto-threshold", "3",
             "-auto-mask", "8")  # fmt: skip
    assert d["components"] > 0 and "threshold" in d["stop"]
    dirty = fits.getdata(tmp_path / "e-dirty.fits")[0, 0]
    mask = np.zeros_like(dirty)
    y, x = np.unravel_index(np.argmax(dirty), dirty.shape)
    mask[max(y - 10, 0) : y + 10, max(x - 10, 0) : x + 10] = 1
    hdu = fits.open(tmp_path / "e-dirty.fits")[0]
    fits.writeto(tmp_path / "mask.fits", mask[None, None].astype(np.float32), hdu.header)
    _run(ms, tmp_path / "f", "-niter", "500", "-mgain", "0.8", "-fits-mask",
         str(tmp_path / "mask.fits"))  # fmt: skip
    model = fits.getdata(tmp_path / "f-model.fits")[0, 0]
    assert np.any(model) and not np.any(model[mask == 0])


@pytest.mark.parametrize(
    "extra, message",
    [(["-auto-mask", "2", "-auto-threshold", "3"], "--auto-mask must be above --auto-threshold"),
     (["-local-rms"], "--local-rms needs --auto-threshold or --auto-mask"),
     (["-fits-mask", "nothere.fits"], "--fits-mask 'nothere.fits' is not a file")],
)  # fmt: skip
def test_bad_cleaning_options(ms, tmp_path, capsys, extra, message):
    out = tmp_path / "x"
    assert main(["image", str(ms), "-name", str(out), *IMAGE, "-niter", "10", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_source_list_continue_and_reuse(ms, tmp_path):
    """-save-source-list writes WSClean's text format (one POINT per component pixel, the
    fluxes summing to the model's); -continue adds to the saved model; -reuse-psf and
    -reuse-dirty give the same products as computing them."""
    name = tmp_path / "s"
    _run(ms, name, "-niter", "40", "-mgain", "0.8", "-save-source-list")
    lines = (tmp_path / "s-sources.txt").read_text().splitlines()
    assert lines[0].startswith("Format = Name, Type, Ra, Dec, I, SpectralIndex")
    model = fits.getdata(tmp_path / "s-model.fits")
    assert len(lines) - 1 == np.count_nonzero(model)
    total = sum(float(line.split(",")[4]) for line in lines[1:])
    assert total == pytest.approx(float(model.sum()), rel=1e-6)
    assert all(line.split(",")[1] == "POINT" for line in lines[1:])
    before = model.copy()
    d = _run(ms, name, "-niter", "20", "-mgain", "0.8", "-continue", "-reuse-psf", str(name))
    after = fits.getdata(tmp_path / "s-model.fits")
    assert d["components"] == 20 and np.count_nonzero(after) >= np.count_nonzero(before)
    assert after.sum() > before.sum()  # the continued run added to the first's model
    fresh, reused = tmp_path / "fresh", tmp_path / "reused"
    _run(ms, fresh, "-niter", "30")
    _run(ms, reused, "-niter", "30", "-reuse-psf", str(fresh), "-reuse-dirty", str(fresh))
    for kind in ("dirty", "psf"):  # FITS float32 round trip of the reused images
        a, b = fits.getdata(f"{fresh}-{kind}.fits"), fits.getdata(f"{reused}-{kind}.fits")
        assert np.max(np.abs(a - b)) <= 1e-6 * np.max(np.abs(a)), kind
    # the reused PSF is the image-size product (a computed one is twice the image, to
    # subtract sidelobes everywhere): the same components to within 1 % of the flux
    a, b = fits.getdata(f"{fresh}-model.fits"), fits.getdata(f"{reused}-model.fits")
    assert b.sum() == pytest.approx(a.sum(), rel=0.01)


def test_predict_writes_the_model(ms, tmp_path):
    """-predict puts <name>-model.fits into MODEL_DATA: the same as --write-model of the run
    that made the model."""
    import shutil

    from casacore.tables import table

    a, b = tmp_path / "a.ms", tmp_path / "b.ms"
    shutil.copytree(ms, a), shutil.copytree(ms, b)
    assert main(["image", str(a), "-name", str(tmp_path / "m"), *IMAGE, "-niter", "50",
                 "--write-model"]) == 0  # fmt: skip
    assert main(["image", str(b), "-name", str(tmp_path / "m"), *IMAGE, "-predict"]) == 0
    with table(str(a), ack=False) as ta, table(str(b), ack=False) as tb:
        ma, mb = ta.getcol("MODEL_DATA"), tb.getcol("MODEL_DATA")
    # the model is read back from FITS (float32): agreement to single precision
    assert np.max(np.abs(ma - mb)) <= 1e-6 * np.max(np.abs(ma)) and np.any(ma)


def test_intervals_channel_range_and_gridders(ms, tmp_path, capsys):
    """-intervals-out 2 images each half of the integrations (<name>-t0000-…); -channel-range
    0 1 images the first channel only; WSClean's gridder names are ducc0's wgridder."""
    assert main(["image", str(ms), "-name", str(tmp_path / "i"), *IMAGE, "-niter", "10",
                 "-intervals-out", "2", "-channel-range", "0", "1",
                 "-gridder", "wgridder"]) == 0  # fmt: skip
    for k in (0, 1):
        report = json.loads((tmp_path / f"i-t{k:04d}-report.json").read_text())
        (window,) = report["chunking"]["windows"]
        assert window["band"] == 0
        header = fits.getheader(tmp_path / f"i-t{k:04d}-image.fits")
        assert header["CRVAL3"] == pytest.approx(1.3e9)  # the first of the two channels
    a = fits.getdata(tmp_path / "i-t0000-dirty.fits")
    b = fits.getdata(tmp_path / "i-t0001-dirty.fits")
    assert not np.allclose(a, b)  # different integrations, different dirty images
    assert main(["image", str(ms), "-name", str(tmp_path / "x"), *IMAGE, "-gridder", "idg"]) == 2
    assert "-gridder idg is not available" in capsys.readouterr().err


def test_accuracy_finer_than_single_precision(ms, tmp_path, caplog):
    """--accuracy 1e-6 on complex64 data grids in double precision (logged), so the dirty
    image agrees with a 1e-8 one to ~1e-6 of the peak (single precision alone: ~1e-5)."""
    import logging

    with caplog.at_level(logging.INFO, logger="uvflow.imaging.settings"):
        _run(ms, tmp_path / "p6", "--mode", "invert", "--accuracy", "1e-6")
    assert any("double precision" in r.getMessage() for r in caplog.records)
    _run(ms, tmp_path / "p8", "--mode", "invert", "--accuracy", "1e-8")
    a, b = fits.getdata(tmp_path / "p6-dirty.fits"), fits.getdata(tmp_path / "p8-dirty.fits")
    assert np.max(np.abs(a - b)) <= 1e-5 * np.max(np.abs(b))


def test_small_inversion_and_wgridder_accuracy(ms, tmp_path):
    """-no-small-inversion / -small-inversion switch the gridder's small inversion (uvflow's is
    exact to the accuracy, so the dirty images agree to ~the accuracy: 1e-5 of the peak at
    -wgridder-accuracy 1e-6, which is WSClean's name for --accuracy)."""
    paths = {}
    for flag in ("-small-inversion", "-no-small-inversion"):
        out = tmp_path / flag.strip("-")
        assert main(["image", str(ms), "-name", str(out), *IMAGE, "--mode", "invert", flag,
                     "-wgridder-accuracy", "1e-6"]) == 0  # fmt: skip
        report = json.loads(out.with_name(out.name + "-report.json").read_text())
        assert report["parameters"]["accuracy"] == 1e-6
        assert report["parameters"]["small_inversion"] is (flag == "-small-inversion")
        paths[flag] = out.with_name(out.name + "-dirty.fits")
    a, b = (fits.getdata(p) for p in paths.values())
    assert np.max(np.abs(a - b)) <= 1e-5 * np.max(np.abs(a))
