"""The calibration options: controls per term, their checks, and :class:`CalibrationSettings`.

A calibration chain is named by a calibration context, e.g. ``'TGB'`` (each character a
term), or a sequence of term names for multi-character plugin names. ``controls`` (see
:func:`create_calibration_controls`) give per term:

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

:class:`CalibrationSettings` holds the whole option group (terms, each term's complete
controls, global or per-window solutions), checked once when it is made; the chains and
the calibration workflow pass that one object down instead of (context, controls) pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from uvflow.execution.keywords import check_keywords

from .errors import CalibrationError, ControlsError
from .solver_plugins import available_solvers, get_solver

__all__ = [
    "CalibrationSettings",
    "calibration_terms",
    "create_calibration_controls",
    "term_controls",
    "validate_controls",
]


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
    if not isinstance(controls, Mapping):
        raise ControlsError(
            f"controls must be a dict of dicts by term (create_calibration_controls()), "
            f"got {type(controls).__name__}"
        )
    check_keywords(
        "controls (by calibration term)", controls, available_solvers(), error=ControlsError
    )
    for term, given in controls.items():
        if not isinstance(given, Mapping):
            raise ControlsError(f"controls[{term!r}] must be a dict, got {type(given).__name__}")
        solver = get_solver(term)
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
    return CalibrationSettings.create([term], controls).term_controls(term)


@dataclass(frozen=True)
class CalibrationSettings:
    """The calibration options of a chain, complete and checked (see the module notes).

    Made with :meth:`create` from RASCIL's flat arguments; the constructor takes the
    same values and checks them the same way. Read-only, and cheap to pickle: it travels
    inside Dask tasks.

    Parameters
    ----------
    terms : str or sequence of str
        The calibration context, e.g. ``'TG'``; stored as a tuple of term names in chain
        order.
    controls : mapping of str to mapping, optional
        Per-term controls (``create_calibration_controls()`` with changes); checked with
        :func:`validate_controls`. Stored for every term of ``terms`` as the solver's
        ``default_controls()`` updated by the given entry, as read-only mappings
        (entries for installed terms outside ``terms`` are checked, then dropped).
    global_solution : bool
        Solve frequency-independent terms jointly over all frequency windows.

    Raises
    ------
    CalibrationError
        A bad calibration context (:func:`calibration_terms`).
    ControlsError
        Bad controls (:func:`validate_controls`).
    """

    terms: tuple[str, ...]
    controls: Mapping[str, Mapping[str, Any]] | None = None
    global_solution: bool = True

    def __post_init__(self) -> None:
        terms = tuple(calibration_terms(self.terms))
        validate_controls(self.controls)
        given = self.controls or {}
        merged = {}
        for term in terms:
            c = get_solver(term).default_controls()
            c.update(given.get(term, {}))
            merged[term] = MappingProxyType(c)
        object.__setattr__(self, "terms", terms)
        object.__setattr__(self, "controls", MappingProxyType(merged))
        object.__setattr__(self, "global_solution", bool(self.global_solution))

    @classmethod
    def create(
        cls, calibration_context="TG", controls: dict | None = None, global_solution: bool = True
    ) -> CalibrationSettings:
        """Settings from RASCIL's flat calibration arguments.

        Parameters
        ----------
        calibration_context : str or sequence of str
            Terms in chain order, e.g. ``'TG'`` or ``'TGB'``.
        controls : dict of dict, optional
            Per-term controls (default: each solver's ``default_controls()``).
        global_solution : bool
            Solve frequency-independent terms jointly over all windows.

        Returns
        -------
        CalibrationSettings
        """
        return cls(calibration_context, controls, global_solution)

    def __reduce__(self):
        # Rebuilt without checking again (and with plain dicts: mapping proxies do not pickle).
        plain = {term: dict(c) for term, c in self.controls.items()}
        return (_restore, (self.terms, plain, self.global_solution))

    def term_controls(self, term: str) -> tuple[int | float, dict]:
        """``(first_selfcal, the other controls)`` of ``term``, as keywords for its solver.

        Parameters
        ----------
        term : str
            One of :attr:`terms`.

        Returns
        -------
        (int or float, dict)
            ``first_selfcal`` and a new dict of the term's other controls.

        Raises
        ------
        CalibrationError
            ``term`` is not one of :attr:`terms`.
        """
        if term not in self.controls:
            raise CalibrationError(
                f"term {term!r} is not in these settings' terms {', '.join(self.terms)}"
            )
        c = dict(self.controls[term])
        return c.pop("first_selfcal", 0), c

    @property
    def first_selfcal(self) -> int | float:
        """The first iteration at which some term is solved (the smallest ``first_selfcal``)."""
        return min(self.term_controls(term)[0] for term in self.terms)


def _restore(terms, controls, global_solution) -> CalibrationSettings:
    settings = object.__new__(CalibrationSettings)
    object.__setattr__(settings, "terms", terms)
    proxies = {term: MappingProxyType(c) for term, c in controls.items()}
    object.__setattr__(settings, "controls", MappingProxyType(proxies))
    object.__setattr__(settings, "global_solution", global_solution)
    return settings
