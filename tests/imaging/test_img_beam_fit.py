"""The clean-beam fit's numpy numerics against the scipy routines they replace."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage
from scipy.optimize import least_squares

from uvflow.imaging.beam_fit import fit_gaussian_form, main_lobe
from uvflow.imaging.deconvolution.conformance import synthetic_psf


@pytest.mark.parametrize("seed", range(6))
def test_main_lobe_is_the_connected_component_of_scipy_label(seed):
    """Random smooth fields (blobs that touch, snake and reach the edges): the region is
    exactly ``ndimage.label``'s component of the centre (4-connected, its default)."""
    rng = np.random.default_rng(seed)
    n = 96 + 7 * seed
    field = ndimage.gaussian_filter(rng.standard_normal((n, n)), 3.0)
    field /= np.abs(field).max()
    cy, cx = n // 2, n // 2 + seed
    level = field[cy, cx] - 0.3  # the centre is above the level; neighbours vary
    labels, _ = ndimage.label(field > level)
    expected = labels == labels[cy, cx]
    assert np.array_equal(main_lobe(field, cy, cx, level), expected)


def test_main_lobe_of_a_real_psf_and_of_a_centre_below_the_level():
    psf = synthetic_psf(128, [1.0e8]).data[0, 0]
    p = psf / psf[64, 64]
    labels, _ = ndimage.label(p > 0.35)
    assert np.array_equal(main_lobe(p, 64, 64, 0.35), labels == labels[64, 64])
    assert not main_lobe(-p, 64, 64, 0.35).any()


@pytest.mark.parametrize("seed", range(5))
def test_gaussian_form_equals_scipy_least_squares(seed):
    """Noisy samples of rotated elliptical Gaussians from a rough start: the Levenberg–
    Marquardt result equals scipy's ``least_squares(method='lm')`` (the function fit_psf
    used) to 1e-7 relative — both converge to the same minimum at ftol/xtol 1e-12; the
    difference is their stopping points (measured below 1e-9)."""
    rng = np.random.default_rng(seed)
    dy, dx = np.mgrid[-6:7, -6:7].astype(float)
    e, n = dx.ravel(), dy.ravel()
    a, c = rng.uniform(0.05, 0.5, 2)
    b = rng.uniform(-0.8, 0.8) * np.sqrt(a * c)
    v = np.exp(-0.5 * (a * e * e + 2 * b * e * n + c * n * n)) + 0.01 * rng.standard_normal(e.size)
    keep = v > 0.35
    e, n, v = e[keep], n[keep], v[keep]
    start = np.array([a, b, c]) * rng.uniform(0.5, 1.5, 3)

    def model(q):
        return np.exp(-0.5 * (q[0] * e * e + 2 * q[1] * e * n + q[2] * n * n))

    ref = least_squares(lambda q: model(q) - v, start, method="lm", xtol=1e-12, ftol=1e-12)
    q, misfit = fit_gaussian_form(e, n, v, start)
    assert np.allclose(q, ref.x, rtol=1e-7, atol=1e-9 * np.abs(ref.x).max())
    assert misfit == pytest.approx(np.sqrt(np.mean(ref.fun**2)), rel=1e-7)


def test_fitting_and_restoring_import_no_scipy_optimize_or_ndimage():
    """fit_psf and restore_cube in a fresh interpreter leave scipy.optimize and
    scipy.ndimage unimported (together over a second of a command's start-up)."""
    code = (
        "import sys, numpy as np\n"
        "from astropy.coordinates import SkyCoord\n"
        "from uvflow.datamodels import create_image\n"
        "from uvflow.imaging import fit_psf, restore_cube\n"
        "psf = create_image(64, 1e-5, SkyCoord(ra=15.0, dec=-45.0, unit='deg'), 1e8)\n"
        "y, x = np.indices((64, 64)) - 32.0\n"
        "psf.data[0, 0] = np.sinc(np.hypot(x, 0.5 * y) / 4)  # a lobe and sidelobes\n"
        "beam = fit_psf(psf)\n"
        "restore_cube(psf.copy(zero=True), psf=psf)\n"
        "print(beam['bmaj'] > 0, 'scipy.optimize' in sys.modules, 'scipy.ndimage' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "False"]
