"""Image-plane facets for invert/predict (RASCIL's ``facets``): the unfaceted images, exactly.

Each facet is gridded about its own centre (ducc0's image-centre shift, w corrected for the
facet's directions), so a faceted image is the unfaceted one to the gridder's accuracy. The
field is the wide 8-degree one (w ~1 turn at the edge): a facet with a wrong centre or a
w-term handled for the wrong direction is off by far more than the tolerances below.

Tolerances: both sides are within ~epsilon of the exact DFT (relative L2; measured
0.03–0.3 epsilon, test_img_gridding.py); their difference is then bounded by 2 epsilon.
At epsilon 1e-7 (complex128) the agreement shows the facets are exact, not just close.
"""

from __future__ import annotations

import numpy as np
import pytest

from uvflow.imaging import GriddingSettings, ImagingError, invert_dft

EPSILON = 1e-7


def _settings(facets, context="ng"):
    return GriddingSettings(context, epsilon=EPSILON, facets=facets)


@pytest.mark.parametrize("facets", [2, 4])
def test_faceted_dirty_image_equals_unfaceted(wide_data, wide_image, wide_dft_dirty, rel, facets):
    whole, sumwt = _settings(1).invert(wide_data, wide_image)
    faceted, fsumwt = _settings(facets).invert(wide_data, wide_image)
    assert faceted.data.shape == whole.data.shape and faceted.data.dtype == whole.data.dtype
    assert np.array_equal(fsumwt, sumwt)
    assert rel(faceted.data, whole.data) <= 2 * EPSILON
    assert rel(faceted.data, wide_dft_dirty[0].data) <= 2 * EPSILON
    assert faceted.wcs.wcs.crpix[0] == whole.wcs.wcs.crpix[0]


def test_faceted_predict_equals_unfaceted(wide_data, wide_image, wide_pixels, rel):
    model = wide_image.copy()
    for i, (x, y) in enumerate(wide_pixels):  # sources in all four facets and on a boundary
        model.data[0, 0, y, x] = 1.0 + 0.5 * i
    whole = _settings(1).predict(wide_data, model)
    faceted = _settings(2).predict(wide_data, model)
    assert rel(faceted.vis, whole.vis) <= 2 * EPSILON
    assert rel(faceted.vis, wide_data.vis) <= 2 * EPSILON  # the DFT of the same sources


def test_psf_is_not_faceted(wide_data, wide_image):
    psf, _ = _settings(1).invert(wide_data, wide_image, dopsf=True)
    fpsf, _ = _settings(2).invert(wide_data, wide_image, dopsf=True)
    assert np.array_equal(psf.data, fpsf.data)


def test_facets_that_do_not_cut_the_image_evenly_are_refused(wide_data, wide_image):
    with pytest.raises(ImagingError, match="facets=3 cuts the 256 x 256 image into facets of"):
        _settings(3).invert(wide_data, wide_image)
    with pytest.raises(ImagingError, match="facets .* must be an integer >= 1, got 0"):
        GriddingSettings(facets=0)


def test_faceted_invert_is_the_dft_off_the_phase_centre(wide_data, wide_image, rel):
    """A facet far from the phase centre on its own: the DFT of its pixels."""
    from uvflow.imaging.faceted_gridding import facet_windows

    (_, window), *_ = facet_windows(wide_image, 2)
    got, _ = _settings(1).invert(wide_data, window)
    assert rel(got.data, invert_dft(wide_data, window)[0].data) <= 2 * EPSILON
