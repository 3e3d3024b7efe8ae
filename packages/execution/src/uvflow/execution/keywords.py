"""Keyword checking: an unknown keyword raises ``TypeError`` listing the valid ones.

One checker serves every layer of uvflow: :func:`check_keywords` for a mapping of options
(plugin options, calibration controls, settings), and :func:`strict_keywords` for the
keywords of a function call. This module imports nothing but the standard library, so
kernels may use it without importing dask.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["check_keywords", "strict_keywords"]

F = TypeVar("F", bound=Callable)


def check_keywords(where: str, given: Iterable, valid: Iterable, error: type = TypeError) -> None:
    """Raise ``error`` naming the keys of ``given`` that are not in ``valid``, listing ``valid``.

    Parameters
    ----------
    where : str
        What the keywords are for; starts the message, e.g. ``"set_client()"`` or
        ``"deconvolver 'hogbom'"``.
    given : iterable of str
        The keys given.
    valid : iterable of str
        The keys allowed (listed in the message, in this order).
    error : type
        Exception class to raise: ``TypeError`` or a subclass of it.

    Raises
    ------
    TypeError
        Some key of ``given`` is not in ``valid``: the message names each with a "did you
        mean" hint where one is close, then lists every valid keyword, e.g.
        ``set_client() got an unexpected keyword argument 'n_worker' (did you mean
        'n_workers'?); valid keywords: client, use_dask, ...``.
    """
    valid = list(valid)
    unknown = [k for k in given if k not in valid]
    if not unknown:
        return
    hints = []
    for k in unknown:
        close = difflib.get_close_matches(str(k), [str(v) for v in valid], n=1)
        hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    noun = "argument" if len(unknown) == 1 else "arguments"
    raise error(
        f"{where} got an unexpected keyword {noun} {', '.join(hints)}; "
        f"valid keywords: {', '.join(map(str, valid)) or 'none'}"
    )


def keyword_names(func: Callable) -> tuple[list[str], bool]:
    """``(names a call of func may give as keywords, whether it takes **kwargs)``.

    Parameters
    ----------
    func : callable
        A function or class (its ``__init__``); ``self`` is left out.

    Returns
    -------
    (list of str, bool)
        An uninspectable callable gives ``([], True)``: anything may be passed.
    """
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return [], True
    names = [
        name
        for name, p in params.items()
        if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    return names, any(p.kind is p.VAR_KEYWORD for p in params.values())


def strict_keywords(func: F) -> F:
    """Decorate ``func`` so that unknown keywords raise a ``TypeError`` naming the valid ones.

    Python's own message names only the offending keyword; this one adds the close
    matches and the full list (:func:`check_keywords`).
    """
    valid, takes_any = keyword_names(func)
    if takes_any:
        raise TypeError(f"strict_keywords cannot check {func.__qualname__}: it takes **kwargs")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if kwargs:
            check_keywords(f"{func.__name__}()", kwargs, valid)
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
