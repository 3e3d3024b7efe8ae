"""Checksums of checkpoint stores: every file's sha256, recorded when written, verified at load.

A zarr store is a directory of files (metadata, and one file per chunk of each array). A
chunk file that goes missing reads as the array's fill value (zeros) without an error, and
a damaged one may decode to other numbers; so :func:`store_checksums` records the sha256
of every file of a store (by its path inside the store) in the checkpoint's manifest, and
:func:`verify_store` checks that the store holds exactly those files with those contents
before it is read. zarr does not write chunks that hold only the fill value: their absence
is recorded too, and a file that appears there later is refused as well.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .errors import RESTART_HINT, CheckpointError

__all__ = ["store_checksums", "verify_store"]

_BLOCK = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def store_checksums(store: str | Path) -> dict[str, str]:
    """The sha256 (hex) of every file of a directory store, by its POSIX path inside it.

    Parameters
    ----------
    store : path
        A directory (e.g. a zarr store).

    Returns
    -------
    dict
        ``{'data/c/0/0/0/0': '3f…', 'zarr.json': '…', …}``, sorted by path.
    """
    root = Path(store)
    return {
        p.relative_to(root).as_posix(): _sha256(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }  # fmt: skip


def verify_store(store: str | Path, checksums: dict[str, str]) -> None:
    """Check that ``store`` holds exactly the files of ``checksums``, with those contents.

    Parameters
    ----------
    store : path
        The store as :func:`store_checksums` saw it when it was written.
    checksums : dict
        What :func:`store_checksums` gave then.

    Raises
    ------
    CheckpointError
        The store or one of its files is missing, a file differs, or a file was added;
        the message names the file.
    """
    root = Path(store)
    if not root.is_dir():
        raise CheckpointError(f"checkpoint store {root} is missing; {RESTART_HINT}")
    found = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    for name in sorted(set(checksums) | set(found)):
        if name not in found:
            problem = "is missing"
        elif name not in checksums:
            problem = "was not written with the checkpoint"
        elif _sha256(found[name]) != checksums[name]:
            problem = "differs from what was written (sha256 mismatch)"
        else:
            continue
        raise CheckpointError(
            f"checkpoint file {root / name} {problem}: the checkpoint is damaged; {RESTART_HINT}"
        )
