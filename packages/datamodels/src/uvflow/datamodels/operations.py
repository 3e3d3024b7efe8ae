"""Visibility and image operations: scatter/gather, concatenate, subtract, copy.

Scatter returns views (``Visibility.select`` with slices); gather and concatenate check
that the pieces describe the same observation along the other axes and do not overlap.
"""

from __future__ import annotations

import logging

import numpy as np

from ._validation import DataModelError
from .configuration import Configuration
from .image import CHANNEL_FREQUENCIES, Image
from .visibility import Visibility

__all__ = [
    "SCATTER_AXES",
    "scatter_visibility",
    "gather_visibility",
    "concatenate_visibility",
    "subtract_visibility",
    "copy_visibility",
    "concatenate_images",
]

log = logging.getLogger(__name__)

SCATTER_AXES = ("time", "frequency", "baseline")
_AXIS_ALIASES = {"time": "time", "frequency": "frequency", "channel": "frequency",
                 "baseline": "baseline"}  # fmt: skip
# Phase centres closer than this are the same direction (0.2 mas; far below any pixel).
_DIRECTION_TOLERANCE_RAD = 1e-9


def _axis(axis: str) -> str:
    try:
        return _AXIS_ALIASES[axis]
    except (KeyError, TypeError):
        raise DataModelError(
            f"axis {axis!r} unknown; use one of {', '.join(SCATTER_AXES)}"
        ) from None


def _length(vis: Visibility, axis: str) -> int:
    return {"time": vis.ntime, "frequency": vis.nchan, "baseline": vis.nbaseline}[axis]


def _select(vis: Visibility, axis: str, sel: slice) -> Visibility:
    key = {"time": "time", "frequency": "channel", "baseline": "baseline"}[axis]
    return vis.select(**{key: sel})


def scatter_visibility(
    vis: Visibility,
    axis: str = "time",
    nchunks: int | None = None,
    chunk_size: int | None = None,
) -> list[Visibility]:
    """Split ``vis`` into consecutive pieces along ``axis`` (views, no copies).

    Parameters
    ----------
    vis : Visibility
    axis : {'time', 'frequency', 'baseline'}
        ``'channel'`` is accepted for ``'frequency'``.
    nchunks : int, optional
        Number of pieces (sizes differ by at most one).
    chunk_size : int, optional
        Length of each piece (the last may be shorter). Give at most one of ``nchunks`` and
        ``chunk_size``; with neither, every time/channel/baseline is its own piece.

    Returns
    -------
    list of Visibility
        Their arrays are views of ``vis``'s; :func:`gather_visibility` joins them again.
    """
    axis = _axis(axis)
    n = _length(vis, axis)
    if nchunks is not None and chunk_size is not None:
        raise DataModelError("give nchunks or chunk_size, not both")
    if nchunks is not None:
        if not 1 <= int(nchunks) <= max(n, 1):
            raise DataModelError(f"nchunks={nchunks} must be between 1 and the {n} along {axis}")
        edges = np.linspace(0, n, int(nchunks) + 1).round().astype(int)
    else:
        size = 1 if chunk_size is None else int(chunk_size)
        if size < 1:
            raise DataModelError(f"chunk_size must be >= 1, got {chunk_size}")
        edges = np.append(np.arange(0, n, size), n)
    return [_select(vis, axis, slice(a, b)) for a, b in zip(edges[:-1], edges[1:])]


def _same_configuration(a: Configuration | None, b: Configuration | None) -> bool:
    if a is b:
        return True
    if a is None or b is None:
        return False
    return (
        a.nants == b.nants
        and np.array_equal(a.names, b.names)
        and np.allclose(a.xyz, b.xyz, rtol=0, atol=1e-6)
        and np.allclose([v.to_value("m") for v in a.location.to_geocentric()],
                        [v.to_value("m") for v in b.location.to_geocentric()], rtol=0, atol=1e-6)
    )  # fmt: skip


