"""Gain tables from an atmospheric phase screen sampled at the antennas' pierce points.

Phase of antenna a towards component k at gain time t and gain channel ν::

    φ = scale · (r0_screen / r0)^(5/6) · screen(pierce point of a, k, t) · F(ν)

``screen`` is bilinearly interpolated (:func:`uvflow.simulation.sample_screen`; radians at
the screen's reference frequency ν_ref), the pierce points are those of
:func:`uvflow.simulation.pierce_points`, and

- ``'ionosphere'`` (``'iono'``): dispersive, ``F = ν_ref / ν`` (a TEC screen);
- ``'troposphere'`` (``'tropo'``): a non-dispersive delay, ``F = ν / ν_ref``.

``(r0_screen / r0)^(5/6)`` turns a screen of Fried parameter ``r0_screen`` into one of ``r0``
(the Kolmogorov structure function scales as r0^(-5/3), the phase as its square root).
Gains are ``exp(i φ)`` on every receptor (amplitude 1), weight 1. Pierce points outside
the screen get phase 0 (RASCIL's choice), and a warning counts them.

Differences from RASCIL 0.1.5's ``create_gaintable_from_screen``: RASCIL multiplies the
phase by ``(r0 / 5000)^(-5/3)`` (the power of the phase variance, applied to the phase) and
ignores its ``scale`` argument, reads ionospheric screens in TEC units
(``φ = −8.44797245e9 · dTEC / ν``: in uvflow the screen is already in radians at ν_ref),
uses the troposphere's phase unchanged at every frequency (the same at ν_ref), takes the
screen pixel by truncation (uvflow interpolates bilinearly), evaluates one narrow-band phase
at the mean frequency of the window (uvflow: at each gain channel, so ``jones_type='B'``
gives per-channel phases) and at one time per ``vis_slices`` slice (uvflow: at each gain
table time; use ``timeslice=`` for coarser solutions), and gives the tables the phase centre
of the visibility (uvflow: the component's direction, as a direction-dependent table).
"""

from __future__ import annotations

import logging

import numpy as np

from uvflow.calibration import create_gaintable_from_visibility
from uvflow.datamodels import GainTable, Image, Visibility
from uvflow.execution.keywords import check_keywords

from .atmospheric_screens import (
    create_kolmogorov_screen,
    sample_screen,
    screen_r0,
    screen_reference_frequency,
)
from .directions import as_direction_list
from .errors import SimulationError
from .pierce_points import pierce_points
from .seeding import SeedLike

__all__ = [
    "ATMOSPHERE_TYPES",
    "GAINTABLE_KEYWORDS",
    "atmosphere_type",
    "create_gaintable_from_screen",
    "create_unit_gaintables",
    "plot_gaintable_phases",
    "screen_for_extents",
]

log = logging.getLogger(__name__)

#: accepted ``type_atmosphere`` values and what they mean
ATMOSPHERE_TYPES = {"iono": "ionosphere", "ionosphere": "ionosphere",
                    "tropo": "troposphere", "troposphere": "troposphere"}  # fmt: skip
#: keywords passed on to ``uvflow.calibration.create_gaintable_from_visibility``
GAINTABLE_KEYWORDS = ("jones_type", "timeslice", "frequencyslice")


def atmosphere_type(type_atmosphere: str) -> str:
    """``'ionosphere'`` or ``'troposphere'`` for an accepted ``type_atmosphere``.

    Raises
    ------
    SimulationError
        Any other value (the message lists the accepted ones).
    """
    kind = ATMOSPHERE_TYPES.get(str(type_atmosphere).lower())
    if kind is None:
        raise SimulationError(
            f"type_atmosphere {type_atmosphere!r} unknown; use one of {', '.join(ATMOSPHERE_TYPES)}"
        )
    return kind


def _template(vis: Visibility, kwargs: dict, where: str) -> GainTable:
    check_keywords(where, kwargs, GAINTABLE_KEYWORDS)
    return create_gaintable_from_visibility(vis, **kwargs)


