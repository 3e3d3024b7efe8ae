"""Write the ``uvflow`` command reference (``docs/cli.rst``) from its argparse parser.

Run by ``docs/conf.py`` at every build, so the page always shows the parser that is
installed: ``uvflow --help`` and the help of every sub-command, as the parser prints
them (``format_help()``), in literal blocks. The parser is found in
``uvflow.pipelines.cli.main``: the first module-level function whose name contains
``parser`` and that returns an ``argparse.ArgumentParser`` when called without
arguments. Without it the build fails (:func:`find_parser` raises).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pathlib

CLI_MODULE = "uvflow.pipelines.cli.main"
COLUMNS = "88"  # argparse wraps help text at $COLUMNS - 2


def find_parser(module: str = CLI_MODULE) -> argparse.ArgumentParser:
    """The CLI's parser (built by the module's ``*parser*`` function without arguments).

    Raises
    ------
    ImportError
        The CLI module (or something it imports) cannot be imported: the docs build
        fails rather than publishing a reference without the command.
    LookupError
        The module has no function returning an ``argparse.ArgumentParser``.
    """
    mod = importlib.import_module(module)
    for name, obj in inspect.getmembers(mod, inspect.isfunction):
        if "parser" not in name or obj.__module__ != mod.__name__:
            continue
        try:
            params = inspect.signature(obj).parameters.values()
        except (TypeError, ValueError):
            continue
        if any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params):  # fmt: skip
            continue
        parser = obj()
        if isinstance(parser, argparse.ArgumentParser):
            return parser
    raise LookupError(f"{module} has no function returning an argparse.ArgumentParser")


def subcommands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> list[tuple[str, argparse.ArgumentParser]]:
    """(``"uvflow image"``, parser) for the parser and every sub-command, depth first."""
    name = prefix or parser.prog
    out = [(name, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, subparser in action.choices.items():
                out += subcommands(subparser, f"{name} {sub}")
    return out


def _help(parser: argparse.ArgumentParser) -> str:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = COLUMNS
    try:
        return parser.format_help()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def cli_page(parser: argparse.ArgumentParser) -> str:
    lines = [
        "Command-line reference",
        "======================",
        "",
        ".. This page is written by docs/cligen.py at every build; do not edit it.",
        "",
        "Generated at build time from the ``uvflow`` command's own ``argparse`` parser",
        f"(``{CLI_MODULE}``, via ``docs/cligen.py``): what follows is exactly what",
        "``uvflow --help`` and ``uvflow <command> --help`` print.",
        "",
    ]
    for name, sub in subcommands(parser):
        title = f"``{name}``"
        lines += [title, "-" * len(title), "", ".. code-block:: text", ""]
        lines += [("   " + line).rstrip() for line in _help(sub).splitlines()]
        lines.append("")
    return "\n".join(lines)


def write_cli(path: str | os.PathLike) -> None:
    """Write the page from the installed command's parser (see :func:`find_parser`)."""
    text = cli_page(find_parser())
    path = pathlib.Path(path)
    if not (path.exists() and path.read_text(encoding="utf-8") == text):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
