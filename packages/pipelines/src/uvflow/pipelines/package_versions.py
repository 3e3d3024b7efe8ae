"""Installed versions of named distributions (for run reports and checkpoint identities)."""

from __future__ import annotations

from importlib import metadata

__all__ = ["package_versions"]


def package_versions(names) -> dict:
    """``{name: version}`` of each distribution in ``names`` (None when not installed)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
