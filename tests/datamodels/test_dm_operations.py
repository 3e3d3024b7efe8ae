"""Selection, scatter/gather, concatenation, subtraction, copies and QA statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from uvflow.datamodels import (
    CHANNEL_FREQUENCIES,
    DataModelError,
    concatenate_images,
    concatenate_visibility,
    convert_visibility_polarisation,
    copy_visibility,
    export_image_to_fits,
    gather_visibility,
    qa_image,
    qa_visibility,
    scatter_visibility,
    subtract_visibility,
)


def test_select_slices_are_views_and_index_arrays_copies(vis):
    part = vis.select(time=slice(1, 3), channel=slice(0, 2), baseline=slice(2, 9))
    assert np.shares_memory(part.vis, vis.vis) and np.shares_memory(part.uvw, vis.uvw)
    np.testing.assert_array_equal(part.vis, vis.vis[1:3, 2:9, 0:2])
    np.testing.assert_array_equal(part.time, vis.time[1:3])
    np.testing.assert_array_equal(part.antenna2, vis.antenna2[2:9])
    picked = vis.select(channel=np.array([2, 0]))
    assert not np.shares_memory(picked.vis, vis.vis)
    np.testing.assert_array_equal(picked.frequency, vis.frequency[[2, 0]])
    mask = np.array([True, False, True, False])
    np.testing.assert_array_equal(vis.select(time=mask).weight, vis.weight[mask])


@pytest.mark.parametrize("axis", ["time", "frequency", "baseline"])
@pytest.mark.parametrize("nchunks, chunk_size", [(None, None), (2, None), (None, 2), (3, None)])
def test_scatter_gives_views_and_gather_inverts(vis, axis, nchunks, chunk_size):
    pieces = scatter_visibility(vis, axis, nchunks=nchunks, chunk_size=chunk_size)
    n = {"time": vis.ntime, "frequency": vis.nchan, "baseline": vis.nbaseline}[axis]
    sizes = [{"time": p.ntime, "frequency": p.nchan, "baseline": p.nbaseline}[axis] for p in pieces]
    assert sum(sizes) == n
    if nchunks is not None:
        assert len(pieces) == nchunks and max(sizes) - min(sizes) <= 1
    elif chunk_size is not None:
        assert sizes[:-1] == [chunk_size] * (len(sizes) - 1)
    else:
        assert sizes == [1] * n
    assert all(np.shares_memory(p.vis, vis.vis) for p in pieces)
    back = gather_visibility(pieces, axis)
    for name in ("vis", "weight", "flags", "uvw", "time", "antenna1", "antenna2", "frequency",
                 "channel_bandwidth", "integration_time"):  # fmt: skip
        np.testing.assert_array_equal(getattr(back, name), getattr(vis, name), err_msg=name)
    assert not np.shares_memory(back.vis, vis.vis)


def test_scatter_argument_errors(vis):
    with pytest.raises(DataModelError, match="axis 'polarisation' unknown; use one of time"):
        scatter_visibility(vis, "polarisation")
    with pytest.raises(DataModelError, match="not both"):
        scatter_visibility(vis, "time", nchunks=2, chunk_size=2)
    with pytest.raises(DataModelError, match="nchunks=5 must be between 1 and the 4 along time"):
        scatter_visibility(vis, "time", nchunks=5)
    with pytest.raises(DataModelError, match="chunk_size must be >= 1"):
        scatter_visibility(vis, "time", chunk_size=0)
    assert len(scatter_visibility(vis, "channel", nchunks=3)) == 3  # alias of frequency


def test_concatenate_rejects_overlap_and_mismatch(vis, make_vis):
    a, b = vis.select(time=slice(0, 2)), vis.select(time=slice(1, 4))
    with pytest.raises(DataModelError, match="overlap: a time appears more than once"):
        concatenate_visibility([a, b], "time")
    with pytest.raises(DataModelError, match="different frequencies"):
        concatenate_visibility([vis.select(time=slice(0, 2), channel=slice(0, 1)),
                                vis.select(time=slice(2, 4), channel=slice(1, 2))], "time")  # fmt: skip
    moved = vis.select(time=slice(2, 4)).replace(
        phasecentre=SkyCoord(ra=15.0, dec=-44.0, unit="deg")
    )
    with pytest.raises(DataModelError, match="different phase centres"):
        concatenate_visibility([vis.select(time=slice(0, 2)), moved], "time")
    stokes = convert_visibility_polarisation(vis.select(time=slice(2, 4)), "stokesIQUV")
    with pytest.raises(DataModelError, match="polarisation frames stokesIQUV and linear"):
        concatenate_visibility([vis.select(time=slice(0, 2)), stokes], "time")
    other = make_vis()  # another random configuration
    with pytest.raises(DataModelError, match="different configurations"):
        concatenate_visibility([vis, other.replace(time=other.time + 1e4)], "time")
    with pytest.raises(DataModelError, match="overlap: a baseline"):
        concatenate_visibility([vis, vis], "baseline")
    with pytest.raises(DataModelError, match="list of visibilities is empty"):
        concatenate_visibility([], "time")
    with pytest.raises(TypeError, match="item 1 is a str"):
        concatenate_visibility([vis, "vis"], "time")


def test_concatenate_frequency_in_list_order(vis):
    hi, lo = vis.select(channel=slice(2, 3)), vis.select(channel=slice(0, 2))
    joined = concatenate_visibility([hi, lo], "frequency")
    np.testing.assert_array_equal(joined.frequency, vis.frequency[[2, 0, 1]])
    np.testing.assert_array_equal(joined.vis, vis.vis[:, :, [2, 0, 1]])


def test_subtract_and_copy(vis, make_vis):
    model = copy_visibility(vis, zero=True)
    assert not model.vis.any() and np.shares_memory(model.vis, vis.vis) is False
    np.testing.assert_array_equal(model.weight, vis.weight)
    model = model.replace(vis=vis.vis * 0.25)
    res = subtract_visibility(vis, model)
    np.testing.assert_array_equal(res.vis, vis.vis - vis.vis * 0.25)
    assert res.weight is vis.weight and res.flags is vis.flags
    with pytest.raises(DataModelError, match="cannot subtract visibilities of shape"):
        subtract_visibility(vis, vis.select(time=slice(0, 2)))
    shifted = vis.replace(time=vis.time + 1.0)
    with pytest.raises(DataModelError, match="different times"):
        subtract_visibility(vis, shifted)
    full = copy_visibility(vis)
    full.vis[0, 0, 0, 0] += 1
    assert full.vis[0, 0, 0, 0] != vis.vis[0, 0, 0, 0]  # a real copy


def test_qa_visibility_statistics(vis):
    qa = qa_visibility(vis, context="test")
    good = ~vis.flags
    amp = np.abs(vis.vis[good])
    assert qa["maxabs"] == amp.max() and qa["minabs"] == amp.min()
    assert qa["rms"] == pytest.approx(np.sqrt(np.mean(amp**2)), rel=1e-14)  # summation order only
    assert qa["nvis"] == vis.vis.size and qa["nflagged"] == int(vis.flags.sum())
    assert qa["flagged_fraction"] == pytest.approx(vis.flags.mean(), rel=1e-14)
    assert qa["sumwt"] == pytest.approx(vis.weight[good].sum(), rel=1e-14)
    assert qa["context"] == "test" and qa["polarisation_frame"] == "linear"
    json.dumps(qa)  # JSON-able for reports
    all_flagged = qa_visibility(vis.replace(flags=np.ones_like(vis.flags)))
    assert np.isnan(all_flagged["maxabs"]) and all_flagged["flagged_fraction"] == 1.0


def test_qa_image_statistics(image):
    d = image.data.copy()
    d[0, 1, 3, 4] = 50.0
    d[1, 0, 5, 6] = -80.0
    d[1, 2, 0, 0] = np.nan
    qa = qa_image(image.replace(data=d))
    assert qa["max"] == 50.0 and qa["argmax"] == [0, 1, 3, 4]
    assert qa["min"] == -80.0 and qa["maxabs"] == 80.0 and qa["argmaxabs"] == [1, 0, 5, 6]
    assert qa["nnan"] == 1 and qa["npixels"] == d.size
    assert qa["sum"] == pytest.approx(np.nansum(d), rel=1e-12)
    assert qa["rms"] == pytest.approx(np.sqrt(np.nanmean(d**2)), rel=1e-12)
    assert qa["medianabs"] == np.nanmedian(np.abs(d))
    json.dumps(qa)


def test_concatenate_images_with_irregular_frequencies(make_image, tmp_path, caplog):
    """Windows with a gap or of one frequency (minor-cycle cubes): the cube keeps each
    channel's frequency as a table; FITS, whose FREQ axis is linear, does not get it."""
    a, gap, same = make_image(nchan=2), make_image(nchan=1), make_image(nchan=1)
    gap.wcs.wcs.crval[3] = a.frequency[-1] + 5.0e6
    cube = concatenate_images([a, gap], irregular=True)
    expected = [*a.frequency, gap.frequency[0]]
    assert cube.meta[CHANNEL_FREQUENCIES] == tuple(expected)
    np.testing.assert_array_equal(cube.frequency, expected)
    again = concatenate_images([cube, same], irregular=True)  # a table joins as frequencies
    np.testing.assert_array_equal(again.frequency, [*expected, same.frequency[0]])
    repeated = concatenate_images([same, same], irregular=True)
    np.testing.assert_array_equal(repeated.frequency, [same.frequency[0]] * 2)
    linear = concatenate_images([a], irregular=True)  # evenly spaced: a plain linear axis
    assert CHANNEL_FREQUENCIES not in linear.meta
    with caplog.at_level("WARNING"):
        export_image_to_fits(cube, tmp_path / "cube.fits")
    assert "CHANNEL_FREQUENCIES" in caplog.text and "not written" in caplog.text


