"""Continuum imaging pipeline: weighting, PSF, major cycles of residual imaging and cleaning, restoring.

The RASCIL-style ``continuum_imaging_list_rsexecute_workflow``: one visibility window per
list item; one model image per window (one channel per window for multi-frequency
synthesis, or as many channels as the window for a cube). The minor cycle sees all windows
at once (a cube of one plane per window channel), so mmclean fits spectra across windows.
See :mod:`uvflow.pipelines.major_cycle` for what a cycle is, early stops and checkpoints.
"""

from __future__ import annotations

from .major_cycle import run_major_cycles
from .pipeline_settings import PipelineSettings, pipeline_keywords

__all__ = ["continuum_imaging_list_rsexecute_workflow"]


@pipeline_keywords()
def continuum_imaging_list_rsexecute_workflow(vis_list, model_imagelist, **keywords):
    """Continuum imaging of a list of windows: ``(deconvolved_list, residual_list, restored_list)``.

    Parameters
    ----------
    vis_list : list of Visibility (or graphs of them), or of lists of them
        One per window, ``vis[ntime, nbaseline, nchan, npol]``; a window may be a list of
        chunks of its data (split in time or, for one-channel models, in frequency, e.g. by
        :func:`uvflow.pipelines.choose_chunking`), imaged chunk by chunk and summed
        (:mod:`uvflow.pipelines.window_chunks`).
    model_imagelist : Image or list of Image (graphs)
        Starting models (usually zero), data float [nchan, npol, ny, nx] Jy/pixel; they also
        define the images made (grid, cell, channels). One Image is used for every window.
    <shared keywords>

    Returns
    -------
    (list, list, list)
        Per window: the model (Image, Jy/pixel), the final residual ``(Image, sumwt)``
        and the restored Image (Jy/beam); graphs in the Dask modes, values in serial mode.

    Raises
    ------
    TypeError
        An unknown keyword (the message lists the valid ones), or an option the
        deconvolver or gridder does not declare.
    PipelineError
        Bad settings (nmajor, empty lists, lists of different lengths, stop_early without a
        threshold); CheckpointError (a subclass) for a checkpoint that does not fit the run.

    Notes
    -----
    ``nmajor`` counts major cycles, each a residual image of every window and one minor
    cycle over all of them (RASCIL runs nmajor + 1 minor cycles; this runs nmajor);
    ``fractional_threshold`` is relative to each cycle's residual peak over all windows.
    The imaging weights are computed once, on one uv grid shared by all windows; the PSF is
    ``psf_factor`` times the image size (2: the minor cycle subtracts every sidelobe of a
    component anywhere in the image).
    """
    settings, mask = PipelineSettings.from_keywords(keywords)
    models, residual, restored, _ = run_major_cycles(
        "continuum", vis_list, model_imagelist, settings, mask=mask
    )
    return models, residual, restored
