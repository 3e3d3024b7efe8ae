"""Radler (WSClean's deconvolution library) as the ``radler`` deconvolver plugin.

:class:`RadlerDeconvolver` follows :class:`~.deconvolver_plugins.Deconvolver`: every
(channel, polarisation) plane is deconvolved on its own by Radler's generic (Högbom) CLEAN
or its multi-scale CLEAN, with one ``Radler.perform`` call (one minor cycle: uvflow runs the
major cycles). Radler is optional (``pip install 'uvflow-imaging[radler]'``): this module
imports without it, and building the deconvolver without it raises
:class:`~uvflow.execution.errors.MissingExtraError` (an ``ImportError``).

Conventions converted (checked with off-centre point sources, even and odd sizes):

* Orientation: none to convert. Radler works on float32 ``[height, width]`` arrays in C
  order (x fastest), as numpy's ``[ny, nx]``, without flips, and takes the PSF peak at
  (height / 2, width / 2) = (ny // 2, nx // 2), as uvflow does.
* PSF size: Radler needs the PSF and the image on one grid. When the PSF is larger than
  the image (uvflow makes it twice the size), Radler works on the image zero-padded to
  the PSF's size, with a mask keeping the components inside the image (``pad_to_psf``):
  each component's sidelobes are then subtracted across the whole image, as the built-ins
  do; a smaller PSF (``psf_support``) is zero-padded to the grid. The grid is made even
  (Radler's Högbom subtraction leaves out the last row and column of an odd-sized PSF).
  ``pad_to_psf=False`` cuts the PSF to the image instead (WSClean's way).
* PSF peak: the PSF is divided by its peak and the model by the same number, so the
  components are Jy/pixel whatever the PSF's normalisation.
* Residual: not Radler's (float32, and with Radler's cut or circular convolutions) but
  ``dirty - model ⊛ psf`` computed afresh in float64 by linear convolution with the PSF
  as given, as the protocol defines it.
* Window: Radler's Python API takes a mask only as a FITS file (written to a temporary
  directory); pixels of weight > 0 may hold components. Radler's masks are binary:
  fractional weights act as 1 (a warning is logged).
* Stopping: ``gain`` is Radler's minor-loop gain; ``fractional_threshold`` gives its
  major-loop gain ``1 - fractional_threshold`` (stop when the peak falls to that fraction
  of the starting peak, as ``uvflow image --mgain``); ``threshold`` its absolute
  threshold; ``niter`` its minor-iteration count, per plane. Multi-scale Radler compares
  these with the scale-smoothed, scale-biased peak (its rule, not msclean's).
"""

from __future__ import annotations

import importlib
import logging
import os
import tempfile

import numpy as np

from uvflow.execution.errors import MissingExtraError

from .clean_algorithms import _live, _results
from .clean_parameters import check_clean_parameters
from .clean_window import window_plane
from .convolution import convolve_same, overlap_slices
from .errors import DeconvolutionError
from .psf_support import check_psf_centre
from .scales import check_scales

__all__ = ["RadlerDeconvolver", "import_radler", "psf_to_image_size"]

log = logging.getLogger(__name__)

_METHODS = ("hogbom", "multiscale")
_SHAPES = ("tapered_quadratic", "gaussian")
_INSTALL = "pip install 'uvflow-imaging[radler]'"
# Radler.perform(n) deepens the major-loop gain in major iterations n <= 2 (its "initial
# iteration boost", 1 - (1 - mgain)^1.2 in Radler 1.2, not settable from Python); a later
# iteration number keeps mgain = 1 - fractional_threshold exactly as given
_MAJOR_ITERATION = 3


def import_radler():
    """The ``radler`` module, or a MissingExtraError (ImportError) saying how to install it."""
    try:
        return importlib.import_module("radler")
    except ImportError as exc:
        raise MissingExtraError(
            f"the 'radler' deconvolver needs Radler (WSClean's deconvolution library), "
            f"which is not installed: {_INSTALL}"
        ) from exc


