"""The built-in deconvolvers (registered in the ``uvflow.deconvolvers`` entry-point group).

Each follows :class:`~.deconvolvers.Deconvolver`: 'hogbom' and 'msclean' clean every
(channel, polarisation) plane independently; 'hogbom-complex' cleans I and V with Högbom
and the linear polarisation P = Q + iU as one complex plane; 'mmclean' fits Taylor terms
across the channels of each polarisation. float32 images are cleaned in single precision
(complex64 for P), everything else in double.
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.datamodels import Image

from .clean_parameters import check_clean_parameters
from .clean_window import window_plane
from .convolution import convolve_same
from .errors import DeconvolutionError
from .hogbom import hogbom
from .mmclean import (
    FINDPEAK,
    evaluate_moments,
    mmclean,
    moment_residuals,
    taylor_offsets,
)
from .msclean import msclean
from .scales import check_scales, scale_bias_factors

__all__ = [
    "HogbomDeconvolver",
    "HogbomComplexDeconvolver",
    "MultiscaleDeconvolver",
    "MSMFSDeconvolver",
]

log = logging.getLogger(__name__)


def _float_dtype(dirty: Image):
    return dirty.data.dtype if dirty.data.dtype.kind == "f" else np.float64


def _work_dtype(dirty: Image):
    """float32 for float32 images (cleaned in single precision), else float64."""
    return np.float32 if dirty.data.dtype == np.float32 else np.float64


def _results(dirty: Image, model: np.ndarray, residual: np.ndarray, niter: int, **meta):
    """(model, residual) Images on the dirty image's grid."""
    dtype = _float_dtype(dirty)
    beam = None if dirty.clean_beam is None else dict(dirty.clean_beam)
    common = dict(polarisation_frame=dirty.polarisation_frame, clean_beam=beam)
    m = Image(
        data=model.astype(dtype, copy=False), wcs=dirty.wcs.deepcopy(),
        meta={**dirty.meta, "BUNIT": "JY/PIXEL", "NITER": int(niter), **meta}, **common,
    )  # fmt: skip
    r = Image(
        data=residual.astype(dtype, copy=False), wcs=dirty.wcs.deepcopy(),
        meta={**dirty.meta, "BUNIT": "JY/BEAM", **meta}, **common,
    )  # fmt: skip
    return m, r


def _live(psf_plane: np.ndarray) -> bool:
    """False for an all-zero PSF plane (a fully flagged channel): nothing to deconvolve."""
    return bool(np.any(psf_plane))


class _PlaneByPlane:
    """Deconvolve every (channel, polarisation) plane on its own with ``self._clean``."""

    name = "base"
    channels_independent = True

    def deconvolve(
        self, dirty, psf, *, window=None, niter=100, gain=0.1, threshold=0.0,
        fractional_threshold=0.1,
    ):  # fmt: skip
        check_clean_parameters(niter, gain, threshold, fractional_threshold)
        model = np.zeros(dirty.shape, _work_dtype(dirty))
        residual = np.array(dirty.data, dtype=_work_dtype(dirty))
        total = 0
        for c in range(dirty.nchan):
            for p in range(dirty.npol):
                if not _live(psf.data[c, p]):
                    log.warning(
                        "%s: channel %d pol %d has an all-zero PSF: skipped", self.name, c, p
                    )
                    continue
                m, r, n = self._clean(
                    residual[c, p], psf.data[c, p], window_plane(window, c, p),
                    gain, threshold, niter, fractional_threshold,
                )  # fmt: skip
                model[c, p], residual[c, p] = m, r
                total += n
        return _results(dirty, model, residual, total)


class HogbomDeconvolver(_PlaneByPlane):
    """Högbom CLEAN of every plane (:func:`~.hogbom.hogbom`). No options."""

    name = "hogbom"

    def _clean(self, dirty, psf, window, gain, threshold, niter, frac):
        return hogbom(dirty, psf, window, gain, threshold, niter, frac)


class MultiscaleDeconvolver(_PlaneByPlane):
    """Multi-scale CLEAN of every plane (:func:`~.msclean.msclean`).

    Parameters
    ----------
    scales : sequence of float
        Scale widths in pixels (0 = points).
    scale_bias : float
        In [0, 1): preference for small scales.
    """

    name = "msclean"

    def __init__(self, scales=(0, 3, 10, 30), scale_bias: float = 0.6):
        self.scales = check_scales(scales)
        self.scale_bias = float(scale_bias)
        scale_bias_factors(self.scales, self.scale_bias)  # validates

    def _clean(self, dirty, psf, window, gain, threshold, niter, frac):
        return msclean(
            dirty, psf, window, gain, threshold, niter, self.scales, frac, self.scale_bias
        )


