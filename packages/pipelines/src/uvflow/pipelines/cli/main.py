"""The ``uvflow`` command: parser and dispatch.

Sub-commands: ``image``, ``calibrate``, ``simulate``, ``demo``, ``info``, ``plugins``. A bad argument or
input exits with status 2 and one line on stderr (``uvflow: error: …``, no traceback); any
other failure exits with status 1 (the traceback with ``-v``). Ctrl-C (SIGINT) and SIGTERM
stop the run the same way (:mod:`.interrupts`) — an exception in the main thread, so every
clean-up runs (the products' temporary folder is removed, clusters are closed) — and exit
with 130 and 143 (128 + the signal) after one line. The CLI is the only part of uvflow
that configures logging.

The command starts at once: this module imports only the standard library, the parser
imports only the chosen sub-command's options, and the sub-command's module (with numpy,
astropy, Dask, the imaging kernels …) is imported when it runs.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import shlex
import sys
from collections.abc import Iterable

from .errors import CLIError
from .interrupts import Terminated, signals_handled

__all__ = ["main", "build_parser"]

log = logging.getLogger(__name__)

#: sub-command -> (module with ``add_arguments``, module with ``run``, help)
_COMMANDS = {
    "image": ("image_arguments", "image",
              "image MeasurementSets / UVFITS files (WSClean-style options)"),
    "calibrate": ("calibrate_arguments", "calibrate",
                  "calibrate a raw observation from its calibrators (bandpass, gains, flux scale)"),
    "simulate": ("simulate", "simulate",
                 "simulate an observation of random sources into a MeasurementSet"),
    "demo": ("demo", "demo",
             "simulate, corrupt, self-calibrate (ICAL) and image a MeerKAT observation"),
    "info": ("info", "info", "summarise MeasurementSets"),
    "plugins": ("plugins", "plugins",
                "list installed gridders, deconvolvers and calibration solvers"),
}  # fmt: skip


def _module(name: str):
    return importlib.import_module(f"{__package__}.{name}")


def _run(module: str, args) -> int:
    """Import the sub-command's module and run it (``args.func``), freed image-sized
    arrays returned to the system (:mod:`.allocator`)."""
    from .allocator import return_large_frees

    return_large_frees()
    return _module(module).run(args)


def _chosen(argv: list[str]) -> str | None:
    """The sub-command named in ``argv`` (the top-level options take no values), or None."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in _COMMANDS else None
    return None


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`CLIError` instead of exiting (one-line errors, no partial state)."""

    def error(self, message):
        raise CLIError(f"{self.prog}: {message}")


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The ``uvflow`` argument parser with its sub-commands.

    Parameters
    ----------
    commands : iterable of str, optional
        The sub-commands whose options are added (their modules are imported); the others
        are listed with their help only. Default all of them.

    Returns
    -------
    argparse.ArgumentParser
        ``args.func(args)`` runs the chosen sub-command (importing its module then).
    """
    from uvflow.pipelines import __version__

    wanted = set(_COMMANDS) if commands is None else set(commands)

    parser = _Parser(prog="uvflow", description="uvflow: calibration, imaging and simulation on Dask",
                     allow_abbrev=False)  # fmt: skip
    parser.add_argument("--version", action="version", version=f"uvflow {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-v: debug)"
    )
    parser.add_argument("-q", "--quiet", action="count", default=0, help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (arguments, runner, help_text) in _COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        if name in wanted:
            _module(arguments).add_arguments(p)
        p.set_defaults(func=functools.partial(_run, runner))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``uvflow`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv or "--verbose" in argv
    with signals_handled(verbose):
        return _main(argv, verbose)


def _main(argv: list[str], verbose: bool) -> int:
    from .session import configure_logging

    try:
        parser = build_parser([c for c in [_chosen(argv)] if c])
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        args.command_line = shlex.join(["uvflow", *argv])
        configure_logging(args.verbose - args.quiet)
        if getattr(args, "plot", False):
            from .previews import require_matplotlib

            require_matplotlib()  # before any data are read
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"uvflow: error: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print("uvflow: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("uvflow: interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FileExistsError, TypeError) as exc:
        # uvflow's errors are ValueError subclasses naming the problem and what is allowed
        if verbose:
            log.exception("uvflow failed")
        message = " ".join(str(exc).split())
        print(f"uvflow: error: {type(exc).__name__}: {message}", file=sys.stderr)
        return 2
    except Exception as exc:  # report, do not dump a traceback on users
        if verbose:
            log.exception("uvflow failed")
        message = " ".join(str(exc).split())
        print(f"uvflow: error: {type(exc).__name__}: {message} (run with -v for the traceback)",
              file=sys.stderr)  # fmt: skip
        return 1


if __name__ == "__main__":
    sys.exit(main())
