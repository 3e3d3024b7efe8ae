"""``uvflow image`` against WSClean 3.1 itself (issue 16): the same option line, the same MS.

Each test runs ``/usr/bin/wsclean`` and ``uvflow image`` (in this process, serially) with
one WSClean option line and compares the FITS products over the same pixels (the two WCSs
are checked to agree). WSClean writes into the MS it images (MODEL_DATA), so it gets its
own copy.

The data:

- 3C273: the VLA X-band observation in ``../shared/data/real`` (UVFITS, 23 integrations ×
  351 baselines, one channel, RR/LL/RL/LR), written once as an MS by ``read_uvfits`` and
  ``write_ms``.
- A simulated MS: ``uvflow simulate`` gives the layout (MeerKAT within 1 km, 20
  integrations, 2 channels at 1.3 and 1.4 GHz, Stokes I), then DATA, FLAG and the weights
  are replaced here through casacore: five point sources by a direct DFT of the MS's own
  UVW (DESIGN §3's sign), complex Gaussian noise of 0.1 Jy per component (weights 100) and
  5 % random flags. No uvflow code computes these visibilities.

Where the options differ, the difference is WSClean's spelling of the same setting
(``-wgridder-accuracy`` is uvflow's ``--accuracy``) or WSClean's small inversion, which is an
approximation of its own: ``-no-small-inversion`` turns it off where the images are
compared to the accuracy of the gridders (uvflow's small inversion is exact to the
accuracy; WSClean's costs 1.7e-3 to 6.1e-3 of the peak on the simulated MS).
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from uvflow.pipelines.cli import main

WSCLEAN = shutil.which("wsclean")
pytestmark = pytest.mark.skipif(
    WSCLEAN is None,
    reason="WSClean is not installed: no 'wsclean' on PATH (expected /usr/bin/wsclean, 3.1)",
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
UVFITS_3C273 = ROOT / "../shared/data/real/3C273XC1.fits"
C = 299792458.0

# the simulated MS and its images: 256² pixels of 5 arcsec (every sample on WSClean's
# weighting grid: the largest |u| and |v|, 7.1e3 wavelengths, are below 1/(2 cell) = 2.1e4)
SIM_IMAGE = ["-size", "256", "256", "-scale", "5asec"]
SIM_CELL = np.deg2rad(5.0 / 3600.0)
SIM_NOISE = 0.1  # Jy per real and imaginary part of each visibility
# (l, m) in pixels (l east, m north; on pixel centres), flux in Jy
SIM_SOURCES = ((20, 12, 1.0), (-31, -25, 0.4), (47, -38, 0.1), (-60, 40, 0.03), (-10, 55, 0.01))
SIMULATE = ["simulate", "--array", "meerkat", "--rmax", "1000", "--ntimes", "20", "--nchan",
            "2", "--freq", "1.3e9", "1.4e9", "--nsrc", "1", "--flux", "0.5", "1",
            "--seed", "3"]  # fmt: skip
DIRTY_ONLY = ["-niter", "0", "-j", "1"]
#: WSClean's wgridder without its small inversion, to accuracy 1e-5 (uvflow: --accuracy)
WS_WGRIDDER_1E5 = ["-use-wgridder", "-wgridder-accuracy", "1e-5", "-no-small-inversion"]


def _wsclean(ms: pathlib.Path, prefix: pathlib.Path, options: list[str]) -> str:
    """Run WSClean on a copy of ``ms`` (it writes MODEL_DATA into what it images).

    Parameters
    ----------
    ms : pathlib.Path
        The MeasurementSet; copied beside ``prefix``, where WSClean runs.
    prefix : pathlib.Path
        ``-name``: the products are ``<prefix>-{dirty,psf,model,residual,image}.fits``.
    options : list of str
        WSClean's options, ``-name`` and the MS excepted.

    Returns
    -------
    str
        WSClean's standard output (its log).
    """
    copy = prefix.with_name(prefix.name + "-wsclean.ms")
    shutil.copytree(ms, copy)
    cmd = [WSCLEAN, "-name", str(prefix), *options, str(copy)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=prefix.parent)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def _uvflow(ms: pathlib.Path, prefix: pathlib.Path, options: list[str]) -> dict:
    """Run ``uvflow image`` in this process, serially (``--nworkers 0``).

    Parameters
    ----------
    ms : pathlib.Path
        The MeasurementSet (read only).
    prefix : pathlib.Path
        ``-name``: the products are ``<prefix>-<kind>.fits`` and ``<prefix>-report.json``.
    options : list of str
        The options, ``-name``, the MS and ``--nworkers`` excepted.

    Returns
    -------
    dict
        The run's report (``<prefix>-report.json``).
    """
    assert main(["-q", "image", str(ms), "-name", str(prefix), *options, "--nworkers", "0"]) == 0
    return json.loads(prefix.with_name(prefix.name + "-report.json").read_text())


def _plane(prefix: pathlib.Path, kind: str) -> np.ndarray:
    """The single plane of ``<prefix>-<kind>.fits`` as float64 [ny, nx]."""
    with fits.open(f"{prefix}-{kind}.fits") as hdul:
        data = hdul[0].data
        assert data.shape[:2] == (1, 1)  # one channel, one polarisation: no suffix, as WSClean
        return data[0, 0].astype(np.float64)


def _same_pixels(a: pathlib.Path, b: pathlib.Path, kind: str) -> None:
    """The two products have the same size and the same (RA, Dec) at every pixel: corners
    and centre agree to 1e-3 pixel. The numbers are compared, not the frames: WSClean writes
    EQUINOX 2000 without RADESYS (FK5 by the FITS default), uvflow RADESYS ICRS, both of the
    MS's J2000 phase centre; WSClean gives RA in (-180, 180], uvflow in [0, 360)."""
    with fits.open(f"{a}-{kind}.fits") as ha, fits.open(f"{b}-{kind}.fits") as hb:
        assert ha[0].data.shape == hb[0].data.shape
        with warnings.catch_warnings():  # astropy's note that it set MJD-OBS from DATE-OBS
            warnings.simplefilter("ignore", FITSFixedWarning)
            wa, wb = WCS(ha[0].header).celestial, WCS(hb[0].header).celestial
        ny, nx = ha[0].data.shape[-2:]
    pix = np.array([[0, 0], [nx - 1, 0], [0, ny - 1], [nx - 1, ny - 1], [nx / 2, ny / 2]])
    (ra_a, dec_a), (ra_b, dec_b) = (w.all_pix2world(pix[:, 0], pix[:, 1], 0) for w in (wa, wb))
    cell = abs(wa.wcs.cdelt[1])
    dra = (ra_a - ra_b + 180.0) % 360.0 - 180.0
    assert np.abs(dra * np.cos(np.deg2rad(dec_a))).max() < 1e-3 * cell
    assert np.abs(dec_a - dec_b).max() < 1e-3 * cell


