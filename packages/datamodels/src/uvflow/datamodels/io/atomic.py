"""Atomic writes: build the output under a temporary sibling name, then move it into place.

A reader never sees a half-written file or directory: either the old content (or nothing)
or the complete new one. Temporary names are ``<name>.tmp-<uuid>`` in the destination's
directory (same file system, so the final rename is atomic on POSIX).
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_file", "atomic_directory"]

log = logging.getLogger(__name__)


def _temporary_sibling(path: Path, tag: str) -> Path:
    if not path.name:
        raise ValueError(f"output path {str(path)!r} has no file name")
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: directory {parent} does not exist")
    return parent / f"{path.name}.{tag}-{uuid.uuid4().hex}"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


@contextmanager
def atomic_file(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write a file to; on success it replaces ``path``.

    If the body raises, the temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; the temporary file is a sibling (same directory, same file system).
    overwrite : bool
        Replace an existing file.

    Yields
    ------
    pathlib.Path
        The temporary path to write to.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False, or ``path`` is a directory.
    """
    path = Path(path)
    if path.is_dir():
        raise FileExistsError(f"cannot write file {path}: a directory of that name exists")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    tmp = _temporary_sibling(path, "tmp")
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"nothing was written to the temporary file for {path}")
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    log.debug("wrote %s", path)


@contextmanager
def atomic_directory(
    path: str | os.PathLike,
    *,
    overwrite: bool = True,
    may_replace: Callable[[Path], bool] | None = None,
) -> Iterator[Path]:
    """Yield a temporary directory path to build a directory store in; on success it becomes ``path``.

    An existing directory at ``path`` is renamed aside, the new one renamed into place and
    only then the old one deleted; if the swap fails the old directory is restored. If the
    body raises, the temporary directory is removed and ``path`` is untouched.

    Parameters
    ----------
    path : str or os.PathLike
    overwrite : bool
        Allow replacing an existing ``path``.
    may_replace : callable(Path) -> bool, optional
        Guard against deleting unrelated data: an existing ``path`` is replaced only if this
        returns True for it (e.g. "is a zarr store").
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        if not path.is_dir() or path.is_symlink():
            raise FileExistsError(f"{path} exists and is not a directory; refusing to replace it")
        if may_replace is not None and not may_replace(path):
            raise FileExistsError(
                f"{path} exists and is not a store this writer made; refusing to replace it"
            )
    tmp = _temporary_sibling(path, "tmp")
    try:
        yield tmp
        if not tmp.is_dir():
            raise RuntimeError(f"nothing was written to the temporary directory for {path}")
        if path.exists():
            old = _temporary_sibling(path, "old")
            os.rename(path, old)
            try:
                os.rename(tmp, path)
            except BaseException:
                os.rename(old, path)
                raise
            _remove(old)
        else:
            os.rename(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    log.debug("wrote %s", path)
