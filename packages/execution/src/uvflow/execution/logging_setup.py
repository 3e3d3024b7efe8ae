"""Log files for Dask workers: :func:`init_logging`, run on every worker by the user.

Library code never configures logging handlers. Records logged inside tasks reach the
client's handlers by default (``rsexecute.set_client`` forwards them, see
:mod:`uvflow.execution.log_forwarding`); a file written by each worker is asked for
explicitly::

    rsexecute.set_client(n_workers=4)
    rsexecute.run(init_logging, logfile="run.log")            # every worker appends here
    rsexecute.run(init_logging, logfile="run.log", per_worker=True)  # run-<worker>.log each

``rsexecute.run`` calls the function once in this process in serial and local modes,
so the same line works without a cluster. Records carry a ``worker`` attribute (the
Dask worker's name, or ``"local"``) that the default format shows. A worker that is
restarted (for example by its nanny after a crash) starts without the handler: call
``rsexecute.run(init_logging, ...)`` again if that matters. A record may both go to
the file and be forwarded to the client.
"""

from __future__ import annotations

import logging
import os
import re

from uvflow.execution.keywords import strict_keywords

__all__ = [
    "DEFAULT_FORWARD_LOGGER",
    "DEFAULT_LOG_FORMAT",
    "DEFAULT_PROGRESS_INTERVAL",
    "FORWARDING_MARK",
    "close_logging",
    "forwarding_level",
    "init_logging",
    "parse_level",
]

#: Default record format: time, level, worker name and process id, logger, message.
DEFAULT_LOG_FORMAT = "%(asctime)s %(levelname)s [%(worker)s pid=%(process)d] %(name)s: %(message)s"

_MARK = "_uvflow_logging"
#: Attribute set on the handlers that forward records to the client
#: (:mod:`uvflow.execution.log_forwarding`); init_logging keeps the logger's level low
#: enough for them.
FORWARDING_MARK = "_uvflow_forwarding"

#: The logger whose records (and its children's) are forwarded by default.
DEFAULT_FORWARD_LOGGER = "uvflow"

#: Seconds between "n/N tasks done" log lines when stdout is not a terminal.
DEFAULT_PROGRESS_INTERVAL = 5.0


def parse_level(level: str | int) -> int:
    """A logging level as a number: ``"INFO"`` / ``"info"`` / ``logging.INFO`` give 20.

    Raises
    ------
    ValueError
        An unknown level name.
    TypeError
        Neither a str nor an int.
    """
    if isinstance(level, bool) or not isinstance(level, (str, int)):
        raise TypeError(f"a logging level is a name or a number, got {level!r}")
    if isinstance(level, int):
        return level
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(
            f"logging level {level!r} unknown; use DEBUG, INFO, WARNING, ERROR or CRITICAL"
        )
    return numeric


class _WorkerFilter(logging.Filter):
    """Adds ``record.worker`` (the worker name) to every record."""

    def __init__(self, worker: str) -> None:
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "worker"):
            record.worker = self.worker
        return True


@strict_keywords
def init_logging(
    logfile: str | os.PathLike = "uvflow.log",
    level: str | int = "INFO",
    per_worker: bool = False,
    fmt: str = DEFAULT_LOG_FORMAT,
    logger: str = "uvflow",
    dask_worker=None,
) -> str:
    """Append the records of ``logger`` (default: all of uvflow) to a file, in this process.

    Meant to be run everywhere with ``rsexecute.run(init_logging, logfile=...)``.
    Calling it again replaces the handler it added before (no duplicate lines).

    Parameters
    ----------
    logfile : str or path
        Log file; relative paths are relative to the process's working directory,
        so give an absolute path (on a shared file system) for remote workers.
    level : str or int
        Level of the logger and of the handler, e.g. ``"INFO"`` or ``logging.DEBUG``
        (the logger's level stays lower where the forwarding of records to the client
        needs it: the file still gets only ``level`` and above).
    per_worker : bool
        Write ``<stem>-<worker-name><suffix>`` instead of one shared file.
    fmt : str
        ``logging`` format; ``%(worker)s`` is the worker name.
    logger : str
        Name of the logger to configure; ``""`` for the root logger (which also
        collects Dask's and other libraries' records).
    dask_worker : distributed.Worker, optional
        Filled in by ``Client.run``; found automatically inside a task.

    Returns
    -------
    str
        The absolute path of the file this process writes to.
    """
    level = parse_level(level)
    worker = _worker_name(dask_worker)
    path = os.path.abspath(os.fspath(logfile))
    if per_worker:
        stem, suffix = os.path.splitext(path)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", worker).strip("_") or "worker"
        path = f"{stem}-{safe}{suffix or '.log'}"
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)

    target = logging.getLogger(logger)
    close_logging(logger)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(_WorkerFilter(worker))
    setattr(handler, _MARK, True)
    target.addHandler(handler)
    forwarding = [h.level for h in target.handlers if getattr(h, FORWARDING_MARK, False)]
    target.setLevel(min([level, *forwarding]))
    return path


def close_logging(logger: str = "uvflow") -> int:
    """Remove and close the handlers :func:`init_logging` added to ``logger`` here.

    Parameters
    ----------
    logger : str
        Logger name given to :func:`init_logging`.

    Returns
    -------
    int
        Number of handlers removed.
    """
    target = logging.getLogger(logger)
    removed = 0
    for handler in list(target.handlers):
        if getattr(handler, _MARK, False):
            target.removeHandler(handler)
            handler.close()
            removed += 1
    return removed


def _worker_name(dask_worker=None) -> str:
    """Name of the Dask worker this process is, or "local"."""
    if dask_worker is None:
        try:
            from distributed import get_worker

            dask_worker = get_worker()
        except (ImportError, ValueError):
            return "local"
    name = getattr(dask_worker, "name", None)
    return str(name if name is not None else dask_worker.address)


def forwarding_level(forward_logs: bool | str | int | None, logger: str = DEFAULT_FORWARD_LOGGER):
    """The level to forward at, or None for no forwarding.

    Parameters
    ----------
    forward_logs : bool, str, int or None
        True: the effective level of ``logger`` in this process now (INFO under the
        ``uvflow`` command, WARNING in a script that configured no logging). A level
        name or number: that level. None or False: no forwarding.
    logger : str
        The forwarded logger.

    Returns
    -------
    int or None
    """
    if forward_logs is None or forward_logs is False:
        return None
    if forward_logs is True:
        return logging.getLogger(logger).getEffectiveLevel()
    if isinstance(forward_logs, (str, int)):
        return parse_level(forward_logs)
    raise TypeError(
        "forward_logs must be True, False, None or a logging level such as 'INFO', "
        f"got {type(forward_logs).__name__} {forward_logs!r}"
    )
