"""The ``uvflow.deconvolvers`` entry-point group, conformance of the built-ins, and bad input."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uvflow.imaging import (
    DeconvolutionError,
    Deconvolver,
    UnknownDeconvolverError,
    deconvolve_cube,
    get_deconvolver,
    installed_deconvolvers,
)
from uvflow.imaging.deconvolution import deconvolver_plugins as registry
from uvflow.imaging.deconvolution.conformance import (
    check_deconvolver,
    point_source_dirty,
    synthetic_psf,
)

BUILTINS = ["hogbom", "hogbom-complex", "mmclean", "msclean"]


@pytest.fixture(scope="module")
def small():
    psf = synthetic_psf(64, [1.0e8, 1.1e8, 1.2e8])
    _, dirty = point_source_dirty(32, psf, [(10, 12), (20, 22)], [1.0, 0.5])
    return dirty, psf


def test_builtins_registered_and_found():
    names = installed_deconvolvers()
    assert set(BUILTINS) <= set(names)
    for name in names:  # every registered deconvolver loads and follows the protocol
        try:
            d = get_deconvolver(name)
        except ImportError as exc:  # an optional plugin whose library is not installed
            assert "pip install" in str(exc)
            continue
        assert isinstance(d, Deconvolver) and d.name == name


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_conformance(name):
    numbers = check_deconvolver(get_deconvolver(name))
    # measured: residual identity to ~1e-15, Stokes I peak down to < 2 % of the dirty peak,
    # flux within < 1 %: far inside the check's limits (1e-6, 20 %, 10 %)
    assert numbers["residual_error"] < 1e-10 and numbers["flux_error"] < 0.02


def test_unknown_name_lists_installed():
    with pytest.raises(
        UnknownDeconvolverError, match="'clark' unknown; installed: .*hogbom.*msclean"
    ):
        get_deconvolver("clark")
    with pytest.raises(ValueError, match="installed: hogbom, hogbom-complex, mmclean, msclean"):
        deconvolve_cube(*_tiny(), algorithm="clark")


def test_unknown_option_lists_valid_ones():
    with pytest.raises(
        TypeError,
        match="argument 'nscales' .did you mean 'scales'..; valid keywords: scales, scale_bias",
    ):
        get_deconvolver("msclean", nscales=3)
    with pytest.raises(TypeError, match="valid keywords: none"):
        get_deconvolver("hogbom", scales=(0,))


def test_broken_and_nonconforming_plugins():
    eps = {
        "broken": EntryPoint("broken", "uvflow_no_such_module:Thing", registry.DECONVOLVER_GROUP),
        "notone": EntryPoint("notone", "builtins:dict", registry.DECONVOLVER_GROUP),
    }
    registry.DECONVOLVERS.reset(eps)
    try:
        with pytest.raises(
            ImportError, match="'broken' .uvflow_no_such_module:Thing. is installed but failed"
        ):
            get_deconvolver("broken")
        with pytest.raises(TypeError, match="built a dict, which lacks the Deconvolver protocol"):
            get_deconvolver("notone")
    finally:
        registry.DECONVOLVERS.reset()


def test_options_reach_the_algorithm_and_no_other(small):
    """deconvolve_cube gives an algorithm its declared options; an undeclared one is an error."""
    dirty, psf = small
    given = {"hogbom": {}, "msclean": {"scales": (0, 3)},
             "mmclean": {"scales": (0, 3), "nmoment": 2, "findpeak": "CASA"}}  # fmt: skip
    for name, options in given.items():
        model, residual = deconvolve_cube(dirty, psf, algorithm=name, niter=20, **options)
        assert model.shape == dirty.shape and model.meta["NITER"] > 0
    with pytest.raises(TypeError, match="unexpected keyword argument 'scales'; valid keywords: "
                       "algorithm, niter, .*facet_rounds, niter_total, noise$"):  # fmt: skip
        deconvolve_cube(dirty, psf, algorithm="hogbom", scales=(0, 3))
    with pytest.raises(TypeError, match="'nmoment'.*valid keywords: .*scales, scale_bias$"):
        deconvolve_cube(dirty, psf, algorithm="msclean", nmoment=2)


# ---- bad input ------------------------------------------------------------------------


def _tiny():
    psf = synthetic_psf(32, [1.0e8])
    _, dirty = point_source_dirty(16, psf, [(8, 8)], [1.0])
    return dirty, psf


@settings(max_examples=25, deadline=None)
@given(gain=st.one_of(st.floats(max_value=0.0), st.floats(min_value=2.0), st.just(float("nan"))))
def test_gain_outside_open_interval(gain):
    dirty, psf = _tiny()
    with pytest.raises(DeconvolutionError, match=r"gain must be in the open interval \(0, 2\)"):
        deconvolve_cube(dirty, psf, gain=gain)


@settings(max_examples=15, deadline=None)
@given(niter=st.integers(max_value=-1))
def test_negative_niter(niter):
    dirty, psf = _tiny()
    with pytest.raises(DeconvolutionError, match="niter must be >= 0"):
        deconvolve_cube(dirty, psf, niter=niter)


def test_niter_zero_returns_the_dirty_image():
    dirty, psf = _tiny()
    model, residual = deconvolve_cube(dirty, psf, niter=0)
    assert not np.any(model.data) and np.array_equal(residual.data, dirty.data)


def test_bad_input_messages(small):
    dirty, psf = small
    one = psf.replace(data=psf.data[:1], wcs=psf.wcs)
    cases = [
        (dict(niter=2.5), "niter must be an integer"),
        (dict(threshold=-1.0), "threshold must be a finite value >= 0"),
        (dict(fractional_threshold=1.0), r"fractional_threshold must be in \[0, 1\)"),
        (
            dict(window_shape="circle"),
            "window_shape 'circle' unknown; use None, 'quarter' or 'no_edge'",
        ),
        (dict(window_shape="no_edge", window_edge=16), "window_edge must be >= 0 and leave pixels"),
        (dict(mask=np.ones((31, 32))), r"mask has shape \[1, 1, 31, 32\]; expected \[32, 32\]"),
        (dict(mask=np.full((32, 32), 2.0)), r"mask values must lie in \[0, 1\]"),
        (dict(mask=np.zeros((32, 32))), "excludes every pixel"),
        (dict(psf_support=0), "psf_support must be >= 1 pixel"),
        (dict(algorithm="msclean", scales=(0, -3)), "scales must be finite and >= 0"),
        (dict(algorithm="msclean", scale_bias=1.5), r"scale_bias must be in \[0, 1\)"),
        (
            dict(algorithm="mmclean", nmoment=4),
            "nmoment 4 needs at least 4 channels; the image has 3",
        ),
        (
            dict(algorithm="mmclean", findpeak="peak"),
            "findpeak 'peak' unknown; use one of RASCIL, Algorithm1, CASA",
        ),
        (dict(algorithm="hogbom-complex"), "hogbom-complex needs a stokesIQUV image"),
    ]
    for kwargs, message in cases:
        with pytest.raises(DeconvolutionError, match=message):
            deconvolve_cube(dirty, psf, **kwargs)
    with pytest.raises(
        DeconvolutionError, match=r"psf has shape \[1, 1, 64, 64\] but dirty has \[3, 1, 32, 32\]"
    ):
        deconvolve_cube(dirty, one)
    shifted = psf.replace(data=np.roll(psf.data, 3, axis=-1))
    with pytest.raises(DeconvolutionError, match=r"must peak at its centre pixel \(32, 32\)"):
        deconvolve_cube(dirty, shifted)
    # a PSF of samples on one line: a ridge, its value reached off the centre (by rounding,
    # 1e-5 above it: beyond the check's 1e-6, so not the centre's peak)
    ridge = np.zeros(psf.data.shape)
    ridge[..., 32, :] = 1.0
    ridge[..., 32, 40] = 1.0 + 1e-5
    with pytest.raises(DeconvolutionError, match=r"no single peak: pixel \(32, 40\) reaches"):
        deconvolve_cube(dirty, psf.replace(data=ridge))
    bad = dirty.replace(data=np.where(dirty.data > 0.9, np.nan, dirty.data))
    with pytest.raises(DeconvolutionError, match="must be finite"):
        deconvolve_cube(bad, psf)
    with pytest.raises(DeconvolutionError, match="must be real images"):
        deconvolve_cube(dirty.replace(data=dirty.data.astype(complex)), psf)
    with pytest.raises(TypeError, match="dirty and psf must be Images"):
        deconvolve_cube(dirty.data, psf)


def test_psf_support_crops_consistently(small):
    """psf_support s uses the central (2s+1)² of the PSF: the same as passing that cut PSF."""
    dirty, psf = small
    m1, r1 = deconvolve_cube(dirty, psf, psf_support=7, niter=50)
    cut = psf.replace(data=psf.data[..., 32 - 7 : 32 + 8, 32 - 7 : 32 + 8].copy())
    m2, r2 = deconvolve_cube(dirty, cut, niter=50)
    assert np.array_equal(m1.data, m2.data) and np.array_equal(r1.data, r2.data)


def test_zero_psf_channel_is_skipped(small):
    """A fully flagged channel (all-zero PSF) is left as it is, the others are cleaned."""
    dirty, psf = small
    data = psf.data.copy()
    data[1] = 0.0
    model, residual = deconvolve_cube(dirty, psf.replace(data=data), niter=50)
    assert not np.any(model.data[1]) and np.array_equal(residual.data[1], dirty.data[1])
    assert np.any(model.data[0]) and np.any(model.data[2])


@pytest.mark.parametrize(
    "algorithm,options",
    [
        ("hogbom", {}),
        ("msclean", {"scales": (0, 3)}),
        ("mmclean", {"nmoment": 2, "scales": (0, 3)}),
    ],
)
def test_all_zero_psf_gives_an_empty_model(small, algorithm, options):
    """All data flagged (every PSF plane zero, dirty zero): the documented empty result —
    a zero model with no components and the dirty image as residual, not an error."""
    dirty, psf = small
    zero = dirty.copy(zero=True)
    model, residual = deconvolve_cube(
        zero, psf.copy(zero=True), algorithm=algorithm, niter=20, **options
    )
    assert not np.any(model.data) and model.meta["NITER"] == 0
    assert np.array_equal(residual.data, zero.data)
