"""RASCIL's image workflows: image_rsexecute_map_workflow and sum_images_rsexecute (issue 18).

A pixel-wise function mapped over overlapping, tapered facets gives the function of the
whole image (the facet weights sum to 1 at every pixel: exact to rounding, 1e-12); the sum
of images is their sum. Serial and Dask (synchronous scheduler) give the same arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.execution import rsexecute
from uvflow.imaging import ImagingError
from uvflow.imaging.workflows import image_rsexecute_map_workflow, sum_images_rsexecute


def _scaled(im, factor=1.0):
    return im.replace(data=factor * im.data + 1.0)


def _executor(dask: bool) -> None:
    if dask:
        rsexecute.set_client(use_dask=True, scheduler="synchronous")
    else:
        rsexecute.set_client(use_dask=False)


@pytest.fixture
def random_image(wide_image):
    rng = np.random.default_rng(4)
    return wide_image.replace(data=rng.normal(size=wide_image.data.shape))


@pytest.mark.parametrize("dask", [False, True])
@pytest.mark.parametrize(
    "facets, overlap, taper", [(1, 0, None), (4, 8, "tukey"), (2, 16, "linear")]
)
def test_map_over_facets_is_the_whole_image_function(random_image, dask, facets, overlap, taper):
    _executor(dask)
    graph = image_rsexecute_map_workflow(random_image, _scaled, facets=facets, overlap=overlap,
                                         taper=taper, factor=3.0)  # fmt: skip
    got = rsexecute.compute(graph, sync=True) if dask else graph
    want = _scaled(random_image, 3.0)
    np.testing.assert_allclose(got.data, want.data, rtol=0, atol=1e-12)
    assert got.wcs.wcs.crpix[0] == random_image.wcs.wcs.crpix[0]


@pytest.mark.parametrize("dask", [False, True])
def test_sum_images(random_image, dask):
    _executor(dask)
    images = [random_image.replace(data=random_image.data * k) for k in range(1, 6)]
    graph = sum_images_rsexecute(images)
    got = rsexecute.compute(graph, sync=True) if dask else graph
    np.testing.assert_allclose(got.data, 15 * random_image.data, rtol=1e-14)


def test_bad_input(random_image):
    rsexecute.set_client(use_dask=False)
    with pytest.raises(ImagingError, match="cannot add images of shapes"):
        sum_images_rsexecute([random_image, random_image.replace(data=random_image.data[:, :, :8])])
    with pytest.raises(ImagingError, match="imfunction must be callable"):
        image_rsexecute_map_workflow(random_image, "scale")
