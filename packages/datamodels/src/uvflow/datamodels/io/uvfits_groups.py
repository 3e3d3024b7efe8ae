"""The random groups of a UVFITS file: axes, parameters, products, antennas, and reading
a chunk's groups from the memory-mapped file (:func:`fill_groups`, the body of
:meth:`~uvflow.datamodels.io.uvfits_chunks.UVFITSChunk.load`).

The conventions and their conversion are described in :mod:`uvflow.datamodels.io.uvfits_read`.
Parameters are scaled as astropy scales them (float64, × PSCAL, + PZERO) and the data as
the header's BSCALE/BZERO say, so that a chunk reads exactly what astropy's ``par`` and
``data`` give, from the records as stored: fancy indexing of the memory map copies only the
groups, IF and channels asked for.
"""

from __future__ import annotations

import numpy as np

from ..polarisation import FITS_STOKES_CODES
from ..visibility import SPEED_OF_LIGHT
from .uvfits_tables import UVFITSError
from .vis_blocks import chunk_rows, put_rows

__all__ = [
    "fill_groups",
    "group_antennas",
    "group_axes",
    "parameter_indices",
    "random_parameter",
    "stokes_products",
]

_FITS_CODE_TO_PRODUCT = {v: k for k, v in FITS_STOKES_CODES.items()}


def group_axes(header) -> dict[str, dict]:
    """The data axes (2..NAXIS) of a random-groups header by CTYPE.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The primary header.

    Returns
    -------
    dict of str to dict
        ``axis`` (position in one group's array, shape (NAXISn, ..., NAXIS2)), ``n``,
        ``crval``, ``cdelt``, ``crpix``.

    Raises
    ------
    UVFITSError
        No COMPLEX, STOKES or FREQ axis.
    """
    naxis = header["NAXIS"]
    out = {}
    for k in range(2, naxis + 1):
        ctype = str(header.get(f"CTYPE{k}", "")).strip().split("-")[0]
        out[ctype] = {
            "axis": naxis - k,  # astropy: group data shape (NAXISn, ..., NAXIS2)
            "n": header[f"NAXIS{k}"],
            "crval": float(header.get(f"CRVAL{k}", 0.0)),
            "cdelt": float(header.get(f"CDELT{k}", 1.0)),
            "crpix": float(header.get(f"CRPIX{k}", 1.0)),
        }
    for need in ("COMPLEX", "STOKES", "FREQ"):
        if need not in out:
            raise UVFITSError(f"UVFITS data have no {need} axis (axes: {', '.join(out)})")
    return out


def parameter_indices(names: list[str], prefix: str) -> list[int]:
    """Indices of the random parameters whose (upper-case) name starts with ``prefix``.

    Parameters
    ----------
    names : list of str
        PTYPEs, upper case.
    prefix : str
        E.g. ``'UU'``, ``'DATE'`` (a duplicated name astropy renames ``_DATE`` counts).
    """
    return [i for i, n in enumerate(names) if n.startswith(prefix) or n == "_" + prefix]


def random_parameter(group_data, names: list[str], prefix: str):
    """The random parameters named ``prefix…`` as float64 [ngroup] arrays (None if absent).

    Parameters
    ----------
    group_data : astropy.io.fits.GroupData
    names : list of str
        Its PTYPEs, upper case.
    prefix : str
    """
    idx = parameter_indices(names, prefix)
    if not idx:
        return None
    return [np.asarray(group_data.par(i), dtype=np.float64) for i in idx]


def stokes_products(stokes_axis: dict) -> list[str]:
    """The correlation products along the STOKES axis (FITS codes −1..−8, 1..4).

    Parameters
    ----------
    stokes_axis : dict
        The STOKES entry of :func:`group_axes`.
    """
    codes = [
        int(round(stokes_axis["crval"] + (i + 1 - stokes_axis["crpix"]) * stokes_axis["cdelt"]))
        for i in range(stokes_axis["n"])
    ]
    unknown = [c for c in codes if c not in _FITS_CODE_TO_PRODUCT]
    if unknown:
        raise UVFITSError(
            f"UVFITS STOKES codes {unknown} unknown; known {sorted(_FITS_CODE_TO_PRODUCT)}"
        )
    return [_FITS_CODE_TO_PRODUCT[c] for c in codes]