def _rms_peak(plane: np.ndarray) -> tuple[float, float]:
    """The rms and the largest absolute value of ``plane`` (float [ny, nx])."""
    return float(np.sqrt(np.mean(plane**2))), float(np.abs(plane).max())


@pytest.fixture(scope="module")
def ms_3c273(tmp_path_factory):
    """The 3C273 UVFITS file as a MeasurementSet (complex64 DATA, four correlations)."""
    if not UVFITS_3C273.exists():
        pytest.skip(f"the shared VLA 3C273 file is not present ({UVFITS_3C273})")
    from uvflow.datamodels import read_uvfits, write_ms

    path = tmp_path_factory.mktemp("parity3c273") / "3c273.ms"
    write_ms(read_uvfits(UVFITS_3C273), path)
    return path


@pytest.fixture(scope="module")
def sim_ms(tmp_path_factory):
    """The simulated MS (module notes): uvflow's layout, visibilities made here."""
    from casacore.tables import table

    path = tmp_path_factory.mktemp("paritysim") / "sim.ms"
    assert main(["-q", *SIMULATE, "--out", str(path)]) == 0
    rng = np.random.default_rng(16)
    with table(str(path), readonly=False, ack=False) as t:
        uvw = t.getcol("UVW")  # [nrow, 3] metres
        with table(str(path / "SPECTRAL_WINDOW"), ack=False) as spw:
            k = spw.getcol("CHAN_FREQ")[0] / C  # [nchan] 1/metres
        u, v, w = (uvw[:, i, None] * k for i in range(3))
        data = np.zeros(u.shape, complex)
        for lpix, mpix, flux in SIM_SOURCES:
            lc, mc = lpix * SIM_CELL, mpix * SIM_CELL  # direction cosines
            nc = np.sqrt(1.0 - lc * lc - mc * mc)
            data += flux * np.exp(2j * np.pi * (u * lc + v * mc + w * (nc - 1.0)))
        data += SIM_NOISE * (rng.standard_normal(u.shape) + 1j * rng.standard_normal(u.shape))
        assert t.getcoldesc("DATA")["valueType"] == "complex"  # complex64, as every MS's
        assert t.getcol("DATA").shape == (*u.shape, 1)  # one correlation: Stokes I
        t.putcol("DATA", data[..., None].astype(np.complex64))
        t.putcol("FLAG", (rng.random(u.shape) < 0.05)[..., None])
        weight = 1.0 / SIM_NOISE**2
        t.putcol("WEIGHT_SPECTRUM", np.full((*u.shape, 1), weight, np.float32))
        t.putcol("WEIGHT", np.full((u.shape[0], 1), weight, np.float32))
        t.putcol("SIGMA", np.full((u.shape[0], 1), SIM_NOISE, np.float32))
    return path


