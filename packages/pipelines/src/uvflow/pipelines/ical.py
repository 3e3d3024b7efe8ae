"""ICAL: continuum imaging with self-calibration against the current model in each major cycle.

Major cycle ``k`` (0-based, the calibration ``iteration``): predict the current model into
every window, solve the calibration chain against it (terms whose ``first_selfcal`` is
above ``k`` are neither solved nor applied), correct the ORIGINAL data by the solution
(each solve starts from the previous cycle's gains), and make the residual images of the
corrected data for the minor cycle. Cycles before the first calibrating term's
``first_selfcal`` skip the prediction and the solve.

Self-calibration from a model that starts empty: the first cycle must image the
uncalibrated data, so the default controls start every term at cycle 1 (``first_selfcal``
at least 1); the usual recipe is phase-only T from cycle 1 (the brightest sources are in
the model by then) and amplitude-and-phase G from cycle 2 or later. Self-calibration
cannot fix the absolute flux scale: with ``normalise_gains`` (the default of amplitude
solves) the mean gain amplitude of every solution is 1.
"""

from __future__ import annotations

from uvflow.calibration import create_calibration_controls
from uvflow.calibration.chain import apply_calibration_chain
from uvflow.calibration.settings import calibration_terms, term_controls
from uvflow.execution import rsexecute, strict_keywords
from uvflow.imaging.workflows import predict_list_rsexecute_workflow

from .continuum import imaging_options
from .major_cycle import run_major_cycles

__all__ = ["ical_list_rsexecute_workflow", "default_ical_controls"]


def default_ical_controls() -> dict:
    """``create_calibration_controls()`` with every term starting at cycle 1 (not 0).

    Returns
    -------
    dict
        Per term (T, G, B) controls; ``first_selfcal`` is 1.
    """
    controls = create_calibration_controls()
    for c in controls.values():
        c["first_selfcal"] = max(1, c.get("first_selfcal", 0))
    return controls


class SelfCalibration:
    """The calibration step of ICAL's major cycles (graphs through ``rsexecute``).

    Parameters
    ----------
    calibration_context : str or sequence of str
        Terms in chain order, e.g. 'TG'.
    controls : dict
        Per-term controls (``first_selfcal`` decides when each term starts).
    global_solution : bool
        Solve frequency-independent terms jointly over all windows.
    imaging : dict
        Keywords of the predict workflow.
    """

    def __init__(self, calibration_context, controls, global_solution, imaging):
        self.terms = calibration_terms(calibration_context)
        self.controls = controls
        self.global_solution = bool(global_solution)
        self.imaging = imaging
        self.first = min(term_controls(t, controls)[0] for t in self.terms)

    def calibrate(self, cycle: int, vis_list, models, gts):
        """``(calibrated vis, gain tables)`` of cycle ``cycle`` (unchanged before ``first``)."""
        if cycle < self.first:
            return vis_list, gts
        from uvflow.calibration import calibrate_list_rsexecute_workflow

        model_vis = predict_list_rsexecute_workflow(vis_list, models, **self.imaging)
        return calibrate_list_rsexecute_workflow(
            vis_list, model_vis, gt_list=gts, calibration_context=self.terms,
            controls=self.controls, global_solution=self.global_solution, iteration=cycle,
        )  # fmt: skip

    def apply(self, vis_list, gts, iteration: int):
        """The data corrected by saved tables as cycle ``iteration`` corrected them."""
        return [
            rsexecute.execute(apply_calibration_chain)(v, g, self.terms, self.controls, iteration)
            for v, g in zip(vis_list, gts)
        ]


@strict_keywords
def ical_list_rsexecute_workflow(
    vis_list,
    model_imagelist,
    context: str = "ng",
    nmajor: int = 5,
    calibration_context="TG",
    controls: dict | None = None,
    do_selfcal: bool = True,
    global_solution: bool = True,
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
    """ICAL of a list of windows: ``(deconvolved_list, residual_list, restored_list, gt_list)``.

    Parameters
    ----------
    vis_list, model_imagelist, context, nmajor
        As :func:`uvflow.pipelines.continuum_imaging_list_rsexecute_workflow`; cycle ``k``
        of the ``nmajor`` major cycles is self-calibration iteration ``k``.
    calibration_context : str or sequence of str
        Terms in chain order, e.g. 'TG' (T phase-only, then G amplitude and phase).
    controls : dict, optional
        Per-term controls (:func:`uvflow.calibration.create_calibration_controls`); default
        :func:`default_ical_controls` (every term from cycle 1).
    do_selfcal : bool
        False: no calibration (continuum imaging; ``gt_list`` is None).
    global_solution : bool
        Solve frequency-independent terms (T, G) once over all windows (one table shared
        by every window).
    algorithm, niter, gain, threshold, fractional_threshold, scales, nmoment, findpeak,
    window_shape, window_edge, mask, psf_support, deconvolve_facets, deconvolve_overlap,
    deconvolve_taper, deconvolve_rounds, clean_beam, psf_factor, weighting, robustness,
    epsilon, nthreads, small_inversion, stop_early
        As for the continuum pipeline. The imaging weights and the PSF are computed once,
        from the uncalibrated data.
    checkpoint_dir : path, optional
        Save the models and gain tables after every major cycle; resume from the last
        complete one.

    Returns
    -------
    (list, list, list, list or None)
        Per window: model Image, final residual ``(Image, sumwt)``, restored Image, and a
        dict of gain tables by term (None if no cycle calibrated; for a window given as
        chunks, a list of one dict per chunk — a global solution needs chunks that share
        their times, i.e. frequency chunks); graphs in the Dask modes, values in serial mode.

    Raises
    ------
    TypeError
        An unknown keyword (the message lists the valid ones).
    PipelineError
        Bad settings; ``uvflow.calibration.CalibrationError`` for bad controls.
    """
    imaging = imaging_options(context, epsilon, nthreads, small_inversion)
    selfcal = None
    if do_selfcal:
        if controls is None:
            controls = default_ical_controls()
        selfcal = SelfCalibration(calibration_context, controls, global_solution, imaging)
    deconvolution = dict(
        algorithm=algorithm, niter=niter, gain=gain, threshold=threshold,
        fractional_threshold=fractional_threshold, scales=scales, nmoment=nmoment,
        findpeak=findpeak, window_shape=window_shape, window_edge=window_edge, mask=mask,
        psf_support=psf_support, deconvolve_facets=deconvolve_facets,
        deconvolve_overlap=deconvolve_overlap, deconvolve_taper=deconvolve_taper,
        deconvolve_rounds=deconvolve_rounds,
    )  # fmt: skip
    return run_major_cycles(
        "ical", vis_list, model_imagelist, imaging=imaging, deconvolution=deconvolution,
        nmajor=nmajor, weighting=weighting, robustness=robustness,
        checkpoint_dir=checkpoint_dir, stop_early=stop_early, clean_beam=clean_beam,
        psf_factor=psf_factor, selfcal=selfcal,
    )  # fmt: skip
