"""The 'radler' deconvolver plugin (Radler, WSClean's deconvolution library) and Radler as an
oracle for uvflow's own CLEANs.

Radler is optional (``pip install 'uvflow-imaging[radler]'``): every test that runs Radler is
skipped without it; the test of the missing-extra error runs always (it hides Radler).

Oracle tests: uvflow's Högbom and Radler's generic CLEAN are the same algorithm with the
same stopping rule, so on identical inputs they must place the same components (Radler in
float32, hence the 1e-5 tolerance); multi-scale CLEANs legitimately differ in how they pick
scales and bias them, so there the comparison is of what any good multi-scale CLEAN must
reach on extended emission: the true total flux and a residual near zero.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from uvflow.datamodels import SkyComponent, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.execution import rsexecute
from uvflow.execution.errors import MissingExtraError
from uvflow.imaging import (
    deconvolve_cube,
    get_deconvolver,
    installed_deconvolvers,
    invert,
    predict_dft,
)
from uvflow.imaging.deconvolution.conformance import (
    check_deconvolver,
    point_source_dirty,
    synthetic_psf,
)
from uvflow.imaging.deconvolution.convolution import convolve_same
from uvflow.imaging.deconvolution.deconvolver_plugins import deconvolver_options

try:
    import radler  # noqa: F401

    HAVE_RADLER = True
except ImportError:
    HAVE_RADLER = False
needs_radler = pytest.mark.skipif(
    not HAVE_RADLER,
    reason="Radler is not installed (optional): pip install 'uvflow-imaging[radler]'",
)

N = 64
# isolated point sources (> 10 pixels apart), one 3 pixels from the edge, one negative
PIXELS = [(32, 32), (12, 50), (50, 12), (3, 20), (55, 58), (20, 8)]
FLUXES = [1.0, 0.6, -0.3, 0.25, 0.12, 0.05]


def test_registered_and_a_clear_error_without_radler(monkeypatch):
    """Without Radler the entry point still loads (its options, `uvflow plugins`, the other
    deconvolvers work) and building it names the extra to install."""
    assert "radler" in installed_deconvolvers()
    monkeypatch.setitem(sys.modules, "radler", None)  # import radler now fails
    options, takes_any = deconvolver_options("radler")
    assert {"method", "scales", "scale_bias", "pad_to_psf"} <= set(options) and not takes_any
    with pytest.raises(MissingExtraError, match=r"pip install 'uvflow-imaging\[radler\]'"):
        get_deconvolver("radler")
    psf = synthetic_psf(2 * 32)
    _, dirty = point_source_dirty(32, psf, [(16, 16)], [1.0])
    with pytest.raises(ImportError, match=r"uvflow-imaging\[radler\]"):
        deconvolve_cube(dirty, psf, algorithm="radler")
    assert get_deconvolver("hogbom").name == "hogbom"
    from uvflow.pipelines.cli.plugins import installed_plugins

    plugins = installed_plugins()["uvflow.deconvolvers"]
    assert plugins["radler"] == "uvflow.imaging.deconvolution.radler_deconvolver:RadlerDeconvolver"


@needs_radler
def test_bad_options():
    from uvflow.imaging import DeconvolutionError

    with pytest.raises(DeconvolutionError, match="method 'clark' unknown"):
        get_deconvolver("radler", method="clark")
    with pytest.raises(DeconvolutionError, match="scales are for method='multiscale'"):
        get_deconvolver("radler", method="hogbom", scales=(0, 4))
    with pytest.raises(DeconvolutionError, match="scale_shape"):
        get_deconvolver("radler", scale_shape="box")
    with pytest.raises(TypeError, match="did you mean 'scales'"):
        get_deconvolver("radler", scale=(0, 4))
    assert get_deconvolver("radler", scales=(0, 4)).method == "multiscale"


@needs_radler
@pytest.mark.parametrize(
    "options", [{}, {"subminor_optimization": False}, {"scales": (0, 4, 8)}], ids=str
)
def test_conformance(options):
    numbers = check_deconvolver(get_deconvolver("radler", **options))
    # the residual is computed by the plugin as dirty - model ⊛ psf in float64: exact.
    # measured flux error: Högbom 0.002 (both variants), multi-scale 0.039 (a 48-pixel
    # image holds little room for 8-pixel scales): check's own 10 % limit for multi-scale
    assert numbers["residual_error"] < 1e-10
    assert numbers["flux_error"] < (0.01 if "scales" not in options else 0.1)


def _gridder_psf(npixel: int):
    """A naturally weighted PSF made by uvflow's '2d' gridder (12 antennas, 6 times)."""
    vis = simple_visibility(
        random_configuration(nant=12, radius=1000.0, seed=5), ntime=6, frequency=[1.0e8],
        hour_angle_span=np.pi / 2, zerow=True,
    )  # fmt: skip
    uvmax = float(np.max(np.abs(vis.uvw_lambda[..., :2])))
    template = create_image(npixel, 1.0 / (3.0 * uvmax), vis.phasecentre, frequency=1.0e8,
                            channel_bandwidth=1.0e6)  # fmt: skip
    psf, _ = invert(vis, template, context="2d", dopsf=True)
    return psf.replace(data=psf.data.astype(np.float64))


