"""SIGINT and SIGTERM stop a ``uvflow`` command the same way: clean-up runs, one line.

Both signals become an exception in the main thread (:class:`KeyboardInterrupt`, and its
subclass :class:`Terminated` for SIGTERM), so every ``with`` block and ``finally`` of the
command runs on the way out: the products' hidden temporary folder is removed, Dask
clusters are closed. ``uvflow``'s ``main`` turns them into one line and 130 or 143 (128 +
the signal).

While the command runs (:func:`signals_handled`):

- SIGTERM raises :class:`Terminated`; a second SIGTERM is ignored, so that the clean-up
  is not cut short (a scheduler's grace period ends with SIGKILL anyway);
- SIGINT raises :class:`KeyboardInterrupt` as Python's own handler does (a second Ctrl-C
  interrupts the clean-up, as usual); an ignored SIGINT (a background job) stays ignored;
- from the first signal on, unless ``verbose``, the clean-up is silent: logging is
  disabled and errors that Python can only report (``Exception ignored in …``, e.g. from
  Dask's exit hook closing a cluster that was still starting) are not printed. The line
  ``main`` prints says what happened; the rest would be noise of libraries being stopped.
  This lasts until the process exits (the exit hooks run after ``main`` has returned):
  a program that calls ``main`` and carries on after a signal calls
  ``logging.disable(logging.NOTSET)`` and restores ``sys.unraisablehook`` itself.

The signal handlers themselves are restored when the command returns.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Terminated", "signals_handled"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt (clean-up runs)."""


def _ignore_unraisable(unraisable) -> None:
    """``sys.unraisablehook`` during a stopped command's clean-up: say nothing."""


class _Handler:
    """The handler of both signals for one command (remembers whether it was stopped)."""

    def __init__(self, verbose: bool):
        self.verbose = verbose
        self.stopped = False

    def __call__(self, signum, frame) -> None:
        if signum == signal.SIGTERM:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if not self.verbose and not self.stopped:
            logging.disable(logging.CRITICAL)
            sys.unraisablehook = _ignore_unraisable
        self.stopped = True
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


@contextmanager
def signals_handled(verbose: bool = False) -> Iterator[None]:
    """SIGTERM and SIGINT stop the command as the module notes say (main thread only).

    Parameters
    ----------
    verbose : bool
        Keep the clean-up's log and error output (``-v``).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = _Handler(verbose)
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, handler)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