def group_antennas(g, names: list[str], ant_index: dict[int, int], where: str):
    """0-based AN-table rows of antenna1/antenna2 of every group.

    Parameters
    ----------
    g : astropy.io.fits.GroupData
    names : list of str
        Its PTYPEs, upper case (BASELINE, or ANTENNA1/ANTENNA2 and SUBARRAY).
    ant_index : dict of int to int
        AN row of each antenna number.
    where : str
        For messages.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray) of int64, shape [ngroup]
    """
    if "ANTENNA1" in names and "ANTENNA2" in names:
        n1 = np.rint(g.par(names.index("ANTENNA1"))).astype(int)
        n2 = np.rint(g.par(names.index("ANTENNA2"))).astype(int)
        sub = (
            np.rint(g.par(names.index("SUBARRAY"))).astype(int)
            if "SUBARRAY" in names
            else np.ones_like(n1)
        )
    elif "BASELINE" in names:
        bl = np.asarray(g.par(names.index("BASELINE")), dtype=np.float64)
        ib = np.floor(bl).astype(np.int64)
        sub = np.rint((bl - ib) * 100).astype(int) + 1
        big = ib > 65535  # the 2048 convention for more than 255 antennas
        n1 = np.where(big, (ib - 65536) // 2048, ib // 256)
        n2 = np.where(big, (ib - 65536) % 2048, ib % 256)
    else:
        raise UVFITSError(f"{where!r}: neither BASELINE nor ANTENNA1/ANTENNA2 random parameters")
    if np.unique(sub).size > 1:
        raise UVFITSError(
            f"{where!r}: several subarrays {sorted(set(sub.tolist()))}; uvflow reads one"
        )
    missing = sorted(set(n1.tolist() + n2.tolist()) - set(ant_index))
    if missing:
        raise UVFITSError(f"{where!r}: antennas {missing} are in the data but not in the AN table")
    lookup = np.zeros(max(ant_index) + 1, np.int64)
    for n, i in ant_index.items():
        lookup[n] = i
    return lookup[n1], lookup[n2]


def fill_groups(prim, c, out) -> None:
    """Read ``c.rows`` in group chunks from the memory-mapped primary HDU into ``out``.

    Parameters
    ----------
    prim : astropy.io.fits.GroupsHDU
        Of a file opened with ``memmap=True``: only the groups read are paged in.
    c : UVFITSChunk
        Its ``rows`` (groups, sorted), ``t_index``, ``b_index``, ``spw_id`` (the IF),
        ``channels``, ``perm``, frames and ``to_j2000``.
    out : tuple of numpy.ndarray
        ``vis`` [ntime, nbaseline, nchan, npol] complex64, ``weight`` float32 and
        ``flags`` bool of that shape, ``uvw`` float64 [ntime, nbaseline, 3]; filled in place.
    """
    vis, weight, flags, uvw = out
    header = prim.header
    axes = group_axes(header)
    g = prim.data
    raw = g.view(np.ndarray)  # the records as stored: no scaling, nothing read yet
    names = [str(n).upper() for n in g.parnames]
    fields = raw.dtype.names

    def par(i, grp):  # as astropy scales a parameter: float64, × PSCAL, + PZERO
        value = raw[fields[i]][grp].astype(np.float64)
        return value * float(header.get(f"PSCAL{i + 1}", 1.0)) + float(
            header.get(f"PZERO{i + 1}", 0.0)
        )

    uvw_idx = [parameter_indices(names, p) for p in ("UU", "VV", "WW")]
    bscale, bzero = float(header.get("BSCALE", 1.0)), float(header.get("BZERO", 0.0))
    data = raw["DATA"]  # [ngroup, NAXISn, ..., NAXIS2]
    index, order, offsets, nread = _data_index(axes, data.ndim - 1, c.spw_id, c.channels)
    ncorr = axes["STOKES"]["n"]
    step = chunk_rows(c.rows.size, nread * ncorr * 64, vis.nbytes + weight.nbytes + flags.nbytes)
    for s in range(0, c.rows.size, step):
        grp = c.rows[s : s + step]
        ti, bi = c.t_index[s : s + step], c.b_index[s : s + step]
        d = np.transpose(data[(grp,) + index], order)  # [n, nchan_read, ncorr, ncomplex]
        if offsets is not None:
            d = d[:, offsets]
        if bscale != 1.0 or bzero != 0.0:
            d = d.astype(np.float64) * bscale + bzero
        d = np.asarray(d, dtype=np.float32)
        # weights: 3rd COMPLEX element (absent → 1); flagged where ≤ 0
        w = d[..., 2] if d.shape[-1] > 2 else np.ones(d.shape[:-1], np.float32)
        put_rows(vis, weight, flags, ti, bi, (d[..., 0] - 1j * d[..., 1]).astype(np.complex64),
                 np.abs(w), w <= 0, c.perm, c.native_frame, c.polarisation_frame)  # fmt: skip
        file_uvw = np.stack([sum(par(i, grp) for i in idx) for idx in uvw_idx], axis=-1)
        uvw[ti, bi] = -(file_uvw * SPEED_OF_LIGHT) @ c.to_j2000.T
        del d, w


def _data_index(axes: dict, ndim: int, if_index: int, channels: np.ndarray):
    """How to read one IF's channels of a group array (after the group index).

    Returns (index tuple over one group's axes, transpose order to [n, chan, stokes,
    complex], channel offsets to take after reading or None, channels read).
    """
    first, last = int(channels[0]), int(channels[-1])
    step = int(channels[1] - channels[0]) if channels.size > 1 else 1
    if np.array_equal(channels, np.arange(first, last + 1, step)):
        chan, offsets, nread = slice(first, last + 1, step), None, channels.size
    else:
        chan, offsets, nread = slice(first, last + 1), channels - first, last - first + 1
    index = [0] * ndim
    kept = {}
    for name, a in axes.items():
        if name == "IF":
            index[a["axis"]] = int(if_index)
        elif name in ("FREQ", "STOKES", "COMPLEX"):
            index[a["axis"]] = chan if name == "FREQ" else slice(None)
            kept[name] = a["axis"]
    rank = sorted(kept.values())  # the kept axes follow the group axis in this order
    order = [0] + [1 + rank.index(kept[n]) for n in ("FREQ", "STOKES", "COMPLEX")]
    return tuple(index), order, offsets, nread
