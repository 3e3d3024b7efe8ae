"""The CLI's error: a bad argument or input, reported as one line on stderr (no traceback)."""

from __future__ import annotations

__all__ = ["CLIError"]


class CLIError(ValueError):
    """A command-line argument or input that cannot be used; the message says what is allowed."""
