"""Output names and writing of the ``uvflow`` products (DESIGN §3).

``<name>[-NNNN]-{dirty,psf,model,residual,image}.fits`` (``NNNN`` the output channel when
there are several, ``MFS`` for the frequency-combined set), ``<name>-sources.json``,
``<name>-report.json``, ``<name>-gaintable.zarr`` and PNG previews.

Nothing appears under its final name until the run has succeeded: :class:`ProductWriter`
writes into a hidden temporary directory next to the products and moves each product into
place (``os.replace``) only in :meth:`ProductWriter.commit`; on failure the directory is
removed and no partial output is left.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage

from uvflow.datamodels import Image, export_image_to_fits

from .errors import CLIError

__all__ = ["KINDS", "product_name", "ProductWriter", "find_sources", "write_png"]

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


class ProductWriter:
    """Write products under temporary names; move them into place only on :meth:`commit`.

    Parameters
    ----------
    name : str
        The products' prefix, e.g. ``out/field1`` (the directory must exist).
    """

    def __init__(self, name: str):
        base = Path(name)
        if not base.name or base.name in (".", ".."):
            raise CLIError(f"--name {name!r} has no file-name part; give e.g. 'out/field'")
        self.directory = base.parent if str(base.parent) else Path(".")
        if not self.directory.is_dir():
            raise CLIError(
                f"output directory {str(self.directory)!r} (from --name {name!r}) does not exist"
            )
        self.prefix = base.name
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.prefix}.uvflow-tmp-", dir=self.directory))
        self.written: list[str] = []

    def temporary(self, kind: str, channel=None, ext: str = "fits") -> Path:
        """Temporary path of a product (recorded for :meth:`commit`)."""
        fname = product_name(self.prefix, kind, channel, ext)
        if fname not in self.written:
            self.written.append(fname)
        return self.tmp / fname

    def image(self, im: Image, kind: str, channel=None) -> None:
        """A FITS product; models in JY/PIXEL, everything else JY/BEAM."""
        bunit = "JY/PIXEL" if kind == "model" else "JY/BEAM"
        export_image_to_fits(im, self.temporary(kind, channel), bunit=bunit)

    def json(self, kind: str, obj) -> None:
        text = json.dumps(obj, indent=1, default=_jsonable, allow_nan=True)
        self.temporary(kind, ext="json").write_text(text + "\n")

    def commit(self) -> list[Path]:
        """Move every product into place (replacing older ones); returns the final paths."""
        final = []
        for fname in self.written:
            src, dst = self.tmp / fname, self.directory / fname
            if not src.exists():
                continue
            if dst.is_dir() and not dst.is_symlink():
                shutil.rmtree(dst)
            os.replace(src, dst)
            final.append(dst)
        self.abort()
        return final

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
    (CLEAN represents an off-pixel source by a cluster of components). A source is kept when
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
    r = int(np.ceil(link / 2))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    labels, n = ndimage.label(ndimage.binary_dilation(mask, structure=np.hypot(xx, yy) <= link / 2))
    ys, xs = np.nonzero(mask)
    lab = labels[ys, xs]
    vals = plane[ys, xs]
    out = []
    for k in range(1, n + 1):
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


def write_png(images: dict[str, Image], path: Path) -> bool:
    """Side-by-side previews of the first plane of each image; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed (uvflow-pipelines[plot]): no PNG previews")
        return False
    fig, axes = plt.subplots(1, len(images), figsize=(5 * len(images), 4.6), squeeze=False)
    for ax, (title, im) in zip(axes[0], images.items()):
        shown = ax.imshow(im.data[0, 0], origin="lower", cmap="inferno")
        ax.set_title(title)
        ax.set_xlabel("x pixel (RA increases to the left)")
        ax.set_ylabel("y pixel (Dec)")
        fig.colorbar(shown, ax=ax, label=str(im.meta.get("BUNIT", "Jy/beam")))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