class HogbomComplexDeconvolver:
    """Högbom CLEAN of I and V, and complex Högbom of P = Q + iU (stokesIQUV images only).

    The peak search on P uses ``|P|`` and components are complex (Pratley & Johnston-Hollitt
    2016); the Q and U PSFs must be equal.
    """

    name = "hogbom-complex"
    channels_independent = True  # couples polarisations (Q and U), never channels

    def deconvolve(
        self, dirty, psf, *, window=None, niter=100, gain=0.1, threshold=0.0,
        fractional_threshold=0.1,
    ):  # fmt: skip
        check_clean_parameters(niter, gain, threshold, fractional_threshold)
        if dirty.polarisation_frame.name != "stokesIQUV":
            raise DeconvolutionError(
                f"hogbom-complex needs a stokesIQUV image (Q and U); got "
                f"{dirty.polarisation_frame.name}: use 'hogbom' for other frames"
            )
        model = np.zeros(dirty.shape, _work_dtype(dirty))
        residual = np.array(dirty.data, dtype=_work_dtype(dirty))  # P = Q + iU: complex64 then
        total = 0
        for c in range(dirty.nchan):
            for p in (0, 3):  # I, V
                if _live(psf.data[c, p]):
                    m, r, n = hogbom(
                        residual[c, p], psf.data[c, p], window_plane(window, c, p),
                        gain, threshold, niter, fractional_threshold,
                    )  # fmt: skip
                    model[c, p], residual[c, p] = m, r
                    total += n
            pq, pu = psf.data[c, 1], psf.data[c, 2]
            if not _live(pq):
                continue
            if not np.allclose(pq, pu, rtol=1e-6, atol=1e-6 * float(np.abs(pq).max())):
                raise DeconvolutionError(
                    f"hogbom-complex needs equal Q and U PSFs; they differ in channel {c}"
                )
            pwin = window_plane(window, c, 1)
            m, r, n = hogbom(
                residual[c, 1] + 1j * residual[c, 2], pq, pwin, gain, threshold, niter,
                fractional_threshold,
            )  # fmt: skip
            model[c, 1], model[c, 2] = m.real, m.imag
            residual[c, 1], residual[c, 2] = r.real, r.imag
            total += n
        return _results(dirty, model, residual, total)


class MSMFSDeconvolver:
    """Multi-scale multi-frequency CLEAN across the channels of each polarisation.

    Channels whose PSF is all zero (flagged) are left out of the moments. A window with
    several channels is taken from its first channel (one model serves all channels).

    Parameters
    ----------
    scales : sequence of float
        Scale widths in pixels.
    nmoment : int
        Taylor terms (<= number of channels).
    findpeak : 'RASCIL', 'Algorithm1' or 'CASA'
    scale_bias : float
    reference_frequency : float, optional
        ν0 in Hz of the Taylor expansion; default the mean channel frequency.
    return_moments : bool
        False: model and residual are spectral cubes on the dirty image's grid (the
        model's Taylor polynomial evaluated per channel, the residual
        ``dirty_c - psf_c ⊛ model_c``). True: Images of ``nmoment`` planes along the
        frequency axis holding the Taylor coefficients and the moment residuals
        ``D_k - Σ_q B_{k+q} ⊛ a_q``; their meta has ``MOMENTS`` = nmoment and ``REFFREQ`` = ν0,
        and the FREQ axis has CRVAL4 = ν0 and CDELT4 = the band's span.
    """

    name = "mmclean"

    def __init__(
        self, scales=(0, 3, 10, 30), nmoment: int = 3, findpeak: str = "RASCIL",
        scale_bias: float = 0.6, reference_frequency: float | None = None,
        return_moments: bool = False,
    ):  # fmt: skip
        self.scales = check_scales(scales)
        if findpeak not in FINDPEAK:
            raise DeconvolutionError(
                f"findpeak {findpeak!r} unknown; use one of {', '.join(FINDPEAK)}"
            )
        if isinstance(nmoment, bool) or not isinstance(nmoment, (int, np.integer)) or nmoment < 1:
            raise DeconvolutionError(f"nmoment must be an integer >= 1, got {nmoment!r}")
        scale_bias_factors(self.scales, scale_bias)
        self.nmoment, self.findpeak = int(nmoment), findpeak
        self.scale_bias, self.reference_frequency = float(scale_bias), reference_frequency
        self.return_moments = bool(return_moments)

    def deconvolve(
        self, dirty, psf, *, window=None, niter=100, gain=0.1, threshold=0.0,
        fractional_threshold=0.1,
    ):  # fmt: skip
        check_clean_parameters(niter, gain, threshold, fractional_threshold)
        freq = dirty.frequency
        nu0 = (
            float(np.mean(freq))
            if self.reference_frequency is None
            else float(self.reference_frequency)
        )
        n = self.nmoment
        moments = np.zeros((n, dirty.npol, dirty.ny, dirty.nx), _work_dtype(dirty))
        mres = np.zeros_like(moments)
        model = np.zeros(dirty.shape, _work_dtype(dirty))
        residual = np.array(dirty.data, dtype=_work_dtype(dirty))
        total = 0
        for p in range(dirty.npol):
            live = np.array([_live(psf.data[c, p]) for c in range(dirty.nchan)])
            if not live.any():
                log.warning("mmclean: pol %d has all-zero PSFs: skipped", p)
                continue
            t = taylor_offsets(freq[live], nu0)
            d = dirty.data[live, p].astype(_work_dtype(dirty))
            b = psf.data[live, p].astype(_work_dtype(dirty))
            a, done = mmclean(
                d, b, t, window_plane(window, 0, p), gain, threshold, niter, self.scales,
                fractional_threshold, n, self.findpeak, self.scale_bias,
            )  # fmt: skip
            total += done
            moments[:, p] = a
            if self.return_moments:
                mres[:, p] = moment_residuals(d, b, t, a)
            else:
                model[:, p] = evaluate_moments(a, taylor_offsets(freq, nu0))
                residual[live, p] = d - convolve_same(model[live, p], b)
        if not self.return_moments:
            return _results(dirty, model, residual, total)
        w = dirty.wcs.deepcopy()
        w.wcs.crpix[3], w.wcs.crval[3] = 1.0, nu0
        w.wcs.cdelt[3] = float(freq.max() - freq.min()) or float(dirty.channel_bandwidth[0])
        template = dirty.replace(data=np.zeros((n,) + dirty.shape[1:]), wcs=w)
        return _results(template, moments, mres, total, MOMENTS=n, REFFREQ=nu0)
