"""The CLI's error: a bad argument or input, reported as one line on stderr (no traceback)."""

from __future__ import annotations

__all__ = ["CLIError"]


def _one_line(text: str) -> str:
    """``text`` with every character that is not printable (line breaks, carriage returns,
    tabs, other control characters) written as its escape, so that it stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class CLIError(ValueError):
    """A command-line argument or input that cannot be used; the message says what is allowed.

    The message is one line whatever it quotes: a value given on the command line with a
    line break or a carriage return in it is shown escaped (``'\\r0'``).
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(_one_line(str(message)))
