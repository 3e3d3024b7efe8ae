"""RASCIL 0.1.5's standard SKA simulations and atmospheric gain errors, as rsexecute graphs.

===================================================== =======================================
workflow                                              returns
===================================================== =======================================
``create_standard_mid_simulation_rsexecute_workflow`` one Visibility graph per time chunk
``create_standard_low_simulation_rsexecute_workflow`` one Visibility graph per time chunk
``create_atmospheric_errors_gaintable_rsexecute_workflow`` ``(no_error_gt_list, error_gt_list)``,
                                                      GainTable graphs ``[window][component]``
===================================================== =======================================

RASCIL's names and call shapes, on uvflow's data models; each docstring lists the
differences. Kernels: :mod:`.standard_configurations`, :mod:`.pierce_points`,
:mod:`.atmospheric_screens`, :mod:`.screen_gaintables`.
"""

from __future__ import annotations

import logging

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time

from uvflow.datamodels import Image, PolarisationFrame, SkyComponent
from uvflow.execution import rsexecute
from uvflow.execution.keywords import check_keywords

from .atmospheric_screens import screen_r0, screen_reference_frequency
from .earth_orientation import SIDEREAL_RATE, elevation_hour_angle, transit_time
from .errors import SimulationError
from .observation import DEFAULT_UTC_TIME, create_visibility
from .pierce_points import pierce_point_extent
from .screen_gaintables import (
    GAINTABLE_KEYWORDS,
    atmosphere_type,
    create_gaintable_from_screen,
    create_unit_gaintables,
    plot_gaintable_phases,
    screen_for_extents,
)
from .standard_configurations import (
    STANDARD_CHANNEL_BANDWIDTH,
    STANDARD_ELEVATION_LIMITS,
    standard_configuration,
    standard_frequency,
    standard_time_chunks,
)

__all__ = [
    "ATMOSPHERE_KEYWORDS",
    "create_atmospheric_errors_gaintable_rsexecute_workflow",
    "create_standard_low_simulation_rsexecute_workflow",
    "create_standard_mid_simulation_rsexecute_workflow",
]

log = logging.getLogger(__name__)

#: the keywords ``create_atmospheric_errors_gaintable_rsexecute_workflow`` takes in **kwargs
ATMOSPHERE_KEYWORDS = (*GAINTABLE_KEYWORDS, "seed", "reference_frequency", "screen_cellsize",
                       "plot_file")  # fmt: skip


def _standard_simulation(telescope, band, rmax, phasecentre, time_range, time_chunk,
                         integration_time, shared_directory, polarisation_frame, zerow):  # fmt: skip
    frequency = standard_frequency(telescope, band)
    if not isinstance(phasecentre, SkyCoord) or not phasecentre.isscalar:
        raise SimulationError("phasecentre must be a scalar astropy SkyCoord")
    starts, samples = standard_time_chunks(time_range, time_chunk, integration_time)
    frame = PolarisationFrame("stokesI" if polarisation_frame is None else polarisation_frame)
    config = standard_configuration(telescope, rmax, shared_directory)
    if config.nants < 2:
        raise SimulationError(
            f"rmax={rmax} leaves {config.nants} antenna of {config.name}; need >= 2"
        )
    limit_deg = STANDARD_ELEVATION_LIMITS[telescope]
    limit = np.deg2rad(limit_deg)
    # hour angles -> UTC once, here: every chunk then shares the transit of the whole track
    transit = transit_time(Time(DEFAULT_UTC_TIME, scale="utc"), config.location, phasecentre)
    ends = starts + float(time_chunk) * np.pi / 43200.0
    el, _ = elevation_hour_angle(
        transit + np.concatenate([starts, ends]) / SIDEREAL_RATE, config.location, phasecentre
    )
    keep = np.flatnonzero((el[: starts.size] > limit) | (el[starts.size :] > limit))
    if keep.size == 0:
        raise SimulationError(
            f"no data above the SKA-{telescope} elevation limit {limit_deg:g} deg: the phase centre "
            f"is below it at every chunk start and end of time_range {tuple(time_range)} h "
            f"(highest {np.rad2deg(el.max()):.2f} deg)"
        )
    log.info("standard %s simulation: %d of %d chunks above %g deg, %d antennas", telescope,
             keep.size, starts.size, limit_deg, config.nants)  # fmt: skip
    return [
        rsexecute.execute(create_visibility)(
            config,
            transit + samples[i] / SIDEREAL_RATE,
            np.array([frequency]),
            np.array([STANDARD_CHANNEL_BANDWIDTH]),
            phasecentre,
            polarisation_frame=frame,
            integration_time=float(integration_time),
            elevation_limit=limit,
            zerow=zerow,
            times_are="utc",
            source=f"SKA1-{telescope}",
            allow_all_flagged=True,
        )
        for i in keep
    ]


