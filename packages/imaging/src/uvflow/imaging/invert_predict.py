"""invert (visibilities → dirty image / PSF) and predict (model image → visibilities).

Both resolve ``context`` through the ``uvflow.gridders`` entry points
(:mod:`uvflow.imaging.gridder_plugins`); the built-in contexts run ducc0's wgridder:

======== ============================================================================
context  gridder
======== ============================================================================
'2d'     ducc0 without w-correction (exact for w = 0 or fields where w(n-1) ≪ 1)
'ng'     ducc0 with w-correction (w-stacking), accurate to epsilon for any field
'wstack' the same as 'ng' (the name RASCIL users know)
======== ============================================================================

Conventions (DESIGN §3): ``V = Σ S exp(+2πi (u l + v m + w (n - 1)))``; the dirty image is
the adjoint, normalised by the sum of weights per channel and polarisation, without
division by ``n``; pixel (N/2, N/2) is the image's reference pixel, RA increases to the left.
Weights: the gridding weight is ``vis.weight`` with flagged samples set to 0. Imaging
weights (uniform, robust, tapers) are applied beforehand by :mod:`uvflow.imaging.weighting`,
which returns a Visibility whose ``weight`` holds them (RASCIL's way).
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import Image, Visibility

from .gridder_plugins import Gridder, get_gridder

__all__ = ["invert", "predict"]


def _resolve(context, small_inversion: bool | None, gridder_options: dict | None) -> Gridder:
    if not isinstance(context, str):
        if isinstance(context, Gridder):
            if small_inversion is not None or gridder_options:
                raise TypeError(
                    "small_inversion and gridder_options configure a gridder by name; "
                    "a Gridder object passed as context is used as it is"
                )
            return context
        raise TypeError(
            f"context must be a gridder name or a Gridder, got {type(context).__name__}"
        )
    options = dict(gridder_options or {})
    if small_inversion is not None:
        options["small_inversion"] = small_inversion
    return get_gridder(context, **options)


def invert(
    vis: Visibility,
    model_image: Image,
    context: str | Gridder = "ng",
    dopsf: bool = False,
    normalise: bool = True,
    epsilon: float = 1e-5,
    nthreads: int = 1,
    small_inversion: bool | None = None,
    gridder_options: dict | None = None,
) -> tuple[Image, np.ndarray]:
    """Make the dirty image (or the PSF) of ``vis`` on the grid of ``model_image``.

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]`` complex64 or complex128; ``weight``,
        ``flags`` of the same shape. complex64 data are gridded in single precision.
    model_image : Image
        Template: its WCS, channels and polarisation frame define the result (its data
        are not used). Its pixels are where its WCS says (unrotated SIN): an image
        centred off the phase centre is made exactly, by a grid shift when CRVAL is the
        phase centre, else by phase-rotating the data (:mod:`uvflow.imaging.pixel_geometry`). One channel → multi-frequency synthesis of every visibility
        channel; several → each visibility channel goes to the image channel whose band
        contains it. A Stokes frame (or linearnp, circularnp): products are formed from
        the data's (Stokes I from linear feeds is (XX+YY)/2, weighted per DESIGN §3).
    context : str or Gridder
        A gridder name from ``uvflow.gridders`` ('2d', 'ng', 'wstack', or a plugin's), or
        a Gridder object.
    dopsf : bool
        The point spread function: the dirty image of a unit point source at the image's
        centre pixel (ny//2, nx//2), with the same weights; for an image centred on the
        phase centre that is gridding ones.
    normalise : bool
        Divide each plane by its sum of weights (the dirty image in Jy/beam). False gives
        the adjoint of :func:`predict` with the weights applied:
        ``<predict(x), W v> = <x, invert(v, normalise=False)>`` (W the gridding weights)
        whenever the correlations combined into one image product share a weight — Stokes
        data with any weights, linear or circular data with one weight per sample (e.g.
        unit weights). Not otherwise, by design: a combined product such as Stokes I =
        (XX+YY)/2 is gridded with the weight of the combination, 1/w_I = 1/(4 w_XX) +
        1/(4 w_YY) (DESIGN §3), the minimum-variance estimate, which is not the weighted
        transpose ``w_XX XX + w_YY YY`` of predict's conversion.
    epsilon : float
        Requested accuracy, relative to the direct Fourier transform (≥ 1e-5 for
        complex64 data, ≥ 2e-13 for complex128; a PrecisionError otherwise).
    nthreads : int
        Threads for ducc0 and the FFTs.
    small_inversion : bool, optional
        For the ducc0 gridders (default on): grid a coarser image and interpolate where
        that is cheaper; accurate to epsilon (:mod:`uvflow.imaging.small_inversion`).
        None leaves the gridder's default.
    gridder_options : dict, optional
        Further keyword options for a plugin gridder's factory.

    Returns
    -------
    image : Image
        ``data[nchan, npol, ny, nx]``, float32 for complex64 data else float64, BUNIT JY/BEAM.
    sumwt : numpy.ndarray of float64, shape [nchan, npol]
        Sum of the gridding weights of each plane. All data flagged gives a zero image and
        zero sumwt (with a logged warning), so that sums over frequency windows still work.

    Raises
    ------
    UnknownGridderError
        ``context`` is not installed (the message lists those that are).
    FrequencyMismatchError, PhaseCentreMismatchError, PrecisionError, ImagingError
        The image and the data do not fit together: a visibility channel in no image
        channel, an image behind the phase centre's horizon, epsilon finer than the data's
        precision, an odd or < 32 image size, a rotated or non-SIN WCS.
    PolarisationError
        The image's products cannot be formed from the data's.
    """
    gridder = _resolve(context, small_inversion, gridder_options)
    return gridder.invert(
        vis, model_image, dopsf=dopsf, normalise=normalise, epsilon=epsilon, nthreads=nthreads
    )


def predict(
    vis: Visibility,
    model_image: Image,
    context: str | Gridder = "ng",
    epsilon: float = 1e-5,
    nthreads: int = 1,
    small_inversion: bool | None = None,
    gridder_options: dict | None = None,
) -> Visibility:
    """Predict the visibilities of a model image.

    Parameters
    ----------
    vis : Visibility
        Gives uvw, frequencies, polarisation frame and dtype; its ``vis`` are not used.
    model_image : Image
        ``data[nchan, npol, ny, nx]`` real, Jy/pixel. One channel predicts every
        visibility channel; several: each visibility channel from the image channel whose
        band contains it. Stokes parameters the image lacks are zero (a Stokes I model
        predicts XX = YY = I, XY = YX = 0).
    context, epsilon, nthreads, small_inversion, gridder_options
        As for :func:`invert`.

    Returns
    -------
    Visibility
        A new Visibility (``vis``'s dtype and polarisation frame) whose ``vis`` is the
        model's prediction at every sample, flagged or not; weights and flags are shared.

    Notes
    -----
    The transpose of ``invert(..., normalise=False)`` with unit weights, for every context,
    frame and image geometry; with other weights see ``normalise`` in :func:`invert`
    (combined polarisation products are weighted as estimates, DESIGN §3).
    """
    gridder = _resolve(context, small_inversion, gridder_options)
    return gridder.predict(vis, model_image, epsilon=epsilon, nthreads=nthreads)
