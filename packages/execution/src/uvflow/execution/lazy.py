"""Package names that load on first use (PEP 562), so that importing a package stays cheap.

uvflow's packages keep their Dask workflows (and other heavy modules) out of the import of
the package itself: ``from uvflow.pipelines import ical_list_rsexecute_workflow`` imports
dask only then. This module imports only the standard library.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, table: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` that loads ``name`` from ``package.<table[name]>`` when asked.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    table : dict of str to str
        Public name → the submodule (relative to ``package``) that defines it.

    Returns
    -------
    callable
        Assign it to the package's ``__getattr__``: a name in ``table`` is imported once and
        then kept in the package's namespace; any other name raises ``AttributeError``.
    """

    def __getattr__(name: str):
        if name in table:
            value = getattr(importlib.import_module(f"{package}.{table[name]}"), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
