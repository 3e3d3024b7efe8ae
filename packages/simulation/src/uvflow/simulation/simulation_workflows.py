"""Simulation workflows: lists of Visibility graphs built with ``rsexecute``.

Every function returns a list of graphs (Dask delayed values, or the values themselves in
serial mode); compute them with ``rsexecute.compute(graph_list, sync=True)``. Random
draws use one child seed per window, ``numpy.random.SeedSequence(seed).spawn(nwindows)[i]``
(see :mod:`uvflow.simulation.seeding`), so a window's numbers do not depend on where or in
which order it is computed: serial and Dask runs give identical data.
"""

from __future__ import annotations

import logging

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time

from uvflow.calibration import apply_gaintable, create_gaintable_from_visibility
from uvflow.datamodels import Configuration, PolarisationFrame, SkyModel, to_radians
from uvflow.execution import rsexecute
from uvflow.execution.keywords import strict_keywords
from uvflow.imaging import predict, predict_dft

from .earth_orientation import elevation_hour_angle
from .errors import SimulationError
from .gains import simulate_gaintable
from .named_observations import named_configuration
from .noise import add_noise
from .observation import (
    DEFAULT_ELEVATION_LIMIT,
    DEFAULT_UTC_TIME,
    check_visible,
    create_visibility,
    observation_times,
    positive_values,
)
from .seeding import SeedLike, spawn_seeds
from .skycomponents import component_flux_at

__all__ = [
    "WINDOW_ORDERS",
    "simulate_list_rsexecute_workflow",
    "corrupt_list_rsexecute_workflow",
    "predict_skymodel_list_rsexecute_workflow",
    "skymodel_visibilities",
]

log = logging.getLogger(__name__)

WINDOW_ORDERS = ("frequency", "time", "both", None)


def _simulate_window(
    config, times, frequency, channel_bandwidth, phasecentre, options, noise, seed
):
    vis = create_visibility(
        config, times, frequency, channel_bandwidth, phasecentre, **options, allow_all_flagged=True
    )
    if noise["sefd"] is not None or noise["sigma"] is not None:
        vis = add_noise(vis, sefd=noise["sefd"], sigma=noise["sigma"], seed=seed)
    return vis


