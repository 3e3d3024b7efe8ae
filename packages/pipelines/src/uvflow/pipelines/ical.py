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

from uvflow.calibration import CalibrationSettings, create_calibration_controls
from uvflow.calibration.chain import corrected_source
from uvflow.execution import rsexecute
from uvflow.imaging.workflows import predict_windows

from .major_cycle import run_major_cycles
from .pipeline_settings import PipelineSettings, pipeline_keywords

__all__ = ["ical_list_rsexecute_workflow", "default_ical_controls", "SelfCalibration"]


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
    calibration : CalibrationSettings
        Terms in chain order, their controls (``first_selfcal`` decides when each term
        starts) and whether frequency-independent terms are solved over all windows.
    gridding : GriddingSettings
        How the models are predicted.
    """

    def __init__(self, calibration: CalibrationSettings, gridding):
        if not isinstance(calibration, CalibrationSettings):
            raise TypeError(
                f"calibration must be a CalibrationSettings, got {type(calibration).__name__}"
            )
        self.calibration = calibration
        self.gridding = gridding
        self.first = calibration.first_selfcal

    def calibrate(self, cycle: int, vis_list, models, gts):
        """``(calibrated vis, gain tables)`` of cycle ``cycle`` (unchanged before ``first``)."""
        if cycle < self.first:
            return vis_list, gts
        from uvflow.calibration.calibration_workflows import calibrate_list

        model_vis = predict_windows(vis_list, models, self.gridding)
        return calibrate_list(vis_list, model_vis, gts, self.calibration, iteration=cycle)

    def apply(self, vis_list, gts, iteration: int):
        """The data corrected by saved tables as cycle ``iteration`` corrected them (a
        derived source, read and corrected where it is loaded, for a source)."""
        return [
            rsexecute.execute(corrected_source)(v, g, self.calibration, iteration)
            for v, g in zip(vis_list, gts)
        ]


@pipeline_keywords()
def ical_list_rsexecute_workflow(
    vis_list,
    model_imagelist,
    calibration_context="TG",
    controls: dict | None = None,
    do_selfcal: bool = True,
    global_solution: bool = True,
    **keywords,
):
    """ICAL of a list of windows: ``(deconvolved_list, residual_list, restored_list, gt_list)``.

    Parameters
    ----------
    vis_list, model_imagelist
        As :func:`uvflow.pipelines.continuum_imaging_list_rsexecute_workflow`.
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
    <shared keywords>

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

    Notes
    -----
    Cycle ``k`` of the ``nmajor`` major cycles is self-calibration iteration ``k``. The
    imaging weights and the PSF are computed once, from the uncalibrated data; with
    ``checkpoint_dir`` the gain tables are saved with the models after every cycle.
    """
    settings, mask = PipelineSettings.from_keywords(keywords)
    selfcal = None
    if do_selfcal:
        if controls is None:
            controls = default_ical_controls()
        calibration = CalibrationSettings.create(calibration_context, controls, global_solution)
        selfcal = SelfCalibration(calibration, settings.gridding)
    return run_major_cycles("ical", vis_list, model_imagelist, settings, mask=mask, selfcal=selfcal)
