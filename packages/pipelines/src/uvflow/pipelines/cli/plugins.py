"""``uvflow plugins``: the installed gridders, deconvolvers and calibration solvers."""

from __future__ import annotations

from uvflow.calibration.solver_plugins import SOLVERS
from uvflow.imaging.deconvolution.deconvolver_plugins import DECONVOLVERS
from uvflow.imaging.gridder_plugins import GRIDDERS

__all__ = ["add_arguments", "run", "installed_plugins"]

GROUPS = [GRIDDERS, DECONVOLVERS, SOLVERS]


def add_arguments(p) -> None:
    """No options."""


def installed_plugins() -> dict[str, dict[str, str]]:
    """For each entry-point group: name → ``module:object`` that provides it."""
    return {group.group: group.describe() for group in GROUPS}


def run(args) -> int:
    for group, plugins in installed_plugins().items():
        print(f"{group} ({len(plugins)}):")
        for name, value in plugins.items():
            print(f"  {name:16s} {value}")
    return 0