@pytest.fixture(scope="module", params=["synthetic", "gridder"])
def point_problem(request):
    psf = synthetic_psf(2 * N) if request.param == "synthetic" else _gridder_psf(2 * N)
    sky, dirty = point_source_dirty(N, psf, PIXELS, FLUXES)
    return sky, dirty, psf


VARIANTS = [{}, {"subminor_optimization": False}]


@needs_radler
@pytest.mark.parametrize("options", VARIANTS, ids=["subminor", "plain"])
def test_hogbom_oracle_point_sources(point_problem, options):
    """Same components, positions and fluxes as uvflow's Högbom, PSF twice the image (Radler
    then works on the image padded to the PSF's size)."""
    sky, dirty, psf = point_problem
    common = dict(niter=2000, gain=0.1, fractional_threshold=1e-3)
    ours, ours_res = deconvolve_cube(dirty, psf, algorithm="hogbom", **common)
    theirs, theirs_res = deconvolve_cube(dirty, psf, algorithm="radler", **common, **options)
    peak = float(np.abs(sky.data).max())
    assert theirs.meta["NITER"] == ours.meta["NITER"] > 0
    assert np.array_equal(theirs.data != 0, ours.data != 0)  # same component pixels
    # Radler runs in float32: the residual it picks peaks from is rounded to ~6e-8 of the
    # peak per subtraction; measured differences 2e-7 of the peak. 1e-5 is far below any
    # algorithmic difference (another peak choice changes a component by ~gain x 1e-3)
    assert np.abs(theirs.data - ours.data).max() < 1e-5 * peak
    assert np.abs(theirs_res.data - ours_res.data).max() < 1e-5 * peak
    # the components are the sources, to the stop at 1e-3 of the peak
    comps = np.argwhere(theirs.data[0, 0] != 0)
    assert {tuple(c) for c in comps} == set(PIXELS)
    got = np.array([theirs.data[0, 0][p] for p in PIXELS])
    np.testing.assert_allclose(got, FLUXES, atol=2e-3 * peak)


@needs_radler
@pytest.mark.parametrize("options", VARIANTS, ids=["subminor", "plain"])
def test_hogbom_oracle_cut_psf(point_problem, options):
    """PSF cut to 41 pixels (psf_support=20, zero-padded for Radler) and a stop at 1 % that
    the sidelobes beyond the cut keep out of reach: 2000 components, most on sidelobes."""
    sky, dirty, psf = point_problem
    common = dict(niter=2000, gain=0.1, fractional_threshold=0.01, psf_support=20)
    ours, ours_res = deconvolve_cube(dirty, psf, algorithm="hogbom", **common)
    theirs, theirs_res = deconvolve_cube(dirty, psf, algorithm="radler", **common, **options)
    peak = float(np.abs(sky.data).max())
    assert theirs.meta["NITER"] == ours.meta["NITER"] == 2000
    if options:  # Radler's plain Högbom: the same 2000 components (measured 5e-7; float32)
        assert np.array_equal(theirs.data != 0, ours.data != 0)
        assert np.abs(theirs.data - ours.data).max() < 1e-5 * peak
        return
    # Radler's sub-minor loops (its default) clean only the pixels above a level per pass
    # and correct the rest after it (Clark-like): once the cycle cleans sidelobes, it picks
    # other pixels than Högbom. Measured: source components within 0.019 of the peak,
    # residual rms within 1.6 %; allowed 0.03 and 5 %
    src = [(theirs.data[0, 0][p], ours.data[0, 0][p]) for p in PIXELS]
    assert max(abs(a - b) for a, b in src) < 0.03 * peak
    rms = [float(np.sqrt(np.mean(r.data**2))) for r in (theirs_res, ours_res)]
    assert abs(rms[0] - rms[1]) < 0.05 * rms[1]


@needs_radler
def test_hogbom_oracle_window(point_problem):
    """A window excluding a source: no components there, and the same ones as uvflow's.

    The stop is 5 % of the peak: deeper, both clean the hidden source's sidelobes inside the
    window, where a symmetric PSF gives pixels of equal |residual| that float32 (Radler) and
    float64 (uvflow) break differently (measured: identical to 1e-7 down to 5 %, diverging
    at 3 % with the gridder's PSF)."""
    _, dirty, psf = point_problem
    mask = np.ones((N, N), dtype=bool)
    mask[40:, 40:] = False  # hides the source at (55, 58)
    common = dict(niter=2000, gain=0.1, fractional_threshold=0.05, mask=mask)
    ours, _ = deconvolve_cube(dirty, psf, algorithm="hogbom", **common)
    theirs, _ = deconvolve_cube(dirty, psf, algorithm="radler", **common)
    assert not np.any(theirs.data[0, 0][~mask])
    assert theirs.meta["NITER"] == ours.meta["NITER"]
    assert np.array_equal(theirs.data != 0, ours.data != 0)
    assert np.abs(theirs.data - ours.data).max() < 1e-5  # as above (float32)