def create_standard_mid_simulation_rsexecute_workflow(
    band, rmax, phasecentre, time_range, time_chunk, integration_time, shared_directory,
    polarisation_frame=None, zerow=False,
) -> list:  # fmt: skip
    """RASCIL's standard SKA-MID simulation: one Visibility graph per time chunk.

    One channel at the band's frequency (B1 0.765 GHz, B2 1.36 GHz, Ku 12.179 GHz; width
    10 MHz). Hour angles ``time_range`` (hours) are cut into chunks of ``time_chunk``
    seconds, each sampled every ``integration_time`` seconds (see
    :mod:`uvflow.simulation.standard_configurations`); a chunk is kept when the phase
    centre is above 15° elevation at its start or its end. The layout is
    ``<shared_directory>/ska1mid_local.cfg`` when present, else the MeerKAT dishes of
    SKA-Mid (uvflow's MeerKAT layout) at the MID array centre (lon 21.443803°,
    lat −30.712925°), which is logged once.

    Parameters
    ----------
    band : {'B1', 'B2', 'Ku'}
    rmax : float or None
        Metres (file: 3-D distance from the mean antenna position, as RASCIL; MeerKAT:
        horizontal distance from the array centre).
    phasecentre : SkyCoord
    time_range : (float, float)
        Hour angles, hours.
    time_chunk : float
        Seconds.
    integration_time : float
        Seconds.
    shared_directory : str or os.PathLike or None
    polarisation_frame : PolarisationFrame or str, optional
        Default stokesI.
    zerow : bool

    Returns
    -------
    list
        Visibility graphs (values in serial mode), ``vis`` complex128 zeros
        [ntime_chunk, nbaseline, 1, npol], in time order.

    Raises
    ------
    SimulationError
        Unknown band (the known ones are listed), a bad ``time_range``, ``time_chunk`` or
        ``integration_time``, or no chunk above the elevation limit.

    Notes
    -----
    Differences from RASCIL 0.1.5: the chunks are uvflow Visibility objects (block layout,
    rigorous uvw: :func:`uvflow.simulation.create_visibility`); hour angles are converted to
    UTC with the sidereal rate, relative to the phase centre's first transit at or after
    2024-01-01T00:00 UTC (RASCIL stores hour-angle seconds as times), so samples
    ``integration_time`` hour-angle seconds apart are 0.99727 times that apart in UTC, while
    ``integration_time`` is recorded as given; elevations are apparent ones from ERFA, not
    RASCIL's spherical formula; within a kept chunk, samples below the elevation limit are
    flagged (weight 0; RASCIL keeps them); a missing layout file falls back as described in
    :mod:`uvflow.simulation.standard_configurations`; bad input raises ``SimulationError``
    (RASCIL: ValueError or assert).
    """
    return _standard_simulation("MID", band, rmax, phasecentre, time_range, time_chunk,
                                integration_time, shared_directory, polarisation_frame, zerow)  # fmt: skip


