"""Jones-term solvers as plugins: the :class:`JonesSolver` protocol and the ``uvflow.solvers`` group.

A solver is an object with the :class:`JonesSolver` protocol, registered under its term
name in the ``uvflow.solvers`` entry-point group of its distribution::

    [project.entry-points."uvflow.solvers"]
    K = "mypackage.delay:DelaySolver"     # a class (instantiated without arguments) or an instance

Calibration chains (``solve_calibrate_chain``, ``calibrate_list_rsexecute_workflow``)
find every term of ``calibration_context`` with :func:`get_solver`; the built-in T, G and
B terms (:mod:`uvflow.calibration.gain_terms`) are registered the same way (in
uvflow-calibration's pyproject.toml). The group is one
:class:`uvflow.execution.plugins.PluginGroup`, like every uvflow extension point.

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

from typing import Any, Protocol, runtime_checkable

from uvflow.datamodels import GainTable, Visibility
from uvflow.execution.plugins import PluginGroup

from .errors import CalibrationError, SolverNotFoundError

__all__ = ["ENTRY_POINT_GROUP", "SOLVERS", "JonesSolver", "available_solvers", "get_solver"]

ENTRY_POINT_GROUP = "uvflow.solvers"

#: The installed solvers. Entry points are read once per process; tests that register
#: solvers of their own call ``SOLVERS.reset(entry_points)`` and ``SOLVERS.reset()`` after.
SOLVERS = PluginGroup(ENTRY_POINT_GROUP, "solver", SolverNotFoundError, "calibration term")


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


def available_solvers() -> list[str]:
    """Names of the solvers installed in the ``uvflow.solvers`` entry-point group.

    Returns
    -------
    list of str
        Sorted term names (the built-ins: ``['B', 'G', 'T']``).
    """
    return SOLVERS.installed()


# The solver built from each loaded entry point, with the object it was built from: a
# registered class is instantiated once, and again only if the group is reset.
_BUILT: dict[str, tuple[Any, JonesSolver]] = {}


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
    uvflow.execution.plugins.PluginLoadError
        The solver is installed but its module fails to import.
    """
    obj = SOLVERS.load(name)
    built = _BUILT.get(name)
    if built is not None and built[0] is obj:
        return built[1]
    solver = obj() if isinstance(obj, type) else obj
    if not isinstance(solver, JonesSolver) or solver.name != name:
        raise CalibrationError(
            f"entry point {name!r} ({SOLVERS.describe()[name]}) does not give a JonesSolver "
            f"named {name!r}: it needs name, frequency_dependent, default_controls, create and "
            "solve"
        )
    _BUILT[name] = (obj, solver)
    return solver
