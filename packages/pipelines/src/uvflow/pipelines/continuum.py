"""Continuum imaging pipeline: weighting, PSF, major cycles of residual imaging and cleaning, restoring.

The RASCIL-style ``continuum_imaging_list_rsexecute_workflow``: one visibility window per
list item; one model image per window (one channel per window for multi-frequency
synthesis, or as many channels as the window for a cube). The minor cycle sees all windows
at once (a cube of one plane per window channel), so mmclean fits spectra across windows.
See :mod:`uvflow.pipelines.major_cycle` for what a cycle is, early stops and checkpoints.
"""

from __future__ import annotations

from uvflow.execution import strict_keywords

from .major_cycle import run_major_cycles

__all__ = ["continuum_imaging_list_rsexecute_workflow", "imaging_options"]


def imaging_options(context, epsilon, nthreads, small_inversion) -> dict:
    """Keywords of the invert/predict/residual workflows."""
    return dict(
        context=context, epsilon=epsilon, nthreads=nthreads, small_inversion=small_inversion
    )


@strict_keywords
def continuum_imaging_list_rsexecute_workflow(
    vis_list,
    model_imagelist,
    context: str = "ng",
    nmajor: int = 5,
    algorithm: str = "hogbom",
    niter: int = 1000,
    gain: float = 0.1,
    threshold: float = 0.0,
    fractional_threshold: float = 0.01,
    scales=(0, 3, 10, 30),
    nmoment: int = 3,
    findpeak: str = "RASCIL",
    window_shape: str | None = None,
    window_edge: int = 16,
    mask=None,
    psf_support: int | None = None,
    deconvolve_facets: int = 1,
    deconvolve_overlap: int = 0,
    deconvolve_taper: str | None = None,
    deconvolve_rounds: int = 3,
    clean_beam: dict | None = None,
    psf_factor: int = 2,
    weighting: str = "natural",
    robustness: float = 0.0,
    epsilon: float = 1e-5,
    nthreads: int = 1,
    small_inversion: bool | None = None,
    checkpoint_dir=None,
    stop_early: bool = False,
):
    """Continuum imaging of a list of windows: ``(deconvolved_list, residual_list, restored_list)``.

    Parameters
    ----------
    vis_list : list of Visibility (or graphs of them), or of lists of them
        One per window, ``vis[ntime, nbaseline, nchan, npol]``; a window may be a list of
        chunks of its data (split in time or, for one-channel models, in frequency, e.g. by
        :func:`uvflow.pipelines.choose_chunking`), imaged chunk by chunk and summed
        (:mod:`uvflow.pipelines.chunks`).
    model_imagelist : Image or list of Image (graphs)
        Starting models (usually zero), data float [nchan, npol, ny, nx] Jy/pixel; they also
        define the images made (grid, cell, channels). One Image is used for every window.
    context : str
        Gridder context ('2d', 'ng', 'wstack').
    nmajor : int
        Number of major cycles, >= 0: each is a residual image of every window and one minor
        cycle over all of them (RASCIL runs nmajor + 1 minor cycles; this runs nmajor).
    algorithm, niter, gain, threshold, fractional_threshold, scales, nmoment, findpeak,
    window_shape, window_edge, mask, psf_support
        The minor cycle (:func:`uvflow.imaging.deconvolve_cube`); ``fractional_threshold``
        is relative to each cycle's residual peak over all windows, ``threshold`` is in
        Jy/beam.
    deconvolve_facets, deconvolve_overlap, deconvolve_taper, deconvolve_rounds
        Facet-parallel minor cycle (:func:`uvflow.imaging.workflows.deconvolve_list_rsexecute_workflow`).
    clean_beam : dict, optional
        ``{'bmaj', 'bmin', 'bpa'}`` in degrees; default: fitted to each window's PSF.
    psf_factor : int
        The PSF is made ``psf_factor`` times the image size (2: the minor cycle subtracts
        every sidelobe of a component anywhere in the image; 1: the image size).
    weighting : {'natural', 'uniform', 'robust'}
        Imaging weights, computed once on one uv grid shared by all windows.
    robustness : float
        Briggs' R for 'robust'.
    epsilon, nthreads, small_inversion
        Gridder accuracy and threads per task; see :func:`uvflow.imaging.invert`.
    checkpoint_dir : path, optional
        Save the models after every major cycle and resume from the last complete one
        (:mod:`uvflow.pipelines.checkpoint`); shared by workers and client on a cluster.
    stop_early : bool
        Compute each cycle's residual peak and stop when it is <= ``threshold`` (> 0)
        instead of building all ``nmajor`` cycles into one static graph (see
        :mod:`uvflow.pipelines.major_cycle`).

    Returns
    -------
    (list, list, list)
        Per window: the model (Image, Jy/pixel), the final residual ``(Image, sumwt)``
        and the restored Image (Jy/beam); graphs in the Dask modes, values in serial mode.

    Raises
    ------
    TypeError
        An unknown keyword (the message lists the valid ones).
    PipelineError
        Bad settings (nmajor, empty lists, lists of different lengths, stop_early without a
        threshold); CheckpointError (a subclass) for a checkpoint that does not fit the run.
    """
    deconvolution = dict(
        algorithm=algorithm, niter=niter, gain=gain, threshold=threshold,
        fractional_threshold=fractional_threshold, scales=scales, nmoment=nmoment,
        findpeak=findpeak, window_shape=window_shape, window_edge=window_edge, mask=mask,
        psf_support=psf_support, deconvolve_facets=deconvolve_facets,
        deconvolve_overlap=deconvolve_overlap, deconvolve_taper=deconvolve_taper,
        deconvolve_rounds=deconvolve_rounds,
    )  # fmt: skip
    models, residual, restored, _ = run_major_cycles(
        "continuum", vis_list, model_imagelist,
        imaging=imaging_options(context, epsilon, nthreads, small_inversion),
        deconvolution=deconvolution, nmajor=nmajor, weighting=weighting, robustness=robustness,
        checkpoint_dir=checkpoint_dir, stop_early=stop_early, clean_beam=clean_beam,
        psf_factor=psf_factor,
    )  # fmt: skip
    return models, residual, restored
