"""Calibration chains: several Jones terms solved and applied in order (RASCIL style).

A chain is named by a calibration context, e.g. ``'TGB'`` (each character a term), or a
sequence of term names for multi-character plugin names. The observed data are modelled
as ``V = J_1 J_2 … J_n M J_n^H … J_1^H`` for the context ``J_1 J_2 … J_n``; each term is
solved on the data corrected by the terms before it, against the uncorrupted model.

The terms and their controls (``first_selfcal``, solution intervals, solver options)
are described, and checked, in :mod:`uvflow.calibration.settings`.
:func:`solve_calibrate_chain` and :func:`apply_calibration_chain` take RASCIL's flat
arguments; :func:`solve_chain` and :func:`apply_chain` do the same from one
:class:`~uvflow.calibration.CalibrationSettings`.
"""

from __future__ import annotations

import logging

from uvflow.datamodels import GainTable, Visibility

from .apply import apply_gaintable
from .errors import CalibrationError
from .settings import CalibrationSettings
from .solver_plugins import get_solver

__all__ = ["apply_calibration_chain", "apply_chain", "solve_calibrate_chain", "solve_chain"]

logger = logging.getLogger(__name__)


def solve_chain(
    vis: Visibility,
    model_vis: Visibility | None,
    gaintables: dict[str, GainTable] | None,
    settings: CalibrationSettings,
    iteration: int = 0,
) -> dict[str, GainTable]:
    """:func:`solve_calibrate_chain` with the terms and controls of ``settings``.

    Parameters
    ----------
    vis, model_vis, gaintables, iteration
        As for :func:`solve_calibrate_chain`.
    settings : CalibrationSettings
        The terms in chain order and their controls (``global_solution`` is not used).

    Returns
    -------
    dict
        A table for every term of ``settings.terms`` (unit tables for skipped terms
        without one), and the other tables of ``gaintables`` unchanged.
    """
    out = dict(gaintables or {})
    avis = vis
    for k, term in enumerate(settings.terms):
        first, c = settings.term_controls(term)
        solver = get_solver(term)
        if iteration < first:
            if term not in out:
                out[term] = solver.create(vis, **c)
            logger.debug(
                "chain: term %s skipped at iteration %d (first_selfcal %s)", term, iteration, first
            )
            continue
        out[term] = solver.solve(avis, model_vis, out.get(term), **c)
        if k < len(settings.terms) - 1:
            avis = apply_gaintable(avis, out[term], inverse=True)
    return out


def apply_chain(
    vis: Visibility,
    gaintables: dict[str, GainTable],
    settings: CalibrationSettings,
    iteration: int = 0,
) -> Visibility:
    """:func:`apply_calibration_chain` with the terms and controls of ``settings``.

    Parameters
    ----------
    vis, gaintables, iteration
        As for :func:`apply_calibration_chain`.
    settings : CalibrationSettings
        The terms in chain order and their ``first_selfcal``.

    Returns
    -------
    Visibility
        ``vis[ntime, nbaseline, nchan, npol]`` corrected term by term (weights and flags
        propagated).

    Raises
    ------
    CalibrationError
        ``gaintables`` not a dict, or a table that does not fit ``vis``.
    """
    if not isinstance(gaintables, dict):
        raise CalibrationError(
            f"gaintables must be a dict of GainTable by term, got {type(gaintables)}"
        )
    avis = vis
    for term in settings.terms:
        first, _ = settings.term_controls(term)
        if iteration >= first and term in gaintables:
            avis = apply_gaintable(avis, gaintables[term], inverse=True)
    return avis


def solve_calibrate_chain(
    vis: Visibility,
    model_vis: Visibility | None,
    gaintables: dict[str, GainTable] | None = None,
    calibration_context="TGB",
    controls: dict | None = None,
    iteration: int = 0,
) -> dict[str, GainTable]:
    """Solve the terms of a chain in order, each on data corrected by those before it.

    Parameters
    ----------
    vis : Visibility
        Observed data ``vis[ntime, nbaseline, nchan, npol]`` complex, ``weight`` float and
        ``flags`` bool of the same shape.
    model_vis : Visibility or None
        Model visibilities of the same shape (None: 1 Jy point source at the phase centre).
    gaintables : dict of str to GainTable, optional
        Existing tables by term (``gain[ntime, nant, nchan, nrec, nrec]`` complex128):
        starting gains and solution grids.
    calibration_context : str or sequence of str
        Terms in chain order, e.g. ``'TGB'``.
    controls : dict, optional
        Per-term controls (defaults: each solver's ``default_controls()``).
    iteration : int
        Self-calibration iteration; terms with ``first_selfcal > iteration`` are skipped.

    Returns
    -------
    dict
        A table for every term of the context (unit tables for skipped terms without one).
    """
    settings = CalibrationSettings.create(calibration_context, controls)
    return solve_chain(vis, model_vis, gaintables, settings, iteration)


def apply_calibration_chain(
    vis: Visibility,
    gaintables: dict[str, GainTable],
    calibration_context="TGB",
    controls: dict | None = None,
    iteration: int = 0,
) -> Visibility:
    """Correct ``vis`` by every term of the chain in use at ``iteration`` (in context order).

    Terms without a table in ``gaintables`` or with ``first_selfcal > iteration`` are
    not applied.

    Parameters
    ----------
    vis : Visibility
        Data to correct: ``vis[ntime, nbaseline, nchan, npol]`` complex (complex64 or
        complex128, kept), ``weight`` float and ``flags`` bool of the same shape.
    gaintables : dict of str to GainTable
        Tables by term (from :func:`solve_calibrate_chain`): ``gain[ntime, nant, nchan,
        nrec, nrec]`` complex128 with ``weight`` float64 of the same shape.
    calibration_context : str or sequence of str
        Terms in chain order, e.g. ``'TGB'``.
    controls : dict, optional
        Per-term controls (only ``first_selfcal`` matters here); checked like
        :func:`~uvflow.calibration.validate_controls`.
    iteration : int
        Self-calibration iteration.

    Returns
    -------
    Visibility
        ``vis`` corrected term by term with ``apply_gaintable(..., inverse=True)``; weights
        and flags propagated (samples whose gain has no solution are flagged).

    Raises
    ------
    CalibrationError
        ``gaintables`` not a dict, an unknown term, or a table that does not fit ``vis``.
    ControlsError
        Bad controls.
    """
    return apply_chain(
        vis, gaintables, CalibrationSettings.create(calibration_context, controls), iteration
    )
