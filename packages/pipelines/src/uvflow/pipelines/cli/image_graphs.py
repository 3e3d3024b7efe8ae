"""Graphs of ``uvflow image``: output-channel windows, invert-only and continuum imaging.

The data are cut into ``channels_out`` equal frequency bands (across every input); each
(input, band) piece is a window. Pieces of one band are imaged onto the band's image and
combined (weighted by their sums of weights); the frequency-combined (MFS) products are the
weighted combination of the bands.

Continuum imaging (``--mode cip``) uses the pipelines' continuum workflow when it is
installed and each band is a single window; otherwise it is composed here from
:mod:`uvflow.imaging.workflows` the same way: weight → (taper) → psf → nmajor × (residual
→ deconvolve) → residual → restore.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from uvflow.datamodels import Image, Visibility, create_image
from uvflow.execution import rsexecute
from uvflow.imaging import restore_cube
from uvflow.imaging.workflows import (
    deconvolve_list_rsexecute_workflow,
    image_of,
    invert_list_rsexecute_workflow,
    residual_list_rsexecute_workflow,
    restore_list_rsexecute_workflow,
    sum_invert_results_rsexecute,
    taper_list_rsexecute_workflow,
    weight_list_rsexecute_workflow,
)

from .errors import CLIError

__all__ = ["Windows", "make_windows", "invert_graphs", "cip_graphs", "mad_sigma", "finish_mfs"]

log = logging.getLogger(__name__)


@dataclass
class Windows:
    """Pieces of the data, the band each belongs to, and the band/MFS image templates."""

    pieces: list  # Visibility (values, or scattered futures)
    band: list[int]
    templates: list[Image]  # per band, nchan 1
    mfs_template: Image

    @property
    def piece_templates(self) -> list[Image]:
        return [self.templates[b] for b in self.band]


def _band_edges(vis_list: list[Visibility], nbands: int) -> np.ndarray:
    lo = min(float(np.min(v.frequency - v.channel_bandwidth / 2)) for v in vis_list)
    hi = max(float(np.max(v.frequency + v.channel_bandwidth / 2)) for v in vis_list)
    return np.linspace(lo, hi, nbands + 1)


def make_windows(
    vis_list: list[Visibility], nbands: int, npixel, cellsize: float, polarisation_frame
) -> Windows:
    """Cut the data into (input, band) pieces and make the band and MFS templates.

    Raises
    ------
    CLIError
        The inputs have different phase centres, or a band holds no channel.
    """
    pc = vis_list[0].phasecentre
    for v in vis_list[1:]:
        if v.phasecentre.separation(pc).deg > 1e-9:
            raise CLIError(
                "the inputs hold several fields (phase centres differ): choose one with --field"
            )
    edges = _band_edges(vis_list, nbands)
    pieces, band = [], []
    for v in vis_list:
        idx = np.clip(np.searchsorted(edges, v.frequency, side="right") - 1, 0, nbands - 1)
        for b in range(nbands):
            chans = np.nonzero(idx == b)[0]
            if chans.size == 0:
                continue
            piece = v if chans.size == v.nchan else v.select(channel=chans)
            if "ms_channels" in v.meta and chans.size != v.nchan:
                piece = piece.replace(
                    meta=dict(v.meta, ms_channels=np.asarray(v.meta["ms_channels"])[chans])
                )
            pieces.append(piece)
            band.append(b)
    empty = sorted(set(range(nbands)) - set(band))
    if empty:
        raise CLIError(
            f"--channels-out {nbands}: output channel(s) {empty} hold no data channel; "
            "use fewer output channels"
        )
    templates = [
        create_image(npixel, cellsize, pc, 0.5 * (edges[b] + edges[b + 1]),
                     channel_bandwidth=edges[b + 1] - edges[b], polarisation_frame=polarisation_frame)
        for b in range(nbands)
    ]  # fmt: skip
    mfs = create_image(npixel, cellsize, pc, 0.5 * (edges[0] + edges[-1]),
                       channel_bandwidth=edges[-1] - edges[0], polarisation_frame=polarisation_frame)  # fmt: skip
    return Windows(pieces, band, templates, mfs)


def _by_band(results: list, windows: Windows) -> list:
    """Combine per-piece ``(image, sumwt)`` results into one per band."""
    out = []
    for b in range(len(windows.templates)):
        parts = [r for r, pb in zip(results, windows.band) if pb == b]
        out.append(parts[0] if len(parts) == 1 else sum_invert_results_rsexecute(parts))
    return out


def _prepare(windows: Windows, weighting: str, robustness: float, taper) -> list:
    vis = weight_list_rsexecute_workflow(
        windows.pieces, windows.piece_templates, weighting=weighting, robustness=robustness
    )
    if taper is not None:
        vis = taper_list_rsexecute_workflow(vis, size_required=taper, taper="gaussian")
    return rsexecute.persist(vis)


def invert_graphs(windows: Windows, gridding: dict, weighting: str, robustness: float, taper):
    """Dirty images and PSFs per band and their MFS combinations (graphs)."""
    vis = _prepare(windows, weighting, robustness, taper)
    tpl = windows.piece_templates
    psf = _by_band(invert_list_rsexecute_workflow(vis, tpl, dopsf=True, **gridding), windows)
    dirty = _by_band(invert_list_rsexecute_workflow(vis, tpl, **gridding), windows)
    psf, dirty = rsexecute.persist([psf, dirty])
    return vis, dirty, psf


def _mean_sigma(result) -> float:
    return mad_sigma(image_of(result))


def mad_sigma(im: Image) -> float:
    """Robust noise estimate of an image's first plane: 1.4826 × median absolute deviation."""
    plane = np.asarray(im.data[0, 0], dtype=float)
    return float(1.4826 * np.median(np.abs(plane - np.median(plane))))


