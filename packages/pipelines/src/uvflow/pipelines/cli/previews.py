"""PNG previews of the ``uvflow`` products (``--plot``): what an astronomer looks at first.

One panel per product (restored image, residual, dirty …), each on the sky: RA/Dec axes
(astropy WCSAxes), an asinh stretch (astropy.visualization) that shows the noise and the
brightest source at once, the restoring beam drawn in the bottom-left corner, a colour bar
in Jy/beam and a title naming the object, the product and the frequency.

matplotlib is an optional dependency (``pip install 'uvflow-pipelines[plot]'``):
:func:`require_matplotlib` checks for it before any data are read, and this module imports
it (and astropy's plotting helpers) only when a preview is drawn.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CLIError

if TYPE_CHECKING:
    from uvflow.datamodels import Image

__all__ = ["INSTALL_HINT", "require_matplotlib", "preview_figure", "preview_norm", "write_png"]

log = logging.getLogger(__name__)

#: how to get the optional plotting dependency
INSTALL_HINT = "pip install 'uvflow-pipelines[plot]'"

PANEL_INCHES = (5.0, 4.2)  # width, height of one panel
DPI = 100


def require_matplotlib() -> None:
    """Raise :class:`CLIError` (one line with the install hint) when matplotlib is missing.

    Raises
    ------
    CLIError
        ``--plot`` needs matplotlib and it cannot be imported.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError(f"--plot needs matplotlib, which is not installed: {INSTALL_HINT}") from None


def preview_norm(plane):
    """An asinh stretch from −3σ to the peak, linear over the noise (σ from the MAD).

    Parameters
    ----------
    plane : numpy.ndarray of float, shape [ny, nx]

    Returns
    -------
    astropy.visualization.ImageNormalize
    """
    import numpy as np
    from astropy.visualization import AsinhStretch, ImageNormalize

    finite = plane[np.isfinite(plane)]
    if finite.size == 0:
        return ImageNormalize(vmin=0.0, vmax=1.0, stretch=AsinhStretch())
    sigma = 1.4826 * float(np.median(np.abs(finite - np.median(finite))))
    vmax = float(finite.max())
    vmin = max(float(finite.min()), -3.0 * sigma) if sigma > 0 else float(finite.min())
    if not vmax > vmin:
        vmin, vmax = vmin - 0.5, vmin + 0.5
    a = min(0.1, max(1e-4, 5.0 * sigma / (vmax - vmin)))
    return ImageNormalize(vmin=vmin, vmax=vmax, stretch=AsinhStretch(a), clip=True)


def _title(object_name: str | None, kind: str, frequency_hz: float) -> str:
    ghz = f"{frequency_hz / 1e9:.4g} GHz"
    return " — ".join(t for t in (object_name, kind, ghz) if t)


def preview_figure(images: dict[str, Image], *, object_name: str | None = None):
    """The previews' figure: one sky panel per image (first channel and polarisation).

    Parameters
    ----------
    images : dict of str to Image
        Panel title (the product: ``image``, ``residual``, ``dirty`` …) → image.
    object_name : str, optional
        The field's name, in every title.

    Returns
    -------
    matplotlib.figure.Figure
        ``PANEL_INCHES`` a panel, without pyplot (no global state; safe in threads).

    Raises
    ------
    ImportError
        matplotlib is not installed.
    """
    import numpy as np
    from astropy.visualization.wcsaxes import add_beam
    from matplotlib.figure import Figure

    width, height = PANEL_INCHES
    fig = Figure(figsize=(width * len(images), height))
    for k, (kind, im) in enumerate(images.items()):
        ax = fig.add_subplot(1, len(images), k + 1, projection=im.wcs.celestial)
        plane = np.asarray(im.data[0, 0], dtype=np.float64)
        norm = preview_norm(plane)
        shown = ax.imshow(plane, origin="lower", cmap="inferno", norm=norm)
        ax.set_xlabel("Right ascension (ICRS)")
        ax.set_ylabel("Declination (ICRS)")
        ax.coords[0].set_major_formatter("hh:mm:ss")
        ax.coords[1].set_major_formatter("dd:mm")
        ax.set_title(_title(object_name, kind, float(im.frequency[0])), fontsize=10)
        beam = im.clean_beam
        if beam:
            add_beam(ax, major=beam["bmaj"], minor=beam["bmin"], angle=beam["bpa"],
                     corner="bottom left", frame=False, facecolor=(1, 1, 1, 0.35),
                     edgecolor="white", linewidth=1.0)  # fmt: skip
        unit = str(im.meta.get("BUNIT", "JY/PIXEL" if kind == "model" else "JY/BEAM"))
        label = {"JY/BEAM": "Jy/beam", "JY/PIXEL": "Jy/pixel"}.get(unit.upper(), unit)
        bar = fig.colorbar(shown, ax=ax, label=label, fraction=0.046, pad=0.04)
        bar.set_ticks(norm.inverse(np.linspace(0.0, 1.0, 6)))  # even along the stretch
        bar.ax.yaxis.set_major_formatter("{x:.3g}")
    fig.tight_layout()
    return fig


def write_png(images: dict[str, Image], path: Path, *, object_name: str | None = None) -> bool:
    """Side-by-side sky previews (:func:`preview_figure`) written to ``path``.

    Parameters
    ----------
    images : dict of str to Image
        Panel title → image, as :func:`preview_figure`.
    path : pathlib.Path
        The PNG (``PANEL_INCHES`` × ``DPI`` pixels a panel; its ``Software`` text is
        ``uvflow <version>``).
    object_name : str, optional

    Returns
    -------
    bool
        False (with a warning) when matplotlib is not installed: nothing is written.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log.warning("matplotlib is not installed (%s): no PNG previews", INSTALL_HINT)
        return False
    from uvflow.pipelines import __version__

    # the Software text marks the file as uvflow's (.product_paths replaces only those)
    preview_figure(images, object_name=object_name).savefig(
        path, dpi=DPI, metadata={"Software": f"uvflow {__version__}"}
    )
    return True
