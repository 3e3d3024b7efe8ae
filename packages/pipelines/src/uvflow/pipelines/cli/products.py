"""Output names and writing of the ``uvflow`` products (DESIGN §3).

``<name>[-NNNN]-{dirty,psf,model,residual,image}.fits`` (``NNNN`` the output channel when
there are several, ``MFS`` for the frequency-combined set: WSClean's names),
``<name>-sources.json``, ``<name>-report.json``, ``<name>-gaintable.zarr`` and PNG previews
(:mod:`.previews`).

The FITS products are float32, with what WSClean writes about the observation: DATE-OBS
(the first integration's time stamp, as WSClean and CASA write it), TELESCOP (the MS
OBSERVATION table's telescope), OBJECT (the field's name), RADESYS and EQUINOX, ORIGIN
(``uvflow <version>``), HISTORY (the command line) and the restoring beam BMAJ/BMIN/BPA
on every product (:class:`Observation`, from the inputs' index).

Nothing appears under its final name until the run has succeeded: :class:`ProductWriter`
writes into a hidden temporary directory next to the products and moves each product into
place (``os.replace``) only in :meth:`ProductWriter.commit`; on failure the directory is
removed and no partial output is left. No product may overwrite an input, and only
uvflow's own products of the same kind are replaced (:mod:`.product_paths`): checked when
the writer is made, before anything is written, and again in :meth:`ProductWriter.commit`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .component_groups import component_groups
from .errors import CLIError
from .previews import write_png
from .product_paths import check_product_paths, check_replaceable

if TYPE_CHECKING:
    from uvflow.datamodels import Image

__all__ = [
    "KINDS",
    "Observation",
    "mjd_seconds_to_iso",
    "observation_of",
    "product_name",
    "ProductWriter",
    "find_sources",
    "write_png",
]

log = logging.getLogger(__name__)

KINDS = ("dirty", "psf", "model", "residual", "image")


def product_name(name: str, kind: str, channel: int | str | None = None, ext: str = "fits") -> str:
    """``<name>-<kind>.<ext>``, ``<name>-NNNN-<kind>.<ext>`` or ``<name>-MFS-<kind>.<ext>``.

    Parameters
    ----------
    name : str
        The ``--name`` prefix (may include a directory).
    kind : str
        ``dirty``, ``psf``, ``model``, ``residual``, ``image`` (or ``sources``, ``report`` …).
    channel : int, 'MFS' or None
        Output channel index (4 digits, WSClean's style), the frequency-combined set, or
        none (a single output channel).
    """
    if channel is None:
        middle = ""
    elif isinstance(channel, str):
        middle = f"-{channel}"
    else:
        middle = f"-{int(channel):04d}"
    return f"{name}{middle}-{kind}.{ext}"


_MJD_EPOCH = datetime(1858, 11, 17, tzinfo=timezone.utc)


def mjd_seconds_to_iso(seconds: float) -> str:
    """MJD seconds (UTC, as MS TIME and the indexes' ``times``) → ``YYYY-MM-DDThh:mm:ss.sss``."""
    t = _MJD_EPOCH + timedelta(milliseconds=round(float(seconds) * 1000.0))
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


@dataclass(frozen=True)
class Observation:
    """What the FITS products say about the observation (all optional).

    Parameters
    ----------
    date_obs : str, optional
        ISO-8601 UTC of the first integration.
    telescope : str, optional
    object_name : str, optional
        The field's name.
    history : tuple of str
        The command line, for the HISTORY cards.
    """

    date_obs: str | None = None
    telescope: str | None = None
    object_name: str | None = None
    history: tuple[str, ...] = ()

    def fits_keywords(self) -> dict:
        """Keywords of :func:`uvflow.datamodels.export_image_to_fits`."""
        return {"date_obs": self.date_obs, "telescope": self.telescope,
                "object_name": self.object_name, "history": self.history}  # fmt: skip


def _joined(names) -> str | None:
    seen = [n for n in dict.fromkeys(str(n).strip() for n in names) if n and n != "unknown"]
    return "+".join(seen) or None


def observation_of(parts: list, command_line: str | None = None) -> Observation:
    """The observation of the indexed inputs (:func:`uvflow.datamodels.io.ms_index`, …).

    Parameters
    ----------
    parts : list of MSPart or UVFITSPart
        Each with ``times`` (MJD seconds, UTC), ``field_name`` and ``configuration``.
    command_line : str, optional

    Returns
    -------
    Observation
        DATE-OBS the earliest time stamp of all parts; TELESCOP and OBJECT the parts'
        distinct telescope and field names (joined by ``+`` when the inputs differ).
    """
    starts = [float(np.min(p.times)) for p in parts if np.size(p.times)]
    return Observation(
        date_obs=mjd_seconds_to_iso(min(starts)) if starts else None,
        telescope=_joined(getattr(p.configuration, "name", "") for p in parts),
        object_name=_joined(p.field_name for p in parts),
        history=(command_line,) if command_line else (),
    )


class ProductWriter:
    """Write products under temporary names; move them into place only on :meth:`commit`.

    Parameters
    ----------
    name : str
        The products' prefix, e.g. ``out/field1`` (the directory must exist).
    observation : Observation, optional
        For the FITS headers; also set by :meth:`observe` once the inputs are indexed.
    inputs : sequence of str
        The run's inputs (files and directories): no product may be, hold or lie in one.

    Raises
    ------
    CLIError
        ``name`` has no file-name part, its directory does not exist, or a product path
        collides with an input or with something uvflow did not write
        (:func:`~.product_paths.check_product_paths`).
    """

    def __init__(self, name: str, observation: Observation | None = None, inputs=()):
        self.observation = observation or Observation()
        self.name, self.inputs = name, [str(i) for i in inputs]
        base = Path(name)
        if not base.name or base.name in (".", ".."):
            raise CLIError(f"--name {name!r} has no file-name part; give e.g. 'out/field'")
        self.directory = base.parent if str(base.parent) else Path(".")
        if not self.directory.is_dir():
            raise CLIError(
                f"output directory {str(self.directory)!r} (from --name {name!r}) does not exist"
            )
        self.prefix = base.name
        check_product_paths(name, self.inputs)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.prefix}.uvflow-tmp-", dir=self.directory))
        self.written: list[str] = []
        self._kinds: dict[str, tuple[str, str]] = {}

    def temporary(self, kind: str, channel=None, ext: str = "fits") -> Path:
        """Temporary path of a product (recorded for :meth:`commit`)."""
        fname = product_name(self.prefix, kind, channel, ext)
        if fname not in self.written:
            self.written.append(fname)
            self._kinds[fname] = (kind, ext)
        return self.tmp / fname

    def observe(self, parts: list, command_line: str | None = None) -> None:
        """Take the observation for the headers from the indexed inputs (:func:`observation_of`)."""
        self.observation = observation_of(parts, command_line)

    def image(self, im: Image, kind: str, channel=None) -> None:
        """A float32 FITS product; models in JY/PIXEL, the primary beam unitless, everything
        else JY/BEAM."""
        from uvflow.datamodels import export_image_to_fits

        bunit = {"model": "JY/PIXEL", "pb": ""}.get(kind, "JY/BEAM")
        export_image_to_fits(im, self.temporary(kind, channel), bunit=bunit, dtype=np.float32,
                             **self.observation.fits_keywords())  # fmt: skip

    def png(self, images: dict[str, Image], kind: str, channel=None) -> bool:
        """A PNG preview of ``images`` (:func:`~.previews.write_png`) as product ``kind``."""
        return write_png(
            images, self.temporary(kind, channel, "png"), object_name=self.observation.object_name
        )

    def json(self, kind: str, obj) -> None:
        text = json.dumps(obj, indent=1, default=_jsonable, allow_nan=True)
        self.temporary(kind, ext="json").write_text(text + "\n")

    def commit(self) -> list[Path]:
        """Move every product into place, replacing only uvflow's own products of the same
        kind (checked for all of them first); returns the final paths.

        Raises
        ------
        CLIError
            A product path is an input or holds something uvflow did not write; nothing
            is moved then.
        """
        moves = []
        for fname, kind in self._kinds.items():
            src, dst = self.tmp / fname, self.directory / fname
            if src.exists():
                check_replaceable(dst, *kind, self.inputs, self.name)
                moves.append((src, dst))
        for src, dst in moves:
            if dst.is_dir() and not dst.is_symlink():  # a uvflow gain table (checked above)
                shutil.rmtree(dst)
            os.replace(src, dst)
        self.abort()
        return [dst for _, dst in moves]

    def abort(self) -> None:
        """Remove the temporary directory and whatever it holds."""
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> ProductWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.abort()


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def find_sources(model: Image, clean_beam: dict | None, threshold: float) -> list[dict]:
    """Group clean components into sources: positions (flux-weighted) and total fluxes.

    Components closer than the clean beam's FWHM (at least 1.5 pixels) belong to one source
    (CLEAN represents an off-pixel source by a cluster of components;
    :func:`~.component_groups.component_groups`). A source is kept when
    its total flux exceeds ``threshold``.

    Parameters
    ----------
    model : Image
        Clean components, data [nchan, npol, ny, nx] Jy/pixel; the first polarisation
        (Stokes I, or the first product), averaged over channels, is used.
    clean_beam : dict, optional
        ``bmaj`` (degrees) sets the linking length.
    threshold : float
        Jy.

    Returns
    -------
    list of dict
        ``ra_deg``, ``dec_deg``, ``x``, ``y`` (0-based pixels), ``flux_jy``, ``peak_jy``,
        ``ncomponents``; by decreasing flux.
    """
    plane = np.mean(np.asarray(model.data[:, 0], dtype=float), axis=0)
    mask = plane != 0
    if not mask.any():
        return []
    cell_deg = np.rad2deg(model.cellsize)
    link = 1.5 if not clean_beam else max(1.5, float(clean_beam["bmaj"]) / cell_deg)
    ys, xs = np.nonzero(mask)
    lab = component_groups(ys, xs, mask.shape, link)
    vals = plane[ys, xs]
    out = []
    for k in range(int(lab.max()) + 1):
        sel = lab == k
        flux = float(vals[sel].sum())
        if not flux > threshold:
            continue
        w = np.clip(vals[sel], 0.0, None)
        w = w if w.sum() > 0 else np.abs(vals[sel])
        x = float(np.sum(w * xs[sel]) / w.sum())
        y = float(np.sum(w * ys[sel]) / w.sum())
        sky = model.pixel_to_sky(x, y)
        out.append({
            "ra_deg": float(sky.ra.deg), "dec_deg": float(sky.dec.deg), "x": x, "y": y,
            "flux_jy": flux, "peak_jy": float(vals[sel].max()), "ncomponents": int(sel.sum()),
        })  # fmt: skip
    out.sort(key=lambda s: -s["flux_jy"])
    return out
