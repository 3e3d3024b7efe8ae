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

    Memory: besides the result, O(nrow) bytes at 4 per row (int32 indices) and 1 per row
    (masks), with no sort when ``time`` is non-decreasing (the usual MS and UVFITS order)
    and antenna numbers below :data:`LOOKUP_ANTENNAS`: the index of a large MS is built in
    the client (DESIGN §4), and a general ``np.unique`` holds ~10 copies of the rows.

    Parameters
    ----------
    time : numpy.ndarray of float64, shape [nrow]
    antenna1, antenna2 : numpy.ndarray of int, shape [nrow]

    Returns
    -------
    BlockLayout
        ``rows`` int64, ``t_index``/``b_index`` int32.

    Raises
    ------
    error (default ValueError)
        Two rows fall in the same (time, baseline) cell.
    """
    time, antenna1, antenna2 = np.asarray(time), np.asarray(antenna1), np.asarray(antenna2)
    rows = np.arange(time.size) if include_auto else np.flatnonzero(antenna1 != antenna2)
    if rows.size == time.size:  # every row kept: no copies of the columns
        t, a1, a2 = time, antenna1, antenna2
    else:
        t, a1, a2 = time[rows], antenna1[rows], antenna2[rows]
    times, t_index = _unique_times(t)
    del t
    pairs, b_index = _unique_baselines(a1, a2)
    del a1, a2
    if _has_duplicate_cells(t_index, b_index, max(pairs[0].size, 1)):
        raise error(
            f"{where}: several rows share the same time and baseline (e.g. several "
            "ARRAY_IDs, OBSERVATION_IDs or feeds mixed); select a subset first"
        )
    return BlockLayout(
        rows=rows, t_index=t_index, b_index=b_index, times=times,
        antenna1=pairs[0], antenna2=pairs[1],
    )  # fmt: skip


#: Antenna numbers below this use a lookup table of ``LOOKUP_ANTENNAS²`` entries for the
#: baselines (no sort); larger numbers fall back to ``np.unique``.
LOOKUP_ANTENNAS = 4096


def _unique_times(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted unique times and each row's position in them (int32)."""
    if t.size and bool(np.all(t[1:] >= t[:-1])):  # non-decreasing: a running count
        new = np.empty(t.size, bool)
        new[0] = True
        np.not_equal(t[1:], t[:-1], out=new[1:])
        t_index = np.cumsum(new, dtype=np.int32)
        t_index -= 1
        return t[new], t_index
    times, inverse = np.unique(t, return_inverse=True)
    return times, inverse.reshape(-1).astype(np.int32)


def _unique_baselines(a1: np.ndarray, a2: np.ndarray) -> tuple[tuple, np.ndarray]:
    """``((antenna1, antenna2), b_index)``: the baselines present, sorted by antenna1 then
    antenna2 (int64), and each row's position among them (int32)."""
    if a1.size == 0:
        empty = np.zeros(0, np.int64)
        return (empty, empty), np.zeros(0, np.int32)
    base = int(max(a1.max(), a2.max())) + 1
    if base <= LOOKUP_ANTENNAS and min(int(a1.min()), int(a2.min())) >= 0:
        code = a1.astype(np.int32) * np.int32(base)
        code += a2
        present = np.zeros(base * base, bool)
        present[code] = True
        lookup = np.cumsum(present, dtype=np.int32)
        lookup -= 1
        b_index = lookup[code]
        pairs = np.flatnonzero(present)
    else:
        pairs, inverse = np.unique(
            a1.astype(np.int64) * base + a2.astype(np.int64), return_inverse=True
        )
        b_index = inverse.reshape(-1).astype(np.int32)
    return (pairs // base, pairs % base), b_index


def _has_duplicate_cells(t_index: np.ndarray, b_index: np.ndarray, nbaseline: int) -> bool:
    """Whether two rows share a (time, baseline) cell; a mask of the cells when it is
    small (1 byte per cell), else a sort."""
    ntime = int(t_index.max(initial=-1)) + 1
    if ntime * nbaseline > 8 * max(t_index.size, 1 << 20):  # sparse: sort the cells
        cell = t_index.astype(np.int64) * nbaseline + b_index
        return np.unique(cell).size != cell.size
    seen = np.zeros(ntime * nbaseline, bool)
    for s in range(0, t_index.size, 1 << 20):
        cell = t_index[s : s + (1 << 20)].astype(np.int64) * nbaseline
        cell += b_index[s : s + (1 << 20)]
        seen[cell] = True
    return int(np.count_nonzero(seen)) != t_index.size


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