def dirty_sigma(dirty_bands: list) -> float:
    """Robust σ of the MFS dirty image (for ``--auto-threshold``)."""
    mfs = dirty_bands[0] if len(dirty_bands) == 1 else sum_invert_results_rsexecute(dirty_bands)
    return float(rsexecute.compute(rsexecute.execute(_mean_sigma)(mfs), sync=True))


def _with_psf_weights(model: Image, psf_result) -> tuple:
    return model, psf_result[1]


def cip_graphs(
    windows: Windows, vis, dirty, psf, gridding: dict, clean: dict, nmajor: int
) -> tuple[list, list, list]:
    """Continuum imaging composed from the imaging workflows: (models, residuals, restored).

    ``nmajor`` minor cycles: the first on the dirty image, each later one on the residual of
    the current model; then the final residual and the restored images (per band).
    """
    models = list(windows.templates)
    residual = dirty
    for cycle in range(nmajor):
        if cycle > 0:
            per_piece = [models[b] for b in windows.band]
            residual = _by_band(
                residual_list_rsexecute_workflow(vis, per_piece, **gridding), windows
            )
        models = rsexecute.persist(
            deconvolve_list_rsexecute_workflow(residual, psf, models, **clean)
        )
    if nmajor > 0:
        per_piece = [models[b] for b in windows.band]
        residual = _by_band(residual_list_rsexecute_workflow(vis, per_piece, **gridding), windows)
    restored = restore_list_rsexecute_workflow(models, psf, residual)
    return models, residual, restored


def mfs_graphs(dirty: list, psf: list, residual: list | None, models: list | None) -> dict:
    """Frequency-combined (sumwt-weighted) dirty, psf, residual and model (graphs)."""
    out = {"dirty": sum_invert_results_rsexecute(dirty), "psf": sum_invert_results_rsexecute(psf)}
    if residual is not None:
        out["residual"] = sum_invert_results_rsexecute(residual)
    if models is not None:
        pairs = [rsexecute.execute(_with_psf_weights, nout=2)(m, p) for m, p in zip(models, psf)]
        out["model"] = sum_invert_results_rsexecute(pairs)
    return out


def finish_mfs(mfs: dict, template: Image) -> dict[str, Image]:
    """MFS images on the band-centre WCS; the restored image from the MFS model and PSF."""
    images = {k: image_of(v).replace(wcs=template.wcs.deepcopy()) for k, v in mfs.items()}
    if "model" in images:
        images["image"] = restore_cube(images["model"], images["psf"], images["residual"])
    return images
