"""Spectral-line imaging: continuum subtraction (model or uv fit), cubes, line recovery.

The data: 16 channels (100–137.5 MHz) in four windows of four, 16 antennas, 6 integrations,
exact DFT visibilities. Continuum: flat-spectrum 10 Jy at the phase centre (and 3 Jy off
centre for the model subtraction). Line: a pixel-centred source at (90, 50) with 1.5 Jy in
channel 5 and 2 Jy in channel 6, nothing elsewhere.

Tolerances: the model subtraction leaves the gridder's error (epsilon 1e-5 of 13 Jy); the
uv fit removes a flat continuum at the phase centre exactly and never sees the line's
channels, so the line is untouched; CLEAN of pixel-centred sources in noise-free data gets
their flux to well under 1 % (as in the continuum tests). Continuum left < 1 % of its peak.
"""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

from uvflow.datamodels import SkyComponent, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.execution import rsexecute
from uvflow.imaging import predict_dft
from uvflow.pipelines import (
    PipelineError,
    spectral_line_imaging_list_rsexecute_workflow,
    uv_continuum_subtraction,
)


def _load_helpers():
    path = pathlib.Path(__file__).with_name("pipe_helpers.py")
    spec = importlib.util.spec_from_file_location("uvflow_pipe_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


H = _load_helpers()
NCHAN, NWIN, DF = 16, 4, 2.5e6
FREQ = 1.0e8 + DF * np.arange(NCHAN)
LINE = np.zeros(NCHAN)
LINE[5], LINE[6] = 1.5, 2.0
LINE_PIXEL = (90, 50)
CONTINUUM = [((64, 64), 10.0), ((40, 80), 3.0)]
OPTIONS = dict(nmajor=4, niter=1000, fractional_threshold=0.05, threshold=1e-4)


@pytest.fixture(scope="module")
def scene():
    rsexecute.set_client(use_dask=False)
    config = random_configuration(nant=16, radius=1000.0, seed=21)
    windows = [FREQ[4 * w : 4 * w + 4] for w in range(NWIN)]
    templates = [
        simple_visibility(
            config, ntime=6, frequency=f, channel_bandwidth=DF, hour_angle_span=np.pi / 2
        )  # fmt: skip
        for f in windows
    ]
    uvmax = max(float(np.max(np.abs(v.uvw_lambda[..., :2]))) for v in templates)
    cell = 1.0 / (3.0 * uvmax)
    pc = templates[0].phasecentre
    cubes = [create_image(128, cell, pc, f, channel_bandwidth=DF) for f in windows]
    mfs = [create_image(128, cell, pc, f.mean(), channel_bandwidth=4 * DF) for f in windows]

    def data(continuum):
        out = []
        for w, v in enumerate(templates):
            comps = [
                SkyComponent(direction=cubes[0].pixel_to_sky(x, y), frequency=windows[w],
                             flux=np.full((4, 1), s))
                for (x, y), s in continuum
            ]  # fmt: skip
            line = LINE[4 * w : 4 * w + 4]
            if np.any(line):
                comps.append(SkyComponent(direction=cubes[0].pixel_to_sky(*LINE_PIXEL),
                                          frequency=windows[w], flux=line[:, None]))  # fmt: skip
            out.append(predict_dft(v, comps))
        return out

    continuum_models = []
    for m in mfs:
        d = m.data.copy()
        for (x, y), s in CONTINUUM:
            d[0, 0, y, x] = s
        continuum_models.append(m.replace(data=d))
    return {
        "both": data(CONTINUUM), "centre": data(CONTINUUM[:1]), "cubes": cubes,
        "continuum_models": continuum_models,
    }  # fmt: skip


def _line_fluxes(models) -> np.ndarray:
    """Clean flux within 3 pixels of the line source, per channel (all windows in order)."""
    x, y = LINE_PIXEL
    return np.concatenate(
        [m.data[:, 0, y - 3 : y + 4, x - 3 : x + 4].sum(axis=(1, 2)) for m in models]
    )


def _continuum_left(models, residuals, pixels) -> float:
    """Largest |model + residual| at the continuum pixels over all channels (Jy)."""
    out = 0.0
    for m, r in zip(models, residuals):
        for (x, y), _ in pixels:
            out = max(out, float(np.max(np.abs(m.data[:, 0, y, x] + r[0].data[:, 0, y, x]))))
    return out


def _check_line(models, residuals, continuum):
    line = _line_fluxes(models)
    on = LINE > 0
    np.testing.assert_allclose(line[on], LINE[on], rtol=0.01)
    assert np.max(np.abs(line[~on])) < 0.01 * LINE.max()
    assert _continuum_left(models, residuals, continuum) < 0.01 * 10.0


def test_model_subtraction_then_cube(scene):
    rsexecute.set_client(use_dask=False)
    models, residuals, restored = spectral_line_imaging_list_rsexecute_workflow(
        scene["both"], scene["cubes"], continuum_model_imagelist=scene["continuum_models"],
        **OPTIONS,
    )  # fmt: skip
    assert [m.nchan for m in models] == [4] * NWIN and [r.nchan for r in restored] == [4] * NWIN
    _check_line(models, residuals, CONTINUUM)
    # the restored cube peaks at the line pixel in channel 6 (window 1, channel 2)
    plane = restored[1].data[2, 0]
    assert np.unravel_index(np.argmax(plane), plane.shape) == LINE_PIXEL[::-1]


def test_uv_fit_subtraction_then_cube(scene):
    rsexecute.set_client(use_dask=False)
    free = [None, [0, 3], None, None]  # window 1 holds the line in its channels 1 and 2
    models, residuals, _ = spectral_line_imaging_list_rsexecute_workflow(
        scene["centre"], scene["cubes"], continuum_subtraction_degree=1,
        line_free_channels=free, **OPTIONS,
    )  # fmt: skip
    _check_line(models, residuals, CONTINUUM[:1])


def test_without_subtraction_the_continuum_stays(scene):
    """The check above can fail: unsubtracted, the continuum is all there."""
    rsexecute.set_client(use_dask=False)
    models, residuals, _ = spectral_line_imaging_list_rsexecute_workflow(
        scene["centre"], scene["cubes"], nmajor=1, niter=200, fractional_threshold=0.05
    )
    assert _continuum_left(models, residuals, CONTINUUM[:1]) > 5.0


@pytest.mark.cluster
def test_serial_equals_dask(scene):
    opts = dict(OPTIONS, nmajor=2)  # clean beams fitted to the PSFs (the default)
    serial, dask = H.run_serial_and_dask(
        lambda: spectral_line_imaging_list_rsexecute_workflow(
            scene["both"],
            scene["cubes"],
            continuum_model_imagelist=scene["continuum_models"],
            continuum_subtraction_degree=0,
            **opts,
        )  # fmt: skip
    )
    H.assert_same_beams(dask[2], serial[2])
    H.assert_pipeline_same(dask, serial)


def test_graph_size_linear_in_windows_and_cycles(scene):
    counts = {}
    rsexecute.set_client(use_dask=True, scheduler="synchronous")
    try:
        for nwin in (2, 3, 4):
            for nmajor in (1, 2, 3):
                graph = spectral_line_imaging_list_rsexecute_workflow(
                    scene["centre"][:nwin], scene["cubes"][:nwin], nmajor=nmajor,
                    continuum_model_imagelist=scene["continuum_models"][:nwin],
                    continuum_subtraction_degree=1,
                )  # fmt: skip
                counts[(nwin, nmajor)] = H.graph_tasks(graph)
    finally:
        rsexecute.close()
    assert H.bilinear_exact(counts)


def test_bad_input(scene):
    rsexecute.set_client(use_dask=False)
    with pytest.raises(PipelineError, match="model has 1 channels, the data 4"):
        spectral_line_imaging_list_rsexecute_workflow(
            scene["centre"], scene["continuum_models"], nmajor=1
        )
    with pytest.raises(PipelineError, match="give continuum_subtraction_degree"):
        spectral_line_imaging_list_rsexecute_workflow(
            scene["centre"], scene["cubes"], nmajor=1, line_free_channels=[0, 1]
        )
    with pytest.raises(TypeError, match="valid keywords: .*continuum_subtraction_degree"):
        spectral_line_imaging_list_rsexecute_workflow(
            scene["centre"], scene["cubes"], continuum_degree=1
        )


# ---- the uv-plane fit kernel -------------------------------------------------------------


def _vis(nchan=8, seed=0):
    config = random_configuration(nant=5, radius=500.0, seed=seed)
    return simple_visibility(config, ntime=3, frequency=1e8 + 1e6 * np.arange(nchan))


@pytest.mark.parametrize("degree", [0, 1, 2])
def test_polynomial_removed_exactly_line_kept(degree):
    """A complex polynomial of the degree fitted, per sample, is removed to rounding; a
    'line' added in excluded channels is left exactly as it was (1e-9 of the data)."""
    v = _vis()
    rng = np.random.default_rng(degree)
    x = (v.frequency - v.frequency.mean()) / ((v.frequency.max() - v.frequency.min()) / 2)
    coef = rng.normal(size=(v.ntime, v.nbaseline, v.npol, degree + 1)) + 1j * rng.normal(
        size=(v.ntime, v.nbaseline, v.npol, degree + 1)
    )
    poly = np.einsum("tbpi,ci->tbcp", coef, np.vander(x, degree + 1, increasing=True))
    line = np.zeros_like(poly)
    line[:, :, 4] = 3.0 + 1.0j
    out = uv_continuum_subtraction(
        v.replace(vis=poly + line), degree, line_free_channels=[0, 1, 2, 3, 5, 6, 7]
    )
    np.testing.assert_allclose(out.vis, line, atol=1e-9 * np.max(np.abs(poly)))
    assert not np.any(out.flags)


def test_too_few_channels_flagged_and_errors():
    v = _vis()
    data = np.ones_like(v.vis)
    flags = v.flags.copy()
    flags[0, 0, 1:] = True  # sample (0, 0) keeps one channel: a slope cannot be fitted
    out = uv_continuum_subtraction(v.replace(vis=data, flags=flags), 1)
    assert np.all(out.flags[0, 0]) and not np.any(out.flags[1:])
    np.testing.assert_allclose(out.vis[1:], 0.0, atol=1e-12)
    with pytest.raises(PipelineError, match="needs at least 3 line-free channels, got 2"):
        uv_continuum_subtraction(v, 2, line_free_channels=[0, 1])
    with pytest.raises(PipelineError, match="must be in 0..7"):
        uv_continuum_subtraction(v, 1, line_free_channels=[0, 9])
    with pytest.raises(PipelineError, match="degree must be an integer >= 0"):
        uv_continuum_subtraction(v, -1)
    with pytest.raises(PipelineError, match="as a mask needs 8 values"):
        uv_continuum_subtraction(v, 1, line_free_channels=np.ones(3, bool))
