"""RASCIL's documented continuum call, as its Dask guide writes it (issue 18).

The call below is the guide's, verbatim apart from the data (``self`` is a stand-in for
the guide's test case): ``facets`` (image-plane facets for invert/predict), ``nmoments``
(RASCIL's documented spelling of ``nmoment``) and ``nchan`` (which RASCIL ignored) must
work with RASCIL's meaning. It runs serially with ``facets=1`` and on a 2-worker cluster
with ``facets=2``:

- every source is restored within 3 % in every window: three point sources (10, 5 and
  3 Jy, above the call's 2 Jy threshold, each on a pixel centre of the 256² images) in four
  windows of the pipeline tests' field (noise-free DFT visibilities); measured 1.8 % at
  worst (the 3 Jy source, where the 10 Jy source's clean residue adds);
- ``facets=2`` on Dask gives the ``facets=1`` serial images to 1 % of the peak (the
  issue's bound); measured 1.8e-7 (the facets equal the whole image to the gridder's
  accuracy, and serial ≡ Dask).
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pipe_helpers as H
import pytest

from uvflow.datamodels import SkyComponent, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility
from uvflow.execution import rsexecute
from uvflow.imaging import predict_dft
from uvflow.pipelines import (
    PipelineError,
    continuum_imaging_list_rsexecute_workflow,
    pipeline_settings,
)

NPIXEL = 256  # deconvolve_facets=8 with deconvolve_overlap=16 needs tiles of >= 32 pixels
C = NPIXEL // 2
SOURCES = [((C, C), 10.0), ((C - 24, C + 16), 5.0), ((C + 26, C - 14), 3.0)]


@pytest.fixture(scope="module")
def field():
    config = random_configuration(nant=16, radius=1000.0, seed=21)
    templates = [
        simple_visibility(
            config,
            ntime=6,
            frequency=[f, f + 2.5e6],
            channel_bandwidth=2.5e6,
            hour_angle_span=np.pi / 2,
        )  # fmt: skip
        for f in H.FREQUENCIES
    ]
    uvmax = max(float(np.max(np.abs(v.uvw_lambda[..., :2]))) for v in templates)
    models = [
        create_image(
            NPIXEL, 1.0 / (3.0 * uvmax), templates[0].phasecentre, f + 1.25e6, channel_bandwidth=5e6
        )  # fmt: skip
        for f in H.FREQUENCIES
    ]
    comps = [
        SkyComponent(direction=models[0].pixel_to_sky(x, y), frequency=[1.0e8], flux=[[s]])
        for (x, y), s in SOURCES
    ]
    vis_list = [predict_dft(v, comps) for v in templates]
    return vis_list, SimpleNamespace(model_imagelist=models, freqwin=len(models))


def seed_call(vis_list, self, facets):
    """The guide's call (facets=1 there; the issue asks facets=2 to give the same)."""
    continuum_imaging_list = \
        continuum_imaging_list_rsexecute_workflow(vis_list, model_imagelist=self.model_imagelist, context='2d',
                                    algorithm='mmclean', facets=facets,
                                    scales=[0, 3, 10],
                                    niter=1000, fractional_threshold=0.1,
                                    nmoments=2, nchan=self.freqwin,
                                    threshold=2.0, nmajor=5, gain=0.1,
                                    deconvolve_facets=8, deconvolve_overlap=16,
                                    deconvolve_taper='tukey')  # fmt: skip
    return continuum_imaging_list


@pytest.mark.cluster
@pytest.mark.slow
def test_seed_call_restores_sources_and_facets_agree(field, caplog, monkeypatch):
    vis_list, self = field
    monkeypatch.setattr(pipeline_settings, "_LOGGED", set())  # logged once per process
    rsexecute.set_client(use_dask=False)
    with caplog.at_level(logging.INFO, logger="uvflow.pipelines"):
        serial = seed_call(vis_list, self, facets=1)
    H.start_cluster()
    try:
        clean, residual, restored = rsexecute.compute(seed_call(vis_list, self, 2), sync=True)
    finally:
        rsexecute.close()
    for w, image in enumerate(restored):
        for (x, y), flux in SOURCES:
            got = float(image.data[0, 0, y, x])
            assert abs(got - flux) <= 0.03 * flux, (w, (x, y), got, flux)
    for faceted, whole in zip(restored, serial[2]):
        peak = np.max(np.abs(whole.data))
        assert np.max(np.abs(faceted.data - whole.data)) <= 0.01 * peak
    assert any("nchan=4 ignored, as RASCIL ignored it" in r.getMessage() for r in caplog.records)


def test_nmoment_and_nmoments_must_agree(field):
    vis_list, self = field
    rsexecute.set_client(use_dask=False)
    with pytest.raises(PipelineError, match="nmoment=3 and nmoments=2 differ"):
        continuum_imaging_list_rsexecute_workflow(
            vis_list, self.model_imagelist, algorithm="mmclean", nmoment=3, nmoments=2, nmajor=0
        )
    with pytest.raises(TypeError, match="nmoment"):  # a genuine typo still names the valid ones
        continuum_imaging_list_rsexecute_workflow(vis_list, self.model_imagelist, nmomnets=2)


def test_restoring_keywords_reach_the_restore(field):
    """RASCIL's restoring keywords pass through the pipeline: 2×2 restoring facets give the
    whole-image restoring (to rounding, 1e-12 of the peak: each facet convolves every
    component that reaches it), and psfwidth restores with a circular beam of that sigma
    (its FWHM recorded as bmaj = bmin)."""
    vis_list, self = field
    rsexecute.set_client(use_dask=False)
    common = dict(algorithm="hogbom", niter=50, nmajor=1, threshold=1.0)
    whole = continuum_imaging_list_rsexecute_workflow(vis_list[:1], self.model_imagelist[:1],
                                                      **common)[2][0]  # fmt: skip
    faceted = continuum_imaging_list_rsexecute_workflow(
        vis_list[:1], self.model_imagelist[:1], restore_facets=2, restore_overlap=8, **common
    )[2][0]
    peak = np.max(np.abs(whole.data))
    assert np.max(np.abs(faceted.data - whole.data)) <= 1e-12 * peak
    width = continuum_imaging_list_rsexecute_workflow(
        vis_list[:1], self.model_imagelist[:1], psfwidth=3.0, **common
    )[2][0]
    cell = abs(width.wcs.wcs.cdelt[1])
    fwhm = 2 * np.sqrt(2 * np.log(2)) * 3.0 * cell
    assert width.clean_beam["bmaj"] == pytest.approx(fwhm, rel=1e-12)
    assert width.clean_beam["bmin"] == pytest.approx(fwhm, rel=1e-12)
