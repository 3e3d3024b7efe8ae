"""Jones-term solvers: the ``uvflow.solvers`` entry-point group and the built-in T, G, B.

A solver is an object with the :class:`JonesSolver` protocol, registered under its term
name in the ``uvflow.solvers`` entry-point group of its distribution::

    [project.entry-points."uvflow.solvers"]
    K = "mypackage.delay:DelaySolver"     # a class (instantiated without arguments) or an instance

Calibration chains (``solve_calibrate_chain``, ``calibrate_list_rsexecute_workflow``)
find every term of ``calibration_context`` with :func:`get_solver`; the built-in T, G and
B terms are registered the same way (in uvflow-calibration's pyproject.toml).

Controls: each term's controls are ``solver.default_controls()`` updated with the user's
``controls[name]``; the chain uses ``first_selfcal`` and passes all other keys to
``create``/``solve``. ``default_controls()`` must therefore name every control the
solver accepts: chains and workflows check the user's keys against it before they build
anything (:func:`uvflow.calibration.validate_controls`), so a misspelt key fails at once,
not when a Dask task runs. A solver may also provide ``check_controls(**controls)``
raising :class:`~uvflow.calibration.ControlsError` for bad values; it is called at the
same time. When a solver is given ``gt``, the table's solution intervals are used
(timeslice/frequencyslice are only for creating tables).

Global (multi-window) solutions: a solver whose term is frequency independent
(``frequency_dependent = False``) may also provide ``accumulate(vis, modelvis, gt,
**controls)`` returning per-window partial results that are small, and
``solve_accumulated(parts, gt, **controls)`` solving from a list of them: the calibration
workflow then solves the term jointly over all frequency windows without moving
visibilities. Without these methods a global solution of that term is an error.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import numpy as np

from uvflow.datamodels import GainTable, Visibility

from .errors import CalibrationError, ControlsError, SolverNotFoundError, check_keywords
from .gaintable_create import create_gaintable_from_visibility
from .solve import gaintable_statistics, solve_gaintable, solve_gaintable_from_statistics
from .statistics import combine_statistics

__all__ = [
    "ENTRY_POINT_GROUP",
    "JonesSolver",
    "StefCalSolver",
    "available_solvers",
    "get_solver",
]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "uvflow.solvers"


@runtime_checkable
class JonesSolver(Protocol):
    """What a Jones-term solver provides.

    Attributes
    ----------
    name : str
        The term name (the entry-point name), e.g. ``'G'``.
    frequency_dependent : bool
        True when the term is solved per frequency window (like B), False when one
        solution may serve all windows (like T and G).
    """

    name: str
    frequency_dependent: bool

    def default_controls(self) -> dict[str, Any]:
        """Controls of this term (including ``first_selfcal``), a new dict on every call."""
        ...

    def create(self, vis: Visibility, **controls) -> GainTable:
        """A unit gain table for ``vis`` on this term's solution grid.

        Parameters
        ----------
        vis : Visibility
            ``vis[ntime, nbaseline, nchan, npol]``: its times, channels and antennas.
        **controls
            This term's controls, without ``first_selfcal``.

        Returns
        -------
        GainTable
            ``gain[ntime, nant, nchan, nrec, nrec]`` complex128, ``jones_type == name``.
        """
        ...

    def solve(
        self, vis: Visibility, modelvis: Visibility | None, gt: GainTable | None, **controls
    ) -> GainTable:
        """Solve this term so that ``vis ≈ J modelvis J^H``; ``gt`` gives the grid and start.

        Parameters
        ----------
        vis : Visibility
            Data ``vis[ntime, nbaseline, nchan, npol]`` complex, with ``weight`` float and
            ``flags`` bool of the same shape (both to be honoured).
        modelvis : Visibility or None
            Model of the same shape (None: 1 Jy point source at the phase centre).
        gt : GainTable or None
            Solution grid and starting gains (None: :meth:`create`).
        **controls
            This term's controls, without ``first_selfcal``.

        Returns
        -------
        GainTable
            ``gain[ntime, nant, nchan, nrec, nrec]`` complex128 and ``weight`` float64;
            never NaN (no data: gain 1, weight 0).
        """
        ...


_SHAPES = {"scalar": False, "vector": False, "matrix": True}


class StefCalSolver:
    """The built-in antenna-gain terms T (scalar), G (per receptor), B (per channel).

    Controls: ``shape`` ('scalar' for T; 'vector' = per receptor or 'matrix' = full 2×2
    for G and B), ``timeslice``, ``frequencyslice``, ``phase_only``, ``first_selfcal``,
    and the solver options ``niter``, ``tol``, ``refant``, ``normalise_gains`` of
    :func:`~uvflow.calibration.solve_gaintable`.
    """

    _DEFAULTS = {
        "T": {"shape": "scalar", "timeslice": "auto", "phase_only": True},
        "G": {"shape": "vector", "timeslice": 60.0, "phase_only": False},
        "B": {"shape": "vector", "timeslice": 1e5, "phase_only": False},
    }
    _OPTIONS = {"niter": 200, "tol": 1e-8, "refant": 0, "normalise_gains": True}

    def __init__(self, name: str):
        if name not in self._DEFAULTS:
            raise CalibrationError(f"StefCalSolver handles T, G and B, not {name!r}")
        self.name = name
        self.frequency_dependent = name == "B"

    def __repr__(self) -> str:
        return f"StefCalSolver({self.name!r})"

    def __reduce__(self):
        return (StefCalSolver, (self.name,))

    def default_controls(self) -> dict[str, Any]:
        return {
            **self._DEFAULTS[self.name], "frequencyslice": None, "first_selfcal": 0,
            **self._OPTIONS,
        }  # fmt: skip

    def check_controls(self, **controls) -> None:
        """Check keys and values of this term's controls without data (see the module notes).

        Parameters
        ----------
        **controls
            Any subset of :meth:`default_controls` (without ``first_selfcal`` or with it).

        Raises
        ------
        ControlsError
            An unknown key (the message lists the valid ones) or a bad value.
        """
        self._controls(controls)

    def _controls(self, controls: dict) -> dict:
        where = f"{self.name} solver controls"
        check_keywords(where, controls, self.default_controls(), error=ControlsError)
        c = self.default_controls()
        c.update(controls)
        shape = c["shape"]
        allowed = ("scalar",) if self.name == "T" else ("vector", "matrix")
        if shape not in allowed:
            raise ControlsError(
                f"{self.name} term shape {shape!r} unknown; use {' or '.join(allowed)}"
            )
        c["crosspol"] = _SHAPES[shape]
        _check_values(where, c)
        return c

    def create(self, vis: Visibility, **controls) -> GainTable:
        """A unit table for ``vis`` on this term's solution grid.

        Parameters
        ----------
        vis : Visibility
            Supplies times, channels, antennas and receptors.
        **controls
            This term's controls (``timeslice``, ``frequencyslice`` are used).

        Returns
        -------
        GainTable
            ``gain[ntime, nant, nchan, nrec, nrec]`` complex128 identity matrices.
        """
        c = self._controls(controls)
        return create_gaintable_from_visibility(
            vis, timeslice=c["timeslice"], frequencyslice=c["frequencyslice"], jones_type=self.name
        )

    def _solve_options(self, c: dict) -> dict:
        return {k: c[k] for k in ("phase_only", "niter", "tol", "normalise_gains", "refant")}

    def solve(self, vis, modelvis, gt=None, **controls) -> GainTable:
        """Solve this term with :func:`~uvflow.calibration.solve_gaintable`.

        Parameters
        ----------
        vis : Visibility
            ``vis[ntime, nbaseline, nchan, npol]`` complex, with weights and flags.
        modelvis : Visibility or None
            Same shape (None: 1 Jy point source at the phase centre).
        gt : GainTable, optional
            Solution grid and starting gains (default: :meth:`create`).
        **controls
            This term's controls (``shape`` 'matrix' solves full 2×2 Jones matrices).

        Returns
        -------
        GainTable
            Gains ``[ntime, nant, nchan, nrec, nrec]`` complex128, weights, residuals.
        """
        c = self._controls(controls)
        if gt is None:
            gt = self.create(vis, **controls)
        return solve_gaintable(
            vis, modelvis, gt=gt, crosspol=c["crosspol"], **self._solve_options(c)
        )

    def accumulate(self, vis, modelvis, gt, **controls):
        """Sufficient statistics of ``vis`` for this term on ``gt``'s grid (small arrays).

        Parameters
        ----------
        vis : Visibility
            ``vis[ntime, nbaseline, nchan, npol]`` complex, with weights and flags.
        modelvis : Visibility or None
            Same shape (None: 1 Jy point source at the phase centre).
        gt : GainTable
            The solution grid.
        **controls
            This term's controls (see :meth:`default_controls`).

        Returns
        -------
        GainStatistics
            Per solution and baseline (see :mod:`uvflow.calibration.statistics`).
        """
        c = self._controls(controls)
        return gaintable_statistics(vis, modelvis, gt, crosspol=c["crosspol"])[1]

    def solve_accumulated(self, parts, gt, **controls) -> GainTable:
        """Solve ``gt`` from the statistics of several windows, added in list order.

        Parameters
        ----------
        parts : sequence of GainStatistics
            From :meth:`accumulate` on each window (same times and baselines).
        gt : GainTable
            The solution grid and starting gains.
        **controls
            This term's controls.

        Returns
        -------
        GainTable
            As :func:`~uvflow.calibration.solve_gaintable` returns.
        """
        c = self._controls(controls)
        return solve_gaintable_from_statistics(
            combine_statistics(list(parts)), gt, **self._solve_options(c)
        )


def _check_values(where: str, c: dict) -> None:
    """Values of StefCal controls that can be checked without data."""
    ts = c["timeslice"]
    if isinstance(ts, str) and ts != "auto":
        raise ControlsError(f"{where}: timeslice {ts!r} unknown; use None, 'auto' or seconds")
    for name in ("timeslice", "frequencyslice"):
        v = c[name]
        if v is None or isinstance(v, str) or hasattr(v, "to_value"):
            continue  # 'auto' above; Quantities are checked with their units on use
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ControlsError(f"{where}: {name} must be None or a number, got {v!r}")
        if not (np.isfinite(v) and v > 0):
            raise ControlsError(f"{where}: {name} must be positive and finite, got {v!r}")
    for name in ("phase_only", "normalise_gains"):
        if not isinstance(c[name], (bool, np.bool_)):
            raise ControlsError(f"{where}: {name} must be True or False, got {c[name]!r}")
    if c["crosspol"] and c["phase_only"]:
        raise ControlsError(
            f"{where}: phase_only applies to scalar and vector shapes; use phase_only=False "
            "with shape='matrix'"
        )
    niter, tol, refant = c["niter"], c["tol"], c["refant"]
    if isinstance(niter, bool) or not isinstance(niter, (int, np.integer)) or niter < 1:
        raise ControlsError(f"{where}: niter must be an integer >= 1, got {niter!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.number)) or not tol > 0:
        raise ControlsError(f"{where}: tol must be a positive number, got {tol!r}")
    if isinstance(refant, bool) or not isinstance(refant, (int, np.integer)) or refant < 0:
        raise ControlsError(f"{where}: refant must be an antenna index >= 0, got {refant!r}")


_CACHE: dict[str, JonesSolver] = {}


def _entry_points() -> dict:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_solvers() -> list[str]:
    """Names of the solvers installed in the ``uvflow.solvers`` entry-point group.

    Returns
    -------
    list of str
        Sorted term names (the built-ins: ``['B', 'G', 'T']``).
    """
    return sorted(_entry_points())


def get_solver(name: str) -> JonesSolver:
    """The installed solver of term ``name``.

    Parameters
    ----------
    name : str
        Term name, the entry-point name (``'T'``, ``'G'``, ``'B'`` or a plug-in's).

    Returns
    -------
    JonesSolver
        Loaded once and cached (a registered class is instantiated without arguments).

    Raises
    ------
    SolverNotFoundError
        No such solver is installed (the message lists the installed ones).
    CalibrationError
        The registered object does not follow the :class:`JonesSolver` protocol.
    """
    if name in _CACHE:
        return _CACHE[name]
    eps = _entry_points()
    if name not in eps:
        installed = ", ".join(sorted(eps)) or "none (is uvflow-calibration installed?)"
        raise SolverNotFoundError(
            f"no Jones solver {name!r} in entry-point group {ENTRY_POINT_GROUP!r}; "
            f"installed: {installed}"
        )
    obj = eps[name].load()
    solver = obj() if isinstance(obj, type) else obj
    if not isinstance(solver, JonesSolver) or solver.name != name:
        raise CalibrationError(
            f"entry point {name!r} ({eps[name].value}) does not give a JonesSolver named "
            f"{name!r}: it needs name, frequency_dependent, default_controls, create and solve"
        )
    _CACHE[name] = solver
    return solver


#: The built-in terms, registered as entry points ``T``, ``G`` and ``B``.
T_TERM = StefCalSolver("T")
G_TERM = StefCalSolver("G")
B_TERM = StefCalSolver("B")