def _check_compatible(vis_list: list[Visibility], axis: str | None) -> None:
    """Raise if the pieces differ along anything but ``axis`` (None: along nothing)."""
    ref = vis_list[0]
    for i, v in enumerate(vis_list[1:], start=1):
        where = f"visibility {i} and visibility 0"
        if not isinstance(v, Visibility):
            raise TypeError(f"expected Visibility objects, item {i} is a {type(v).__name__}")
        if v.polarisation_frame != ref.polarisation_frame:
            raise DataModelError(
                f"{where} have polarisation frames {v.polarisation_frame.name} and "
                f"{ref.polarisation_frame.name}; convert them first"
            )
        if v.phasecentre.separation(ref.phasecentre).rad > _DIRECTION_TOLERANCE_RAD:
            raise DataModelError(f"{where} have different phase centres")
        if not _same_configuration(v.configuration, ref.configuration):
            raise DataModelError(f"{where} have different configurations")
        if axis != "time" and not np.array_equal(v.time, ref.time):
            raise DataModelError(f"{where} have different times")
        if axis != "frequency" and not np.array_equal(v.frequency, ref.frequency):
            raise DataModelError(f"{where} have different frequencies")
        if axis != "baseline" and not (
            np.array_equal(v.antenna1, ref.antenna1) and np.array_equal(v.antenna2, ref.antenna2)
        ):
            raise DataModelError(f"{where} have different baselines")


def concatenate_visibility(vis_list, axis: str = "time") -> Visibility:
    """Join visibilities along ``axis`` in list order.

    Parameters
    ----------
    vis_list : sequence of Visibility
        Identical along the other axes (polarisation frame, phase centre, configuration, and
        the times/channels/baselines not being joined).
    axis : {'time', 'frequency', 'baseline'}

    Returns
    -------
    Visibility
        New arrays; ``source`` and ``meta`` of the first piece.

    Raises
    ------
    DataModelError
        Incompatible pieces, or pieces that overlap (a time, frequency or baseline twice).
    """
    axis = _axis(axis)
    vis_list = list(vis_list)
    if not vis_list:
        raise DataModelError("nothing to concatenate: the list of visibilities is empty")
    _check_compatible(vis_list, axis)
    ref = vis_list[0]
    if len(vis_list) == 1:
        return ref.copy()

    def cat(name: str, ax: int) -> np.ndarray:
        return np.concatenate([getattr(v, name) for v in vis_list], axis=ax)

    if axis == "time":
        keys = cat("time", 0)
        changes = {"time": keys, "integration_time": cat("integration_time", 0),
                   "uvw": cat("uvw", 0)}  # fmt: skip
        ax = 0
    elif axis == "frequency":
        keys = cat("frequency", 0)
        changes = {"frequency": keys, "channel_bandwidth": cat("channel_bandwidth", 0)}
        ax = 2
    else:
        a1, a2 = cat("antenna1", 0), cat("antenna2", 0)
        keys = a1.astype(np.int64) * (int(max(a1.max(), a2.max())) + 1) + a2
        changes = {"antenna1": a1, "antenna2": a2, "uvw": cat("uvw", 1)}
        ax = 1
    if np.unique(keys).size != keys.size:
        raise DataModelError(f"the visibilities overlap: a {axis} appears more than once")
    changes |= {name: cat(name, ax) for name in ("vis", "weight", "flags")}
    return ref.replace(**changes, meta=dict(ref.meta))


def gather_visibility(vis_list, axis: str = "time") -> Visibility:
    """The inverse of :func:`scatter_visibility`: join the pieces along ``axis``.

    Parameters
    ----------
    vis_list : sequence of Visibility
        Pieces of one observation: ``vis[ntime_k, nbaseline, nchan, npol]`` (axis 'time'),
        ``[ntime, nbaseline_k, ...]`` ('baseline') or ``[..., nchan_k, npol]``
        ('frequency'), identical along the other axes.
    axis : {'time', 'frequency', 'baseline'}

    Returns
    -------
    Visibility
        New arrays (see :func:`concatenate_visibility`).
    """
    return concatenate_visibility(vis_list, axis=axis)


def copy_visibility(vis: Visibility, zero: bool = False) -> Visibility:
    """A deep copy of ``vis``.

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]`` complex; weight float and flags bool of the
        same shape, uvw float64 [ntime, nbaseline, 3].
    zero : bool
        Zero the visibilities (same dtype); weights, flags and uvw are copied as they are.

    Returns
    -------
    Visibility
        New vis, weight, flags, uvw, time arrays and a new ``meta`` dict.
    """
    return vis.copy(zero=zero)


