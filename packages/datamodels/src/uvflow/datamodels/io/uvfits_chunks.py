"""A UVFITS file as an index of parts and chunks that read their own groups (DESIGN §4).

:func:`uvfits_index` reads the header, the AN/SU/FQ tables and the random parameters
(DATE, BASELINE or ANTENNA1/2, UU/VV/WW, SOURCE, INTTIM) of the memory-mapped file, not
the visibility array, and gives one :class:`UVFITSPart` per source × IF. (The parameters
are interleaved with the data in the file, so the index pages the whole file through the
page cache once; it holds only the parameters.) A part plans :class:`UVFITSChunk` s;
:meth:`UVFITSChunk.load` opens the file memory-mapped where it runs and reads only its
groups, IF and channels, converting as :func:`~uvflow.datamodels.read_uvfits` documents
(module :mod:`~uvflow.datamodels.io.uvfits_read`): vis = conj(file) with the cross hands
exchanged, uvw = −uvw_file turned from the file's epoch to J2000, weight = ``|w|`` of the
COMPLEX axis's third element, flagged where w ≤ 0.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.time import Time

from ..visibility import SPEED_OF_LIGHT, Visibility
from .row_parts import RowChunk, RowPart
from .uvfits_groups import (
    fill_groups,
    group_antennas,
    group_axes,
    random_parameter,
    stokes_products,
)
from .uvfits_tables import (
    UVFITSError,
    antenna_configuration,
    channel_frequencies,
    source_directions,
    uvw_to_j2000,
)
from .vis_blocks import block_layout, frame_from_products, resolve_pol
from .vis_parts import sort_layout, uv_moments

__all__ = ["UVFITSPart", "UVFITSChunk", "uvfits_index"]

log = logging.getLogger(__name__)

_HERMITIAN = {"RL": "LR", "LR": "RL", "XY": "YX", "YX": "XY"}


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class UVFITSChunk(RowChunk):
    """Integrations × channels of one source and IF of a UVFITS file (a VisibilitySource).

    Parameters
    ----------
    path : str
        The file (absolute).
    field_id, spw_id : int
        Source id (SU ``ID. NO.``, 1 for a single-source file) and IF index (0-based).
    source : str
    equinox : float
        Epoch of the file's coordinates and uvw (years).
    rows : numpy.ndarray of int64, shape [nrow]
        Groups to read, sorted.
    t_index, b_index : numpy.ndarray of int32, shape [nrow]
        The cell of each group in the loaded block.
    channels : numpy.ndarray of int64, shape [nchan]
        Channels of the IF (sorted, unique).
    native_frame, polarisation_frame : PolarisationFrame
        The file's products as a frame (cross hands exchanged) and the frame loaded.
    perm : numpy.ndarray of intp, shape [ncorr]
    times, integration_time : numpy.ndarray of float64, shape [ntime]
        MJD seconds (UTC), seconds.
    antenna1, antenna2 : numpy.ndarray of int64, shape [nbaseline]
    frequency, channel_bandwidth : numpy.ndarray of float64, shape [nchan]
    phasecentre : astropy.coordinates.SkyCoord
    configuration : Configuration
    to_j2000 : numpy.ndarray of float64, shape [3, 3]
        ``uvw_j2000 = uvw_file @ to_j2000.T``.
    dtype : numpy.dtype
        complex64.
    """

    equinox: float
    to_j2000: np.ndarray

    def load(self) -> Visibility:
        """Read the chunk's groups and channels (the file memory-mapped) into a Visibility.

        Returns
        -------
        Visibility
            As :func:`~uvflow.datamodels.read_uvfits` returns it; ``meta`` ``uvfits_path``,
            ``uvfits_source``, ``uvfits_if``, ``uvfits_groups`` (int64 [ntime, nbaseline],
            −1 where filled) and ``uvfits_equinox``.
        """
        return self._load("uvfits_groups", {
            "uvfits_path": self.path, "uvfits_source": self.field_id,
            "uvfits_if": self.spw_id, "uvfits_equinox": self.equinox,
        })  # fmt: skip

    def _read_into(self, arrays) -> None:
        """Fill ``(vis, weight, flags, uvw)`` from the chunk's groups (:meth:`load`)."""
        with fits.open(self.path, memmap=True) as hdul:
            fill_groups(hdul[0], self, arrays)


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class UVFITSPart(RowPart):
    """One source × IF of a UVFITS file: its sampling and group index.

    Made by :func:`uvfits_index`; the same interface as
    :class:`~uvflow.datamodels.io.MSPart` (``shape``, ``nbytes``, ``uv_max_wavelengths``,
    ``chunk``, ``chunks`` …), with groups for rows.

    Parameters
    ----------
    path : str
    field_id : int
        Source id (SU ``ID. NO.``; 1 for a single-source file).
    field_name : str
    phasecentre : astropy.coordinates.SkyCoord
        ICRS.
    equinox : float
        Epoch of the file's coordinates and uvw (years).
    spw_id : int
        IF index (0-based).
    frequency, channel_bandwidth : numpy.ndarray of float64, shape [nchan]
        Of the IF, Hz.
    native_frame, polarisation_frame : PolarisationFrame
        The file's products as a frame (cross hands exchanged) and the frame chunks load.
    perm : numpy.ndarray of intp, shape [ncorr]
    configuration : Configuration
    times, integration_time : numpy.ndarray of float64, shape [ntime]
        MJD seconds (UTC), seconds.
    antenna1, antenna2 : numpy.ndarray of int64, shape [nbaseline]
    rows : numpy.ndarray of int64, shape [nrow]
        Groups, sorted by (integration, group).
    b_index : numpy.ndarray of int32, shape [nrow]
    time_starts : numpy.ndarray of int64, shape [ntime + 1]
    to_j2000 : numpy.ndarray of float64, shape [3, 3]
    dtype : numpy.dtype
        complex64.
    uvw_max_m : numpy.ndarray of float64, shape [3]
        max ``|u|``, ``|v|``, ``|w|`` (J2000, metres).
    uv_max_m : float
        max sqrt(u² + v²), metres.
    uv_moments_m2 : numpy.ndarray of float64, shape [3], optional
        ``[Σu², Σuv, Σv²]``, m² (``uv_rank``).
    nonfinite_uvw_rows : int
        Groups whose UVW is NaN or infinite (left out of the extent; flagged when loaded).
    """

    equinox: float
    to_j2000: np.ndarray

    def _chunk(self, fields: dict) -> UVFITSChunk:
        return UVFITSChunk(**fields, equinox=self.equinox,
                           to_j2000=self.to_j2000)  # fmt: skip

    def _where(self) -> str:
        return f"{self.path} (source {self.field_id}, IF {self.spw_id})"

    def __repr__(self) -> str:
        return (
            f"UVFITSPart({self.path!r}, source {self.field_id} {self.field_name!r}, IF "
            f"{self.spw_id}, shape={self.shape}, groups={self.nrow})"
        )


