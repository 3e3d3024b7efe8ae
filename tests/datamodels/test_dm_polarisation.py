"""Polarisation conversions of vectors, visibilities (with weights and flags) and images."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from uvflow.datamodels import (
    PolarisationError,
    PolarisationFrame,
    convert_image_polarisation,
    convert_pol,
    convert_visibility_polarisation,
    pol_conversion_matrix,
)
from uvflow.datamodels.polarisation import _FRAMES
from uvflow.datamodels.stokes_axis import plane_stokes_codes

FULL = ("stokesIQUV", "linear", "circular")
ALL = tuple(_FRAMES)
# Round-trip error: two 4×4 products with entries in {0, ±1/2, ±1, ±i, ±i/2}; each output is a
# sum of at most 4 terms, so a few ulp of the largest magnitude. 1e-13 relative is ~500 ulp.
RTOL = 1e-13

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
complex_values = st.builds(complex, finite, finite)


@settings(max_examples=60, deadline=None)
@given(
    pair=st.sampled_from(list(itertools.permutations(FULL, 2))),
    data=arrays(np.complex128, st.tuples(st.integers(1, 5), st.just(4)), elements=complex_values),
)
def test_full_frames_conversions_are_inverses(pair, data):
    a, b = pair
    there = convert_pol(data, a, b)
    back = convert_pol(there, b, a)
    scale = max(1.0, float(np.abs(data).max()))
    np.testing.assert_allclose(back, data, rtol=0, atol=RTOL * scale)


def _invertible_pairs() -> set[tuple[str, str]]:
    pairs = set()
    for a, b in itertools.permutations(ALL, 2):
        try:
            pol_conversion_matrix(a, b)
            pol_conversion_matrix(b, a)
        except PolarisationError:
            continue
        pairs.add((a, b))
    return pairs


def test_the_invertible_pairs_are_the_expected_ones():
    expected = set(itertools.permutations(FULL, 2)) | {
        ("linearnp", "stokesIQ"), ("stokesIQ", "linearnp"),
        ("circularnp", "stokesIV"), ("stokesIV", "circularnp"),
    }  # fmt: skip
    assert _invertible_pairs() == expected


@settings(max_examples=60, deadline=None)
@given(
    pair=st.sampled_from(sorted(_invertible_pairs())),
    seed=st.integers(0, 2**32 - 1),
)
def test_forward_then_back_for_every_invertible_pair(pair, seed):
    a, b = pair
    rng = np.random.default_rng(seed)
    n = PolarisationFrame(a).npol
    data = rng.normal(size=(3, n)) + 1j * rng.normal(size=(3, n))
    back = convert_pol(convert_pol(data, a, b), b, a)
    np.testing.assert_allclose(back, data, rtol=0, atol=RTOL * np.abs(data).max())


def test_known_products():
    i, q, u, v = 1.0, 0.2, -0.3, 0.05
    lin = convert_pol(np.array([i, q, u, v], complex), "stokesIQUV", "linear")
    np.testing.assert_allclose(lin, [i + q, u + 1j * v, u - 1j * v, i - q], rtol=1e-15)
    circ = convert_pol(np.array([i, q, u, v], complex), "stokesIQUV", "circular")
    np.testing.assert_allclose(circ, [i + v, q + 1j * u, q - 1j * u, i - v], rtol=1e-15)
    # Stokes Q *can* be formed from XX, YY: Q = (XX - YY) / 2
    iq = convert_pol(np.array([i + q, i - q]), "linearnp", "stokesIQ")
    np.testing.assert_allclose(iq, [i, q], rtol=1e-15)


@pytest.mark.parametrize(
    "src, dst, missing",
    [
        ("linearnp", "stokesIQUV", "U, V"),
        ("linearnp", "stokesIV", "V"),
        ("circularnp", "stokesIQ", "Q"),
        ("circularnp", "linear", "XX, XY, YX, YY"),
        ("stokesI", "linear", "XX, XY, YX, YY"),
        ("stokesI", "linearnp", "XX, YY"),
    ],
)
def test_products_that_cannot_be_formed(make_vis, src, dst, missing):
    vis = make_vis(frame=src)
    with pytest.raises(PolarisationError, match=rf"cannot form {missing} \({dst}\) from"):
        convert_visibility_polarisation(vis, dst)


def test_stokes_i_from_linear_follows_xx_yy_weights_and_flags(make_vis):
    vis = make_vis(frame="linear", dtype=np.complex64)
    vis.flags[...] = False
    vis.flags[0, :, :, 1] = True  # XY flagged: must not affect I
    vis.flags[1, 0, 0, 0] = True  # XX flagged: I flagged
    vis.flags[2, 1, 1, 3] = True  # YY flagged: I flagged
    out = convert_visibility_polarisation(vis, "stokesI")
    assert out.polarisation_frame == PolarisationFrame("stokesI")
    assert out.vis.dtype == np.complex64 and out.vis.shape[-1] == 1
    expected = (vis.vis[..., 0].astype(complex) + vis.vis[..., 3]) / 2
    np.testing.assert_allclose(out.vis[..., 0], expected, rtol=2e-7)  # complex64 rounding
    # var(I) = (var_XX + var_YY) / 4 with var = 1 / w
    w_i = 1.0 / (0.25 / vis.weight[..., 0] + 0.25 / vis.weight[..., 3])
    flag_i = vis.flags[..., 0] | vis.flags[..., 3]
    np.testing.assert_array_equal(out.flags[..., 0], flag_i)
    np.testing.assert_allclose(out.weight[..., 0], np.where(flag_i, 0.0, w_i), rtol=1e-15)
    assert not out.flags[0, :, :, 0].any() and (out.weight[0, ..., 0] > 0).all()
    assert out.uvw is vis.uvw and out.time is vis.time  # unchanged arrays shared


def test_visibility_round_trip_full_frames(make_vis):
    vis = make_vis(frame="linear")
    stokes = convert_visibility_polarisation(vis, "stokesIQUV")
    back = convert_visibility_polarisation(stokes, "linear")
    np.testing.assert_allclose(back.vis, vis.vis, rtol=0, atol=RTOL * np.abs(vis.vis).max())
    # every Stokes product uses two correlations (I, Q: XX and YY; U, V: XY and YX); back in
    # linear, XX and YY each use I and Q, XY and YX each use U and V
    pair = np.stack([vis.flags[..., 0] | vis.flags[..., 3], vis.flags[..., 1] | vis.flags[..., 2]])
    np.testing.assert_array_equal(back.flags, pair[[0, 1, 1, 0]].transpose(1, 2, 3, 0))
    assert convert_visibility_polarisation(vis, "linear") is vis


def test_image_stokes_to_linear_is_complex_and_back_is_real(image):
    lin = convert_image_polarisation(image, "linear")
    assert lin.data.dtype == np.complex128
    i, q, u, v = (image.data[:, k] for k in range(4))
    np.testing.assert_allclose(lin.data[:, 1], u + 1j * v, rtol=1e-15)
    np.testing.assert_allclose(lin.data[:, 3], i - q, rtol=1e-15)
    np.testing.assert_array_equal(plane_stokes_codes(lin.wcs, 4), [-5, -7, -8, -6])  # XX XY YX YY
    back = convert_image_polarisation(lin, "stokesIQUV")
    assert back.data.dtype == np.float64
    np.testing.assert_allclose(back.data, image.data, rtol=0, atol=RTOL * np.abs(image.data).max())
    assert (back.wcs.wcs.crval[2], back.wcs.wcs.cdelt[2]) == (1.0, 1.0)  # I Q U V: linear axis
    assert back.wcs.wcs.ctype[2] == "STOKES"
    assert back.clean_beam == image.clean_beam
    circ = convert_image_polarisation(lin, "circular")
    np.testing.assert_array_equal(plane_stokes_codes(circ.wcs, 4), [-1, -3, -4, -2])  # RR RL LR LL


def test_image_to_stokes_stays_complex_when_imaginary_part_is_real(make_image):
    lin = make_image(frame="linear", dtype=np.complex128)
    lin.data[...] = lin.data + 1j * 0.5  # XY, YX not conjugates: U and I get imaginary parts
    stokes = convert_image_polarisation(lin, "stokesIQUV")
    assert stokes.data.dtype == np.complex128
    assert np.abs(stokes.data.imag).max() > 0.1


def test_image_float32_stays_single_precision(make_image):
    im = make_image(frame="stokesIQUV", dtype=np.float32)
    lin = convert_image_polarisation(im, "linear")
    assert lin.data.dtype == np.complex64
    assert convert_image_polarisation(lin, "stokesIQUV").data.dtype == np.float32


def test_image_product_that_cannot_be_formed(make_image):
    with pytest.raises(PolarisationError, match=r"cannot form Q, U \(stokesIQUV\)"):
        convert_image_polarisation(make_image(frame="circularnp"), "stokesIQUV")
