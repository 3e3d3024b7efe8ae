"""Row-based visibility files (MeasurementSet, UVFITS) → block layout: shared helpers.

Both formats store one row per (time, baseline) with ``[nchan, ncorr]`` data; a
:class:`~uvflow.datamodels.Visibility` is a dense ``[ntime, nbaseline, nchan, npol]``
block. :func:`block_layout` finds the unique times and baselines of a set of rows and the
cell of each row; cells without a row are filled flagged with zero weight and zero uvw.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..polarisation import (
    _FRAMES,
    PolarisationError,
    PolarisationFrame,
    convert_pol,
    correlation_weights,
    pol_conversion_matrix,
)

__all__ = [
    "flag_nonfinite_uvw",
    "BlockLayout",
    "block_layout",
    "frame_from_products",
    "resolve_pol",
    "select_time_indices",
    "split_times",
    "put_rows",
    "normalise_channels",
    "chunk_rows",
]

#: Rows are read and converted in chunks of about this many bytes of visibility data
#: (but never more than 1/8 of the output), so reading holds ~1x the data plus a chunk.
CHUNK_BYTES = 32 * 1024 * 1024


def frame_from_products(names) -> tuple[PolarisationFrame, np.ndarray]:
    """The polarisation frame made of the correlation products ``names`` (any order).

    Returns
    -------
    (frame, perm)
        ``perm`` is an int array with ``data_in_frame = data_in_file[..., perm]``.

    Raises
    ------
    PolarisationError
        When the products form no known frame (e.g. a single ``RR``).
    """
    names = tuple(str(n).strip().upper() for n in names)
    for frame_name, products in _FRAMES.items():
        if len(products) == len(names) and set(products) == set(names):
            perm = np.array([names.index(p) for p in products], dtype=np.intp)
            return PolarisationFrame(frame_name), perm
    raise PolarisationError(
        f"correlation products {' '.join(names)} form no known polarisation frame; known: "
        + "; ".join(f"{k}={' '.join(v)}" for k, v in _FRAMES.items())
    )


def resolve_pol(native: PolarisationFrame, pol, where: str) -> PolarisationFrame:
    """The frame to return for a ``pol=`` request (None keeps the file's own frame)."""
    if pol is None:
        return native
    try:
        target = PolarisationFrame(pol)
        pol_conversion_matrix(native, target)
    except PolarisationError as exc:
        raise PolarisationError(f"{where}: pol={pol!r}: {exc}") from None
    return target


@dataclass
class BlockLayout:
    """Where each kept row goes in the block.

    ``rows`` are positions (into the arrays given to :func:`block_layout`) of the kept
    rows; ``t_index``/``b_index`` their cell; ``times`` the unique times, ``antenna1``/
    ``antenna2`` the baselines (sorted by antenna1 then antenna2).
    """

    rows: np.ndarray
    t_index: np.ndarray
    b_index: np.ndarray
    times: np.ndarray
    antenna1: np.ndarray
    antenna2: np.ndarray

    @property
    def rows_per_time(self) -> np.ndarray:
        return np.bincount(self.t_index, minlength=self.times.size)


def block_layout(
    time: np.ndarray,
    antenna1: np.ndarray,
    antenna2: np.ndarray,
    include_auto: bool,
    where: str,
    error: type[Exception] = ValueError,
) -> BlockLayout:
    """Group rows by unique time and baseline (cross-correlations only unless ``include_auto``).

    Parameters
    ----------
    time : numpy.ndarray of float64, shape [nrow]
    antenna1, antenna2 : numpy.ndarray of int, shape [nrow]

    Raises
    ------
    error (default ValueError)
        Two rows fall in the same (time, baseline) cell.
    """
    a1 = np.asarray(antenna1, dtype=np.int64)
    a2 = np.asarray(antenna2, dtype=np.int64)
    keep = np.ones(a1.shape, bool) if include_auto else a1 != a2
    rows = np.nonzero(keep)[0]
    times, t_index = np.unique(np.asarray(time)[rows], return_inverse=True)
    base = int(max(a1.max(initial=0), a2.max(initial=0))) + 1
    pairs, b_index = np.unique(a1[rows] * base + a2[rows], return_inverse=True)
    cell = t_index.astype(np.int64) * max(pairs.size, 1) + b_index
    if np.unique(cell).size != cell.size:
        raise error(
            f"{where}: several rows share the same time and baseline (e.g. several "
            "ARRAY_IDs, OBSERVATION_IDs or feeds mixed); select a subset first"
        )
    return BlockLayout(
        rows=rows,
        t_index=t_index.reshape(-1),
        b_index=b_index.reshape(-1),
        times=times,
        antenna1=(pairs // base).astype(np.int64),
        antenna2=(pairs % base).astype(np.int64),
    )


def select_time_indices(times: np.ndarray, selection, where: str) -> np.ndarray:
    """Indices into the unique ``times`` chosen by a ``times=`` argument.

    ``None`` → all; a ``slice`` or int array → unique-time indices; a bool mask of length
    ntime; a 2-tuple ``(start, end)`` of numbers → the times within [start, end] (MJD s).
    """
    n = times.size
    if selection is None:
        return np.arange(n)
    if isinstance(selection, slice):
        return np.arange(n)[selection]
    if (
        isinstance(selection, tuple)
        and len(selection) == 2
        and all(isinstance(x, numbers.Real) for x in selection)
    ):
        start, end = float(selection[0]), float(selection[1])
        if end < start:
            raise ValueError(f"{where}: times=(start, end) needs start <= end, got {selection}")
        return np.nonzero((times >= start) & (times <= end))[0]
    arr = np.asarray(selection)
    if arr.dtype == bool and arr.shape == (n,):
        return np.nonzero(arr)[0]
    if arr.ndim == 1 and arr.dtype.kind in "iu":
        if arr.size and (arr.min() < -n or arr.max() >= n):
            raise ValueError(f"{where}: times= index out of range for {n} integrations")
        return np.unique(np.arange(n)[arr])
    raise TypeError(
        f"{where}: times must be None, a slice or int array of integration indices, a bool "
        f"mask of length {n}, or a (start, end) tuple of MJD seconds; got {selection!r}"
    )


def split_times(
    rows_per_time: np.ndarray, max_rows: int | None, time_chunks: int | None, where: str
) -> list[np.ndarray]:
    """Split integration positions ``0..ntime-1`` into consecutive chunks.

    ``max_rows``: greedy, each chunk holds at most that many file rows; ``time_chunks``:
    that many chunks of nearly equal numbers of integrations. At most one may be given.
    """
    ntime = rows_per_time.size
    if max_rows is not None and time_chunks is not None:
        raise TypeError(f"{where}: give max_rows or time_chunks, not both")
    if time_chunks is not None:
        if int(time_chunks) < 1:
            raise ValueError(f"{where}: time_chunks must be >= 1, got {time_chunks}")
        return [c for c in np.array_split(np.arange(ntime), min(int(time_chunks), ntime)) if c.size]
    if max_rows is None:
        return [np.arange(ntime)]
    max_rows = int(max_rows)
    biggest = int(rows_per_time.max(initial=0))
    if max_rows < max(biggest, 1):
        raise ValueError(
            f"{where}: max_rows={max_rows} is smaller than the {biggest} rows of one "
            "integration; a chunk holds whole integrations"
        )
    chunks, start, count = [], 0, 0
    for i, r in enumerate(rows_per_time):
        if count + r > max_rows:
            chunks.append(np.arange(start, i))
            start, count = i, 0
        count += int(r)
    chunks.append(np.arange(start, ntime))
    return [c for c in chunks if c.size]


def normalise_channels(channels, nchan: int, where: str) -> np.ndarray | slice:
    """A ``channels=`` argument as a positive-step slice or a sorted unique int array."""
    if channels is None:
        return slice(0, nchan, 1)
    if isinstance(channels, slice):
        start, stop, step = channels.indices(nchan)
        if step < 0:
            return np.arange(nchan)[channels][::-1]
        if len(range(start, stop, step)) == 0:
            raise ValueError(f"{where}: channels={channels} selects no channel of {nchan}")
        return slice(start, stop, step)
    arr = np.asarray(channels)
    if arr.dtype.kind not in "iu" or arr.ndim != 1 or arr.size == 0:
        raise TypeError(f"{where}: channels must be a slice or a 1-d int array, got {channels!r}")
    if arr.min() < 0 or arr.max() >= nchan:
        raise ValueError(f"{where}: channels {arr.min()}..{arr.max()} out of range 0..{nchan - 1}")
    return np.unique(arr)


def channel_indices(channels: np.ndarray | slice, nchan: int) -> np.ndarray:
    return np.arange(nchan)[channels] if isinstance(channels, slice) else channels


def chunk_rows(nrow: int, bytes_per_row: int, output_bytes: int) -> int:
    """Rows per IO chunk: ~CHUNK_BYTES, at most 1/8 of the output, at least 1."""
    budget = min(CHUNK_BYTES, max(output_bytes // 8, 1 << 20))
    return int(max(1, min(nrow, budget // max(bytes_per_row, 1))))


def put_rows(
    out_vis: np.ndarray,
    out_weight: np.ndarray,
    out_flags: np.ndarray,
    t_index: np.ndarray,
    b_index: np.ndarray,
    vis: np.ndarray,
    weight: np.ndarray,
    flags: np.ndarray,
    perm: np.ndarray,
    native: PolarisationFrame,
    target: PolarisationFrame,
) -> None:
    """Reorder correlations to ``native`` frame order, convert to ``target``, scatter into cells.

    Parameters
    ----------
    out_vis, out_weight, out_flags : numpy.ndarray, shape [ntime, nbaseline, nchan, npol_target]
    t_index, b_index : numpy.ndarray of int, shape [nrow]
    vis : complex, weight : float, flags : bool — numpy.ndarray, shape [nrow, nchan, ncorr]
        In the file's correlation order.
    """
    identity = np.array_equal(perm, np.arange(perm.size))
    if not identity:
        vis, weight, flags = vis[..., perm], weight[..., perm], flags[..., perm]
    if target != native:
        with np.errstate(invalid="ignore"):  # inf·0 for flagged inputs; handled inside
            weight, flags = correlation_weights(weight, flags, native, target)
        vis = convert_pol(vis, native, target)
    out_vis[t_index, b_index] = vis
    out_weight[t_index, b_index] = weight
    out_flags[t_index, b_index] = flags


def flag_nonfinite_uvw(uvw: np.ndarray, weight: np.ndarray, flags: np.ndarray) -> int:
    """Flag the cells whose UVW is NaN or infinite: uvw 0, weight 0, every sample flagged.

    Parameters
    ----------
    uvw : numpy.ndarray of float64, shape [ntime, nbaseline, 3]
    weight : numpy.ndarray of float32, shape [ntime, nbaseline, nchan, npol]
    flags : numpy.ndarray of bool, shape [ntime, nbaseline, nchan, npol]
        All three changed in place.

    Returns
    -------
    int
        The cells flagged.
    """
    bad = ~np.isfinite(uvw).all(axis=-1)
    n = int(bad.sum())
    if n:
        uvw[bad] = 0.0
        weight[bad] = 0.0
        flags[bad] = True
    return n
