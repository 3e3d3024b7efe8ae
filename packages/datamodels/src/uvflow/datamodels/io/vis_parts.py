"""Parts and chunks of row-based visibility files: what the MS and UVFITS indexes share.

An index (:func:`~uvflow.datamodels.io.ms_chunks.ms_index`,
:func:`~uvflow.datamodels.io.uvfits_chunks.uvfits_index`) reads a file's metadata and
row index and gives one *part* per field × spectral window: its times, baselines and
channels, and where each file row goes in the block ``[ntime, nbaseline, nchan, npol]``.
A part plans *chunks* (integrations × channels); a chunk is a small picklable
:class:`~uvflow.datamodels.VisibilitySource` that reads its own rows where it is loaded.

A part keeps its rows sorted by (time, row): ``rows`` [nrow] int64 (MS rows or UVFITS
groups), ``b_index`` [nrow] int32 (the baseline of each) and ``time_starts`` [ntime + 1]
int64 (the rows of integration ``t`` are ``time_starts[t]:time_starts[t + 1]``), so that
cutting a chunk costs its own rows, not the part's.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..visibility import SPEED_OF_LIGHT
from .vis_blocks import (
    BlockLayout,
    channel_indices,
    normalise_channels,
    select_time_indices,
    split_times,
)

__all__ = [
    "PartMixin",
    "ChunkMixin",
    "sort_layout",
    "visibility_nbytes",
    "uv_moments",
    "uv_rank",
]

#: the smaller eigenvalue of the uv moments below this share of the larger: one line
LINE_TOLERANCE = 1e-9


def visibility_nbytes(ntime: int, nbaseline: int, nchan: int, npol: int, dtype) -> int:
    """Bytes of a Visibility's vis (``dtype``), weight (float32), flags (bool) and uvw (float64)."""
    cells = int(ntime) * int(nbaseline)
    return cells * int(nchan) * int(npol) * (np.dtype(dtype).itemsize + 4 + 1) + cells * 24


def uv_moments(uvw: np.ndarray, per_row: bool = False) -> np.ndarray:
    """The second moments of the (u, v) samples about the origin.

    Parameters
    ----------
    uvw : numpy.ndarray of float64, shape [..., 3]
        Metres (finite).
    per_row : bool
        Each sample's terms instead of their sums.

    Returns
    -------
    numpy.ndarray of float64, shape [3] (or [..., 3] with ``per_row``)
        ``[Σu², Σuv, Σv²]``, m².
    """
    u, v = uvw[..., 0], uvw[..., 1]
    terms = np.stack([u * u, u * v, v * v], axis=-1)
    return terms if per_row else terms.reshape(-1, 3).sum(axis=0)


def uv_rank(moments: np.ndarray) -> int:
    """How many directions the (u, v) samples span (from :func:`uv_moments`).

    Returns
    -------
    int
        0: every sample has u = v = 0; 1: every sample lies on one line through the origin
        (one baseline at one time, a snapshot of a linear array …): the PSF is then
        constant along a direction of the sky, a ridge with no peak; 2: otherwise.
    """
    a, b, c = (float(x) for x in moments)
    big = 0.5 * (a + c) + np.hypot(0.5 * (a - c), b)
    if not big > 0:
        return 0
    small = (a * c - b * b) / big
    return 2 if small > LINE_TOLERANCE * big else 1


def sort_layout(file_rows: np.ndarray, layout: BlockLayout) -> tuple[np.ndarray, ...]:
    """A part's row index sorted by (time, row).

    Parameters
    ----------
    file_rows : numpy.ndarray of int, shape [nrow]
        The file row (MS row, UVFITS group) of each kept row of ``layout``.
    layout : BlockLayout
        As :func:`~uvflow.datamodels.io.vis_blocks.block_layout` gives it.

    Returns
    -------
    rows : numpy.ndarray of int64, shape [nrow]
    b_index : numpy.ndarray of int32, shape [nrow]
    time_starts : numpy.ndarray of int64, shape [ntime + 1]
    """
    file_rows, t_index = np.asarray(file_rows, np.int64), layout.t_index
    if _non_decreasing(t_index) and _non_decreasing(file_rows):  # already in order: no copy
        rows, b_index = file_rows, layout.b_index.astype(np.int32, copy=False)
    else:
        order = np.lexsort((file_rows, t_index))
        rows, b_index = file_rows[order], layout.b_index[order].astype(np.int32)
        del order
    counts = np.bincount(t_index, minlength=layout.times.size)
    time_starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return rows, b_index, time_starts