def _resolve(kind: str, request, available: dict[int, str], where: str) -> list[int]:
    if request is None:
        return sorted(available)
    items = request if isinstance(request, (list, tuple, np.ndarray)) else [request]
    out = []
    for item in items:
        if isinstance(item, (int, np.integer)) and int(item) in available:
            out.append(int(item))
        elif isinstance(item, str) and item in available.values():
            out.append(next(k for k, v in available.items() if v == item))
        else:
            listing = ", ".join(f"{k} {v!r}" for k, v in sorted(available.items()))
            raise UVFITSError(f"{where}: {kind} {item!r} unknown; available: {listing}")
    return sorted(set(out))


def _integration(lay, grp, inttim, where: str) -> np.ndarray:
    if inttim is not None:
        per = np.zeros(lay.times.size)
        per[lay.t_index] = inttim[0][grp]
        return per
    if lay.times.size > 1:
        dt = np.diff(lay.times)
        return np.full(lay.times.size, float(np.round(np.min(dt[dt > 0.01]), 2)))
    log.warning("UVFITS %s: one integration and no INTTIM; integration time set to 0", where)
    return np.zeros(lay.times.size)


def uvfits_index(
    path,
    field=None,
    spw=None,
    pol=None,
    include_autocorrelations: bool = False,
    diameter=None,
) -> list[UVFITSPart]:
    """The parts (source × IF) of a UVFITS file, reading its random parameters and tables.

    Parameters
    ----------
    path : str or os.PathLike
    field, spw, pol, include_autocorrelations, diameter
        As :func:`~uvflow.datamodels.read_uvfits` takes them (``pol``: the frame the
        chunks convert to).

    Returns
    -------
    list of UVFITSPart
        By source id, then IF; sources without groups are left out.

    Raises
    ------
    UVFITSError, PolarisationError
        As :func:`~uvflow.datamodels.read_uvfits` raises them (for a selection that holds
        no data, an empty list instead).
    """
    where = os.fspath(path)
    try:
        hdul = fits.open(path, memmap=True)
    except (OSError, ValueError) as exc:
        raise UVFITSError(f"{where!r} is not a FITS file: {exc}") from None
    with hdul:
        prim = hdul[0]
        if not isinstance(prim, fits.GroupsHDU) or not prim.header.get("GROUPS", False):
            raise UVFITSError(
                f"{where!r} is not a UVFITS file (no random groups in the primary HDU)"
            )
        if "AIPS AN" not in hdul:
            raise UVFITSError(f"{where!r} has no AIPS AN (antenna) table")
        header = prim.header
        axes = group_axes(header)
        config, ant_index, scale = antenna_configuration(hdul["AIPS AN"], header, diameter)
        g = prim.data
        names = [str(n).upper() for n in g.parnames]
        uvw_par = [random_parameter(g, names, p) for p in ("UU", "VV", "WW")]
        if any(p is None for p in uvw_par):
            raise UVFITSError(f"{where!r}: random parameters UU, VV, WW missing (have {names})")
        dates = random_parameter(g, names, "DATE")
        if dates is None:
            raise UVFITSError(f"{where!r}: no DATE random parameter")
        t = Time(dates[0], sum(dates[1:]) if len(dates) > 1 else 0.0, format="jd", scale=scale).utc
        mjd_s = (t.jd1 - 2400000.5) * 86400.0 + t.jd2 * 86400.0
        a1, a2 = group_antennas(g, names, ant_index, where)
        src = random_parameter(g, names, "SOURCE")
        src_id = np.rint(src[0]).astype(int) if src is not None else np.ones(len(g), int)
        sources = source_directions(hdul, header, axes)
        freq, width = channel_frequencies(hdul, axes)
        products = [_HERMITIAN.get(p, p) for p in stokes_products(axes["STOKES"])]
        native, perm = frame_from_products(products)
        target = resolve_pol(native, pol, where)
        field_ids = _resolve("source", field, {k: v[0] for k, v in sources.items()}, where)
        if_ids = _resolve("IF", spw, {i: f"IF{i + 1}" for i in range(freq.shape[0])}, where)
        inttim = random_parameter(g, names, "INTTIM")
        uvw_file = np.stack([sum(p) for p in uvw_par], axis=-1) * SPEED_OF_LIGHT
    parts = []
    for sid in field_ids:
        in_src = np.nonzero(src_id == sid)[0]
        if in_src.size == 0:
            continue
        name, centre, equinox = sources[sid]
        to_j2000 = uvw_to_j2000(centre, equinox)
        lay = block_layout(mjd_s[in_src], a1[in_src], a2[in_src], include_autocorrelations,
                           where, UVFITSError)  # fmt: skip
        if lay.times.size == 0:
            continue
        grp = in_src[lay.rows]
        rows, b_index, time_starts = sort_layout(grp, lay)
        uvw = -uvw_file[grp] @ to_j2000.T
        finite = np.isfinite(uvw).all(axis=1)
        if not finite.all():
            log.warning("UVFITS %s (source %d): %d of %d groups have a non-finite UVW (NaN or "
                        "inf): they are flagged, the others imaged", where, sid,
                        int((~finite).sum()), finite.size)  # fmt: skip
            uvw = np.where(finite[:, None], uvw, 0.0)
        common = dict(
            path=os.path.abspath(where), field_id=sid, field_name=name, phasecentre=centre,
            equinox=equinox, native_frame=native, perm=perm, polarisation_frame=target,
            configuration=config, times=lay.times, integration_time=_integration(lay, grp, inttim, where),
            antenna1=lay.antenna1, antenna2=lay.antenna2, rows=rows, b_index=b_index,
            time_starts=time_starts, to_j2000=to_j2000, dtype=np.dtype(np.complex64),
            uvw_max_m=np.abs(uvw).max(axis=0), uv_max_m=float(np.hypot(uvw[:, 0], uvw[:, 1]).max()),
            uv_moments_m2=uv_moments(uvw), nonfinite_uvw_rows=int((~finite).sum()),
        )  # fmt: skip
        for k in if_ids:
            parts.append(
                UVFITSPart(spw_id=k, frequency=freq[k], channel_bandwidth=width[k], **common)
            )
    return parts
