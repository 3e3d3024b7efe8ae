"""Linear convolution on the image's grid: ``convolve_same`` (one-off, ducc0) and
``ImageConvolver`` (fixed kernels, pruned ducc0 FFTs), against scipy's ``fftconvolve``
('full' mode, cut to the image: a direct reference with no wrap-around by construction).

Tolerances: both sides are FFT convolutions of the same data, so they differ by rounding
only — measured 1e-15 of the output's peak in float64 and 4e-7 in float32 (a few float32
ulps); the bounds are 1e-12 and 2e-6, far below any error of a misplaced or wrapped kernel
(of the order of the output itself).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.signal import fftconvolve

from uvflow.imaging.deconvolution.convolution import ImageConvolver, convolve_same
from uvflow.imaging.deconvolution.scales import scale_kernel

TOL = {np.float64: 1e-12, np.float32: 2e-6}


def reference(image, kernel, centre=None):
    """scipy's linear convolution cut to the image, the kernel's ``centre`` on each pixel."""
    ky, kx = kernel.shape[-2:]
    cy, cx = (ky // 2, kx // 2) if centre is None else centre
    ny, nx = image.shape[-2:]
    nd = max(image.ndim, kernel.ndim)
    image = image.reshape((1,) * (nd - image.ndim) + image.shape)
    kernel = kernel.reshape((1,) * (nd - kernel.ndim) + kernel.shape)
    full = fftconvolve(image, kernel, mode="full", axes=(-2, -1))
    return full[..., cy : cy + ny, cx : cx + nx]


# (image shape, kernel shape, centre): kernels smaller and larger than the image, off-centre,
# reaching far beyond it on one side only, a delta, broadcast leading axes both ways
CASES = [
    ((40, 56), (31, 27), None),
    ((64, 64), (128, 128), None),
    ((50, 30), (7, 200), (3, 100)),
    ((33, 47), (301, 11), (150, 5)),
    ((20, 24), (41, 41), (2, 38)),
    ((16, 16), (1, 1), None),
    ((2, 3, 20, 24), (9, 9), None),
    ((3, 20, 24), (3, 41, 41), (20, 20)),
    ((20, 24), (2, 1, 41, 41), (5, 30)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ishape,kshape,centre", CASES)
def test_convolve_same_is_scipys(ishape, kshape, centre, dtype):
    """Real and complex images; float32 in both gives float32 out, anything else float64."""
    rng = np.random.default_rng(0)
    image = rng.normal(size=ishape).astype(dtype)
    kernel = rng.normal(size=kshape).astype(dtype)
    for img in (image, image + 1j * rng.normal(size=ishape).astype(dtype)):
        got, ref = convolve_same(img, kernel, centre), reference(img, kernel, centre)
        assert got.shape == ref.shape and got.dtype == ref.dtype
        assert np.abs(got - ref).max() < TOL[dtype] * np.abs(ref).max()
    mixed = convolve_same(image, kernel.astype(np.float64), centre)
    assert mixed.dtype == np.float64


def test_convolve_same_inputs_unchanged_and_bad_input():
    rng = np.random.default_rng(1)
    image, kernel = rng.normal(size=(20, 30)), rng.normal(size=(9, 9))
    copies = image.copy(), kernel.copy()
    convolve_same(image, kernel)
    assert np.array_equal(image, copies[0]) and np.array_equal(kernel, copies[1])
    with pytest.raises(ValueError, match=r"centre \(9, 4\) is outside the 9 x 9 kernel"):
        convolve_same(image, kernel, (9, 4))
    with pytest.raises(ValueError, match="the kernel must be real"):
        convolve_same(image, kernel + 0j)


def test_restoring_imports_no_scipy_signal():
    """Restoring with a given clean beam (the beam convolution) does not import scipy.signal
    (about 0.8 s of start-up): a fresh interpreter restores a model, then checks sys.modules."""
    code = (
        "import sys, numpy as np\n"
        "from astropy.coordinates import SkyCoord\n"
        "from uvflow.datamodels import create_image\n"
        "from uvflow.imaging.restore import restore_cube\n"
        "centre = SkyCoord(ra=15.0, dec=-45.0, unit='deg')\n"
        "model = create_image(64, 1e-5, centre, frequency=1e8, channel_bandwidth=1e6)\n"
        "model.data[0, 0, 32, 32] = 1.0\n"
        "beam = {'bmaj': 3e-3, 'bmin': 2e-3, 'bpa': 30.0}\n"
        "out = restore_cube(model, clean_beam=beam)\n"
        "print(round(float(out.data.max()), 6), 'scipy.signal' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1.0", "False"]  # the beam's peak is 1 on the component


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_image_convolver(dtype):
    """ImageConvolver = linear convolution evaluated on the image, for kernels larger and
    smaller than the image, off-centre, with scale blobs, complex images."""
    rng = np.random.default_rng(0)
    cases = [((40, 56), (31, 27), (15, 13)), ((64, 64), (128, 128), (64, 64)),
             ((50, 30), (7, 200), (3, 100)), ((33, 47), (301, 11), (150, 5))]  # fmt: skip
    for (ny, nx), (ky, kx), (cy, cx) in cases:
        image, kernel = rng.normal(size=(ny, nx)), rng.normal(size=(ky, kx))
        blobs = [np.ones((1, 1)), scale_kernel(3), scale_kernel(10)]
        conv = ImageConvolver((ny, nx), kernel, (cy, cx), blobs, dtype)
        for img in (image, image + 1j * rng.normal(size=(ny, nx))):
            kind = np.result_type(dtype, np.complex64) if np.iscomplexobj(img) else dtype
            out = np.zeros((3, ny, nx), kind)
            conv.subtract(img.astype(kind), out)
            for q, b in enumerate(blobs):
                h = b.shape[0] // 2  # kernel ⊛ blob (full) has the kernel's centre at + h
                ref = reference(img, fftconvolve(kernel, b), (cy + h, cx + h))
                assert np.abs(-out[q] - ref).max() < TOL[dtype] * np.abs(ref).max()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_image_convolver_several_bases(dtype):
    """Several bases sharing a centre (the moment PSFs of MS-MFS CLEAN): one forward
    transform per image, times any base's spectrum, subtracted through any extra kernel,
    gives ``image ⊛ bases[b] ⊛ extras[q]``; sums of such products (Σ_k image_k ⊛ B_{m+k})
    are one inverse transform."""
    rng = np.random.default_rng(4)
    ny, nx, (ky, kx), centre = 40, 52, (81, 105), (40, 52)
    bases = rng.normal(size=(3, ky, kx))
    blobs = [np.ones((1, 1)), scale_kernel(4)]
    conv = ImageConvolver((ny, nx), bases, centre, blobs, dtype)
    images = rng.normal(size=(2, ny, nx))
    spectra = [conv.forward(im.astype(dtype)) for im in images]
    for m in range(2):
        total = spectra[0] * conv.base_spectra[m] + spectra[1] * conv.base_spectra[m + 1]
        for q, blob in enumerate(blobs):
            out = np.zeros((ny, nx), dtype)
            conv.subtract_spectrum(total, out, q)
            h = blob.shape[0] // 2
            ref = sum(
                reference(
                    images[k], fftconvolve(bases[m + k], blob), (centre[0] + h, centre[1] + h)
                )
                for k in range(2)
            )
            assert np.abs(-out - ref).max() < TOL[dtype] * np.abs(ref).max()
