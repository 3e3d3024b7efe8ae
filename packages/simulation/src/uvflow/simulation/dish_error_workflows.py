"""RASCIL's dish error-simulation workflows: gain tables for pointing, surface and
polarisation errors (their residual images: :mod:`.error_residual_workflows`).

RASCIL 0.1.5's names and call shapes (uvflow's data models). Each ``create_*_gaintable``
workflow returns ``(no_error_gt_list, error_gt_list)``: per visibility window, a list with
one GainTable per component (a graph of that list in Dask mode; index it as RASCIL did,
``error_gt_list[ivis][icomp]``).

Differences from RASCIL, all because its voltage-pattern files (FEKO, HWP) and pointing
time series are not distributed:

- ``sub_vp_list`` holds, per window, a voltage pattern callable
  (:mod:`uvflow.simulation.voltage_patterns`), a telescope name or Configuration, or a
  dish diameter in metres (ideal Airy patterns), not images;
- surface errors use :class:`~uvflow.simulation.voltage_patterns.DeformedPattern` (a
  gravitational deformation that vanishes at the rigging elevation, 45°, RASCIL's nominal
  pattern); ``vp_directory`` is not read, and a given one is logged as unused;
- polarisation errors use :class:`~uvflow.simulation.voltage_patterns.PolarisedPattern`
  against its symmetrised nominal pattern, as RASCIL compared FEKO patterns with their
  symmetrised form (with one receptor, Stokes I data, only the mean co-polar pattern acts);
- ``time_series`` pointing (RASCIL's wind PSD files) raises a SimulationError;
- ``show`` writes the plot only when matplotlib is installed (else a warning);
- the gains are per channel (RASCIL's were at one frequency).
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.datamodels import Configuration, Visibility
from uvflow.execution import rsexecute

from .dish_error_gaintables import gaintables_from_voltage_pattern, simulate_pointing_offsets
from .errors import SimulationError
from .primary_beams import dish_diameter
from .seeding import spawn_seeds
from .voltage_patterns import DeformedPattern, IdealPattern, PolarisedPattern

__all__ = [
    "DISH_BANDS",
    "create_pointing_errors_gaintable_rsexecute_workflow",
    "create_polarisation_gaintable_rsexecute_workflow",
    "create_surface_errors_gaintable_rsexecute_workflow",
]

log = logging.getLogger(__name__)

#: SKA-Mid bands RASCIL's dish simulations knew (centre frequency, Hz)
DISH_BANDS = {"B1": 0.765e9, "B2": 1.36e9, "Ku": 12.179e9}


def _band(band: str) -> str:
    if band not in DISH_BANDS:
        raise SimulationError(f"band {band!r} unknown; use one of {', '.join(DISH_BANDS)}")
    return band


def _as_pattern(vp, vis: Visibility):
    if callable(vp):
        return vp
    if isinstance(vp, (int, float, np.floating)) and not isinstance(vp, bool):
        return IdealPattern(dish_diameter(None, float(vp)))
    if isinstance(vp, (str, Configuration)):
        return IdealPattern(dish_diameter(vp))
    if vp is None:
        return _ideal_from_vis(vis)
    raise SimulationError(
        "each sub_vp_list entry must be a voltage pattern (callable), a telescope name or "
        f"Configuration, a dish diameter in metres, or None; got {type(vp).__name__}"
    )


def _vis_diameter(vis: Visibility) -> float:
    return dish_diameter(vis.configuration)


def _tables(vis, components, pattern, offsets_seed=None, pointing=None, **options):
    """Gain tables of one window (a task): pattern resolved, pointing offsets drawn."""
    pattern = _as_pattern(pattern, vis)
    offsets = None
    if pointing is not None:
        ntime = np.unique(vis.time).size
        offsets = simulate_pointing_offsets(ntime, vis.configuration.nants, seed=offsets_seed,
                                            **pointing)  # fmt: skip
    return gaintables_from_voltage_pattern(vis, components, pattern, offsets, **options)


def _show(gt_lists, plot_file: str, title: str) -> None:
    """Plot antenna 0's gain amplitude towards each component over time (matplotlib)."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("show=True: matplotlib is not installed, %s not written", plot_file)
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for tables in gt_lists:
        for gt in tables:
            ax.plot((gt.time - gt.time[0]) / 3600.0, np.abs(gt.gain[:, 0, 0, 0, 0]), ".")
    ax.set_xlabel("time since start (h)")
    ax.set_ylabel("dish 0 gain amplitude")
    ax.set_title(title)
    fig.savefig(plot_file, dpi=100)
    plt.close(fig)
    log.info("wrote %s", plot_file)


