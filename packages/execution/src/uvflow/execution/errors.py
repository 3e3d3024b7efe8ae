"""The exceptions raised by :mod:`uvflow.execution`.

Every exception derives from :class:`ExecutionError` and from the built-in exception a
caller would naturally catch (``ConnectionError``, ``ImportError``, ``ValueError``), so
``except OSError`` keeps working for code that does not know about uvflow.
"""

from __future__ import annotations

__all__ = [
    "ClusterConnectionError",
    "ClusterStalledError",
    "ExecutionError",
    "MissingExtraError",
]


class ExecutionError(Exception):
    """Base class of every error raised by :mod:`uvflow.execution`."""


class ClusterConnectionError(ExecutionError, ConnectionError):
    """No Dask scheduler could be reached at the requested address in time.

    The message names the address (or scheduler file) and the timeout. It is a
    ``ConnectionError`` and therefore an ``OSError``.
    """


class MissingExtraError(ExecutionError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class ClusterStalledError(ExecutionError, RuntimeError):
    """A computation could not progress for ``uvflow.stall-timeout`` seconds and was
    cancelled: every worker paused at its memory limit, or no worker connected. The
    message names the state, the workers' memory and what to change
    (:mod:`uvflow.execution.stall_watch`)."""