def create_standard_low_simulation_rsexecute_workflow(
    band, rmax, phasecentre, time_range, time_chunk, integration_time, shared_directory,
    polarisation_frame=None, zerow=False,
) -> list:  # fmt: skip
    """RASCIL's standard SKA-LOW simulation: one Visibility graph per time chunk.

    As :func:`create_standard_mid_simulation_rsexecute_workflow`, with one channel at
    150 MHz (width 10 MHz), elevation limit 45°, the array centre lon 116.76444824°,
    lat −26.824722084°, height 300 m, and the layout ``<shared_directory>/ska1low_local.cfg``
    when present, else ``LOWBD2.csv`` from ``shared_directory``
    (:func:`uvflow.simulation.named_configuration`, rmax from the mean station position).

    Parameters
    ----------
    band : {'B'}
        RASCIL documents 'B' and ignores the value; uvflow checks it.
    rmax, phasecentre, time_range, time_chunk, integration_time, shared_directory,
    polarisation_frame, zerow
        As for the MID workflow.

    Returns
    -------
    list
        Visibility graphs (values in serial mode), one per kept chunk.

    Raises
    ------
    SimulationError
        As for the MID workflow, and no layout in ``shared_directory``.

    Notes
    -----
    Differences from RASCIL 0.1.5: those of the MID workflow; RASCIL ignores ``band`` and
    needs ``ska1low_local.cfg`` (uvflow falls back to ``LOWBD2.csv``).
    """
    return _standard_simulation("LOW", band, rmax, phasecentre, time_range, time_chunk,
                                integration_time, shared_directory, polarisation_frame, zerow)  # fmt: skip


def _screen_value(screen):
    """The screen (one task holds it, so the graph carries the Image once)."""
    return screen


