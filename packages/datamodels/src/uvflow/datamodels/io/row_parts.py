"""The fields and the chunk and load steps that the MS and UVFITS parts and chunks share.

:class:`RowPart` and :class:`RowChunk` are the dataclass bases of
:class:`~uvflow.datamodels.io.MSPart` / :class:`~uvflow.datamodels.io.UVFITSPart` and
:class:`~uvflow.datamodels.io.MSChunk` / :class:`~uvflow.datamodels.io.UVFITSChunk`
(module :mod:`~uvflow.datamodels.io.vis_parts` describes parts and chunks). A subclass
adds its file's own fields (keyword-only), makes its chunk (``_chunk``) and reads its
rows into a block (``_read_into``); cutting a chunk and building the loaded
:class:`~uvflow.datamodels.Visibility` are done here, once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.coordinates import SkyCoord

from ..configuration import Configuration
from ..polarisation import PolarisationFrame
from ..visibility import Visibility
from .index_codec import PackedIndex
from .vis_blocks import flag_nonfinite_uvw
from .vis_parts import ChunkMixin, PartMixin

__all__ = ["RowPart", "RowChunk"]


@dataclass(frozen=True, eq=False, repr=False)
class RowPart(PackedIndex, PartMixin):
    """One field × spectral window of a row-based file: its sampling and row index.

    Parameters
    ----------
    path, field_id, field_name, phasecentre, spw_id, frequency, channel_bandwidth, \
native_frame, perm, polarisation_frame, configuration, times, integration_time, \
antenna1, antenna2, rows, b_index, time_starts, dtype, uvw_max_m, uv_max_m, \
uv_moments_m2, nonfinite_uvw_rows
        As :class:`~uvflow.datamodels.io.MSPart` and
        :class:`~uvflow.datamodels.io.UVFITSPart` document them (a file row is an MS row
        or a UVFITS group).
    """

    _PACKED = ("rows", "b_index")  # held and pickled packed (PackedIndex)
    _KEEP_PACKED = True

    path: str
    field_id: int
    field_name: str
    phasecentre: SkyCoord
    spw_id: int
    frequency: np.ndarray
    channel_bandwidth: np.ndarray
    native_frame: PolarisationFrame
    perm: np.ndarray
    polarisation_frame: PolarisationFrame
    configuration: Configuration
    times: np.ndarray
    integration_time: np.ndarray
    antenna1: np.ndarray
    antenna2: np.ndarray
    rows: np.ndarray
    b_index: np.ndarray
    time_starts: np.ndarray
    dtype: np.dtype
    uvw_max_m: np.ndarray
    uv_max_m: float
    uv_moments_m2: np.ndarray | None = None
    nonfinite_uvw_rows: int = 0

    def chunk(self, times=None, channels=None):
        """The chunk of integrations ``times`` and channels ``channels`` of this part.

        Parameters
        ----------
        times : slice, int array, bool mask or (start, end) tuple, optional
            Indices into ``self.times`` (or MJD seconds within [start, end]); default all.
        channels : slice or int array, optional
            Indices into ``self.frequency``; default all.

        Returns
        -------
        RowChunk
            Of the part's file type (:class:`~uvflow.datamodels.io.MSChunk`,
            :class:`~uvflow.datamodels.io.UVFITSChunk`).

        Raises
        ------
        ValueError
            The selection holds no integration, or a channel is out of range.
        """
        tsel, chans = self._selection(times, channels)
        if tsel.size == 0:
            raise ValueError(f"{self._where()}: times={times!r} selects no integration")
        rows, t_index, b_index = self._cells(tsel)
        return self._chunk(dict(
            path=self.path, field_id=self.field_id, spw_id=self.spw_id, source=self.field_name,
            rows=rows, t_index=t_index, b_index=b_index, channels=chans,
            native_frame=self.native_frame, perm=self.perm,
            polarisation_frame=self.polarisation_frame, times=self.times[tsel],
            integration_time=self.integration_time[tsel],
            antenna1=self.antenna1, antenna2=self.antenna2,
            frequency=self.frequency[chans], channel_bandwidth=self.channel_bandwidth[chans],
            phasecentre=self.phasecentre, configuration=self.configuration, dtype=self.dtype,
        ))  # fmt: skip

    def _chunk(self, fields: dict) -> RowChunk:
        """The subclass's chunk made of the :class:`RowChunk` ``fields`` and its own."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False, repr=False)
class RowChunk(PackedIndex, ChunkMixin):
    """Integrations × channels of one part of a row-based file (a VisibilitySource).

    Parameters
    ----------
    path, field_id, spw_id, source, rows, t_index, b_index, channels, native_frame, perm, \
polarisation_frame, times, integration_time, antenna1, antenna2, frequency, \
channel_bandwidth, phasecentre, configuration, dtype
        As :class:`~uvflow.datamodels.io.MSChunk` and
        :class:`~uvflow.datamodels.io.UVFITSChunk` document them.
    """

    _PACKED = ("rows", "t_index", "b_index")  # held and pickled packed (PackedIndex)
    _KEEP_PACKED = True

    path: str
    field_id: int
    spw_id: int
    source: str
    rows: np.ndarray
    t_index: np.ndarray
    b_index: np.ndarray
    channels: np.ndarray
    native_frame: PolarisationFrame
    perm: np.ndarray
    polarisation_frame: PolarisationFrame
    times: np.ndarray
    integration_time: np.ndarray
    antenna1: np.ndarray
    antenna2: np.ndarray
    frequency: np.ndarray
    channel_bandwidth: np.ndarray
    phasecentre: SkyCoord
    configuration: Configuration
    dtype: np.dtype

    def _load(self, rows_key: str, meta: dict) -> Visibility:
        """The chunk read into a Visibility by the subclass's ``_read_into(arrays)``.

        ``_read_into`` fills ``(vis, weight, flags, uvw)`` from the file: ``self.shape``
        of ``dtype``, float32 and bool, and [ntime, nbaseline, 3] float64, given as zeros,
        zeros, all flagged and zeros. Cells of a non-finite uvw are then flagged
        (:func:`~uvflow.datamodels.io.vis_blocks.flag_nonfinite_uvw`).

        Parameters
        ----------
        rows_key : str
            The ``meta`` key of the file row of each cell (int64 [ntime, nbaseline], −1
            where no row fills it).
        meta : dict
            The file's other ``meta`` entries.

        Returns
        -------
        Visibility
        """
        ntime, nbl, _, _ = self.shape
        vis, weight = np.zeros(self.shape, self.dtype), np.zeros(self.shape, np.float32)
        flags, uvw = np.ones(self.shape, bool), np.zeros((ntime, nbl, 3))
        self._read_into((vis, weight, flags, uvw))
        flag_nonfinite_uvw(uvw, weight, flags)
        file_rows = np.full((ntime, nbl), -1, np.int64)
        file_rows[self.t_index, self.b_index] = self.rows
        return Visibility(
            vis=vis, weight=weight, flags=flags, uvw=uvw, time=self.times.copy(),
            integration_time=self.integration_time.copy(),
            antenna1=self.antenna1, antenna2=self.antenna2,
            frequency=self.frequency.copy(), channel_bandwidth=self.channel_bandwidth.copy(),
            phasecentre=self.phasecentre, polarisation_frame=PolarisationFrame(self.polarisation_frame),
            configuration=self.configuration, source=self.source,
            meta={**meta, rows_key: file_rows},
        )  # fmt: skip

    def _read_into(self, arrays: tuple) -> None:
        """Fill ``(vis, weight, flags, uvw)`` from the file (the subclass's reader)."""
        raise NotImplementedError