def _brightest_pixel(plane: np.ndarray) -> tuple[int, int]:
    """(y, x) of the largest value of ``plane`` (float [ny, nx])."""
    return tuple(int(i) for i in np.unravel_index(np.argmax(plane), plane.shape))


#: where the 1 Jy source is: pixel (N/2 + m, N/2 - l) (RA increases to the left)
SIM_PEAK_PIXEL = (128 + SIM_SOURCES[0][1], 128 - SIM_SOURCES[0][0])


@pytest.mark.slow
def test_3c273_residual_against_wsclean(ms_3c273, tmp_path):
    """3C273, WSClean's job ``-size 512 512 -scale 0.4asec -weight briggs 0 -niter 2000
    -gain 0.1 -mgain 0.8`` to both (WSClean's default gridder, w-stacking with small
    inversion): uvflow's residual rms is at most 1.1x WSClean's and its peak at most 1.5x
    (the acceptance line).

    Measured: rms 0.817 mJy (uvflow) against 0.904 mJy (WSClean), peak 2.15 against
    4.06 mJy. WSClean's residual peak is at the image edge (pixel 22, 371), where its default
    gridder is least accurate: its dirty image differs from uvflow's by 4.7 % of the peak
    at the edge, 1.5e-3 within the inner half (with ``-use-wgridder -no-small-inversion``
    the two dirty images agree to 2.1e-6). Both clean the same source: 2000 components
    in six major cycles each, model totals 33.657 and 33.622 Jy, asserted to agree to 1 %.
    Neither residual can fall far below the other: they share the data's noise floor
    (bounded below at 0.7x, measured 0.90x).
    """
    job = "-size 512 512 -scale 0.4asec -weight briggs 0 -niter 2000 -gain 0.1 -mgain 0.8 -j 1"
    ws, uv = tmp_path / "ws", tmp_path / "uv"
    _wsclean(ms_3c273, ws, job.split())
    report = _uvflow(ms_3c273, uv, job.split())
    _same_pixels(ws, uv, "residual")
    ws_rms, ws_peak = _rms_peak(_plane(ws, "residual"))
    uv_rms, uv_peak = _rms_peak(_plane(uv, "residual"))
    assert uv_rms <= 1.1 * ws_rms, (uv_rms, ws_rms)
    assert uv_peak <= 1.5 * ws_peak, (uv_peak, ws_peak)
    assert uv_rms >= 0.7 * ws_rms, (uv_rms, ws_rms)
    assert report["deconvolution"]["components"] == 2000
    assert _plane(uv, "model").sum() == pytest.approx(_plane(ws, "model").sum(), rel=0.01)


@pytest.mark.slow
def test_simulated_auto_threshold_against_wsclean(sim_ms, tmp_path):
    """The simulated MS with noise, ``-weight briggs 0 -niter 10000 -gain 0.1 -mgain 0.8
    -auto-threshold 3 -use-wgridder`` to both: uvflow's residual rms is at most 1.1x
    WSClean's and its peak at most 1.5x (the acceptance line).

    Measured: rms 0.863 mJy (uvflow) against 0.880 mJy (WSClean), peak 2.63 against 3.76
    mJy; WSClean's peak is at the image's edge in the 1 Jy source's row (pixel 140, 253),
    its small inversion's error on the predicted model (without ``-use-wgridder``: rms
    0.860 / 0.890 mJy, peak 2.59 / 2.81 mJy). Both stop at the threshold, not at -niter,
    by WSClean's rule: after the first minor cycle whose threshold was the final one
    (uvflow: its report, 259 components in four minor cycles; WSClean: its log, 284 in
    four); uvflow's written residual peak is at 3x the noise of the residual that minor
    cycle started from (the report's figures, float32: 1e-3 over allowed; measured
    1.0006 x 3 x 0.876 mJy). The clean models hold the sources' 1.54 Jy to 2 % (measured
    1.523 and 1.529 Jy: the noise and the 10 mJy source at 3.9x the noise) and agree to 1 %
    (0.4 %); the 1 Jy source is at the pixel its direction has in both dirty images
    (orientation).
    """
    job = ("-weight briggs 0 -niter 10000 -gain 0.1 -mgain 0.8 -auto-threshold 3 "
           "-use-wgridder -j 1").split()  # fmt: skip
    ws, uv = tmp_path / "ws", tmp_path / "uv"
    log = _wsclean(sim_ms, ws, [*SIM_IMAGE, *job])
    report = _uvflow(sim_ms, uv, [*SIM_IMAGE, *job])
    _same_pixels(ws, uv, "residual")
    ws_res, uv_res = _plane(ws, "residual"), _plane(uv, "residual")
    ws_rms, ws_peak = _rms_peak(ws_res)
    uv_rms, uv_peak = _rms_peak(uv_res)
    assert uv_rms <= 1.1 * ws_rms, (uv_rms, ws_rms)
    assert uv_peak <= 1.5 * ws_peak, (uv_peak, ws_peak)
    # both stopped at the auto-threshold, not at -niter
    deconvolution = report["deconvolution"]
    assert "threshold" in deconvolution["stop"] and deconvolution["components"] < 10000
    assert "because the threshold was reached" in log
    assert uv_peak <= 1.001 * 3 * deconvolution["cycles"][-2]["noise"]
    total = sum(s[2] for s in SIM_SOURCES)
    ws_flux, uv_flux = _plane(ws, "model").sum(), _plane(uv, "model").sum()
    assert uv_flux == pytest.approx(total, rel=0.02) and ws_flux == pytest.approx(total, rel=0.02)
    assert uv_flux == pytest.approx(ws_flux, rel=0.01)
    for prefix in (ws, uv):
        assert _brightest_pixel(_plane(prefix, "dirty")) == SIM_PEAK_PIXEL


