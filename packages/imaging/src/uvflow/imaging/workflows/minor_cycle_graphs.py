"""Graphs of the minor cycle (whole image or facet-parallel); restoring is in
:mod:`.restore_windows`.

The windows' dirty images are stacked into one cube (a channel per window) so that
multi-frequency algorithms (mmclean) see every window; the new components are split back
into per-window model images added to the models given.

Window-parallel minor cycle: an algorithm that treats every channel on its own (its
deconvolver says ``channels_independent``: hogbom, hogbom-complex, msclean) gives for the
cube exactly what it gives for each window alone at the same absolute threshold. With one
facet and no per-channel mask such a minor cycle is one task computing the shared
threshold from all windows, then one clean task per window, in parallel: the same models,
bit for bit, as the cube in one task, without one worker cleaning while the others wait.

Facet-parallel minor cycle (``deconvolve_facets > 1``): the kernel recipe of
:mod:`uvflow.imaging.deconvolution.facet_deconvolve` as a graph. A round is: one task
computing the round's threshold from the whole residual, one task cutting the residual
into ``facets²`` overlapping facets, one clean task per facet (in parallel), and one task
gathering their models and forming the exact image-plane residual. Every facet stops at
the same absolute threshold, the facets' central tiles cover the whole image, and the
gather weights sum to 1 everywhere, so no border is left uncleaned. A graph cannot loop on
a value it computes, so the number of rounds is fixed (``deconvolve_rounds``); a round
whose residual is already below the threshold costs a peak search per facet and adds
nothing.

Thresholds: one rule for one facet and for many (RASCIL's global threshold for a cube).
Every window, channel, polarisation and facet stops at the same absolute threshold
``max(threshold, fractional_threshold · max|dirty · window|)``, the peak taken over the
whole stacked cube at the start of the minor cycle (``window`` = ``mask``, times the
``window_shape`` rule with one facet). :func:`~uvflow.imaging.deconvolve_cube` called on its
own instead applies ``fractional_threshold`` to each plane's own peak; the workflow hands
it the absolute threshold and ``fractional_threshold=0``.
"""

from __future__ import annotations

import inspect
import logging

from uvflow.datamodels import Image
from uvflow.execution import check_keywords, rsexecute, strict_keywords

from ..errors import ImagingError
from ..settings import CleanSettings
from ._lists import window_list
from .minor_cycle_tasks import (
    components_done,
    cube_clean,
    facet_clean,
    gather_residual,
    image_of,
    round_threshold,
    scatter_facets,
    split_windows,
    stack_windows,
    window_clean,
    window_stop,
    windows_stop,
    zero_like,
)

log = logging.getLogger(__name__)

__all__ = [
    "deconvolve_list_rsexecute_workflow",
    "deconvolve_list_channel_rsexecute_workflow",
    "deconvolve_windows",
    "image_of",
]


