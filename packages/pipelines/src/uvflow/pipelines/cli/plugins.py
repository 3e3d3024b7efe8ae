"""``uvflow plugins``: the installed gridders, deconvolvers and calibration solvers."""

from __future__ import annotations

from importlib.metadata import entry_points

from uvflow.calibration import available_solvers
from uvflow.imaging import installed_deconvolvers, installed_gridders

__all__ = ["add_arguments", "run", "installed_plugins"]

GROUPS = {
    "uvflow.gridders": installed_gridders,
    "uvflow.deconvolvers": installed_deconvolvers,
    "uvflow.solvers": available_solvers,
}


def add_arguments(p) -> None:
    """No options."""


def installed_plugins() -> dict[str, dict[str, str]]:
    """For each entry-point group: name → ``module:object`` that provides it."""
    out = {}
    for group, names in GROUPS.items():
        values = {ep.name: ep.value for ep in entry_points(group=group)}
        out[group] = {name: values.get(name, "") for name in names()}
    return out


def run(args) -> int:
    for group, plugins in installed_plugins().items():
        print(f"{group} ({len(plugins)}):")
        for name, value in plugins.items():
            print(f"  {name:16s} {value}")
    return 0