def create_atmospheric_errors_gaintable_rsexecute_workflow(
    sub_bvis_list, sub_components, r0=5e3, screen=None, height=3e5, type_atmosphere="iono",
    show=False, basename="", **kwargs,
) -> tuple[list, list]:  # fmt: skip
    """RASCIL's atmospheric gain errors: per window and component, unit and screen gains.

    Each antenna's gain towards component k is ``exp(i φ)``, φ the phase screen at the
    antenna's pierce point (:func:`uvflow.simulation.pierce_points`: the line of sight
    crossing a flat screen ``height`` metres up, at every gain time) scaled to r0 and to
    frequency (:mod:`uvflow.simulation.screen_gaintables`: 'iono' ∝ 1/ν, 'troposphere'
    a non-dispersive delay ∝ ν).

    Parameters
    ----------
    sub_bvis_list : list of Visibility (graphs)
        With configurations.
    sub_components : list of SkyComponent (or SkyCoord, or graphs of them)
        A list whose length is known.
    r0 : float
        Fried parameter, metres, at the screen's reference frequency.
    screen : Image (or a graph of one) or None
        A phase screen in radians (:mod:`uvflow.simulation.atmospheric_screens`: axes 1–2
        East/North metres from the array centre; reference frequency ``meta['REFFREQ']``,
        else its FREQ axis; its own r0 ``meta['R0']``, else 5000 m, rescaled to ``r0``).
        None: one Kolmogorov screen of Fried parameter ``r0`` (FFT with subharmonics) is
        generated, covering the pierce points of every window's unflagged times, and shared
        by all windows.
    height : float
        Screen height above the array centre, metres.
    type_atmosphere : {'iono', 'ionosphere', 'tropo', 'troposphere'}
    show : bool
        Compute the error tables now and plot antenna 0's phase against time into
        ``plot_file`` (default ``gaintable_<r0>.png``) when matplotlib is installed; else
        log a warning.
    basename : str
        Title prefix of the plot.
    **kwargs
        ``jones_type`` ('T', 'G', or 'B' for per-channel phases), ``timeslice``,
        ``frequencyslice`` (``uvflow.calibration.create_gaintable_from_visibility``);
        for a generated screen ``seed`` (int, SeedSequence or None: fresh entropy, fixed
        once here so every computation of the graph gives the same screen),
        ``reference_frequency`` (Hz; default the middle of the windows' frequencies) and
        ``screen_cellsize`` (metres; default see :func:`uvflow.simulation.screen_for_extents`);
        ``plot_file``. Anything else is a TypeError naming these.

    Returns
    -------
    no_error_gt_list, error_gt_list : list of list
        ``[window][component]`` GainTable graphs (values in serial mode): unit gains, and
        the screen's phases; ``gain`` complex128 [ntime, nant, nchan, nrec, nrec], each
        table's ``phasecentre`` its component's direction.

    Raises
    ------
    TypeError
        An unknown keyword.
    SimulationError
        Bad ``r0``, ``height``, ``type_atmosphere`` or screen, no components, or (when
        computed) no pierce point on a given screen.

    Notes
    -----
    Differences from RASCIL 0.1.5: RASCIL needs a screen (read from FITS, axes XX, YY,
    TIME, FREQ; ionospheric screens in TEC units) and has no Kolmogorov generator; it
    scales a screen's phase by ``(r0/5000)^(-5/3)`` (uvflow: ``(r0_screen/r0)^(5/6)``, the
    Kolmogorov scaling of the phase), puts pierce points on a plane normal to the source,
    samples one narrow-band phase per window time slice, and returns ``error_gt_list`` as
    one graph per window holding a list of tables (uvflow: a list of graphs per window, as
    ``no_error_gt_list``); its error-free tables have the visibility's phase centre.
    """
    check_keywords("create_atmospheric_errors_gaintable_rsexecute_workflow()", kwargs,
                   ATMOSPHERE_KEYWORDS)  # fmt: skip
    gt_kwargs = {k: kwargs[k] for k in GAINTABLE_KEYWORDS if k in kwargs}
    atmosphere_type(type_atmosphere)
    for name, value in (("r0", r0), ("height", height)):
        if not (np.isfinite(value) and value > 0):
            raise SimulationError(f"{name} must be finite and > 0 metres, got {value}")
    comps = (
        [sub_components]
        if isinstance(sub_components, (SkyComponent, SkyCoord))
        else list(sub_components)
    )
    if not comps:
        raise SimulationError("sub_components is empty: give at least one component")
    vis_list, ncomp = list(sub_bvis_list), len(comps)
    if screen is None:
        seed = kwargs.get("seed")
        if seed is None:
            seed = np.random.SeedSequence()
            log.debug("atmospheric screen: fresh entropy %d (pass seed= to repeat)", seed.entropy)
        extents = [rsexecute.execute(pierce_point_extent)(v, comps, height) for v in vis_list]
        screen_graph = rsexecute.execute(screen_for_extents)(
            extents, r0, kwargs.get("reference_frequency"), kwargs.get("screen_cellsize"), seed
        )
    else:
        given = [k for k in ("seed", "reference_frequency", "screen_cellsize") if k in kwargs]
        if given:
            raise SimulationError(
                f"{', '.join(given)} only apply to a generated screen (screen=None)"
            )
        if isinstance(screen, Image):
            screen_reference_frequency(screen), screen_r0(screen)  # bad screens fail here
        screen_graph = rsexecute.execute(_screen_value)(screen)
    error_gt_list = [
        list(rsexecute.execute(create_gaintable_from_screen, nout=ncomp)(
            v, comps, screen_graph, height, None, 1.0, r0, type_atmosphere, **gt_kwargs))
        for v in vis_list
    ]  # fmt: skip
    no_error_gt_list = [
        list(rsexecute.execute(create_unit_gaintables, nout=ncomp)(v, comps, **gt_kwargs))
        for v in vis_list
    ]
    if show:
        error_gt_list = rsexecute.persist(error_gt_list)
        tables = rsexecute.compute(error_gt_list, sync=True)
        plot_gaintable_phases(tables, title=f"{basename}: dish 0 gain phase, {r0}",
                              plot_file=kwargs.get("plot_file", f"gaintable_{r0}.png"))  # fmt: skip
    return no_error_gt_list, error_gt_list