def test_concatenate_images_along_frequency(make_image):
    a, b = make_image(nchan=2), make_image(nchan=1)
    b.wcs.wcs.crval[3] = a.frequency[-1] + 2.0e6  # continue the channel sequence
    cube = concatenate_images([a, b])
    np.testing.assert_array_equal(cube.data, np.concatenate([a.data, b.data]))
    np.testing.assert_allclose(cube.frequency, 1.0e8 + 2.0e6 * np.arange(3), rtol=1e-15)
    assert cube.clean_beam == a.clean_beam
    gap = make_image(nchan=1)
    gap.wcs.wcs.crval[3] = a.frequency[-1] + 5.0e6
    with pytest.raises(DataModelError, match="evenly spaced"):
        concatenate_images([a, gap])
    with pytest.raises(DataModelError, match="polarisation frames"):
        concatenate_images([a, make_image(frame="linear", dtype=np.complex128)])
    with pytest.raises(DataModelError, match="npol, ny, nx"):
        concatenate_images([a, make_image(npix=16)])
    shifted = make_image(nchan=1)
    shifted.wcs.wcs.crval[3] = a.frequency[-1] + 2.0e6
    shifted.wcs.wcs.crval[0] += 0.01
    with pytest.raises(DataModelError, match="different sky coordinates"):
        concatenate_images([a, shifted])