def subtract_visibility(vis: Visibility, model: Visibility) -> Visibility:
    """``vis.vis - model.vis`` with ``vis``'s weights and flags (a residual).

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]`` complex64 or complex128.
    model : Visibility
        Same shape, times, baselines, frequencies, polarisation frame and phase centre
        (its weights and flags are not used).

    Returns
    -------
    Visibility
        ``vis`` with ``vis`` = the difference (dtype of NumPy's subtraction: complex128 if
        either is), other arrays shared, ``meta`` copied.

    Raises
    ------
    DataModelError
        The two differ in shape, times, baselines, frequencies, polarisation frame or
        phase centre.
    """
    if vis.vis.shape != model.vis.shape:
        raise DataModelError(
            f"cannot subtract visibilities of shape {list(model.vis.shape)} from "
            f"{list(vis.vis.shape)}"
        )
    _check_compatible([vis, model], None)
    return vis.replace(vis=vis.vis - model.vis, meta=dict(vis.meta))


def concatenate_images(images, *, rtol: float = 1e-6, irregular: bool = False) -> Image:
    """Join single- or multi-channel images along frequency, in list order.

    Parameters
    ----------
    images : sequence of Image
        Same ny, nx, celestial WCS and polarisation frame.
    rtol : float
        Tolerance on the even spacing of the joined frequencies (a FITS axis is linear).
    irregular : bool
        Allow frequencies that are not evenly spaced or repeat (e.g. the windows of a minor
        cycle with a spectral window missing, or windows imaged on one shared template):
        the cube's ``frequency`` is then ``meta['CHANNEL_FREQUENCIES']``
        (:data:`~uvflow.datamodels.image.CHANNEL_FREQUENCIES`), and its FREQ axis starts at
        the first channel with the mean step (or the first channel's width).

    Returns
    -------
    Image
        ``data[sum(nchan), npol, ny, nx]``; WCS of the first image with its FREQ axis spanning
        all channels; the first image's beam (a warning is logged when beams differ) and meta.
    """
    images = list(images)
    if not images:
        raise DataModelError("nothing to concatenate: the list of images is empty")
    ref = images[0]
    for i, im in enumerate(images[1:], start=1):
        if not isinstance(im, Image):
            raise TypeError(f"expected Image objects, item {i} is a {type(im).__name__}")
        if im.data.shape[1:] != ref.data.shape[1:]:
            raise DataModelError(
                f"image {i} has npol, ny, nx {list(im.data.shape[1:])}, image 0 "
                f"{list(ref.data.shape[1:])}"
            )
        if im.polarisation_frame != ref.polarisation_frame:
            raise DataModelError(f"image {i} and image 0 have different polarisation frames")
        a, b = im.wcs.wcs, ref.wcs.wcs
        same_sky = (
            list(a.ctype)[:2] == list(b.ctype)[:2]
            and np.allclose(a.crval[:2], b.crval[:2], rtol=0, atol=1e-10)
            and np.allclose(a.cdelt[:2], b.cdelt[:2], rtol=1e-12, atol=0)
            and np.array_equal(a.crpix[:2], b.crpix[:2])
        )
        if not same_sky:
            raise DataModelError(f"image {i} and image 0 have different sky coordinates (WCS)")
    freq = np.concatenate([im.frequency for im in images])
    linear = True
    if freq.size > 1:
        steps = np.diff(freq)
        linear = bool((np.all(steps > 0) or np.all(steps < 0))
                      and np.allclose(steps, steps[0], rtol=rtol, atol=0))  # fmt: skip
        if not linear and not irregular:
            raise DataModelError(
                "the joined frequencies must be distinct and evenly spaced (a FITS axis is "
                f"linear); got {freq.tolist()} Hz (irregular=True keeps them as a table)"
            )
    wcs = ref.wcs.deepcopy()
    wcs.wcs.crval[3], wcs.wcs.crpix[3] = freq[0], 1.0
    if freq.size > 1 and freq[-1] != freq[0]:
        wcs.wcs.cdelt[3] = (freq[-1] - freq[0]) / (freq.size - 1)
    beams = [im.clean_beam for im in images]
    if any(b != beams[0] for b in beams[1:]):
        log.warning("concatenate_images: the images' clean beams differ; keeping the first")
    data = np.concatenate([im.data for im in images], axis=0)
    beam = None if beams[0] is None else dict(beams[0])
    meta = {k: v for k, v in ref.meta.items() if k != CHANNEL_FREQUENCIES}
    if not linear:
        meta[CHANNEL_FREQUENCIES] = tuple(float(f) for f in freq)
    return Image(
        data=data,
        wcs=wcs,
        polarisation_frame=ref.polarisation_frame,
        clean_beam=beam,
        meta=meta,
    )