def create_unit_gaintables(vis: Visibility, sc, **kwargs) -> list[GainTable]:
    """One unit gain table per component (the error-free tables of the atmospheric workflow).

    Parameters
    ----------
    vis : Visibility
    sc : SkyComponent, SkyCoord, or list of them
        Each table's ``phasecentre`` is its direction.
    **kwargs
        ``jones_type``, ``timeslice``, ``frequencyslice`` of
        ``uvflow.calibration.create_gaintable_from_visibility``.

    Returns
    -------
    list of GainTable
        ``gain`` complex128 identity [ntime, nant, nchan, nrec, nrec], in component order.
    """
    template = _template(vis, kwargs, "create_unit_gaintables()")
    return [template.replace(gain=template.gain.copy(), phasecentre=d)
            for d in as_direction_list(sc)]  # fmt: skip


def create_gaintable_from_screen(
    vis: Visibility,
    sc,
    screen: Image,
    height: float = 3e5,
    vis_slices=None,
    scale: float = 1.0,
    r0: float = 5e3,
    type_atmosphere: str = "ionosphere",
    **kwargs,
) -> list[GainTable]:
    """RASCIL's ``create_gaintable_from_screen``: one phase-screen gain table per component.

    See the module notes for the phases and the differences from RASCIL.

    Parameters
    ----------
    vis : Visibility
        With a configuration: the tables get its times and channels.
    sc : SkyComponent, SkyCoord, or list of them
    screen : Image
        A phase screen (``data`` [1, 1, ny, nx], radians; axes in metres, see
        :mod:`uvflow.simulation.atmospheric_screens`).
    height : float
        Screen height above the array centre, metres.
    vis_slices : None
        RASCIL's time slicing; only None (phases at every gain time) is supported.
    scale : float
        Multiply the phases by this factor.
    r0 : float
        Fried parameter wanted, metres (the screen's own is ``meta['R0']``, default 5000).
    type_atmosphere : {'ionosphere', 'iono', 'troposphere', 'tropo'}
    **kwargs
        ``jones_type`` ('T' default, 'G', 'B': per-channel phases), ``timeslice``,
        ``frequencyslice`` of ``uvflow.calibration.create_gaintable_from_visibility``;
        anything else is a TypeError naming these.

    Returns
    -------
    list of GainTable
        ``gain`` complex128 [ntime, nant, nchan, nrec, nrec] of amplitude 1, in component
        order, each with its component's direction as ``phasecentre``.

    Raises
    ------
    SimulationError
        No configuration, bad arguments, or pierce points (sources above the horizon) of
        which none falls on the screen.
    """
    kind = atmosphere_type(type_atmosphere)
    if vis_slices is not None:
        raise SimulationError("vis_slices is not supported: use timeslice= (seconds) instead")
    if vis.configuration is None:
        raise SimulationError("phase screens need vis.configuration (the antenna positions)")
    for name, value in (("r0", r0), ("scale", scale)):
        if not np.isfinite(value) or (name == "r0" and value <= 0):
            raise SimulationError(
                f"{name} must be finite{' and > 0' if name == 'r0' else ''}, got {value}"
            )
    template = _template(vis, kwargs, "create_gaintable_from_screen()")
    ref = screen_reference_frequency(screen)
    factor = scale * (screen_r0(screen) / r0) ** (5 / 6)
    freq = template.frequency
    chan = ref / freq if kind == "ionosphere" else freq / ref  # [nchan]
    idx = np.arange(template.nrec)
    tables, n_in, n_out = [], 0, 0
    for d in as_direction_list(sc):
        pts, _ = pierce_points(vis.configuration, template.time, d, height)  # [nt, na, 2]
        phase, inside = sample_screen(screen, pts[..., 0], pts[..., 1])
        valid = np.all(np.isfinite(pts), axis=-1)
        n_in += int(inside.sum())
        n_out += int((valid & ~inside).sum())
        phi = factor * phase[..., None] * chan[None, None, :]  # [nt, na, nchan]
        gain = np.zeros(template.gain.shape, dtype=np.complex128)
        gain[..., idx, idx] = np.exp(1j * phi)[..., None]
        tables.append(template.replace(gain=gain, phasecentre=d, meta={"atmosphere": kind}))
    if n_out and not n_in:
        raise SimulationError(
            f"none of the {n_out} pierce points lies inside the atmospheric screen "
            f"({screen.ny} x {screen.nx} pixels); make the screen cover the array's pierce "
            "points at this height"
        )
    if n_out:
        log.warning("%d pierce points lie outside the atmospheric screen (phase 0), %d inside",
                    n_out, n_in)  # fmt: skip
    return tables


