"""Checkpoints of the major cycles: save the models (and gain tables) after each cycle, resume.

Layout of a checkpoint directory::

    <dir>/cycle-0001/model-0000.zarr          model image of window 0 after major cycle 1
    <dir>/cycle-0001/gaintable-0000-G.zarr    ICAL: window 0's table of term G after cycle 1
    <dir>/cycle-0002/...
    <dir>/manifest.json                       the last COMPLETE cycle, written last

The manifest names each store with the sha256 of every one of its files
(:mod:`.checkpoint_integrity`), verified before the store is read: a missing, damaged or
added file is an error naming it (zarr itself would read a missing chunk as zeros). It
also records the identity of the run (:mod:`.checkpoint_identity`: the inputs'
fingerprints, the image geometry, the settings, the uvflow version) and the components
its models hold; a run resumes the checkpoint only when its identity is the same (the
number of major cycles, the restoring beam and the gridder's threads may differ, and the
total component budget ``-niter`` when it cut none of the checkpoint's cycles short) and
is otherwise refused with a message naming the difference. ``restart=True``
(``--checkpoint-restart``) removes the manifest and the cycle directories and starts
afresh; only when they are recognisably a uvflow checkpoint's (:func:`clear_checkpoint`).

Every store is written atomically (``uvflow.datamodels.save_checkpoint``: a temporary
sibling, then a rename) and the manifest is replaced atomically only after all of a
cycle's stores exist, so an interrupted run leaves either the previous manifest or the
new one, never a manifest naming missing data. A rerun with the same directory reads the
manifest and continues after the cycle it names; rewriting a cycle (a task re-run after a
lost worker, or a rerun) replaces its stores with identical content.

Images are stored losslessly (float64 stays float64), so a resumed run computes exactly
what an uninterrupted run computes.

The stores are written by the task that runs the checkpoint (on a Dask worker): on a
cluster ``checkpoint_dir`` must be on a file system shared by the workers and the client.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

from uvflow.datamodels import GainTable, Image, load_checkpoint, save_checkpoint
from uvflow.datamodels.io.atomic import atomic_file
from uvflow.execution import rsexecute

from .checkpoint_identity import check_identity
from .checkpoint_integrity import store_checksums, verify_store
from .errors import RESTART_HINT, CheckpointError

__all__ = [
    "MANIFEST_NAME",
    "clear_checkpoint",
    "read_manifest",
    "save_cycle",
    "load_model",
    "load_gaintable",
]

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
FORMAT = 2  # 2: stores' checksums and the run's identity
_CYCLE = re.compile(r"cycle-\d{4}")
_STORE = re.compile(r"(model-\d{4}|gaintable-\d{4}-[^/]+)\.zarr(\.(tmp|old)-[0-9a-f]+)?")
_KEYS = {"format", "pipeline", "cycle", "nwindows", "models"}


def _cycle_name(cycle: int) -> str:
    return f"cycle-{cycle:04d}"


def save_cycle(
    directory: str | os.PathLike,
    cycle: int,
    pipeline: str,
    identity: dict,
    models: list,
    gaintables: list | None = None,
    state: dict | None = None,
) -> Path:
    """Write one complete cycle (models, optional gain tables) and then the manifest.

    Parameters
    ----------
    directory : path
        The checkpoint directory (created if missing).
    cycle : int
        Major cycles completed (1 after the first).
    pipeline : str
        Name of the pipeline ('continuum', 'ical', ...): a resume checks it.
    identity : dict
        JSON values: the run's identity (:mod:`.checkpoint_identity`), recorded (a resume
        is refused when its own differs).
    models : list of Image
        One model per window, data [nchan, npol, ny, nx] float.
    gaintables : list of dict of GainTable, optional
        Per window, tables by term (ICAL).
    state : dict, optional
        JSON values a resume needs besides the models (the major cycles: the last minor
        cycle's stopping rule), recorded as the manifest's ``state``.

    Returns
    -------
    Path
        The manifest written.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    sub = root / _cycle_name(cycle)
    sub.mkdir(exist_ok=True)
    entry_models, entry_gts = [], None
    for w, model in enumerate(models):
        if not isinstance(model, Image):
            raise CheckpointError(
                f"window {w}: expected an Image model, got {type(model).__name__}"
            )
        name = f"{sub.name}/model-{w:04d}.zarr"
        save_checkpoint(model, root / name)
        entry_models.append({"path": name, "shape": list(model.data.shape),
                             "sha256": store_checksums(root / name)})  # fmt: skip
    if gaintables is not None:
        entry_gts = []
        for w, tables in enumerate(gaintables):
            paths = {}
            for term, table in (tables or {}).items():
                if not isinstance(table, GainTable):
                    raise CheckpointError(
                        f"window {w} term {term!r}: expected a GainTable, got {type(table).__name__}"
                    )
                name = f"{sub.name}/gaintable-{w:04d}-{term}.zarr"
                save_checkpoint(table, root / name)
                paths[term] = {"path": name, "sha256": store_checksums(root / name)}
            entry_gts.append(paths)
    manifest = {
        "format": FORMAT,
        "pipeline": pipeline,
        "cycle": int(cycle),
        "nwindows": len(models),
        "models": entry_models,
        "gaintables": entry_gts,
        "components": max([int(m.meta.get("NITER", 0)) for m in models] or [0]),
        "state": state,
        "identity": identity,
    }
    path = root / MANIFEST_NAME
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    logger.info("checkpoint: cycle %d of %s written to %s", cycle, pipeline, root)
    return path


def _is_cycle(path: Path) -> bool:
    """Whether ``path`` is a directory holding only checkpoint stores (and their temporary
    siblings): ``model-WWWW.zarr``, ``gaintable-WWWW-<term>.zarr``."""
    return (
        path.is_dir()
        and not path.is_symlink()
        and all(
            _STORE.fullmatch(p.name) and p.is_dir() and not p.is_symlink() for p in path.iterdir()
        )
    )


def clear_checkpoint(directory: str | os.PathLike) -> None:
    """Remove a checkpoint: its manifest first (the directory then claims nothing), then
    its ``cycle-NNNN`` directories; other files are left alone.

    Raises
    ------
    CheckpointError
        ``manifest.json`` is not a uvflow checkpoint manifest (JSON of other keys; an
        unreadable one is taken for a damaged manifest only next to checkpoint cycles), or
        a ``cycle-NNNN`` entry holds something a checkpoint does not: nothing is removed.
    """
    root = Path(directory)
    if not root.is_dir():
        return
    path = root / MANIFEST_NAME
    cycles = [p for p in sorted(root.iterdir()) if _CYCLE.fullmatch(p.name)]
    try:
        manifest = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        manifest = {k: None for k in _KEYS} if cycles else None  # damaged, next to cycles
    if not isinstance(manifest, dict) or (manifest and not _KEYS <= set(manifest)):
        raise CheckpointError(f"{path} is not a uvflow checkpoint manifest: not removed; "
                              "choose another --checkpoint-dir")  # fmt: skip
    for sub in cycles:
        if not _is_cycle(sub):
            raise CheckpointError(f"{sub} holds more than checkpoint stores: nothing removed; "
                                  "choose another --checkpoint-dir")  # fmt: skip
    path.unlink(missing_ok=True)
    for sub in cycles:
        shutil.rmtree(sub)


def read_manifest(
    directory: str | os.PathLike | None,
    pipeline: str,
    nwindows: int,
    identity,
    restart: bool = False,
) -> tuple[dict | None, object]:
    """The manifest of ``directory`` checked against this run (None: nothing to resume),
    and this run's identity (computed when there was a manifest to check).

    Parameters
    ----------
    directory : path or None
        The checkpoint directory (None: no checkpoints).
    pipeline : str
        This run's pipeline.
    nwindows : int
        This run's windows (MPCCAL: regions).
    identity : dict or graph
        This run's identity (JSON values), or a graph of it (computed only when there is
        a checkpoint to compare it with: it may read samples of the data).
    restart : bool
        Remove the checkpoint (:func:`clear_checkpoint`) and start afresh.

    Returns
    -------
    (dict or None, dict or graph)

    Raises
    ------
    CheckpointError
        The manifest is unreadable, of another format, pipeline or number of windows, or
        made by a run of another identity (:func:`~.checkpoint_identity.check_identity`).
    """
    if directory is None:
        return None, identity
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return None, identity
    if restart:
        logger.info("checkpoint: starting afresh in %s (its earlier cycles removed)", directory)
        clear_checkpoint(directory)
        return None, identity
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(
            f"cannot read the checkpoint manifest {path}: {exc}; {RESTART_HINT}"
        ) from exc
    found = manifest.get("format", 0)
    if found != FORMAT:
        raise CheckpointError(
            f"{path} has format {found}; this version of uvflow reads {FORMAT} (with the "
            f"run's identity and the stores' checksums); {RESTART_HINT}"
        )
    if manifest.get("pipeline") != pipeline:
        raise CheckpointError(
            f"{path} is a checkpoint of the {manifest.get('pipeline')!r} pipeline, not {pipeline!r}; "
            "use another checkpoint_dir"
        )
    if manifest.get("nwindows") != nwindows:
        raise CheckpointError(
            f"{path} has {manifest.get('nwindows')} windows, this run {nwindows}; use another "
            "checkpoint_dir"
        )
    identity = rsexecute.compute(identity, sync=True)
    check_identity(directory, manifest.get("identity") or {}, identity, manifest.get("components"))
    logger.info("checkpoint: resuming %s after cycle %d from %s", pipeline, manifest["cycle"], path)
    return manifest, identity


def load_model(directory: str | os.PathLike, entry: dict, template) -> Image:
    """Read one window's model (its files' checksums verified first), checking it fits the
    template model of this run.

    Parameters
    ----------
    directory : path
    entry : dict
        The manifest's ``{'path', 'shape', 'sha256'}`` of the window.
    template : Image
        The run's starting model of the window (its shape is checked).

    Raises
    ------
    CheckpointError
        A damaged store (naming the file), or a model of another shape.
    """
    verify_store(Path(directory) / entry["path"], entry["sha256"])
    image = load_checkpoint(Path(directory) / entry["path"])
    if isinstance(template, Image) and image.data.shape != template.data.shape:
        raise CheckpointError(
            f"checkpointed model {entry['path']} has shape {list(image.data.shape)}, this run's "
            f"model {list(template.data.shape)}; use another checkpoint_dir"
        )
    return image


def load_gaintable(directory: str | os.PathLike, entry: dict) -> GainTable:
    """Read one gain table named in the manifest (``entry``: ``{'path', 'sha256'}``, the
    path relative to ``directory``), its files' checksums verified first."""
    verify_store(Path(directory) / entry["path"], entry["sha256"])
    table = load_checkpoint(Path(directory) / entry["path"])
    if not isinstance(table, GainTable):
        raise CheckpointError(f"{entry['path']} holds a {type(table).__name__}, not a GainTable")
    return table
