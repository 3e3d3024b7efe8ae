"""Keyword checking: an unknown keyword raises ``TypeError`` listing the valid ones."""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable
from typing import TypeVar

__all__ = ["strict_keywords"]

F = TypeVar("F", bound=Callable)


def strict_keywords(func: F) -> F:
    """Decorate ``func`` so that unknown keywords raise a ``TypeError`` naming the valid ones.

    Python's own message names only the offending keyword; this one adds the close
    matches and the full list, e.g. ``set_client() got an unexpected keyword argument
    'n_worker' (did you mean 'n_workers'?); valid keywords: client, use_dask, ...``.
    """
    params = inspect.signature(func).parameters
    valid = [
        name
        for name, p in params.items()
        if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise TypeError(f"strict_keywords cannot check {func.__qualname__}: it takes **kwargs")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        unknown = [k for k in kwargs if k not in valid]
        if unknown:
            hints = []
            for k in unknown:
                close = difflib.get_close_matches(k, valid, n=1)
                hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise TypeError(
                f"{func.__name__}() got an unexpected keyword argument {', '.join(hints)}; "
                f"valid keywords: {', '.join(valid)}"
            )
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