@pytest.fixture(scope="module")
def extended_problem():
    """Three Gaussian blobs (widths 2, 3, 5 pixels; 6 Jy) and a 0.5 Jy point, 96², PSF 192²."""
    n = 96
    psf = synthetic_psf(2 * n)
    yy, xx = np.mgrid[:n, :n]
    sky = np.zeros((n, n))
    for cy, cx, width, flux in [(40, 50, 3.0, 2.0), (60, 30, 5.0, 3.0), (30, 70, 2.0, 1.0)]:
        blob = np.exp(-0.5 * ((yy - cy) ** 2 + (xx - cx) ** 2) / width**2)
        sky += flux * blob / blob.sum()
    sky[70, 70] += 0.5
    template = create_image(n, psf.cellsize, psf.phasecentre, psf.frequency,
                            channel_bandwidth=psf.channel_bandwidth[0])  # fmt: skip
    dirty = template.replace(data=convolve_same(sky, psf.data[0, 0])[None, None].copy())
    return sky, dirty, psf


@needs_radler
@pytest.mark.parametrize("frac", [0.2, 0.05])
def test_multiscale_oracle_same_components(extended_problem, frac):
    """On identical inputs, uvflow's and Radler's multi-scale CLEANs with scales (0, 4, 8)
    make the same components: both weigh the scale-smoothed, biased residuals and decline
    the 4- and 8-pixel blobs here (every component at scale 0, 134 and 465 of them), with
    the same gain and stop. Radler works in float32: measured differences 1e-7 of the peak,
    allowed 1e-5, far below one component's change (gain x the stop, >= 5e-3 of the peak).

    Not asserted: with a 16-pixel scale the two choose differently (measured: Radler 118
    components at 16 pixels, uvflow none). Their blob shapes (Radler's tapered quadratic,
    uvflow's spheroidal) and scale biases (Radler's per-scale bias 0.5, 0.9, 1.4 printed for
    scales 4, 8, 16; uvflow's ``1 - 0.6 s / s_max``) are defined differently, so components
    at non-zero scales cannot agree; the flux and residual test below covers that case."""
    sky, dirty, psf = extended_problem
    common = dict(niter=2000, gain=0.1, fractional_threshold=frac, scales=(0, 4, 8))
    ours, _ = deconvolve_cube(dirty, psf, algorithm="msclean", **common)
    theirs, _ = deconvolve_cube(dirty, psf, algorithm="radler", method="multiscale", **common)
    peak = float(np.abs(ours.data).max())
    assert theirs.meta["NITER"] == ours.meta["NITER"] > 100
    assert np.array_equal(theirs.data != 0, ours.data != 0)
    assert np.abs(theirs.data - ours.data).max() < 1e-5 * peak


def _image_plane_cycles(dirty, psf, ncycle: int, **options):
    """``ncycle`` minor cycles, each on the exact residual of the previous (major cycles in
    the image plane, as uvflow's workflows run a deconvolver)."""
    model, residual = np.zeros(dirty.shape), dirty
    for _ in range(ncycle):
        delta, residual = deconvolve_cube(residual, psf, niter=1000, gain=0.1,
                                          fractional_threshold=0.2, **options)  # fmt: skip
        model += delta.data
    return model, residual.data


@pytest.fixture(scope="module")
def msclean_cycles(extended_problem):
    """uvflow's multi-scale CLEAN of the extended problem: (model, residual) arrays."""
    _, dirty, psf = extended_problem
    return _image_plane_cycles(dirty, psf, 5, algorithm="msclean", scales=(0, 4, 8, 16))