@strict_keywords
def simulate_list_rsexecute_workflow(
    config="LOWBD2",
    phasecentre: SkyCoord | None = None,
    frequency=None,
    channel_bandwidth=None,
    times=None,
    polarisation_frame: PolarisationFrame | str = "stokesI",
    order: str | None = "frequency",
    rmax: float | None = None,
    zerow: bool = False,
    seed: SeedLike = None,
    layout_path=None,
    integration_time=None,
    elevation_limit=DEFAULT_ELEVATION_LIMIT,
    utc_time: Time | str = DEFAULT_UTC_TIME,
    times_are: str = "hour_angle",
    weight: float = 1.0,
    dtype=np.complex128,
    sefd=None,
    sigma=None,
) -> list:
    """Graphs of simulated (zero-valued, or noise-only) Visibility windows.

    Parameters
    ----------
    config : Configuration or str
        A configuration, or a standard name (``'LOWBD2'``, ``'MEERKAT'``, ``'VLA-A'`` …;
        see :func:`uvflow.simulation.named_configuration`, with ``rmax`` and ``layout_path``).
        The default ``'LOWBD2'`` (SKA1-LOW) is not shipped: it needs ``layout_path`` (e.g.
        ``'../shared/data/layouts/LOWBD2.csv'``), else a ``SimulationError`` says so.
    phasecentre : SkyCoord
    frequency : array of float [nchan]
        Hz.
    channel_bandwidth : float or array of float [nchan]
        Hz.
    times : array of float [ntime] or astropy Time
        Hour angles (radians) or UTC, as ``times_are`` says.
    polarisation_frame : PolarisationFrame or str
    order : {'frequency', 'time', 'both', None}
        One window per channel, per time, per (time, channel), or a single window.
    rmax : float, optional
        Metres; only with a named ``config``.
    zerow : bool
    seed : int, SeedSequence, Generator or None
        For the noise (window i uses child i).
    layout_path : str or os.PathLike, optional
        For SKA1-LOW names (``'LOWBD2'``, ``'SKA-LOW'`` …): the layout file or its directory.
    integration_time : float, optional
        Seconds; default the median spacing of the whole track (1 s for one time).
    elevation_limit, utc_time, times_are, weight, dtype
        As for :func:`uvflow.simulation.create_visibility`. The track is checked as a whole:
        an error if the phase centre is below the limit at every time; windows entirely
        below it are returned flagged.
    sefd, sigma : optional
        Add thermal noise (:func:`uvflow.simulation.add_noise`) in each window.

    Returns
    -------
    list
        Visibility graphs, ordered by time then frequency (``'both'``: time-major).

    Raises
    ------
    TypeError
        An unknown keyword (the message lists the valid ones).
    SimulationError
        Bad input (see :func:`uvflow.simulation.create_visibility`).
    """
    if order not in WINDOW_ORDERS:
        raise SimulationError(f"order {order!r} unknown; use one of {WINDOW_ORDERS}")
    if phasecentre is None or frequency is None or channel_bandwidth is None or times is None:
        raise SimulationError("phasecentre, frequency, channel_bandwidth and times are required")
    if isinstance(config, Configuration):
        if rmax is not None:
            raise SimulationError("rmax only applies to a named configuration")
    else:
        config = named_configuration(config, rmax=rmax, layout_path=layout_path)
    freq = np.atleast_1d(np.asarray(frequency, dtype=float))
    bw = positive_values("channel_bandwidth", channel_bandwidth, freq.size, "Hz")
    # The whole track is resolved and checked once, here: every window then uses the same
    # absolute times, and bad input fails before any graph is built.
    track = observation_times(times, config, phasecentre, times_are, utc_time)
    limit = None if elevation_limit is None else to_radians(elevation_limit)
    check_visible(elevation_hour_angle(track, config.location, phasecentre)[0], limit)
    if integration_time is None:
        integration_time = float(np.median(np.diff(track))) if track.size > 1 else 1.0
    itime = positive_values("integration_time", integration_time, track.size, "s")
    options = dict(
        polarisation_frame=polarisation_frame, elevation_limit=elevation_limit, weight=weight,
        zerow=zerow, times_are="utc", dtype=dtype,
    )  # fmt: skip
    t_windows = (
        [slice(i, i + 1) for i in range(track.size)] if order in ("time", "both") else [slice(None)]
    )
    f_windows = (
        [slice(i, i + 1) for i in range(freq.size)]
        if order in ("frequency", "both")
        else [slice(None)]
    )
    seeds = spawn_seeds(seed, len(t_windows) * len(f_windows))
    noise = {"sefd": sefd, "sigma": sigma}
    graphs = []
    for ti, ts in enumerate(t_windows):
        for fi, fs in enumerate(f_windows):
            opts = dict(options, integration_time=itime[ts])
            graphs.append(
                rsexecute.execute(_simulate_window)(
                    config, track[ts], freq[fs], bw[fs], phasecentre, opts, noise,
                    seeds[ti * len(f_windows) + fi],
                )
            )  # fmt: skip
    log.debug("simulate_list: %d windows (order=%s)", len(graphs), order)
    return graphs


def _corrupt_window(
    vis, gt, seed, phase_error, amplitude_error, smooth_in_time, timescale, jones_type
):
    if gt is None:
        gt = create_gaintable_from_visibility(vis, jones_type=jones_type)
        gt = simulate_gaintable(
            gt, phase_error=phase_error, amplitude_error=amplitude_error,
            smooth_in_time=smooth_in_time, seed=seed, timescale=timescale,
        )  # fmt: skip
    return apply_gaintable(vis, gt)


