"""Spectral-line imaging: continuum subtraction, then a cube of one image channel per data channel.

Continuum is removed in the uv-plane, in one or both of two ways (in this order):

1. ``continuum_model_imagelist``: the visibilities of a continuum model (e.g. the model
   of a continuum or ICAL run, one image per window) are predicted and SUBTRACTED. A
   one-channel model predicts the same flux in every channel of its window; give a cube
   for spectral structure.
2. ``continuum_subtraction_degree``: a polynomial of that degree in frequency is fitted to
   the line-free channels of every sample and subtracted
   (:func:`uvflow.pipelines.uv_continuum_subtraction`), per window (chunk). It removes
   sources near the phase centre: a degree-1 fit to 1 % of a source's flux within
   ~0.056 θ_b / f of it (θ_b the synthesised beam, f the window's fractional bandwidth:
   19 beams at f = 0.3 %, half a beam at f = 10 %); see that function for the numbers.

The line data are then imaged by the continuum pipeline's major cycles with cube models:
each window's model has the window's channels, so each visibility channel is gridded to its
own image channel and the minor cycle cleans every channel plane.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import Image, Visibility
from uvflow.execution import rsexecute
from uvflow.imaging.workflows import predict_windows, subtract_list_rsexecute_workflow, window_list

from .continuum_subtraction import uv_continuum_subtraction
from .errors import PipelineError
from .major_cycle import run_major_cycles
from .pipeline_settings import PipelineSettings, pipeline_keywords
from .window_chunks import flatten_windows

__all__ = ["spectral_line_imaging_list_rsexecute_workflow", "spectral_line_imaging"]


def _per_window_selection(line_free_channels, nwin: int) -> list:
    """One selection for every window, or a list of ``nwin`` selections."""
    if (
        isinstance(line_free_channels, (list, tuple))
        and len(line_free_channels) == nwin
        and all(s is None or isinstance(s, (list, tuple, np.ndarray)) for s in line_free_channels)
    ):
        return list(line_free_channels)
    return [line_free_channels] * nwin


def _check_cube(vis_list, models) -> None:
    for w, (v, m) in enumerate(zip(vis_list, models)):
        if isinstance(v, Visibility) and isinstance(m, Image) and m.nchan != v.nchan:
            raise PipelineError(
                f"window {w}: the model has {m.nchan} channels, the data {v.nchan}; a spectral "
                "cube needs one image channel per visibility channel (chunks of a window "
                "must hold all its channels: split it in time)"
            )


@pipeline_keywords(exclude=("nmoment", "findpeak", "reference_frequency"))
def spectral_line_imaging_list_rsexecute_workflow(
    vis_list,
    model_imagelist,
    continuum_model_imagelist=None,
    continuum_subtraction_degree: int | None = None,
    line_free_channels=None,
    **keywords,
):
    """Continuum-subtracted spectral cubes: ``(deconvolved_list, residual_list, restored_list)``.

    Parameters
    ----------
    vis_list : list of Visibility (graphs), or of lists of them
        Windows ``vis[ntime, nbaseline, nchan, npol]``; a window may be a list of time
        chunks (each with all the window's channels; :mod:`uvflow.pipelines.window_chunks`).
    model_imagelist : Image or list of Image (graphs)
        Starting line models, one per window, data [nchan, npol, ny, nx] with the window's
        ``nchan`` channels at its frequencies.
    continuum_model_imagelist : Image or list of Image (graphs), optional
        Continuum model (Jy/pixel) predicted and subtracted from each window.
    continuum_subtraction_degree : int, optional
        Degree of the uv-plane polynomial continuum fit (None: no fit).
    line_free_channels : sequence of int or bool [nchan], or a list of one per window
        Channels (within each window) used by the fit; default all.
    <shared keywords>

    Returns
    -------
    (list, list, list)
        Per window: the line model cube, the residual ``(Image, sumwt)`` and the restored
        cube; graphs in the Dask modes.

    Raises
    ------
    TypeError
        An unknown keyword (the message lists the valid ones).
    PipelineError
        Bad settings, or model cubes whose channels do not match the data.

    Notes
    -----
    The keywords are those of :func:`uvflow.pipelines.continuum_imaging_list_rsexecute_workflow`
    (less mmclean's); the minor cycle cleans each channel plane (``fractional_threshold``
    relative to the cube's peak).
    """
    settings, mask = PipelineSettings.from_keywords(keywords)
    return spectral_line_imaging(
        vis_list, model_imagelist, settings, continuum_model_imagelist,
        continuum_subtraction_degree, line_free_channels, mask,
    )  # fmt: skip


def spectral_line_imaging(
    vis_list,
    model_imagelist,
    settings: PipelineSettings,
    continuum_model_imagelist=None,
    continuum_subtraction_degree: int | None = None,
    line_free_channels=None,
    mask=None,
    identity: dict | None = None,
):
    """The graphs of :func:`spectral_line_imaging_list_rsexecute_workflow` from settings.

    Parameters
    ----------
    vis_list, model_imagelist, continuum_model_imagelist, continuum_subtraction_degree,
    line_free_channels
        As :func:`spectral_line_imaging_list_rsexecute_workflow`.
    settings : PipelineSettings
    mask : Image (or graph), optional
        Where the minor cycle may place components.
    identity : dict, optional
        As :func:`~uvflow.pipelines.major_cycle.run_major_cycles` takes it; the data's
        fingerprint is of the data before the continuum subtraction (recorded with it).

    Returns
    -------
    (list, list, list)
        Per window: the line model cube, the residual ``(Image, sumwt)`` and the restored
        cube.
    """
    chunks = flatten_windows(vis_list)
    nwin = chunks.nwindows
    models = window_list("model_imagelist", model_imagelist, nwin)
    _check_cube(chunks.vis, chunks.per_chunk(models))
    vis = chunks.vis
    identity = {"inputs": vis, **(identity or {}), "continuum subtraction": {
        "degree": continuum_subtraction_degree, "line_free_channels": line_free_channels,
        "model": continuum_model_imagelist}}  # fmt: skip
    if continuum_model_imagelist is not None:
        continuum = window_list("continuum_model_imagelist", continuum_model_imagelist, nwin)
        predicted = predict_windows(vis, chunks.per_chunk(continuum), settings.gridding)
        vis = subtract_list_rsexecute_workflow(vis, predicted)
    if continuum_subtraction_degree is not None:
        selections = chunks.per_chunk(_per_window_selection(line_free_channels, nwin))
        vis = [
            rsexecute.execute(uv_continuum_subtraction)(v, continuum_subtraction_degree, s)
            for v, s in zip(vis, selections)
        ]
    elif line_free_channels is not None:
        raise PipelineError(
            "line_free_channels is used by the uv fit: give continuum_subtraction_degree"
        )
    models, residual, restored, _ = run_major_cycles(
        "spectral_line", chunks.per_window(vis), models, settings, mask=mask, identity=identity
    )
    return models, residual, restored
