"""Conformance checks for gridders (for plugin authors and for the built-ins' tests).

``check_gridder(g)`` runs a gridder on small synthetic data and raises AssertionError,
with the numbers, unless it

1. follows the :class:`~uvflow.imaging.gridder_plugins.Gridder` protocol;
2. is adjoint: ``Re<predict(x), v> = <x, invert(v, normalise=False)>`` for unit weights, to
   ``adjoint_rtol`` relative to ``||x|| ||invert(v)||`` (exact adjoint pairs such as
   ducc0's reach rounding error);
3. agrees with the direct Fourier transform (:mod:`uvflow.imaging.dft`) in invert (point
   sources far off-centre, two channels) and predict (a sparse model image), to
   ``dft_factor × epsilon`` in ``||a - b|| / ||b||`` — on data with large w when the
   gridder corrects the w-term (``corrects_w``, default True), else on w = 0 data;
4. puts a source on the pixel its RA/Dec gives through the image WCS (not the mirrored one);
5. gives a PSF with peak 1 (to ``dft_factor × epsilon``) at the image centre;
6. images Stokes I, Q, U, V from linear-feed data like the direct transform.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import SkyComponent, create_image
from uvflow.datamodels.testing import random_configuration, simple_visibility

from .dft import invert_dft, predict_dft
from .gridder_plugins import Gridder

__all__ = ["check_gridder", "wide_field_visibility"]


def wide_field_visibility(zerow: bool = False, polarisation_frame: str = "stokesI", seed: int = 0):
    """Small data with w-terms that matter over a 64 × 64 image: (Visibility, Image template).

    12 antennas within 800 m, 4 times over 6 hours, 2 channels at 100 and 110 MHz;
    the image has 3.3-degree field of view (0.052-degree pixels, about Nyquist).
    """
    config = random_configuration(nant=12, radius=800.0, seed=seed)
    vis = simple_visibility(
        config, ntime=4, frequency=[1.0e8, 1.1e8], channel_bandwidth=1.0e7,
        polarisation_frame=polarisation_frame, hour_angle_span=np.pi / 2, zerow=zerow,
    )  # fmt: skip
    cell = np.deg2rad(3.3 / 64)
    image = create_image(
        64, cell, vis.phasecentre, frequency=[1.0e8, 1.1e8], channel_bandwidth=1.0e7
    )
    return vis, image


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def check_gridder(
    gridder: Gridder,
    epsilon: float = 1e-6,
    adjoint_rtol: float = 1e-10,
    dft_factor: float = 10.0,
    seed: int = 0,
) -> dict:
    """Check a gridder; returns the measured errors, raises AssertionError on failure.

    Parameters
    ----------
    gridder : Gridder
    epsilon : float
        Accuracy asked of the gridder (complex128 data).
    adjoint_rtol : float
        Allowed relative adjointness error.
    dft_factor : float
        Allowed DFT disagreement in units of epsilon (ducc0 stays below ~1 epsilon; 10
        leaves room for other algorithms' constant factors).
    seed : int

    Returns
    -------
    dict
        ``adjoint``, ``invert_dft``, ``predict_dft``, ``psf_peak``, ``stokes_dft``.
    """
    assert isinstance(gridder, Gridder), (
        f"{gridder!r} lacks the Gridder protocol (a name, invert and predict)"
    )
    rng = np.random.default_rng(seed)
    wide = getattr(gridder, "corrects_w", True)
    tol = dft_factor * epsilon
    name = getattr(gridder, "name", type(gridder).__name__)
    vis, image = wide_field_visibility(zerow=not wide, seed=seed)
    out = {}

    # 2. adjointness, unit weights
    x = image.copy()
    x.data[...] = rng.normal(size=x.data.shape)
    v = vis.replace(vis=rng.normal(size=vis.vis.shape) + 1j * rng.normal(size=vis.vis.shape))
    lhs = float(np.vdot(gridder.predict(vis, x, epsilon=epsilon).vis, v.vis).real)
    dirty, _ = gridder.invert(v, image, normalise=False, epsilon=epsilon)
    rhs = float(np.sum(x.data * dirty.data))
    # rounding is relative to the terms summed: scale by the Cauchy-Schwarz bound
    out["adjoint"] = abs(lhs - rhs) / (np.linalg.norm(x.data) * np.linalg.norm(dirty.data))
    assert out["adjoint"] <= adjoint_rtol, (
        f"{name}: <predict(x), v> = {lhs!r} but <x, invert(v)> = {rhs!r}: relative "
        f"{out['adjoint']:.3g} > {adjoint_rtol:g}"
    )

    # 3, 4. point sources far off-centre → invert vs DFT, and where they land
    pixels = [(9, 50), (52, 13), (32, 32)]
    comps = [
        SkyComponent(direction=image.pixel_to_sky(px, py), frequency=[1.05e8], flux=[[1.0 + i]])
        for i, (px, py) in enumerate(pixels)
    ]
    data = predict_dft(vis, comps)
    dirty, sumwt = gridder.invert(data, image, epsilon=epsilon)
    ref, ref_sumwt = invert_dft(data, image)
    out["invert_dft"] = _rel(dirty.data, ref.data)
    assert np.allclose(sumwt, ref_sumwt, rtol=1e-12), f"{name}: sumwt {sumwt} != {ref_sumwt}"
    assert out["invert_dft"] <= tol, (
        f"{name}: invert differs from the DFT by {out['invert_dft']:.3g} > {tol:.3g}"
    )
    single, _ = gridder.invert(predict_dft(vis, comps[0]), image, epsilon=epsilon)
    peak = np.unravel_index(np.argmax(single.data[0, 0]), single.data.shape[2:])
    x0, y0 = (float(c) for c in image.sky_to_pixel(comps[0].direction))
    assert peak == (round(y0), round(x0)), (
        f"{name}: source at RA/Dec pixel (y, x) = ({y0:.2f}, {x0:.2f}) peaks at {peak} "
        f"(mirrored would be ({64 - round(y0)}, {64 - round(x0)}))"
    )

    # 3. predict vs DFT: a sparse model image
    model = image.copy()
    idx = rng.integers(4, 60, size=(2, 20))
    model.data[:, 0, idx[0], idx[1]] = rng.uniform(0.5, 2.0, size=(2, 20))
    pred = gridder.predict(vis, model, epsilon=epsilon).vis
    out["predict_dft"] = _rel(pred, predict_dft(vis, model).vis)
    assert out["predict_dft"] <= tol, (
        f"{name}: predict differs from the DFT by {out['predict_dft']:.3g} > {tol:.3g}"
    )

    # 5. PSF
    psf, _ = gridder.invert(vis, image, dopsf=True, epsilon=epsilon)
    out["psf_peak"] = float(np.max(np.abs(psf.data[:, 0, 32, 32] - 1.0)))
    assert out["psf_peak"] <= tol, f"{name}: PSF peak differs from 1 by {out['psf_peak']:.3g}"
    assert np.all(np.argmax(psf.data.reshape(2, -1), axis=1) == 32 * 64 + 32), (
        f"{name}: PSF peak is not at the image centre"
    )

    # 6. Stokes IQUV from linear feeds
    lin, _ = wide_field_visibility(zerow=not wide, polarisation_frame="linear", seed=seed)
    pol = SkyComponent(
        direction=image.pixel_to_sky(20, 40), frequency=[1.05e8],
        flux=[[1.0, 0.3, -0.2, 0.1]], polarisation_frame="stokesIQUV",
    )  # fmt: skip
    lin = predict_dft(lin, pol)
    iquv = create_image(
        64, image.cellsize, vis.phasecentre, frequency=[1.0e8, 1.1e8],
        channel_bandwidth=1.0e7, polarisation_frame="stokesIQUV",
    )  # fmt: skip
    got, _ = gridder.invert(lin, iquv, epsilon=epsilon)
    ref, _ = invert_dft(lin, iquv)
    out["stokes_dft"] = _rel(got.data, ref.data)
    assert out["stokes_dft"] <= tol, (
        f"{name}: IQUV from linear data differs from the DFT by {out['stokes_dft']:.3g} > {tol:.3g}"
    )
    return out
