"""Progress of long computations: a bar on a terminal, periodic log lines otherwise.

On a terminal (``sys.stdout.isatty()``) the usual Dask bars are shown:
``distributed.progress`` for a cluster, ``dask.diagnostics.ProgressBar`` for the
local schedulers. Elsewhere (batch jobs, notebooks' captured output, CI logs) the
logger ``uvflow.execution.progress`` writes ``"n/N tasks done"`` lines at most every
``interval`` seconds, and a last line when the computation ends, so a SLURM output
file shows how far a run got without a screen full of carriage returns.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from dask.callbacks import Callback
from distributed.diagnostics.progressbar import TextProgressBar

from uvflow.execution.logging_setup import DEFAULT_PROGRESS_INTERVAL

__all__ = [
    "DEFAULT_PROGRESS_INTERVAL",
    "LogProgressBar",
    "LogProgressCallback",
    "is_terminal",
    "local_progress",
    "show_progress",
]

logger = logging.getLogger(__name__)


def is_terminal(stream=None) -> bool:
    """Whether ``stream`` (default ``sys.stdout``) is an interactive terminal."""
    stream = sys.stdout if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


class _PeriodicLog:
    """Log "n/N tasks done" at most every ``interval`` seconds."""

    def __init__(self, interval: float, what: str):
        self.interval = float(interval)
        self.what = what
        self.start = time.monotonic()
        self.last: float | None = None

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.last is None or now - self.last >= self.interval:
            self.last = now
            logger.info("%s: %d/%d tasks done (%.1f s)", self.what, done, total, now - self.start)

    def finish(self, done: int, total: int, status: str) -> None:
        elapsed = time.monotonic() - self.start
        if status == "error":
            logger.warning(
                "%s: stopped with an error after %d/%d tasks done (%.1f s)",
                self.what,
                done,
                total,
                elapsed,
            )
        else:
            logger.info("%s: %d/%d tasks done, finished in %.1f s", self.what, done, total, elapsed)


class LogProgressBar(TextProgressBar):
    """A ``distributed`` progress bar that writes log lines instead of drawing.

    Blocks until the futures (and everything they depend on) are finished or one
    has failed, like ``distributed.progress`` does in a console.

    Parameters
    ----------
    keys : list of distributed.Future
        Futures to follow; their dependencies are counted too.
    scheduler : str
        Scheduler address.
    interval : float
        Seconds between log lines.
    """

    def __init__(self, keys, scheduler=None, interval: float = DEFAULT_PROGRESS_INTERVAL):
        self._log = _PeriodicLog(interval, "compute")
        super().__init__(keys, scheduler=scheduler, interval="200ms", start=True)

    def _draw_bar(self, remaining=0, all=0, **kwargs):
        self._log.update(all - remaining, all)

    def _draw_stop(self, remaining=0, all=0, status="finished", **kwargs):
        self._log.finish(all - remaining, all, status)


class LogProgressCallback(Callback):
    """A ``dask.callbacks.Callback`` logging "n/N tasks done" for the local schedulers.

    Parameters
    ----------
    interval : float
        Seconds between log lines.
    """

    def __init__(self, interval: float = DEFAULT_PROGRESS_INTERVAL):
        super().__init__()
        self.interval = interval
        self._log: _PeriodicLog | None = None
        self._counts = (0, 0)

    @staticmethod
    def _count(state) -> tuple[int, int]:
        done = len(state["finished"])
        total = done + sum(len(state[k]) for k in ("ready", "waiting", "running"))
        return done, total

    def _start_state(self, dsk, state):
        self._log = _PeriodicLog(self.interval, "compute")
        self._counts = self._count(state)
        self._log.update(*self._counts)

    def _posttask(self, key, result, dsk, state, worker_id):
        self._counts = self._count(state)
        if self._log is not None:
            self._log.update(*self._counts)

    def _finish(self, dsk, state, errored):
        if self._log is not None:
            done, total = self._count(state) if state else self._counts
            self._log.finish(done, total, "error" if errored else "finished")


def show_progress(futures, client, interval: float = DEFAULT_PROGRESS_INTERVAL) -> None:
    """Follow ``futures`` until they are finished: a bar on a terminal, log lines otherwise.

    Parameters
    ----------
    futures : list of distributed.Future
        Futures of one computation.
    client : distributed.Client
        Their client.
    interval : float
        Seconds between log lines when stdout is not a terminal.
    """
    futures = list(futures)
    if not futures:
        return
    if is_terminal():
        from distributed import progress

        progress(futures, notebook=False, multi=False)
        sys.stdout.write("\n")
    else:
        LogProgressBar(futures, scheduler=client.scheduler.address, interval=interval)


@contextmanager
def local_progress(interval: float = DEFAULT_PROGRESS_INTERVAL) -> Iterator[None]:
    """Context in which the local Dask schedulers report progress.

    Parameters
    ----------
    interval : float
        Seconds between log lines when stdout is not a terminal.
    """
    if is_terminal():
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            yield
    else:
        with LogProgressCallback(interval):
            yield
