"""Which paths the ``uvflow image`` products may take, and what may be replaced there.

Two rules, checked before anything is written (:func:`check_product_paths`) and again
when the products are moved into place (:func:`check_replaceable`):

1. No product (and not the hidden temporary folder either) may be an input, lie inside
   an input, or hold one: inputs and products are compared as resolved paths (symlinks
   followed) and as files (``os.path.samefile``), directories included.
2. Nothing is replaced unless it is recognisably a product of the same kind written by
   uvflow, judged by its content, never by its name (:func:`uvflow_product_kind`): a FITS
   image whose ORIGIN is ``uvflow <version>`` and SOFTWARE ``uvflow``, a PNG whose
   ``Software`` text says uvflow, a zarr store whose attributes say it is a uvflow
   GainTable, a report or a source list in uvflow's JSON layout, a source list in
   WSClean's text format (the format has no producer field: the one product recognised
   by its layout only).

``--checkpoint-dir`` may neither be, hold nor lie in an input either
(:func:`check_checkpoint_dir`).

Every product of a prefix ``NAME`` is named ``NAME[-tNNNN][-NNNN|-MFS]-KIND.EXT``
(:data:`PRODUCT_NAME`); an existing entry of that form in the output directory that breaks
a rule stops the run with a :class:`~.errors.CLIError` naming it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .errors import CLIError

__all__ = [
    "PRODUCT_NAME",
    "check_checkpoint_dir",
    "check_product_paths",
    "check_replaceable",
    "uvflow_product_kind",
]

#: the kinds of product by extension (the name's kind must be one of them)
_KINDS = {
    "fits": ("dirty", "psf", "model", "residual", "image", "image-pb", "dirty-pb", "pb"),
    "png": ("dirty", "psf", "model", "residual", "image"),
    "json": ("sources", "report"),
    "txt": ("sources",),
    "zarr": ("gaintable",),
}
#: ``NAME[-tNNNN][-NNNN|-MFS]-KIND.EXT`` after the prefix
PRODUCT_NAME = re.compile(
    r"(?:-t\d{4})?(?:-(?:\d{4}|MFS))?-(?P<kind>[a-z]+(?:-pb)?)\.(?P<ext>fits|png|json|txt|zarr)"
)
_SOURCE_KEYS = {"ra_deg", "dec_deg", "x", "y", "flux_jy", "peak_jy", "ncomponents"}
_WSCLEAN_SOURCES = "Format = Name, Type, Ra, Dec, I, SpectralIndex"
_PNG = b"\x89PNG\r\n\x1a\n"
_JSON_BYTES = 64 * 2**20  # a product's JSON is small; a larger file is not one


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _within(inner: Path, outer: Path) -> bool:
    """Whether resolved ``inner`` is ``outer`` or lies inside it."""
    return inner == outer or outer in inner.parents


def _product_kind(name: str, prefix: str) -> tuple[str, str] | None:
    """``(kind, ext)`` when ``name`` is a product name of ``prefix``, else None."""
    if not name.startswith(prefix):
        return None
    m = PRODUCT_NAME.fullmatch(name[len(prefix) :])
    if m is None or m["kind"] not in _KINDS[m["ext"]]:
        return None
    return m["kind"], m["ext"]


def _fits_is_uvflow(path: Path) -> bool:
    from astropy.io import fits

    try:
        header = fits.getheader(path, 0)
    except Exception:  # not FITS, damaged, unreadable: not recognisably ours
        return False
    return (
        str(header.get("ORIGIN", "")).startswith("uvflow ") and header.get("SOFTWARE") == "uvflow"
    )


def _png_software(path: Path) -> str:
    """The ``Software`` tEXt of a PNG ('' when none, or not a PNG)."""
    with open(path, "rb") as f:
        if f.read(8) != _PNG:
            return ""
        while True:
            head = f.read(8)
            if len(head) < 8:
                return ""
            size, kind = int.from_bytes(head[:4], "big"), head[4:]
            if kind in (b"IDAT", b"IEND") or size > 2**20:
                return ""
            body = f.read(size + 4)[:size]
            if kind == b"tEXt" and body.startswith(b"Software\x00"):
                return body[9:].decode("latin-1")


def _json_kind(path: Path) -> str | None:
    if path.stat().st_size > _JSON_BYTES:
        return None
    try:
        obj = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(obj, dict) and "uvflow-pipelines" in (obj.get("versions") or {}):
        return "report"
    if isinstance(obj, list) and all(isinstance(s, dict) and set(s) == _SOURCE_KEYS for s in obj):
        return "sources"
    return None


def _zarr_type(path: Path) -> str | None:
    """The ``uvflow_type`` attribute of a zarr v3 or v2 store (None if there is none)."""
    for name, key in (("zarr.json", "attributes"), (".zattrs", None)):
        try:
            meta = json.loads((path / name).read_text())
        except (OSError, ValueError):
            continue
        attrs = meta.get(key, {}) if key else meta
        if isinstance(attrs, dict) and attrs.get("uvflow_type"):
            return str(attrs["uvflow_type"])
    return None


def uvflow_product_kind(path, kind: str, ext: str) -> bool:
    """Whether ``path`` holds a uvflow product of ``kind`` (judged by its content).

    Parameters
    ----------
    path : str or os.PathLike
        An existing file or directory (symlinks followed).
    kind, ext : str
        What the product name says, e.g. ``('psf', 'fits')``, ``('gaintable', 'zarr')``.

    Returns
    -------
    bool
    """
    p = Path(path)
    try:
        if ext == "zarr":
            return p.is_dir() and _zarr_type(p) == "GainTable"
        if not p.is_file():
            return False
        if ext == "fits":
            return _fits_is_uvflow(p)
        if ext == "png":
            return _png_software(p).startswith("uvflow")
        if ext == "json":
            return _json_kind(p) == kind
        with open(p, errors="replace") as f:  # txt: WSClean's source list (module notes)
            return f.readline().startswith(_WSCLEAN_SOURCES)
    except OSError:
        return False


def _resolved_inputs(inputs) -> list[tuple[str, Path]]:
    return [(str(i), Path(i).resolve()) for i in inputs if os.path.lexists(i)]


def _refuse_collision(path: Path, inputs: list[tuple[str, Path]], name: str) -> None:
    here = path.resolve()
    for given, resolved in inputs:
        if _within(resolved, here) or _within(here, resolved) or _same(path, resolved):
            raise CLIError(
                f"--name {name!r} would write {str(path)!r} over the input {given!r}; "
                "choose another --name (inputs are never overwritten)"
            )


def check_replaceable(path, kind: str, ext: str, inputs, name: str) -> None:
    """Refuse to write a product at ``path`` if an input or a non-uvflow entry is there.

    Parameters
    ----------
    path : str or os.PathLike
        A product's final path.
    kind, ext : str
        Its kind and extension.
    inputs : list of str
        The run's inputs (files and directories).
    name : str
        ``--name``, for the message.

    Raises
    ------
    CLIError
        ``path`` is, holds or lies inside an input, or it exists and is not a uvflow
        product of ``kind``.
    """
    p = Path(path)
    _refuse_collision(p, _resolved_inputs(inputs), name)
    if os.path.lexists(p) and not uvflow_product_kind(p, kind, ext):
        what = "a directory" if p.is_dir() else "a file"
        raise CLIError(
            f"{str(p)!r} is in the way of the {kind} product: {what} that uvflow did not "
            f"write; move it away or choose another --name than {name!r}"
        )


def check_product_paths(name: str, inputs) -> None:
    """Before anything is written: the products of ``--name`` endanger no input and
    replace nothing that uvflow did not write (the module's rules).

    Parameters
    ----------
    name : str
        ``--name``: the products' prefix, with its directory.
    inputs : list of str
        The run's inputs (MeasurementSets, UVFITS files, a FITS mask …).

    Raises
    ------
    CLIError
        The output directory is (or lies inside) an input; an input, or an entry that is
        not a uvflow product of its kind, sits at a product path.
    """
    base = Path(name)
    directory = base.parent if str(base.parent) else Path(".")
    if not directory.is_dir():
        return  # ProductWriter says so
    resolved = _resolved_inputs(inputs)
    here = directory.resolve()
    for given, path in resolved:
        if path.is_dir() and _within(here, path):
            raise CLIError(
                f"--name {name!r} would write the products inside the input {given!r}; "
                "choose another directory"
            )
    for entry in sorted(os.listdir(directory)):
        kind = _product_kind(entry, base.name)
        if kind is not None:
            check_replaceable(directory / entry, *kind, inputs, name)


def check_checkpoint_dir(path, inputs) -> None:
    """``--checkpoint-dir`` may neither be, hold nor lie inside an input (the checkpoint
    writes and, with ``--checkpoint-restart``, removes files there).

    Parameters
    ----------
    path : str or None
        ``--checkpoint-dir`` (None: no checkpoints, nothing to check).
    inputs : list of str
        The run's inputs.

    Raises
    ------
    CLIError
        The directory collides with an input.
    """
    if path is None:
        return
    here = Path(path).resolve()
    for given, resolved in _resolved_inputs(inputs):
        if _within(here, resolved) or _within(resolved, here) or _same(Path(path), resolved):
            raise CLIError(
                f"--checkpoint-dir {str(path)!r} collides with the input {given!r}: a "
                "checkpoint is written there; choose a directory apart from the inputs"
            )
