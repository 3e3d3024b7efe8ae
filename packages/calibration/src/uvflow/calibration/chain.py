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

Visibility sources (:mod:`uvflow.datamodels.sources`): every function here takes a
source wherever it takes a Visibility, and loads it when called (in the task that runs
it). :func:`corrected_source` is the lazy sibling of :func:`apply_chain`: for a source it
returns a derived source that reads and corrects the data wherever it is loaded.
"""

from __future__ import annotations

import logging

from uvflow.datamodels import GainTable, Visibility, derive, is_source, load_visibility

from .apply import apply_gaintable
from .errors import CalibrationError
from .settings import CalibrationSettings
from .solver_plugins import get_solver

__all__ = [
    "apply_calibration_chain",
    "apply_chain",
    "corrected_source",
    "solve_calibrate_chain",
    "solve_chain",
]

logger = logging.getLogger(__name__)


def solve_chain(
    vis,
    model_vis,
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

    Raises
    ------
    TypeError
        ``vis`` (or ``model_vis``) neither a Visibility nor a visibility source.
    """
    vis = load_visibility(vis)
    model_vis = None if model_vis is None else load_visibility(model_vis)
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
    vis,
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
    TypeError
        ``vis`` neither a Visibility nor a visibility source.
    """
    avis = load_visibility(vis)
    for table in _tables_in_use(gaintables, settings, iteration).values():
        avis = apply_gaintable(avis, table, inverse=True)
    return avis


def corrected_source(
    vis,
    gaintables: dict[str, GainTable],
    settings: CalibrationSettings,
    iteration: int = 0,
):
    """The data corrected by the chain, lazily for a source: :func:`apply_chain`'s sibling.

    Parameters
    ----------
    vis : Visibility or VisibilitySource
        The data to correct (``vis[ntime, nbaseline, nchan, npol]`` complex with
        ``weight`` float and ``flags`` bool when loaded).
    gaintables, settings, iteration
        As for :func:`apply_chain`.

    Returns
    -------
    DerivedSource or Visibility
        For a source, ``derive(vis, apply_chain, tables, settings, iteration)``
        (:func:`uvflow.datamodels.derive`) with ``tables`` the tables of ``gaintables``
        that are applied at ``iteration`` (``vis`` itself when none is): nothing is read
        now, and whoever loads it reads the data and corrects them (``load()`` equals ``apply_chain(vis, gaintables,
        settings, iteration)``). For a Visibility, the corrected Visibility itself
        (``apply_chain``): its data are in memory already, and a source holding them would
        correct them again at every load.

    Raises
    ------
    CalibrationError
        ``gaintables`` not a dict.
    TypeError
        ``vis`` neither a Visibility nor a visibility source.
    """
    if isinstance(vis, Visibility):
        return apply_chain(vis, gaintables, settings, iteration)
    if not is_source(vis):
        raise TypeError(f"expected a Visibility or a visibility source, got {type(vis).__name__}")
    tables = _tables_in_use(gaintables, settings, iteration)
    return derive(vis, apply_chain, tables, settings, iteration) if tables else vis


def _tables_in_use(gaintables, settings: CalibrationSettings, iteration) -> dict:
    """The tables of ``gaintables`` applied at ``iteration``, in chain order."""
    if not isinstance(gaintables, dict):
        raise CalibrationError(
            f"gaintables must be a dict of GainTable by term, got {type(gaintables)}"
        )
    return {
        term: gaintables[term]
        for term in settings.terms
        if term in gaintables and iteration >= settings.term_controls(term)[0]
    }


def solve_calibrate_chain(
    vis,
    model_vis,
    gaintables: dict[str, GainTable] | None = None,
    calibration_context="TGB",
    controls: dict | None = None,
    iteration: int = 0,
) -> dict[str, GainTable]:
    """Solve the terms of a chain in order, each on data corrected by those before it.

    Parameters
    ----------
    vis : Visibility or VisibilitySource
        Observed data ``vis[ntime, nbaseline, nchan, npol]`` complex, ``weight`` float and
        ``flags`` bool of the same shape (a source is loaded here).
    model_vis : Visibility, VisibilitySource or None
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
    vis,
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
    vis : Visibility or VisibilitySource
        Data to correct: ``vis[ntime, nbaseline, nchan, npol]`` complex (complex64 or
        complex128, kept), ``weight`` float and ``flags`` bool of the same shape (a source
        is loaded here; :func:`corrected_source` defers the correction instead).
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
