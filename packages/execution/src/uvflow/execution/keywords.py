"""Keyword checking: an unknown keyword raises ``TypeError`` listing the valid ones.

One checker serves every layer of uvflow: :func:`check_keywords` for a mapping of options
(plugin options, calibration controls, settings), :func:`strict_keywords` for the
keywords of a function call, and :func:`keyword_groups` for functions that share groups of
keywords (one definition of each keyword: its default and its description). This module imports nothing but the standard library, so
kernels may use it without importing dask.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["check_keywords", "keyword_groups", "keyword_names", "strict_keywords"]

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


_MARK = "<shared keywords>"


def _keyword_docs(groups: dict, names: list[str], defaults: dict) -> str:
    """numpydoc entries of the shared keywords ``names``, group by group."""
    lines = []
    for title, group in groups.items():
        for n in (n for n in group if n in names):
            text = group[n][1]
            lines += [
                f"{n} : default {defaults[n]!r}",
                f"    {text[:1].upper()}{text[1:]} ({title}).",
            ]
    return "\n".join(lines)


def keyword_groups(groups: dict, exclude=(), **defaults) -> Callable:
    """Give a function the shared keywords of ``groups`` (a decorator).

    The decorated function is written ``func(<its own parameters>, **keywords)``; the
    wrapper's signature has its own parameters followed by every shared keyword (keyword
    only, with its group's default or the one given here), fills in the defaults, raises
    ``TypeError`` for an unknown keyword (naming the valid ones, :func:`check_keywords`) and
    calls ``func`` with all of them. A line ``<shared keywords>`` in the docstring's
    Parameters section is replaced by one numpydoc entry per shared keyword.

    Parameters
    ----------
    groups : dict of str to dict of str to (object, str)
        Group title → keyword → (default, description).
    exclude : iterable of str
        Shared keywords this function does not take.
    **defaults
        Function-specific defaults of shared keywords.
    """
    shared = {n: d for group in groups.values() for n, (d, _) in group.items() if n not in exclude}
    unknown = sorted(set(defaults) - set(shared))
    if unknown:
        raise TypeError(f"keyword_groups: no shared keyword(s) {unknown}")
    shared.update(defaults)

    def decorate(func: Callable) -> Callable:
        sig = inspect.signature(func)
        own = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
        names = [n for n in shared if n not in {p.name for p in own}]
        full = sig.replace(parameters=own + [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=shared[n]) for n in names
        ])  # fmt: skip
        valid = list(full.parameters)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            check_keywords(f"{func.__name__}()", kwargs, valid)
            bound = full.bind(*args, **kwargs)
            bound.apply_defaults()
            return func(**bound.arguments)

        wrapper.__signature__ = full
        if func.__doc__ and _MARK in func.__doc__:
            indent = func.__doc__.split(_MARK)[0].rsplit("\n", 1)[-1]
            docs = _keyword_docs(groups, names, shared).splitlines()
            wrapper.__doc__ = func.__doc__.replace(
                indent + _MARK, "\n".join(indent + d for d in docs)
            )
        return wrapper

    return decorate
