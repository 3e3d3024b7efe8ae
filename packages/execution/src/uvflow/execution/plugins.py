"""Plugins: one loader for uvflow's entry-point groups.

uvflow is extended through entry-point groups (``uvflow.gridders``, ``uvflow.deconvolvers``,
``uvflow.solvers``): a distribution names an object under a group in its metadata, e.g.::

    [project.entry-points."uvflow.deconvolvers"]
    mine = "mypackage.clean:MyDeconvolver"

and uvflow finds it by name. Each group is a :class:`PluginGroup`; the built-in plugins
register exactly as third-party ones do. A plugin's factory (usually a class) declares its
options as keyword parameters: :meth:`PluginGroup.create` passes the options it is given
to the factory, and an option the factory does not declare raises ``TypeError`` naming the
ones it does (never a silent drop). This module imports only the standard library.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from uvflow.execution.keywords import check_keywords, keyword_names

__all__ = ["PluginGroup", "PluginLoadError"]


class PluginLoadError(ImportError):
    """An installed plugin whose entry point cannot be imported (the message names it)."""


class PluginGroup:
    """The plugins installed in one entry-point group.

    Parameters
    ----------
    group : str
        Entry-point group, e.g. ``"uvflow.deconvolvers"``.
    kind : str
        What a plugin of the group is called in messages, e.g. ``"deconvolver"``.
    unknown_error : type
        Exception raised for a name that is not installed (a ``LookupError`` or
        ``ValueError`` subclass of the owning package); its message lists what is installed.
    parameter : str, optional
        The user-facing parameter that names the plugin (``"algorithm"``, ``"context"``),
        mentioned in messages.

    Notes
    -----
    The installed set is read once per process and loaded objects are cached: entry points
    do not change while a process runs.
    """

    def __init__(
        self, group: str, kind: str, unknown_error: type = LookupError, parameter: str = ""
    ) -> None:
        self.group = group
        self.kind = kind
        self.unknown_error = unknown_error
        self.parameter = parameter
        self._load = functools.cache(self._load_uncached)

    def __repr__(self) -> str:
        return f"PluginGroup({self.group!r})"

    @functools.cached_property
    def entry_points(self) -> dict[str, EntryPoint]:
        """Entry points of the group by name."""
        return {ep.name: ep for ep in entry_points(group=self.group)}

    def reset(self, entry_points: dict[str, EntryPoint] | None = None) -> None:
        """Forget the cached entry points and loaded objects (read them again when next asked).

        Parameters
        ----------
        entry_points : dict of str to EntryPoint, optional
            Use these instead of the installed ones (tests); None reads the installed set.
        """
        self.__dict__.pop("entry_points", None)
        if entry_points is not None:
            self.__dict__["entry_points"] = dict(entry_points)
        self._load.cache_clear()

    def installed(self) -> list[str]:
        """Names of the installed plugins, sorted."""
        return sorted(self.entry_points)

    def describe(self) -> dict[str, str]:
        """Name → ``module:object`` of every installed plugin."""
        return {name: self.entry_points[name].value for name in self.installed()}

    def load(self, name: str) -> Any:
        """The object the entry point ``name`` names (imported once, then cached).

        Raises
        ------
        TypeError
            ``name`` is not a string.
        unknown_error
            No plugin of that name is installed (the message lists those that are).
        PluginLoadError
            The plugin is installed but fails to import.
        """
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} name must be a str, got {type(name).__name__}")
        return self._load(name)

    def _load_uncached(self, name: str) -> Any:
        eps = self.entry_points
        if name not in eps:
            what = f"{self.kind} ({self.parameter})" if self.parameter else self.kind
            raise self.unknown_error(
                f"{what} {name!r} unknown; installed: {', '.join(sorted(eps)) or 'none'} "
                f"(entry-point group {self.group!r})"
            )
        try:
            return eps[name].load()
        except Exception as exc:  # a broken plugin: say which one
            raise PluginLoadError(
                f"{self.kind} {name!r} ({eps[name].value}) is installed but failed to load: {exc}"
            ) from exc

    def options(self, name: str) -> tuple[list[str], bool]:
        """``(options the factory of name declares, whether it takes any **kwargs)``."""
        return keyword_names(self.load(name))

    def check_options(self, name: str, options) -> None:
        """Raise ``TypeError`` for an option the plugin ``name`` does not declare.

        Parameters
        ----------
        name : str
            An installed plugin.
        options : iterable of str
            Option names to be given to its factory.
        """
        valid, takes_any = self.options(name)
        if not takes_any:
            check_keywords(f"{self.kind} {name!r}", options, valid)

    def create(self, name: str, protocol: type | None = None, **options) -> Any:
        """The plugin ``name`` built by its factory with ``options``.

        Parameters
        ----------
        name : str
            An installed plugin.
        protocol : type, optional
            A ``runtime_checkable`` Protocol the built object must follow.
        **options
            Keyword options of the plugin's factory.

        Raises
        ------
        TypeError
            An option the factory does not declare (the message lists those it does), or
            an object without ``protocol``.
        """
        factory: Callable = self.load(name)
        self.check_options(name, options)
        built = factory(**options)
        if protocol is not None and not isinstance(built, protocol):
            raise TypeError(
                f"{self.kind} {name!r} ({self.entry_points[name].value}) built a "
                f"{type(built).__name__}, which lacks the {protocol.__name__} protocol"
            )
        return built
