"""Calibration chains: several Jones terms solved and applied in order (RASCIL style).

A chain is named by a calibration context, e.g. ``'TGB'`` (each character a term), or a
sequence of term names for multi-character plugin names. The observed data are modelled
as ``V = J_1 J_2 … J_n M J_n^H … J_1^H`` for the context ``J_1 J_2 … J_n``; each term is
solved on the data corrected by the terms before it, against the uncorrupted model.

``controls`` (see :func:`create_calibration_controls`) give per term:

- ``first_selfcal``: the iteration from which the term is used. Before it, the term is
  neither solved nor applied (a unit table is made for it if none was given).
- ``shape``: 'scalar' (T), 'vector' (per receptor) or 'matrix' (full 2×2) for G and B.
- ``timeslice``, ``frequencyslice``, ``phase_only`` and solver options (``niter``,
  ``tol``, ``refant``, ``normalise_gains``).

Controls are checked before anything is solved or a graph is built
(:func:`validate_controls`): an entry for a term that no installed solver provides
(``{'g': ...}``, ``{'Q': ...}``) and a key the term's solver does not know (every key of
its ``default_controls()`` is known) raise :class:`~uvflow.calibration.ControlsError`
naming the bad one and listing the valid ones. Entries for installed terms that are not
in the calibration context are allowed (``create_calibration_controls()`` gives T, G and
B for any context) and checked all the same.
"""

from __future__ import annotations

import difflib
import logging

from uvflow.datamodels import GainTable, Visibility

from .apply import apply_gaintable
from .errors import CalibrationError, ControlsError, SolverNotFoundError, check_keywords
from .solvers import available_solvers, get_solver

__all__ = [
    "apply_calibration_chain",
    "calibration_terms",
    "create_calibration_controls",
    "solve_calibrate_chain",
    "term_controls",
    "validate_controls",
]

logger = logging.getLogger(__name__)


def create_calibration_controls() -> dict[str, dict]:
    """Default controls of the built-in terms (a new dict on every call).

    Returns
    -------
    dict
        ``T``: scalar, phase only, one solution per integration (``timeslice='auto'``);
        ``G``: per receptor, amplitude and phase, 60 s; ``B``: per receptor and channel,
        amplitude and phase, 1e5 s. Each has ``first_selfcal=0``, ``shape``,
        ``timeslice``, ``frequencyslice``, ``phase_only`` and the solver options.
    """
    return {name: get_solver(name).default_controls() for name in ("T", "G", "B")}


def calibration_terms(calibration_context) -> list[str]:
    """The term names of a context: ``'TGB'`` → ``['T', 'G', 'B']``; a sequence as given.

    Parameters
    ----------
    calibration_context : str or sequence of str
        One character per term, or a list/tuple of (possibly longer) term names.

    Returns
    -------
    list of str

    Raises
    ------
    CalibrationError
        Not a string or sequence, empty, or a repeated term.
    SolverNotFoundError
        A term no installed solver provides (the message lists the installed ones).
    """
    if isinstance(calibration_context, str):
        terms = list(calibration_context)
    elif isinstance(calibration_context, (list, tuple)):
        terms = [str(t) for t in calibration_context]
    else:
        raise CalibrationError(
            f"calibration_context must be a string like 'TGB' or a sequence of term names, "
            f"got {calibration_context!r}"
        )
    if not terms:
        raise CalibrationError("calibration_context is empty; name at least one term, e.g. 'T'")
    if len(set(terms)) != len(terms):
        raise CalibrationError(f"calibration_context {calibration_context!r} repeats a term")
    for t in terms:
        get_solver(t)  # a clear error listing the installed solvers
    return terms


def _solver_for_controls(term):
    try:
        return get_solver(term)
    except SolverNotFoundError:
        installed = available_solvers()
        close = difflib.get_close_matches(str(term), installed, n=1) or [
            t for t in installed if t.lower() == str(term).lower()
        ]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ControlsError(
            f"controls has an entry for term {term!r}, but no solver {term!r} is installed; "
            f"controls may be given for the installed terms {', '.join(installed)}{hint}"
        ) from None


def validate_controls(controls: dict | None) -> None:
    """Check calibration controls without data (see the module notes).

    Parameters
    ----------
    controls : dict of dict, or None
        Per-term controls, e.g. ``create_calibration_controls()`` with changes.

    Raises
    ------
    ControlsError
        ``controls`` is not a dict of dicts, names a term no installed solver provides,
        gives a term a key its solver does not know (the message lists the valid keys),
        or a value the solver's ``check_controls`` rejects.
    """
    if controls is None:
        return
    if not isinstance(controls, dict):
        raise ControlsError(
            f"controls must be a dict of dicts by term (create_calibration_controls()), "
            f"got {type(controls).__name__}"
        )
    for term, given in controls.items():
        solver = _solver_for_controls(term)
        if not isinstance(given, dict):
            raise ControlsError(f"controls[{term!r}] must be a dict, got {type(given).__name__}")
        merged = solver.default_controls()
        check_keywords(f"controls[{term!r}]", given, merged, error=ControlsError)
        merged.update(given)
        first = merged.pop("first_selfcal", 0)
        if isinstance(first, bool) or not isinstance(first, (int, float)):
            raise ControlsError(
                f"controls[{term!r}]['first_selfcal'] must be a number, got {first!r}"
            )
        check = getattr(solver, "check_controls", None)
        if callable(check):
            check(**merged)


def term_controls(term: str, controls: dict | None) -> tuple[int, dict]:
    """``(first_selfcal, other controls)`` of ``term``: its defaults updated by ``controls``.

    ``controls`` is checked first (:func:`validate_controls`: unknown terms and keys raise
    :class:`~uvflow.calibration.ControlsError`).

    Parameters
    ----------
    term : str
        An installed term name.
    controls : dict of dict, or None
        Per-term controls.

    Returns
    -------
    (int or float, dict)
        ``first_selfcal`` and the other controls (the solver's defaults updated by
        ``controls[term]``).
    """
    validate_controls(controls)
    c = get_solver(term).default_controls()
    if controls is not None:
        c.update(controls.get(term, {}))
    first = c.pop("first_selfcal", 0)
    return first, c


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
    out = dict(gaintables or {})
    terms = calibration_terms(calibration_context)
    avis = vis
    for k, term in enumerate(terms):
        first, c = term_controls(term, controls)
        solver = get_solver(term)
        if iteration < first:
            if term not in out:
                out[term] = solver.create(vis, **c)
            logger.debug(
                "chain: term %s skipped at iteration %d (first_selfcal %s)", term, iteration, first
            )
            continue
        out[term] = solver.solve(avis, model_vis, out.get(term), **c)
        if k < len(terms) - 1:
            avis = apply_gaintable(avis, out[term], inverse=True)
    return out


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
        :func:`validate_controls`.
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
    if not isinstance(gaintables, dict):
        raise CalibrationError(
            f"gaintables must be a dict of GainTable by term, got {type(gaintables)}"
        )
    avis = vis
    for term in calibration_terms(calibration_context):
        first, _ = term_controls(term, controls)
        if iteration >= first and term in gaintables:
            avis = apply_gaintable(avis, gaintables[term], inverse=True)
    return avis
