"""The identity of a checkpointed run: what a checkpoint must match to be resumed.

A checkpoint records the identity of the run that made it (``identity`` in its
``manifest.json``); a run resumes it only when its own identity is the same but for the
:data:`RESUMABLE` settings, and is otherwise refused with a one-line
:class:`~uvflow.pipelines.CheckpointError` naming the first difference (``checkpoint in
ck was made with cell size (-scale) 10asec, this run has 7asec: …``). The identity holds:

``uvflow``
    The versions of the packages that compute the result.
``inputs``
    The fingerprints of the data (:mod:`uvflow.datamodels.io.vis_fingerprint`): per file
    its path, row count, cell shape, a hash of samples of TIME, UVW and DATA, and what is
    selected of it; per in-memory Visibility its shape and a hash of samples of its arrays.
``images``
    Per window the image geometry (shape, cell, phase centre, frequencies, polarisation)
    and a sha256 of the starting model's pixels; ``mask`` the same of the clean mask.
``settings``
    The pipeline's settings: gridder, weighting, minor cycle, major cycles.
``calibration``
    ICAL's calibration terms, their controls and whether the solution is global.

and the caller's own entries (``uvflow image``: the imaging weights it applied before the
pipeline, which then images with natural weights).

Which settings may differ, and why (:data:`RESUMABLE`): the number of major cycles (no
cycle depends on how many follow it, so a run of more cycles continues the checkpoint's
exactly: the point of resuming; fewer cycles than the checkpoint holds is refused by the
cycle check), the restoring beam and facets (they only restore the final images, after the
cycles) and
the gridder's threads (how the work is shared, not what is computed: sums in another
order, ~1e-8 of the peak). Execution (workers, memory limit, chunks, resident or streamed
data) is not part of the identity at all.

The component budget (``-niter``) may change too, with WSClean's meaning of ``-niter``: the
total number of components of the whole run, over all its major cycles, the checkpoint's
included (the ``NITER`` its models carry, recorded in the manifest as ``components``). A
resume under another budget gives exactly the uninterrupted run of the new budget when
the budget cut none of the checkpoint's cycles short, so it continues when (a) the
budget is the run's total (``clean.niter`` = ``clean.niter_total``, as ``uvflow image``
sets both from ``-niter``), (b) the checkpoint's components are fewer than its old budget
(a cycle cut short ends exactly at the budget) and (c) no more than the new budget (else
the new run would have stopped earlier). Otherwise it is refused, naming the budget and
the components. Every other setting, thresholds included, must be the same (to clean
deeper from a finished run with other settings, start from its model: ``-continue``).

The identity is built lazily (:func:`identity_graph`): its pieces are tasks when the data
or models are graphs, and it is computed in the client only when there is a checkpoint to
compare it with; otherwise it travels to the checkpoint tasks with the graph.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from uvflow.datamodels import Image
from uvflow.datamodels.io.vis_fingerprint import describe_visibility, fingerprint_inputs
from uvflow.execution import rsexecute

from .errors import RESTART_HINT, CheckpointError
from .package_versions import package_versions

__all__ = ["RESUMABLE", "identity_graph", "image_identity", "check_identity", "first_difference"]

#: identity entries a resumed run may change (paths into the identity) and why
RESUMABLE = {
    ("settings", "nmajor"): "no cycle depends on how many follow it",
    ("settings", "clean_beam"): "the beam only restores the final images",
    ("settings", "restore"): "restoring only makes the final images",
    ("settings", "gridding", "nthreads"): "threads share the work, they do not change it",
}
_PACKAGES = ("uvflow-datamodels", "uvflow-imaging", "uvflow-calibration", "uvflow-pipelines")
_FIRST = ("uvflow", "inputs", "images", "mask", "settings", "calibration")
_IMAGE_LABELS = {
    "shape": "image shape [nchan, npol, ny, nx] (-size)",
    "cell_arcsec": "cell size (-scale)",
    "phase_centre_deg": "phase centre (RA, Dec degrees)",
    "frequency_hz": "frequencies (first, last, count; Hz)",
    "polarisation": "polarisation (-pol)",
    "pixels_sha256": "starting model (sha256 of its pixels)",
}
_SETTING_OPTIONS = {
    "clean.niter": "-niter", "clean.niter_total": "-niter", "clean.gain": "-gain",
    "clean.fractional_threshold": "-mgain", "clean.threshold": "-threshold",
    "clean.algorithm": "--deconvolver", "clean.facets": "--deconvolve-facets",
    "clean.noise": "-auto-threshold, -auto-mask, -local-rms", "gridding.context": "-gridder",
    "gridding.epsilon": "--accuracy",
}  # fmt: skip


def image_identity(image) -> dict | None:
    """The geometry of an image and a sha256 of its pixels (None for None).

    Parameters
    ----------
    image : Image or None
        data [nchan, npol, ny, nx].

    Returns
    -------
    dict or None
        ``shape``, ``cell_arcsec``, ``phase_centre_deg`` [RA, Dec], ``frequency_hz``
        [first, last, count], ``polarisation`` (frame name) and ``pixels_sha256``.
    """
    if image is None:
        return None
    data = np.ascontiguousarray(image.data)
    digest = hashlib.sha256(f"{data.dtype.str}{data.shape}".encode())
    digest.update(data.tobytes())
    freq = np.asarray(image.frequency, np.float64).ravel()
    pc = image.phasecentre
    return {
        "shape": [int(n) for n in data.shape],
        "cell_arcsec": float(np.rad2deg(image.cellsize) * 3600.0),
        "phase_centre_deg": [float(pc.ra.deg), float(pc.dec.deg)],
        "frequency_hz": [float(freq[0]), float(freq[-1]), int(freq.size)] if freq.size else [],
        "polarisation": image.polarisation_frame.name,
        "pixels_sha256": digest.hexdigest(),
    }


def _plain(value):
    """Images as :func:`image_identity`, arrays as lists, in dicts, lists and tuples."""
    if isinstance(value, Image):
        return image_identity(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _combine(entries: dict, descriptions: list, images: list, mask) -> dict:
    """The identity as JSON values (what a manifest holds once read back)."""
    from .major_cycle_steps import jsonable

    identity = {"uvflow": package_versions(_PACKAGES), "inputs": fingerprint_inputs(descriptions),
                "images": images, "mask": mask, **_plain(entries)}  # fmt: skip
    return json.loads(json.dumps(jsonable(identity)))


def _is_graph(value) -> bool:
    if isinstance(value, dict):
        return any(_is_graph(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_is_graph(v) for v in value)
    return hasattr(type(value), "__dask_graph__")


def _call(func, *args):
    """``func(*args)`` now, or as a task when an argument is a graph."""
    return rsexecute.execute(func)(*args) if _is_graph(args) else func(*args)


def identity_graph(entries: dict, inputs: list, models: list, mask=None):
    """The run's identity: a dict, or a graph of one when data or models are graphs.

    Parameters
    ----------
    entries : dict
        ``settings``, ``calibration`` and the caller's entries: JSON-able values, arrays
        (kept as lists) and Images (kept as :func:`image_identity`), or graphs of them.
    inputs : list
        The run's data, chunk by chunk: Visibility or visibility sources (or graphs).
    models : list of Image (or graphs)
        The starting models, one per window.
    mask : Image (or graph), optional
        The clean mask.
    """
    descriptions = [_call(describe_visibility, v) for v in inputs]
    images = [_call(image_identity, m) for m in models]
    return _call(_combine, entries, descriptions, images, _call(image_identity, mask))


def first_difference(recorded, current, path: tuple = ()):
    """``(path, recorded value, current value)`` of the first difference, or None.

    Dicts are compared key by key (the sections of :data:`_FIRST` first, then in the
    recorded order), lists of dicts or lists of equal length item by item (other lists are
    values: a shape, a span); the paths of :data:`RESUMABLE`
    are skipped.
    """
    if path in RESUMABLE:
        return None
    if isinstance(recorded, dict) and isinstance(current, dict):
        keys = [k for k in _FIRST if k in recorded or k in current]
        keys += [k for k in (*recorded, *current) if k not in _FIRST]
        ordered = dict.fromkeys(keys)
        for key in ordered:
            found = first_difference(recorded.get(key), current.get(key), (*path, key))
            if found is not None:
                return found
        return None
    nested = isinstance(recorded, list) and any(isinstance(v, (dict, list)) for v in recorded)
    if nested and isinstance(current, list) and len(recorded) == len(current):
        for i, (a, b) in enumerate(zip(recorded, current)):
            found = first_difference(a, b, (*path, i))
            if found is not None:
                return found
        return None
    same = json.dumps(recorded, sort_keys=True) == json.dumps(current, sort_keys=True)
    return None if same else (path, recorded, current)


def _text(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _input_words(path: tuple, old, new, recorded: dict) -> tuple[str, str, str]:
    if len(path) == 1:  # another number of inputs
        return ("inputs", _text([e.get("path") for e in old or []]),
                _text([e.get("path") for e in new or []]))  # fmt: skip
    entry = recorded["inputs"][path[1]]
    name = entry.get("path") or f"in-memory visibility {path[1]}"
    key = ".".join(str(p) for p in path[2:])
    if key == "path":
        return "data", _text(old), _text(new)
    if key == "sample" and None not in (old, new):
        return f"a hash of samples of TIME, UVW and DATA of {name}", old[:12], new[:12]
    return f"{key} of {name}", _text(old), _text(new)


def _image_words(path: tuple, old, new, recorded: dict) -> tuple[str, str, str]:
    keys = path[1:] if path[0] == "mask" else path[2:]
    key = ".".join(map(str, keys))
    if path[0] == "mask":
        label = "clean mask (-fits-mask)"
        if key and key != "pixels_sha256":
            label += " " + _IMAGE_LABELS.get(key, key)
        if not keys:
            old, new = ("none" if v is None else "an image" for v in (old, new))
    else:
        label = _IMAGE_LABELS.get(key, key)
        if len(recorded.get("images") or []) > 1:
            label += f" of window {path[1]}"
    if key == "cell_arcsec" and None not in (old, new):
        return label, f"{old:.6g}asec", f"{new:.6g}asec"
    if key == "pixels_sha256" and None not in (old, new):
        return label, old[:12], new[:12]
    return label, _text(old), _text(new)


def _describe(path: tuple, old, new, recorded: dict) -> tuple[str, str, str]:
    """``(what, old, new)`` of a difference, in words."""
    section = path[0] if path else None
    if section == "inputs":
        return _input_words(path, old, new, recorded)
    if section == "mask" or (section == "images" and len(path) > 2):
        return _image_words(path, old, new, recorded)
    key = ".".join(str(p) for p in (path[1:] if section == "settings" else path))
    option = _SETTING_OPTIONS.get(key)
    return (f"{key} ({option})" if option else key or "identity"), _text(old), _text(new)


def _budget(identity: dict) -> int | None:
    """The run's total component budget (``-niter``), or None when it has none of that
    kind (no ``niter_total``, or a per-cycle ``niter`` of its own)."""
    clean = (identity.get("settings") or {}).get("clean") or {}
    total = clean.get("niter_total")
    return total if total is not None and clean.get("niter") == total else None


def _adopt_budget(recorded: dict, current: dict, components) -> tuple[dict, str]:
    """``recorded`` with this run's budget when a resume under it is exact (module notes),
    and else the reason it is not ('' when the budget is unchanged)."""
    old, new = _budget(recorded), _budget(current)
    if old is None or new is None or old == new:
        return recorded, ""
    if components is None:
        return recorded, " (the checkpoint does not say how many components it holds)"
    if components >= old:
        return recorded, f" (the checkpoint's {components} components reached its budget)"
    if components > new:
        return recorded, f" (the checkpoint already holds {components} components)"
    settings = dict(recorded["settings"])
    settings["clean"] = {**settings["clean"], "niter": new, "niter_total": new}
    return {**recorded, "settings": settings}, ""


def check_identity(directory, recorded: dict, current: dict, components: int | None = None):
    """Refuse to resume a checkpoint whose identity differs from this run's.

    Parameters
    ----------
    directory : path
        The checkpoint directory (named in the message).
    recorded, current : dict
        The manifest's identity and this run's (JSON values).
    components : int, optional
        The components the checkpoint's models hold (the manifest's ``components``): a
        changed ``-niter`` continues when the old budget cut none of its cycles short and
        the new one allows them (module notes).

    Raises
    ------
    CheckpointError
        One line: ``checkpoint in <directory> was made with <what> <old>, this run has
        <new>: give --checkpoint-restart …``.
    """
    recorded, why = _adopt_budget(recorded, current, components)
    found = first_difference(recorded, current)
    if found is None:
        return
    what, old, new = _describe(*found, recorded)
    raise CheckpointError(
        f"checkpoint in {directory} was made with {what} {old}, this run has {new}{why}: "
        f"{RESTART_HINT}, or the same data and settings to resume"
    )