@needs_radler
@pytest.mark.slow
@pytest.mark.parametrize("radler_scales", [(0, 4, 8, 16), None], ids=["same-scales", "auto"])
def test_multiscale_oracle_extended(extended_problem, msclean_cycles, radler_scales):
    """Radler's and uvflow's multi-scale CLEANs both recover the flux of extended emission
    and leave a residual near zero (their scale choices and biases differ by design)."""
    sky, dirty, psf = extended_problem
    ours, ours_res = msclean_cycles
    theirs, theirs_res = _image_plane_cycles(
        dirty, psf, 5, algorithm="radler", method="multiscale", scales=radler_scales
    )
    true_flux = float(sky.sum())
    dirty_rms = float(np.sqrt(np.mean(dirty.data**2)))
    rms = {
        k: float(np.sqrt(np.mean(r**2))) for k, r in (("ours", ours_res), ("radler", theirs_res))
    }
    # measured after 5 cycles (mgain 0.8): total flux within 0.3 % of the truth for both
    # (msclean 0.23 %, Radler 0.25 % / auto scales 0.14 %); allow 1 %, the level at which a
    # multi-scale CLEAN that stops at 20 % of the peak per cycle is still converging
    assert abs(ours.sum() - true_flux) < 0.01 * true_flux
    assert abs(theirs.sum() - true_flux) < 0.01 * true_flux
    assert abs(theirs.sum() - ours.sum()) < 0.01 * true_flux
    # residual rms: msclean 0.19 %, Radler 0.37 % (auto scales 0.36 %) of the dirty rms;
    # Radler's minor cycle tracks its residual in float32 with its own (cut, circular)
    # scale convolutions, so it leaves about twice as much: allow 1 % for each and a
    # factor 4 between them
    assert rms["ours"] < 0.01 * dirty_rms and rms["radler"] < 0.01 * dirty_rms
    assert rms["radler"] < 4 * rms["ours"] and rms["ours"] < 4 * rms["radler"]


@needs_radler
def test_deconvolve_cube_end_to_end():
    """deconvolve_cube(algorithm='radler') on a 2-channel stokesIQUV cube with a flagged
    (all-zero PSF) channel, a window of fractional weights and a cut PSF."""
    psf = synthetic_psf(2 * 48, [1.0e8, 1.1e8], polarisation_frame="stokesIQUV")
    psf.data[1] = 0.0  # channel 1 fully flagged
    stokes = np.broadcast_to([1.0, 0.2, -0.1, 0.0], (2, 2, 4))  # [source, channel, pol]
    _, dirty = point_source_dirty(48, psf, [(20, 22), (30, 31)], stokes)
    window = np.full((48, 48), 0.5)  # Radler's masks are binary: acts as 1
    model, residual = deconvolve_cube(
        dirty, psf, algorithm="radler", niter=500, gain=0.2, fractional_threshold=0.01,
        psf_support=30, mask=window,
    )  # fmt: skip
    assert model.meta["BUNIT"] == "JY/PIXEL" and model.meta["NITER"] > 0
    assert not np.any(model.data[1]) and np.array_equal(residual.data[1], dirty.data[1])
    for pol, flux in enumerate([1.0, 0.2, -0.1]):
        for pixel in [(20, 22), (30, 31)]:
            assert model.data[(0, pol) + pixel] == pytest.approx(flux, abs=0.02)
    cut = psf.data[:, :, 48 - 30 : 48 + 31, 48 - 30 : 48 + 31]
    np.testing.assert_allclose(residual.data, dirty.data - convolve_same(model.data, cut),
                               atol=1e-12)  # fmt: skip


@needs_radler
def test_continuum_workflow_passes_the_option():
    """The continuum workflow builds the plugin with its options: with ``scales=(6,)`` Radler
    cleans with one 6-pixel scale only, so the model is made of blobs (a point component
    would put all of a source's flux in one pixel, as the default Högbom does)."""
    from uvflow.pipelines import continuum_imaging_list_rsexecute_workflow

    config = random_configuration(nant=8, radius=1000.0, seed=21)
    vis = simple_visibility(config, ntime=3, frequency=[1.0e8, 1.025e8],
                            channel_bandwidth=2.5e6, hour_angle_span=np.pi / 2)  # fmt: skip
    cell = 1.0 / (3.0 * float(np.max(np.abs(vis.uvw_lambda[..., :2]))))
    model = create_image(128, cell, vis.phasecentre, 1.0125e8, channel_bandwidth=5e6)
    comps = [SkyComponent(direction=model.pixel_to_sky(x, y), frequency=[1.0e8], flux=[[f]])
             for (x, y), f in [((64, 64), 10.0), ((40, 80), 3.0)]]  # fmt: skip
    vis = predict_dft(vis, comps)
    rsexecute.set_client(use_dask=False)
    out = {}
    for label, options in (("blobs", {"scales": (6,)}), ("points", {})):
        models, _, _ = continuum_imaging_list_rsexecute_workflow(
            [vis], [model], algorithm="radler", deconvolver_options=options, nmajor=3,
            niter=300, fractional_threshold=0.1, context="2d",
        )  # fmt: skip
        out[label] = models[0].data[0, 0]
    near = out["blobs"][58:71, 58:71].sum()  # the 10 Jy source's flux, in blobs
    assert near > 5.0
    assert out["blobs"].max() < 0.2 * near  # measured 1.09 of 12.5 Jy
    assert out["points"][64, 64] == pytest.approx(10.0, rel=0.01)  # measured 9.96
