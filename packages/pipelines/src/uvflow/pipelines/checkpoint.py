"""Checkpoints of the major cycles: save the models (and gain tables) after each cycle, resume.

Layout of a checkpoint directory::

    <dir>/cycle-0001/model-0000.zarr          model image of window 0 after major cycle 1
    <dir>/cycle-0001/gaintable-0000-G.zarr    ICAL: window 0's table of term G after cycle 1
    <dir>/cycle-0002/...
    <dir>/manifest.json                       the last COMPLETE cycle, written last

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
from pathlib import Path

from uvflow.datamodels import GainTable, Image, load_checkpoint, save_checkpoint
from uvflow.datamodels.io.atomic import atomic_file

from .errors import CheckpointError

__all__ = [
    "MANIFEST_NAME",
    "read_manifest",
    "save_cycle",
    "load_model",
    "load_gaintable",
]

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
FORMAT = 1


def _cycle_name(cycle: int) -> str:
    return f"cycle-{cycle:04d}"


def save_cycle(
    directory: str | os.PathLike,
    cycle: int,
    pipeline: str,
    parameters: dict,
    models: list,
    gaintables: list | None = None,
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
    parameters : dict
        JSON-able settings of the run, recorded (a resume warns when they changed).
    models : list of Image
        One model per window, data [nchan, npol, ny, nx] float.
    gaintables : list of dict of GainTable, optional
        Per window, tables by term (ICAL).

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
        entry_models.append({"path": name, "shape": list(model.data.shape)})
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
                paths[term] = name
            entry_gts.append(paths)
    manifest = {
        "format": FORMAT,
        "pipeline": pipeline,
        "cycle": int(cycle),
        "nwindows": len(models),
        "models": entry_models,
        "gaintables": entry_gts,
        "parameters": parameters,
    }
    path = root / MANIFEST_NAME
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    logger.info("checkpoint: cycle %d of %s written to %s", cycle, pipeline, root)
    return path


def read_manifest(
    directory: str | os.PathLike | None, pipeline: str, nwindows: int, parameters: dict
) -> dict | None:
    """The manifest of ``directory`` checked against this run, or None (nothing to resume).

    Raises
    ------
    CheckpointError
        The manifest is unreadable, of another pipeline, or of another number of windows.
    """
    if directory is None:
        return None
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read the checkpoint manifest {path}: {exc}") from exc
    if manifest.get("format", 0) > FORMAT:
        raise CheckpointError(
            f"{path} has format {manifest['format']}; this version reads {FORMAT}"
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
    changed = sorted(
        k for k in set(parameters) | set(manifest.get("parameters", {}))
        if parameters.get(k) != manifest.get("parameters", {}).get(k)
    )  # fmt: skip
    if changed:
        logger.warning("checkpoint %s: resuming with changed settings %s", directory, changed)
    logger.info("checkpoint: resuming %s after cycle %d from %s", pipeline, manifest["cycle"], path)
    return manifest


def load_model(directory: str | os.PathLike, entry: dict, template) -> Image:
    """Read one window's model, checking it fits the template model of this run.

    Parameters
    ----------
    directory : path
    entry : dict
        The manifest's ``{'path', 'shape'}`` of the window.
    template : Image
        The run's starting model of the window (its shape is checked).
    """
    image = load_checkpoint(Path(directory) / entry["path"])
    if isinstance(template, Image) and image.data.shape != template.data.shape:
        raise CheckpointError(
            f"checkpointed model {entry['path']} has shape {list(image.data.shape)}, this run's "
            f"model {list(template.data.shape)}; use another checkpoint_dir"
        )
    return image


def load_gaintable(directory: str | os.PathLike, path: str) -> GainTable:
    """Read one gain table named in the manifest (``path`` relative to ``directory``)."""
    table = load_checkpoint(Path(directory) / path)
    if not isinstance(table, GainTable):
        raise CheckpointError(f"{path} holds a {type(table).__name__}, not a GainTable")
    return table
