"""The ``uvflow`` command: parser and dispatch.

Sub-commands: ``image``, ``simulate``, ``demo``, ``info``, ``plugins``. A bad argument or
input exits with status 2 and one line on stderr (``uvflow: error: …``, no traceback); any
other failure exits with status 1 (the traceback with ``-v``). The CLI is the only part of
uvflow that configures logging.
"""

from __future__ import annotations

import argparse
import logging
import sys

from . import demo, image, info, plugins, simulate
from .errors import CLIError

__all__ = ["main", "build_parser"]

log = logging.getLogger(__name__)

_COMMANDS = {
    "image": (image, "image MeasurementSets / UVFITS files (WSClean-style options)"),
    "simulate": (simulate, "simulate an observation of random sources into a MeasurementSet"),
    "demo": (demo, "simulate, corrupt, self-calibrate (ICAL) and image a MeerKAT observation"),
    "info": (info, "summarise MeasurementSets"),
    "plugins": (plugins, "list installed gridders, deconvolvers and calibration solvers"),
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`CLIError` instead of exiting (one-line errors, no partial state)."""

    def error(self, message):
        raise CLIError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The ``uvflow`` argument parser with its sub-commands."""
    from uvflow.pipelines import __version__

    parser = _Parser(prog="uvflow", description="uvflow: calibration, imaging and simulation on Dask",
                     allow_abbrev=False)  # fmt: skip
    parser.add_argument("--version", action="version", version=f"uvflow {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-v: debug)"
    )
    parser.add_argument("-q", "--quiet", action="count", default=0, help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in _COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``uvflow`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    from .session import configure_logging

    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv or "--verbose" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 2
        configure_logging(args.verbose - args.quiet)
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"uvflow: error: {exc}", file=sys.stderr)
        return 2
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
