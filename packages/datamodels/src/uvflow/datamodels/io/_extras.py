"""The optional libraries of uvflow.datamodels.io, imported on first use."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["import_extra"]


def import_extra(module: str, extra: str, needed_for: str) -> ModuleType:
    """``module``, or an ImportError saying which extra of uvflow-datamodels installs it.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``'casacore.tables'``.
    extra : str
        The extra of uvflow-datamodels that installs it (``'ms'``, ``'zarr'``, ``'xarray'``).
    needed_for : str
        Starts the message, e.g. ``'zarr checkpoints need zarr'``.

    Returns
    -------
    module

    Raises
    ------
    ImportError
        ``module`` is not installed: "<needed_for>: pip install 'uvflow-datamodels[<extra>]'".
    """
    try:
        importlib.import_module(module.partition(".")[0])  # the distribution's package first
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"{needed_for}: pip install 'uvflow-datamodels[{extra}]'") from exc