@strict_keywords
def deconvolve_list_rsexecute_workflow(
    dirty_list,
    psf_list,
    model_imagelist,
    mask=None,
    algorithm: str = "hogbom",
    niter: int = 100,
    gain: float = 0.1,
    threshold: float = 0.0,
    fractional_threshold: float = 0.1,
    scales=None,
    nmoment: int | None = None,
    findpeak: str | None = None,
    window_shape: str | None = None,
    window_edge: int = 16,
    psf_support: int | None = None,
    scale_bias: float | None = None,
    reference_frequency: float | None = None,
    deconvolve_facets: int = 1,
    deconvolve_overlap: int = 0,
    deconvolve_taper: str | None = None,
    deconvolve_rounds: int = 3,
    deconvolver_options: dict | None = None,
) -> list:
    """The minor cycle over all windows: new model images, one per window.

    RASCIL's call shape: the keywords build one :class:`~uvflow.imaging.CleanSettings`
    (:meth:`~uvflow.imaging.CleanSettings.from_rascil`) and the graph is
    :func:`deconvolve_windows`'s.

    Parameters
    ----------
    dirty_list : list of (Image, sumwt) or Image (graphs)
        Residual (or dirty) images of the windows, data [nchan, npol, ny, nx] Jy/beam.
    psf_list : list of (Image, sumwt) or Image (graphs)
        Their PSFs.
    model_imagelist : list of Image (graphs)
        Current models (Jy/pixel); the components found are added to them.
    mask : Image, optional
        Where components may go (1) or not (0), data [1|nchan, 1|npol, ny, nx].
    algorithm, niter, gain, window_shape, window_edge, psf_support
        As :func:`uvflow.imaging.deconvolve_cube` (``window_shape`` only with one facet).
    scales, nmoment, findpeak, scale_bias, reference_frequency
        Options of the algorithms that declare them (None: the algorithm's default);
        RASCIL passes them to every algorithm, and one that does not use an option
        ignores it with a warning logged once (mmclean's ``reference_frequency`` ν0 in Hz
        is the same in every facet).
    threshold : float
        Absolute stopping threshold, Jy/beam, >= 0.
    fractional_threshold : float
        In [0, 1). With one facet or many, every window, channel, polarisation and facet
        stops at ``max(threshold, fractional_threshold · max|dirty · window|)``, the peak
        taken over the whole stacked cube (all windows, channels and polarisations;
        ``window`` the mask, times ``window_shape`` with one facet) — not each plane's
        own peak as :func:`~uvflow.imaging.deconvolve_cube` alone does. For mmclean the
        minor cycle compares this with its moment-0 residual.
    deconvolve_facets : int
        Facets per axis (1: the whole image in one task).
    deconvolve_overlap : int
        Pixels by which facets overlap their neighbours' central tiles.
    deconvolve_taper : {None, 'linear', 'tukey', 'flat'}
        How overlapping facets are blended (None with overlap 0).
    deconvolve_rounds : int
        Facet rounds (see the module notes); ignored with one facet. A round cleans down to
        at most the PSF's sidelobe level times the residual peak, so about
        ``1 + log(stop / peak) / log(sidelobe)`` rounds reach the stop (3 for sidelobes of
        0.1 and a 1 % threshold; 6 for sidelobes of 0.4): fewer leave the residual above it.
    deconvolver_options : dict, optional
        The deconvolver's own options (a plugin's, or the built-ins' as above); an option
        the deconvolver does not declare raises ``TypeError`` naming the ones it does.

    Returns
    -------
    list of Image
        One model per window (graphs in Dask mode).
    """
    clean = CleanSettings.from_rascil(
        algorithm=algorithm, niter=niter, gain=gain, threshold=threshold,
        fractional_threshold=fractional_threshold, scales=scales, nmoment=nmoment,
        findpeak=findpeak, window_shape=window_shape, window_edge=window_edge,
        psf_support=psf_support, scale_bias=scale_bias, reference_frequency=reference_frequency,
        deconvolve_facets=deconvolve_facets, deconvolve_overlap=deconvolve_overlap,
        deconvolve_taper=deconvolve_taper, deconvolve_rounds=deconvolve_rounds,
        deconvolver_options=deconvolver_options,
    )  # fmt: skip
    return deconvolve_windows(dirty_list, psf_list, model_imagelist, clean, mask)


def deconvolve_list_channel_rsexecute_workflow(
    dirty_list, psf_list, model_imagelist, subimages=None, **kwargs
) -> list:
    """RASCIL's channel-by-channel minor cycle: each window deconvolved on its own.

    :func:`deconvolve_list_rsexecute_workflow` cleans all windows as one cube, with one
    stopping rule (its ``fractional_threshold`` is relative to the brightest window); here
    every window has its own minor cycle and its own rule, as RASCIL's channel workflow
    had, and the windows' graphs are independent (they run in parallel).

    Parameters
    ----------
    dirty_list, psf_list, model_imagelist
        As :func:`deconvolve_list_rsexecute_workflow` (``model_imagelist`` may be one Image
        for every window).
    subimages : int, optional
        RASCIL's number of channel groups of one image; here the windows are the groups, so
        it must be None or the number of windows.
    **kwargs
        The keywords of :func:`deconvolve_list_rsexecute_workflow` after its lists (a
        misspelt one is a TypeError naming the valid ones).

    Returns
    -------
    list
        Per window its new model Image (graphs in the Dask modes).

    Raises
    ------
    ImagingError
        ``subimages`` other than the number of windows, lists of different lengths.
    """
    valid = [
        "subimages",
        *list(inspect.signature(deconvolve_list_rsexecute_workflow).parameters)[3:],
    ]
    check_keywords("deconvolve_list_channel_rsexecute_workflow()", kwargs, valid)
    n = len(dirty_list)
    if subimages is not None and subimages != n:
        raise ImagingError(
            f"subimages={subimages!r}: the windows are deconvolved one by one here, so "
            f"subimages must be None or the number of windows ({n})"
        )
    psfs = window_list("psf_list", psf_list, n)
    models = window_list("model_imagelist", model_imagelist, n)
    return [
        deconvolve_list_rsexecute_workflow([dirty_list[w]], [psfs[w]], [models[w]], **kwargs)[0]
        for w in range(n)
    ]