def _pair_lists(sub_bvis_list, components, nominal, actual, options_nominal, options_actual):
    no_error = [
        rsexecute.execute(_tables, name="gaintables_nominal")(
            v, components, nominal[i], **options_nominal[i]
        )
        for i, v in enumerate(sub_bvis_list)
    ]
    error = [
        rsexecute.execute(_tables, name="gaintables_error")(
            v, components, actual[i], **options_actual[i]
        )
        for i, v in enumerate(sub_bvis_list)
    ]
    return no_error, error  # fmt: skip


def _maybe_show(show, error_gt_list, plot_file, title):
    if show:
        _show(rsexecute.compute(error_gt_list, sync=True), plot_file, title)


def create_pointing_errors_gaintable_rsexecute_workflow(
    sub_bvis_list,
    sub_components,
    sub_vp_list,
    use_radec=False,
    pointing_error=0.0,
    static_pointing_error=None,
    global_pointing_error=None,
    time_series="",
    time_series_type="",
    seed=None,
    pointing_directory=None,
    show=False,
    basename="",
):
    """Gain tables for pointing errors: each antenna's pattern offset by its error.

    Parameters
    ----------
    sub_bvis_list : list of Visibility (graphs)
    sub_components : list of SkyComponent
    sub_vp_list : list
        Per window: a voltage pattern callable, a telescope name or Configuration, a
        diameter (m), or None (the window's own dish size).
    use_radec : bool
        Errors and pattern in the sky's frame instead of azimuth/elevation.
    pointing_error : float
        Dynamic rms per time, antenna and axis, radians.
    static_pointing_error, global_pointing_error : float or (float, float), optional
        Per-antenna rms and array-wide offset per axis, radians.
    time_series, time_series_type, pointing_directory
        RASCIL's wind time series; only ``''`` (none) is supported here.
    seed : int or None
        Window i draws from child i of ``SeedSequence(seed)``.
    show : bool
        Plot the error gains (``pointing_error_gaintable.png``).
    basename : str
        Title of the plot.

    Returns
    -------
    (list, list)
        ``no_error_gt_list[ivis]`` and ``error_gt_list[ivis]``: lists of GainTable, one per
        component (graphs in Dask mode).
    """
    if time_series:
        raise SimulationError(
            f"time_series={time_series!r}: RASCIL's pointing time series (wind PSD files) are "
            "not distributed; use pointing_error, static_pointing_error and "
            "global_pointing_error"
        )
    if len(sub_vp_list) != len(sub_bvis_list):
        raise SimulationError(
            f"sub_vp_list has {len(sub_vp_list)} entries for {len(sub_bvis_list)} windows"
        )
    pointing = {
        "pointing_error": pointing_error,
        "static_pointing_error": static_pointing_error,
        "global_pointing_error": global_pointing_error,
    }
    simulate_pointing_offsets(1, 1, **pointing)  # check the values once, here
    seeds = spawn_seeds(seed, len(sub_bvis_list))
    base = {"use_radec": use_radec}
    no_error, error = _pair_lists(
        sub_bvis_list, sub_components, sub_vp_list, sub_vp_list,
        [base] * len(sub_bvis_list),
        [{**base, "pointing": pointing, "offsets_seed": s} for s in seeds],
    )  # fmt: skip
    _maybe_show(show, error, "pointing_error_gaintable.png", basename)
    return no_error, error