def screen_for_extents(
    extents: list,
    r0: float,
    reference_frequency: float | None = None,
    cellsize: float | None = None,
    seed: SeedLike = None,
    max_pixels: int = 1024,
) -> Image:
    """A Kolmogorov screen covering the pierce points of every window.

    Parameters
    ----------
    extents : list of dict or None
        :func:`uvflow.simulation.pierce_point_extent` of each window.
    r0 : float
        Fried parameter at ``reference_frequency``, metres.
    reference_frequency : float, optional
        Hz; default the middle of the windows' frequency range.
    cellsize : float, optional
        Metres; default the larger of (longest side / ``max_pixels``) and a quarter of the
        smallest antenna separation (structure is complete from ~4 cells up). A warning
        says when the screen is coarser than that.
    seed : int, SeedSequence, Generator or None
    max_pixels : int

    Returns
    -------
    Image
        See :func:`uvflow.simulation.create_kolmogorov_screen`; two cells of margin.
    """
    boxes = [e for e in extents if e is not None]
    if not boxes:
        raise SimulationError(
            "no window has unflagged times with a component above the horizon: nothing to "
            "make a screen for"
        )
    e0 = min(b["extent"][0] for b in boxes)
    e1 = max(b["extent"][1] for b in boxes)
    n0 = min(b["extent"][2] for b in boxes)
    n1 = max(b["extent"][3] for b in boxes)
    seps = [b["separation"] for b in boxes if b["separation"] > 0]
    sep = min(seps) if seps else 0.0
    span = max(e1 - e0, n1 - n0)
    if cellsize is None:
        cellsize = max(span / int(max_pixels), sep / 4.0)
        if cellsize <= 0:
            cellsize = r0 / 16.0
        if sep > 0 and cellsize > sep / 4.0:
            log.warning(
                "atmospheric screen cells of %.4g m (%.4g m of pierce points in %d cells) exceed "
                "a quarter of the smallest antenna separation %.4g m: structure below ~4 cells "
                "is missing; pass screen_cellsize= for a finer, larger screen",
                cellsize, span, int(max_pixels), sep,
            )  # fmt: skip
    if not (np.isfinite(cellsize) and cellsize > 0):
        raise SimulationError(f"screen cellsize must be finite and > 0 metres, got {cellsize}")
    if reference_frequency is None:
        reference_frequency = 0.5 * (min(b["frequency"][0] for b in boxes)
                                     + max(b["frequency"][1] for b in boxes))  # fmt: skip
    margin = 2.0 * cellsize
    extent = (e0 - margin, e1 + margin, n0 - margin, n1 + margin)
    log.info("Kolmogorov screen r0 %.4g m at %.4g Hz: %.4g x %.4g m in %.4g m cells",
             r0, reference_frequency, e1 - e0, n1 - n0, cellsize)  # fmt: skip
    return create_kolmogorov_screen(extent, r0, cellsize, reference_frequency, seed=seed)


def plot_gaintable_phases(gt_lists: list, title: str = "", plot_file: str = "gaintable.png"):
    """Plot antenna 0's gain phase against time, for each window's first table (RASCIL's
    ``plot_gaintable(..., value='phase')``), into a PNG file.

    Parameters
    ----------
    gt_lists : list of list of GainTable
        Per window, the tables of each component.
    title : str
    plot_file : str
        The PNG to write.

    Returns
    -------
    str or None
        ``plot_file``; None (with a logged warning) when matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        log.warning("show=True: matplotlib is not installed, so no plot was made (%s)", plot_file)
        return None
    fig = Figure(figsize=(8, 5))
    ax = fig.add_subplot()
    t0 = min(tables[0].time[0] for tables in gt_lists if tables)
    for tables in gt_lists:
        if not tables:
            continue
        gt = tables[0]
        for rec, name in enumerate(gt.receptor_frame.names):
            ax.plot(gt.time - t0, np.angle(gt.gain[:, 0, 0, rec, rec]), ".", color=f"C{rec}",
                    label=name if gt is gt_lists[0][0] else None)  # fmt: skip
    ax.legend()
    ax.set_title(title)
    ax.set_xlabel("Time from the first gain (s)")
    ax.set_ylabel("Phase of antenna 0 (rad)")
    fig.savefig(plot_file)
    log.info("plotted the gain phases into %s", plot_file)
    return plot_file