def deconvolve_windows(
    dirty_list, psf_list, model_imagelist, clean: CleanSettings, mask=None, cycle: int | None = None
):
    """The graph of one minor cycle over all windows (see the module notes).

    Parameters
    ----------
    dirty_list, psf_list, model_imagelist
        As :func:`deconvolve_list_rsexecute_workflow`.
    clean : CleanSettings
        The minor cycle's settings; its thresholds apply to the stacked cube.
    mask : Image, optional
        Where components may go, data [1|nchan, 1|npol, ny, nx].
    cycle : int, optional
        The major cycle this minor cycle belongs to: its residual peak and threshold are
        logged (INFO, by the task that computes them).

    Returns
    -------
    list of Image
        One model per window (graphs in Dask mode).
    """
    nwin = len(dirty_list)
    if nwin == 0:
        raise ImagingError("dirty_list is empty")
    if not isinstance(clean, CleanSettings):
        raise TypeError(f"clean must be a CleanSettings, got {type(clean).__name__}")
    psfs = window_list("psf_list", psf_list, nwin)
    models = window_list("model_imagelist", model_imagelist, nwin)
    if clean.facets == 1 and _window_parallel(clean, mask):
        rule = rsexecute.execute(windows_stop)(psfs[0], mask, clean, cycle, *dirty_list)
        return [
            rsexecute.execute(window_clean)(d, p, m, mask, clean, rule)
            for d, p, m in zip(dirty_list, psfs, models)
        ]
    dirty_cube = rsexecute.execute(stack_windows)(*dirty_list)
    psf_cube = rsexecute.execute(stack_windows)(*psfs)
    if clean.facets == 1:
        delta = rsexecute.execute(cube_clean)(dirty_cube, psf_cube, mask, clean, cycle, *models)
    else:
        delta = _facet_rounds(dirty_cube, psf_cube, clean, mask, cycle, models)
    return list(rsexecute.execute(split_windows, nout=nwin)(delta, *models))


def _facet_rounds(dirty_cube, psf_cube, clean: CleanSettings, mask, cycle, models):
    """The facet-parallel minor cycle's rounds (graphs): the model of the cube."""
    if clean.window_shape is not None:
        raise ImagingError(
            "window_shape applies to one facet; give a mask with deconvolve_facets > 1"
        )
    nf = clean.facets * clean.facets
    rule = rsexecute.execute(window_stop)(dirty_cube, psf_cube, clean, mask, True, cycle)
    noise = clean.noise
    mask_facets = None
    if mask is not None or (noise is not None and (noise.local_rms or noise.auto_mask)):
        mask_facets = rsexecute.execute(scatter_facets)(mask, clean, rule, list(models))
    done = 0 if clean.niter_total is None else rsexecute.execute(components_done)(*models)
    delta = rsexecute.execute(zero_like)(dirty_cube)
    residual = dirty_cube
    for _ in range(clean.facet_rounds):
        level = rsexecute.execute(round_threshold)(residual, psf_cube, rule, mask)
        facets = rsexecute.execute(scatter_facets)(residual, clean)
        parts = [
            rsexecute.execute(facet_clean)(facets, i, psf_cube, level, mask_facets, clean, done)
            for i in range(nf)
        ]
        delta, residual = rsexecute.execute(gather_residual, nout=2)(
            dirty_cube, psf_cube, delta, clean, *parts
        )
    return delta


def _window_parallel(clean: CleanSettings, mask) -> bool:
    """Whether the one-facet minor cycle can run one task per window (see the module notes).

    A mask with one plane per channel of the stacked cube would have to be cut per window
    (whose channel counts the graph does not know); such masks keep the cube path.
    """
    if mask is not None and (not isinstance(mask, Image) or mask.nchan != 1):
        return False
    return clean.channels_independent
