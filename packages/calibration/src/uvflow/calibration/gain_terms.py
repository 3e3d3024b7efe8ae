"""The built-in antenna-gain terms T (scalar), G (per receptor) and B (per channel).

One :class:`StefCalSolver` class serves the three terms; its instances ``T_TERM``,
``G_TERM`` and ``B_TERM`` are registered in the ``uvflow.solvers`` entry-point group
(uvflow-calibration's pyproject.toml) exactly as a plug-in's solver is
(:mod:`uvflow.calibration.solver_plugins`). The terms differ only in their default
controls; each solves with :func:`~uvflow.calibration.solve_gaintable` (StefCal) and
supports global solutions over frequency windows through the solve's sufficient
statistics (:meth:`StefCalSolver.accumulate`, :meth:`StefCalSolver.solve_accumulated`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from uvflow.datamodels import GainTable, Visibility
from uvflow.execution.keywords import check_keywords

from .errors import CalibrationError, ControlsError
from .gain_solve import gaintable_statistics, solve_gaintable, solve_gaintable_from_statistics
from .gaintable_create import create_gaintable_from_visibility
from .statistics import combine_statistics

__all__ = ["B_TERM", "G_TERM", "T_TERM", "StefCalSolver"]

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
        vis, modelvis : Visibility, and Visibility or None
            As for :meth:`solve`: ``vis[ntime, nbaseline, nchan, npol]`` complex with
            weights and flags, and a model of the same shape (None: a 1 Jy point source).
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


#: The built-in terms, registered as entry points ``T``, ``G`` and ``B``.
T_TERM = StefCalSolver("T")
G_TERM = StefCalSolver("G")
B_TERM = StefCalSolver("B")