@strict_keywords
def corrupt_list_rsexecute_workflow(
    vis_list,
    gt_list=None,
    seed: SeedLike = None,
    phase_error: float = 0.1,
    amplitude_error: float = 0.0,
    smooth_in_time: bool = False,
    timescale: float | None = None,
    jones_type: str = "T",
) -> list:
    """Graphs of the windows corrupted by antenna gains (``V_ij → g_i V_ij g_j^H``).

    Parameters
    ----------
    vis_list : list of Visibility graphs
    gt_list : list of GainTable (graphs), optional
        Apply these (one per window) and draw nothing. Otherwise each window gets its own
        random table: ``create_gaintable_from_visibility(vis, jones_type)`` then
        :func:`uvflow.simulation.simulate_gaintable` with child seed i of ``seed`` (so
        windows have independent gains; pass ``gt_list`` to share one table).
    seed : int, SeedSequence, Generator or None
    phase_error, amplitude_error, smooth_in_time, timescale
        See :func:`uvflow.simulation.simulate_gaintable`.
    jones_type : str

    Returns
    -------
    list
        Visibility graphs, one per window.
    """
    vis_list = list(vis_list)
    if gt_list is not None:
        gt_list = list(gt_list)
        if len(gt_list) != len(vis_list):
            raise SimulationError(
                f"gt_list has {len(gt_list)} tables for {len(vis_list)} visibility windows"
            )
    seeds = spawn_seeds(seed, len(vis_list))
    return [
        rsexecute.execute(_corrupt_window)(
            v,
            None if gt_list is None else gt_list[i],
            seeds[i],
            phase_error,
            amplitude_error,
            smooth_in_time,
            timescale,
            jones_type,
        )  # fmt: skip
        for i, v in enumerate(vis_list)
    ]


def skymodel_visibilities(
    vis, skymodel, context: str = "ng", docal: bool = False, images: bool = True
):
    """The model visibilities of one sky model on ``vis``'s samples: its image (gridder
    ``context``; left out with ``images=False``) plus its components (DFT), corrupted by its
    gain table with ``docal``. A kernel: one task of the sky-model workflows."""
    if not isinstance(skymodel, SkyModel):
        raise SimulationError(f"skymodel_list must hold SkyModels, got {type(skymodel).__name__}")
    model = vis.copy(zero=True)
    if images and skymodel.image is not None:
        model = predict(model, skymodel.image, context=context)
    if skymodel.components:
        # fluxes at this window's channels (power law between the components' channels)
        comps = [
            c.replace(frequency=vis.frequency,
                      flux=component_flux_at(c, vis.frequency, c.polarisation_frame))
            for c in skymodel.components
        ]  # fmt: skip
        dft = predict_dft(vis, comps)
        model = model.replace(vis=model.vis + dft.vis)
    if docal and skymodel.gaintable is not None:
        model = apply_gaintable(model, skymodel.gaintable)
    return model


@strict_keywords
def predict_skymodel_list_rsexecute_workflow(
    vis, skymodel_list, context: str = "ng", docal: bool = False
) -> list:
    """Graphs of the model visibilities of each sky model (image + components).

    Parameters
    ----------
    vis : Visibility (graph)
        Template: its uvw, channels and polarisations; its values are not used.
    skymodel_list : list of SkyModel (graphs)
        The image is predicted with ``uvflow.imaging.predict(vis, image, context=context)``,
        the components (their fluxes taken at the window's channels, see
        :func:`uvflow.simulation.component_flux_at`) with ``uvflow.imaging.predict_dft``;
        the two are summed.
    context : str
        Gridder context for the image part (e.g. ``'2d'``, ``'ng'``).
    docal : bool
        Apply each sky model's ``gaintable`` (when it has one) to its prediction.

    Returns
    -------
    list
        One Visibility graph per sky model.
    """
    return [
        rsexecute.execute(skymodel_visibilities)(vis, sm, context, docal) for sm in skymodel_list
    ]