def test_accuracy_1e6_on_complex64_matches_wsclean(sim_ms, tmp_path):
    """``--accuracy 1e-6`` on the complex64 MS (finer than single precision allows: uvflow
    grids in complex128) gives WSClean's ``-use-wgridder -wgridder-accuracy 1e-6`` dirty
    image to 1e-5 of the peak (the acceptance line), natural weighting.

    Measured: 6.0e-7 of the peak. For scale: at uvflow's default ``--accuracy 1e-4`` the
    same comparison gives 1.4e-5 (it would fail), at 1e-5 (single precision) 1.7e-6; a
    complex64 gridding at 1e-6 would not run (PrecisionError). ``-no-small-inversion`` on
    WSClean's side: its small inversion alone costs 1.7e-3 here.
    """
    common = [*SIM_IMAGE, "-weight", "natural", *DIRTY_ONLY]
    ws, uv = tmp_path / "ws", tmp_path / "uv"
    _wsclean(sim_ms, ws, [*common, "-use-wgridder", "-wgridder-accuracy", "1e-6",
                          "-no-small-inversion"])  # fmt: skip
    report = _uvflow(sim_ms, uv, [*common, "--accuracy", "1e-6"])
    assert report["parameters"]["accuracy"] == 1e-6
    _same_pixels(ws, uv, "dirty")
    ws_dirty, uv_dirty = _plane(ws, "dirty"), _plane(uv, "dirty")
    assert np.abs(uv_dirty - ws_dirty).max() <= 1e-5 * np.abs(ws_dirty).max()
    assert _brightest_pixel(uv_dirty) == _brightest_pixel(ws_dirty) == SIM_PEAK_PIXEL


@pytest.mark.parametrize("weight", ["uniform", "briggs -1", "briggs 0", "briggs 1"])
def test_weighted_dirty_image_matches_wsclean(sim_ms, tmp_path, weight):
    """``-weight uniform`` and ``briggs -1/0/1`` through the CLI: the dirty images agree
    with WSClean's (wgridder, accuracy 1e-5 in both) to 1e-4 of the peak — the issue's goal;
    its acceptance line is 1e-3.

    Measured: 1.6e-6 to 2.0e-6 of the peak (the imaging-level tests get ~4e-6): the same
    weights (tests/imaging/test_img_weighting_wsclean.py), both gridders at 1e-5 in single
    precision, float32 FITS. WSClean's rank filter is on by default in both (level 3).
    With WSClean's small inversion on, the difference is 1.7e-3 (Briggs 1) to 6.1e-3
    (uniform): above the acceptance line, and WSClean's approximation, hence
    ``-no-small-inversion``.
    """
    common = [*SIM_IMAGE, "-weight", *weight.split(), *DIRTY_ONLY]
    ws, uv = tmp_path / "ws", tmp_path / "uv"
    _wsclean(sim_ms, ws, [*common, *WS_WGRIDDER_1E5])
    _uvflow(sim_ms, uv, [*common, "--accuracy", "1e-5"])
    _same_pixels(ws, uv, "dirty")
    ws_dirty, uv_dirty = _plane(ws, "dirty"), _plane(uv, "dirty")
    assert np.abs(uv_dirty - ws_dirty).max() <= 1e-4 * np.abs(ws_dirty).max()
    assert _brightest_pixel(uv_dirty) == _brightest_pixel(ws_dirty) == SIM_PEAK_PIXEL