def psf_to_image_size(psf: np.ndarray, ny: int, nx: int) -> np.ndarray:
    """A PSF plane cut or zero-padded about its centre to the image size.

    Parameters
    ----------
    psf : numpy.ndarray of float, shape [py, px]
        Peak at (py // 2, px // 2).
    ny, nx : int
        Image size.

    Returns
    -------
    numpy.ndarray of float64, shape [ny, nx]
        The PSF with its centre pixel at (ny // 2, nx // 2).
    """
    out = np.zeros((ny, nx))
    (oy, ox), (ky, kx) = overlap_slices(
        ny // 2, nx // 2, (ny, nx), psf.shape, (psf.shape[0] // 2, psf.shape[1] // 2)
    )
    out[oy, ox] = psf[ky, kx]
    return out


class RadlerDeconvolver:
    """Radler's Högbom or multi-scale CLEAN of every (channel, polarisation) plane.

    Parameters
    ----------
    method : {'hogbom', 'multiscale'} or None
        Radler's ``AlgorithmType.generic_clean`` (Högbom) or ``AlgorithmType.multiscale``;
        None: 'multiscale' when ``scales`` are given, else 'hogbom' (so ``uvflow image
        --deconvolver radler --multiscale`` runs Radler's multi-scale CLEAN). Named
        ``method`` because ``algorithm`` names the deconvolver itself.
    scales : sequence of float or None
        Multi-scale widths in pixels (0 = points), Radler's ``multiscale.scale_list`` (the
        same tapered-quadratic width as msclean's). None: Radler's automatic rule, applied
        to the image (not to a padded grid): 0, then 4 × ``beam_size``, doubling while
        below half the image.
    max_scales : int
        At most this many automatic scales (Radler's ``multiscale.max_scales``; 0: no limit).
    scale_bias : float
        ``multiscale.scale_bias`` (WSClean's ``-multiscale-scale-bias``, > 0; Radler's
        meaning, not msclean's: scale s is weighted by ``scale_bias ** -log2(s / (2 ×
        beam_size))``).
    scale_shape : {'tapered_quadratic', 'gaussian'}
        ``multiscale.shape``.
    subminor_gain : float
        ``multiscale.sub_minor_loop_gain`` (WSClean's ``-multiscale-gain``).
    subminor_optimization : bool
        ``use_sub_minor_optimization``: Radler's fast sub-minor loops (False: plain Högbom
        iterations over the whole image, for the generic algorithm).
    allow_negative : bool
        ``allow_negative_components``.
    beam_size : float or None
        Width of the PSF main lobe in pixels, Radler's ``beam_size`` (which sets the
        automatic scales and the scale bias). None: the geometric mean of the FWHMs of a
        Gaussian fitted to each plane's PSF (:func:`uvflow.imaging.restore.fit_psf`);
        only multi-scale uses it.
    pad_to_psf : bool
        Radler needs the PSF of its image's size. True: when the PSF is larger than the
        image (as uvflow makes it: twice), Radler works on the image zero-padded to the
        PSF's size with a mask keeping components in the image, so each component's
        sidelobes are subtracted across the image as the built-ins do (costs the padded
        area). False: the PSF is cut to the image size (WSClean's way; sidelobes beyond
        half the image from a component are not subtracted by the minor cycle).
    threads : int
        Radler's ``thread_count`` (and ``parallel.max_threads``); 1 suits Dask workers.

    Raises
    ------
    MissingExtraError (ImportError)
        Radler is not installed (the message says ``pip install 'uvflow-imaging[radler]'``).
    DeconvolutionError (ValueError)
        An option out of range.
    """

    name = "radler"
    channels_independent = True

    def __init__(
        self, method: str | None = None, scales=None, max_scales: int = 0,
        scale_bias: float = 0.6, scale_shape: str = "tapered_quadratic",
        subminor_gain: float = 0.2, subminor_optimization: bool = True,
        allow_negative: bool = True, beam_size: float | None = None, pad_to_psf: bool = True,
        threads: int = 1,
    ):  # fmt: skip
        import_radler()  # fails here, with the install hint, when Radler is missing
        if method is None:
            method = "hogbom" if scales is None else "multiscale"
        if method not in _METHODS:
            raise DeconvolutionError(
                f"radler method {method!r} unknown; use one of {', '.join(_METHODS)}"
            )
        if method == "hogbom" and scales is not None:
            raise DeconvolutionError("radler: scales are for method='multiscale', not 'hogbom'")
        if scale_shape not in _SHAPES:
            raise DeconvolutionError(
                f"radler scale_shape {scale_shape!r} unknown; use one of {', '.join(_SHAPES)}"
            )
        if isinstance(max_scales, bool) or not isinstance(max_scales, (int, np.integer)):
            raise DeconvolutionError(f"max_scales must be an integer >= 0, got {max_scales!r}")
        if max_scales < 0:
            raise DeconvolutionError(f"max_scales must be >= 0, got {max_scales}")
        if not (np.isfinite(scale_bias) and scale_bias > 0.0):
            raise DeconvolutionError(f"radler scale_bias must be > 0, got {scale_bias}")
        if not (np.isfinite(subminor_gain) and 0.0 < subminor_gain < 1.0):
            raise DeconvolutionError(f"subminor_gain must be in (0, 1), got {subminor_gain}")
        if beam_size is not None and not (np.isfinite(beam_size) and beam_size > 0):
            raise DeconvolutionError(f"beam_size must be > 0 pixels or None, got {beam_size}")
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
            raise DeconvolutionError(f"threads must be an integer >= 1, got {threads!r}")
        self.method = method
        self.scales = None if scales is None else check_scales(scales)
        self.max_scales, self.scale_bias = int(max_scales), float(scale_bias)
        self.scale_shape, self.subminor_gain = scale_shape, float(subminor_gain)
        self.subminor_optimization = bool(subminor_optimization)
        self.allow_negative = bool(allow_negative)
        self.beam_size = None if beam_size is None else float(beam_size)
        self.pad_to_psf = bool(pad_to_psf)
        self.threads = int(threads)

    def deconvolve(
        self, dirty, psf, *, window=None, niter=100, gain=0.1, threshold=0.0,
        fractional_threshold=0.1,
    ):  # fmt: skip
        """(model, residual) Images; see :class:`~.deconvolver_plugins.Deconvolver`."""
        check_clean_parameters(niter, gain, threshold, fractional_threshold)
        if window is not None and np.any((window > 0) & (window < 1)):
            log.warning("radler: Radler's masks are binary: window weights in (0, 1) act as 1")
        model = np.zeros(dirty.shape)
        residual = np.array(dirty.data, dtype=np.float64)
        total = 0
        for c in range(dirty.nchan):
            for p in range(dirty.npol):
                if not _live(psf.data[c, p]):
                    log.warning("radler: channel %d pol %d has an all-zero PSF: skipped", c, p)
                    continue
                beam = self.beam_size or 1.0  # only multi-scale uses it
                if self.beam_size is None and self.method == "multiscale":
                    beam = self._fit_beam(psf, c, p)
                m, r, n = self._clean(
                    residual[c, p], psf.data[c, p], window_plane(window, c, p), gain,
                    threshold, niter, fractional_threshold, beam,
                )  # fmt: skip
                model[c, p], residual[c, p] = m, r
                total += n
        return _results(dirty, model, residual, total)

    @staticmethod
    def _fit_beam(psf, c: int, p: int) -> float:
        """FWHM in pixels (geometric mean of the axes) of a Gaussian fitted to a PSF plane."""
        from ..restore import fit_psf

        b = fit_psf(psf, channel=c, pol=p)
        return float(np.sqrt(b["bmaj"] * b["bmin"])) / abs(float(psf.wcs.wcs.cdelt[1]))

    def _scales(self, ny: int, nx: int, beam: float) -> list[float]:
        """The scale list: the given scales, or Radler's automatic rule on the image."""
        if self.scales is not None:
            return list(self.scales)
        out, scale = [0.0], 4.0 * beam  # Radler: 0, then 2 × 2 × beam, doubling
        while scale < 0.5 * min(ny, nx) and (self.max_scales == 0 or len(out) < self.max_scales):
            out.append(scale)
            scale *= 2.0
        return out

    def _settings(self, ny, nx, scales, niter, gain, threshold, fractional_threshold, mask_file):
        """radler.Settings of one plane on a [ny, nx] grid."""
        rd = import_radler()
        s = rd.Settings()
        s.trimmed_image_width, s.trimmed_image_height = nx, ny
        s.pixel_scale.x = s.pixel_scale.y = 1.0  # beam_size is given in pixels
        s.minor_iteration_count = int(niter)
        s.minor_loop_gain = float(gain)
        s.major_loop_gain = 1.0 - float(fractional_threshold)
        s.absolute_threshold = float(threshold)
        s.allow_negative_components = self.allow_negative
        s.use_sub_minor_optimization = self.subminor_optimization
        s.thread_count = self.threads
        s.parallel.max_threads = self.threads
        if mask_file is not None:
            s.fits_mask = mask_file
        if self.method == "hogbom":
            s.algorithm_type = rd.AlgorithmType.generic_clean
        else:
            s.algorithm_type = rd.AlgorithmType.multiscale
            ms = s.multiscale
            ms.scale_list = scales
            ms.scale_bias = self.scale_bias
            ms.shape = getattr(rd.MultiscaleShape, self.scale_shape)
            ms.sub_minor_loop_gain = self.subminor_gain
        return s

    def _clean(self, dirty, psf, window, gain, threshold, niter, frac, beam):
        """One plane: (model Jy/pixel [ny, nx], residual [ny, nx], components), float64."""
        ny, nx = dirty.shape
        dirty = np.asarray(dirty, dtype=np.float64)
        inner = np.ones((ny, nx), dtype=bool) if window is None else np.asarray(window) > 0
        if niter == 0 or not inner.any():
            return np.zeros((ny, nx)), dirty.copy(), 0
        pmax = check_psf_centre(psf)
        # Radler's working grid: the image, zero-padded to the PSF's size when that is
        # larger (pad_to_psf) so that the PSF Radler gets is not cut, and to even sizes
        # (Radler's Högbom subtraction leaves out the last row and column of an odd PSF);
        # the mask keeps the components in the image (and in the window)
        wy, wx = (max(ny, psf.shape[0]), max(nx, psf.shape[1])) if self.pad_to_psf else (ny, nx)
        wy, wx = wy + wy % 2, wx + wx % 2
        oy, ox = wy // 2 - ny // 2, wx // 2 - nx // 2
        inside = (slice(oy, oy + ny), slice(ox, ox + nx))
        rpsf = np.ascontiguousarray(psf_to_image_size(psf, wy, wx) / pmax, dtype=np.float32)
        rres = np.zeros((wy, wx), dtype=np.float32)
        rres[inside] = dirty
        rmodel = np.zeros((wy, wx), dtype=np.float32)
        mask = np.zeros((wy, wx), dtype=bool)
        mask[inside] = inner
        with tempfile.TemporaryDirectory(prefix="uvflow-radler-") as tmp:
            mask_file = None
            if not mask.all():
                from astropy.io import fits

                mask_file = os.path.join(tmp, "mask.fits")
                fits.PrimaryHDU(mask.astype(np.float32)).writeto(mask_file)
            scales = self._scales(ny, nx, beam) if self.method == "multiscale" else None
            settings = self._settings(wy, wx, scales, niter, gain, threshold, frac, mask_file)
            engine = import_radler().Radler(settings, rpsf, rres, rmodel, float(beam))
            engine.perform(_MAJOR_ITERATION)
            done = int(engine.iteration_number)
            del engine
        # a multi-scale blob centred near the edge may reach past it: that part is dropped
        model = rmodel[inside].astype(np.float64) / pmax
        residual = dirty - convolve_same(model, np.asarray(psf, dtype=np.float64))
        log.debug(
            "radler: %s, %d components on a %d x %d grid; Radler's own residual differs "
            "from dirty - model ⊛ psf by %.3g (of the dirty peak %.3g)",
            self.method, done, wy, wx, float(np.abs(rres[inside] - residual).max()),
            float(np.abs(dirty).max()),
        )  # fmt: skip
        return model, residual, done