def _non_decreasing(a: np.ndarray, block: int = 1 << 20) -> bool:
    """Whether ``a`` never decreases (checked in blocks: no temporary of its size)."""
    last = a.size - 1
    for s in range(0, max(last, 0), block):
        e = min(s + block, last)
        if not np.all(a[s + 1 : e + 1] >= a[s:e]):
            return False
    return True


class PartMixin:
    """Shape, size, uv extent and chunk planning of a part.

    A part has ``path``, ``times`` [ntime], ``antenna1``/``antenna2`` [nbaseline],
    ``frequency`` [nchan], ``polarisation_frame``, ``dtype``, ``rows``, ``b_index``,
    ``time_starts`` and ``uv_max_m``; subclasses give ``chunk(times, channels)``.
    """

    @property
    def ntime(self) -> int:
        return int(self.times.size)

    @property
    def nbaseline(self) -> int:
        return int(self.antenna1.size)

    @property
    def nchan(self) -> int:
        return int(self.frequency.size)

    @property
    def npol(self) -> int:
        return int(self.polarisation_frame.npol)

    @property
    def nrow(self) -> int:
        """File rows in the part (filled cells not counted)."""
        return int(self.rows.size)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(ntime, nbaseline, nchan, npol)`` of the whole part loaded as one Visibility."""
        return (self.ntime, self.nbaseline, self.nchan, self.npol)

    @property
    def nbytes(self) -> int:
        """Bytes of the whole part loaded (vis, weight float32, flags bool, uvw float64)."""
        return visibility_nbytes(*self.shape, self.dtype)

    @property
    def rows_per_time(self) -> np.ndarray:
        """int64 [ntime]: file rows of each integration."""
        return np.diff(self.time_starts)

    @property
    def t_index(self) -> np.ndarray:
        """int64 [nrow]: the integration of each of ``rows``."""
        return np.repeat(np.arange(self.ntime), self.rows_per_time)

    @property
    def uv_max_wavelengths(self) -> float:
        """Longest projected baseline ``max sqrt(u² + v²)`` in wavelengths at the highest
        frequency: what ``create_image_from_visibility`` takes as uvmax for a cell size."""
        return float(self.uv_max_m) * float(np.max(self.frequency)) / SPEED_OF_LIGHT

    @property
    def uv_rank(self) -> int:
        """:func:`uv_rank` of the part's (u, v) samples (2 when the index has no moments)."""
        moments = getattr(self, "uv_moments_m2", None)
        return 2 if moments is None else uv_rank(moments)

    def _where(self) -> str:
        return f"{self.path} (field {self.field_id}, spw {self.spw_id})"

    def _selection(self, times, channels) -> tuple[np.ndarray, np.ndarray]:
        where = self._where()
        tsel = select_time_indices(self.times, times, where)
        chans = channel_indices(normalise_channels(channels, self.nchan, where), self.nchan)
        return tsel, np.asarray(chans, np.int64)

    def _cells(self, tsel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """File rows of the integrations ``tsel`` (sorted, unique), sorted by row, with
        their cells in the chunk: (rows int64, t_index int32, b_index int32) [nrow_chunk]."""
        starts, counts = self.time_starts[tsel], self.rows_per_time[tsel]
        total = int(counts.sum())
        offsets = np.cumsum(counts) - counts
        pos = np.repeat(starts - offsets, counts) + np.arange(total)
        t_local = np.repeat(np.arange(tsel.size, dtype=np.int32), counts)
        rows = self.rows[pos]
        order = np.argsort(rows, kind="stable")
        return rows[order], t_local[order], self.b_index[pos][order]

    def chunks(
        self,
        times=None,
        channels=None,
        max_rows: int | None = None,
        time_chunks: int | None = None,
        max_nbytes: int | None = None,
    ) -> list:
        """Chunks covering the selected integrations and channels.

        Parameters
        ----------
        times : slice, int array, bool mask or (start, end) tuple, optional
            Integrations (as :func:`~uvflow.datamodels.read_ms`'s ``times``); default all.
        channels : slice or int array, optional
            Channels of the part; default all.
        max_rows : int, optional
            Consecutive integrations holding at most this many file rows per chunk.
        time_chunks : int, optional
            This many chunks of nearly equal numbers of integrations.
        max_nbytes : int, optional
            Chunks whose loaded Visibility (``nbytes``) is at most this: consecutive
            integrations, and, when one integration of all selected channels is larger,
            the channels split into the fewest equal groups that fit (chunks are then
            ordered by channel group, then time).

        Returns
        -------
        list of chunks
            Empty when the time selection is. At most one of ``max_rows``,
            ``time_chunks`` and ``max_nbytes`` may be given.
        """
        where = self._where()
        if max_nbytes is not None and (max_rows is not None or time_chunks is not None):
            raise TypeError(f"{where}: give one of max_rows, time_chunks and max_nbytes")
        tsel, chans = self._selection(times, channels)
        if tsel.size == 0:
            return []
        if max_nbytes is None:
            groups = split_times(self.rows_per_time[tsel], max_rows, time_chunks, where)
            return [self.chunk(tsel[g], chans) for g in groups]
        per_time = visibility_nbytes(1, self.nbaseline, chans.size, self.npol, self.dtype)
        uvw_bytes = self.nbaseline * 24
        if int(max_nbytes) < visibility_nbytes(1, self.nbaseline, 1, self.npol, self.dtype):
            raise ValueError(
                f"{where}: max_nbytes={max_nbytes} cannot hold one channel of one integration"
            )
        nsplit = max(1, -(-(per_time - uvw_bytes) // (int(max_nbytes) - uvw_bytes)))
        out = []
        for cgroup in np.array_split(chans, min(nsplit, chans.size)):
            per = visibility_nbytes(1, self.nbaseline, cgroup.size, self.npol, self.dtype)
            step = max(1, int(max_nbytes) // per)
            out += [self.chunk(tsel[s : s + step], cgroup) for s in range(0, tsel.size, step)]
        return out


class ChunkMixin:
    """Shape, size and a short repr of a chunk (a VisibilitySource)."""

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(ntime, nbaseline, nchan, npol)`` of the Visibility ``load()`` gives."""
        return (
            int(self.times.size),
            int(self.antenna1.size),
            int(self.channels.size),
            int(self.polarisation_frame.npol),
        )

    @property
    def nbytes(self) -> int:
        """Bytes of the loaded Visibility's vis, weight, flags and uvw."""
        return visibility_nbytes(*self.shape, self.dtype)

    @property
    def nrow(self) -> int:
        """File rows the chunk reads."""
        return int(self.rows.size)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.path!r}, field {self.field_id}, spw {self.spw_id}, "
            f"shape={self.shape}, rows={self.nrow})"
        )

    def __sizeof__(self) -> int:
        held = sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))
        return object.__sizeof__(self) + held

    def __dask_tokenize__(self):
        """A deterministic token: the file, what is read from it and how it is converted."""
        digest = hashlib.sha1()
        for a in (self.rows, self.t_index, self.b_index, self.channels, self.times):
            digest.update(np.ascontiguousarray(a).tobytes())
        return (type(self).__name__, self.path, getattr(self, "datacolumn", None),
                self.field_id, self.spw_id, self.polarisation_frame.name, digest.hexdigest())  # fmt: skip