def create_surface_errors_gaintable_rsexecute_workflow(
    band,
    sub_bvis_list,
    sub_components,
    vp_directory=None,
    use_radec=False,
    elevation_sampling=5.0,
    show=False,
    basename="",
    zenith_rms=1e-3,
    horizon_rms=1e-3,
):
    """Gain tables for gravitational surface deformation: the pattern at each time's
    elevation against the perfect surface at the rigging elevation (45°).

    Parameters
    ----------
    band : {'B1', 'B2', 'Ku'}
        RASCIL's SKA-Mid band (checked; the gains are evaluated at the windows' channels).
    sub_bvis_list : list of Visibility (graphs)
    sub_components : list of SkyComponent
    vp_directory : str, optional
        RASCIL's HWP pattern files; not read (logged when given).
    use_radec : bool
    elevation_sampling : float
        Degrees: elevations are rounded to this step, as RASCIL's table of patterns.
    show : bool
        Plot the error gains (``surface_error_gaintable.png``).
    basename : str
    zenith_rms, horizon_rms : float
        Metres (:class:`~uvflow.simulation.voltage_patterns.DeformedPattern`).

    Returns
    -------
    (list, list)
        As :func:`create_pointing_errors_gaintable_rsexecute_workflow`.
    """
    _band(band)
    if vp_directory is not None:
        log.info(
            "surface errors: vp_directory %s is not read; uvflow models the deformation "
            "analytically (DeformedPattern, %.2g/%.2g m rms)", vp_directory, zenith_rms, horizon_rms
        )  # fmt: skip
    n = len(sub_bvis_list)
    nominal = [rsexecute.execute(_ideal_from_vis)(v) for v in sub_bvis_list]
    actual = [
        rsexecute.execute(_deformed_from_vis)(v, zenith_rms, horizon_rms) for v in sub_bvis_list
    ]
    options = {"use_radec": use_radec, "elevation_sampling": elevation_sampling}
    no_error, error = _pair_lists(sub_bvis_list, sub_components, nominal, actual,
                                  [options] * n, [options] * n)  # fmt: skip
    _maybe_show(show, error, "surface_error_gaintable.png", basename)
    return no_error, error


def _ideal_from_vis(vis):
    return IdealPattern(_vis_diameter(vis))


def _deformed_from_vis(vis, zenith_rms, horizon_rms):
    return DeformedPattern(_vis_diameter(vis), zenith_rms, horizon_rms)


def _polarised_from_vis(vis, ellipticity, leakage, nominal):
    pattern = PolarisedPattern(_vis_diameter(vis), ellipticity, leakage)
    return pattern.nominal() if nominal else pattern


def create_polarisation_gaintable_rsexecute_workflow(
    band,
    sub_bvis_list,
    sub_components,
    use_radec=False,
    show=False,
    basename="",
    ellipticity=0.02,
    leakage=0.03,
):
    """Gain tables for the dish's polarised response against its symmetrised pattern.

    Parameters
    ----------
    band : {'B1', 'B2', 'Ku'}
        Checked; the gains are evaluated at the windows' channels.
    sub_bvis_list : list of Visibility (graphs)
        With two receptors (linear or circular polarisation) for the full Jones matrices;
        Stokes I data get the mean co-polar pattern only.
    sub_components : list of SkyComponent
    use_radec : bool
    show : bool
        Plot the error gains (``voltage_pattern_gaintable.png``; RASCIL's default was True).
    basename : str
    ellipticity, leakage : float
        :class:`~uvflow.simulation.voltage_patterns.PolarisedPattern`.

    Returns
    -------
    (list, list)
        As :func:`create_pointing_errors_gaintable_rsexecute_workflow`.
    """
    _band(band)
    PolarisedPattern(1.0, ellipticity, leakage)  # check the values once, here
    n = len(sub_bvis_list)
    nominal = [rsexecute.execute(_polarised_from_vis)(v, ellipticity, leakage, True)
               for v in sub_bvis_list]  # fmt: skip
    actual = [rsexecute.execute(_polarised_from_vis)(v, ellipticity, leakage, False)
              for v in sub_bvis_list]  # fmt: skip
    options = [{"use_radec": use_radec}] * n
    no_error, error = _pair_lists(sub_bvis_list, sub_components, nominal, actual, options, options)
    _maybe_show(show, error, "voltage_pattern_gaintable.png", basename)
    return no_error, error
