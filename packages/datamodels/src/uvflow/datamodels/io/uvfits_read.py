"""Read UVFITS (AIPS random-groups, AIPS Memo 117) into block-layout Visibility.

This module reads the random groups (visibilities, uvw, times, baselines) and converts
them; the antenna, source and frequency tables are read by
:mod:`uvflow.datamodels.io.uvfits_tables`.

Conventions and how they are converted to uvflow's (the MS's, DESIGN §3)
--------------------------------------------------------------------------
*uvw.* UU, VV, WW are in light-seconds (astropy applies PSCAL/PZERO); × c gives metres.
For a group with BASELINE = 256·a1 + a2 the file's vector is ``XYZ(a1) − XYZ(a2)``: on the
real VLA file 3C273XC1.fits the file's uvw equal *minus* the hour-angle uvw of
``XYZ(a2) − XYZ(a1)`` to 6e-4 of the baseline length (plus sign: 200 %). uvflow's baseline
(a1, a2) is ``XYZ(a2) − XYZ(a1)``, so **uvw = −uvw_file**.

*Phase sign.* The file's model is ``V_file^p(u_file) = Σ_k P_k exp(+2πi u_file·l_k)``
(P the product's Stokes combination, e.g. RL = Q + iU, as uvflow's): a dirty image made
from (uvw_file, V_file) with uvflow's adjoint ``exp(−2πi u·l)`` puts the 3C273 jet's hot
spot at 21″, position angle 221° (its known place, PA ≈ 222°); flipping only one of uvw
or the phase mirrors it to PA 41°. uvflow's model is ``V^p(u) = Σ_k P_k exp(+2πi u·l_k)``
with ``u = −u_file``, so

    V^p(u) = Σ_k P_k exp(−2πi u_file·l_k) = conj(Σ_k conj(P_k) exp(+2πi u_file·l_k))
           = conj(V_file^p̄),

where p̄ is the product whose Stokes combination is conj(P): RR, LL, XX, YY, I, Q, U, V
are their own (real combinations), RL ↔ LR and XY ↔ YX exchange. **So uvw = −uvw_file and
vis = conj(vis_file) with the cross hands exchanged** — the Hermitian transpose of each
2×2 coherency: the file's (a1, a2) row is uvflow's baseline (a2, a1). Both flips together
change no Stokes-I image (the pair (u, V) → (−u, V*) is the same Hermitian sample), but
the baseline direction matters to calibration, and without the exchange of RL and LR the
sign of Stokes U (the polarisation angle) would flip. pyuvdata also flips uvw and
conjugates; AIPS Memo 117 states it as the opposite baseline vector and phase sign.

*Time.* DATE parameters (often two, summed, e.g. integer JD + fraction) are Julian days in
the AN table's TIMSYS (IAT/TAI for old VLA files; UTC if absent), converted to MJD
seconds UTC with astropy.

*Antennas.* From the AN table
(:func:`~uvflow.datamodels.io.uvfits_tables.antenna_configuration`).

*Phase centre and uvw frame.* SU table RAEPO/DECEPO (multi-source files), else the RA/DEC
axes' CRVAL, at the SU EPOCH or the header's EQUINOX/EPOCH (1950 → FK4 B1950; 2000 → J2000,
taken as ICRS; other values → FK5 at that Julian equinox), converted to ICRS. AIPS gives
uvw in the mean frame of that epoch; uvflow's are J2000 (the MS convention), so uvw are
turned by :func:`~uvflow.datamodels.io.uvfits_tables.uvw_to_j2000` (the frame rotation, w kept on the source, u and v turned
by the change of position angle). On 3C273XC1.fits (EPOCH 1950) a rotation about w fitted
between the file's uvw and rigorous uvw from the antennas leaves −6.8″ for B1950, −95″ for
the true frame of date and −128″ for J2000: the file's uvw are B1950, and read back they
match rigorous J2000 uvw to 3e-5 of the baseline (tests/datamodels/test_dm_uvfits_3c273.py,
which also shows that the file's uvw belong to 5 s, half its 10 s averaging, before each
time stamp; the reader leaves that as it is).
"""

from __future__ import annotations

import logging
import os

import numpy as np
from astropy.io import fits
from astropy.time import Time

from ..polarisation import FITS_STOKES_CODES, PolarisationFrame
from ..visibility import SPEED_OF_LIGHT, Visibility
from .uvfits_tables import (
    UVFITSError,
    antenna_configuration,
    channel_frequencies,
    source_directions,
    uvw_to_j2000,
)
from .vis_blocks import (
    block_layout,
    channel_indices,
    frame_from_products,
    normalise_channels,
    put_rows,
    resolve_pol,
)

__all__ = ["read_uvfits"]

log = logging.getLogger(__name__)

_FITS_CODE_TO_PRODUCT = {v: k for k, v in FITS_STOKES_CODES.items()}
_HERMITIAN = {"RL": "LR", "LR": "RL", "XY": "YX", "YX": "XY"}


def _axes(header) -> dict[str, dict]:
    """FITS data axes (2..NAXIS) by CTYPE: numpy axis in the group array, n, crval, cdelt, crpix."""
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


def _param(group_data, names: list[str], prefix: str):
    """Sum of the random parameters whose name starts with ``prefix`` (None if absent)."""
    idx = [
        i for i, n in enumerate(names) if n.upper().startswith(prefix) or n.upper() == "_" + prefix
    ]
    if not idx:
        return None
    return [np.asarray(group_data.par(i), dtype=np.float64) for i in idx]


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


def read_uvfits(
    path,
    field=None,
    spw=None,
    channels=None,
    pol=None,
    include_autocorrelations: bool = False,
    diameter=None,
) -> list[Visibility]:
    """Read a UVFITS file into a list of Visibility, one per source × IF.

    Parameters
    ----------
    path : str or os.PathLike
    field : int, str or list of those, optional
        Source ids (SU table ``ID. NO.``, 1-based; a single-source file has id 1) or names.
    spw : int or list of int, optional
        IF indices (0-based).
    channels : slice or int array, optional
    pol : str or PolarisationFrame, optional
        Convert to this frame; default the file's products in uvflow order (RR LL RL LR →
        circular RR RL LR LL).
    include_autocorrelations : bool
    diameter : float or array, optional
        Dish diameters in metres; default from the AN table, else the known array's.

    Returns
    -------
    list of Visibility
        complex64 ``vis`` converted to MS conventions (module docstring: uvw = −uvw_file
        turned from the file's epoch to J2000, vis = conj(vis_file)), ``weight`` = ``|w|``
        of the COMPLEX axis's third element, flagged where w ≤ 0; time MJD seconds UTC;
        ``meta['uvfits_groups']`` int64 [ntime, nbaseline] the group index of each cell
        (−1 where filled), ``meta['uvfits_equinox']`` the epoch of the file's coordinates.

    Raises
    ------
    UVFITSError
        Not a random-groups UVFITS file, no AN table, unknown source/IF, several subarrays.
    PolarisationError
        ``pol`` cannot be formed from the file's products.
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
        axes = _axes(header)
        config, ant_index, scale = antenna_configuration(hdul["AIPS AN"], header, diameter)
        g = prim.data
        names = [str(n).upper() for n in g.parnames]
        uvw_par = [_param(g, names, p) for p in ("UU", "VV", "WW")]
        if any(p is None for p in uvw_par):
            raise UVFITSError(f"{where!r}: random parameters UU, VV, WW missing (have {names})")
        dates = _param(g, names, "DATE")
        if dates is None:
            raise UVFITSError(f"{where!r}: no DATE random parameter")
        t = Time(dates[0], sum(dates[1:]) if len(dates) > 1 else 0.0, format="jd", scale=scale).utc
        mjd_s = (t.jd1 - 2400000.5) * 86400.0 + t.jd2 * 86400.0
        a1, a2 = _antennas(g, names, ant_index, where)
        src = _param(g, names, "SOURCE")
        src_id = np.rint(src[0]).astype(int) if src is not None else np.ones(len(g), int)
        sources = source_directions(hdul, header, axes)
        freq, width = channel_frequencies(hdul, axes)
        products = [_HERMITIAN.get(p, p) for p in _products(axes["STOKES"])]  # see docstring
        native, perm = frame_from_products(products)
        target = resolve_pol(native, pol, where)
        field_ids = _resolve("source", field, {k: v[0] for k, v in sources.items()}, where)
        if_ids = _resolve("IF", spw, {i: f"IF{i + 1}" for i in range(freq.shape[0])}, where)
        inttim = _param(g, names, "INTTIM")
        # group data as [ngroup, nif, nchan, ncorr, 3]
        order = [0] + [
            1 + axes[k]["axis"] for k in ("IF", "FREQ", "STOKES", "COMPLEX") if k in axes
        ]
        others = [i for i in range(1, g.data.ndim) if i not in order]
        raw = np.transpose(g.data, order + others)[(Ellipsis,) + (0,) * len(others)]
        if "IF" not in axes:
            raw = raw[:, None]
        uvw_file = np.stack([sum(p) for p in uvw_par], axis=-1) * SPEED_OF_LIGHT
        out = []
        for sid in field_ids:
            in_src = np.nonzero(src_id == sid)[0]
            if in_src.size == 0:
                continue
            name, centre, equinox = sources[sid]
            to_j2000 = uvw_to_j2000(centre, equinox)
            lay = block_layout(
                mjd_s[in_src], a1[in_src], a2[in_src], include_autocorrelations, where, UVFITSError
            )
            grp = in_src[lay.rows]
            for k in if_ids:
                chans = normalise_channels(channels, freq.shape[1], where)
                cidx = channel_indices(chans, freq.shape[1])
                shape = (lay.times.size, lay.antenna1.size, cidx.size, target.npol)
                vis, weight = np.zeros(shape, np.complex64), np.zeros(shape, np.float32)
                flags = np.ones(shape, bool)
                d = np.asarray(raw[grp, k][:, cidx], dtype=np.float32)  # [n, nchan, ncorr, 3]
                # weights: 3rd COMPLEX element (absent → 1); flagged where ≤ 0
                w = d[..., 2] if d.shape[-1] > 2 else np.ones(d.shape[:-1], np.float32)
                put_rows(vis, weight, flags, lay.t_index, lay.b_index, (d[..., 0] - 1j * d[..., 1]).astype(np.complex64),
                         np.abs(w), w <= 0, perm, native, target)  # fmt: skip
                uvw = np.zeros(shape[:2] + (3,))
                uvw[lay.t_index, lay.b_index] = -uvw_file[grp] @ to_j2000.T
                groups = np.full(shape[:2], -1, np.int64)
                groups[lay.t_index, lay.b_index] = grp
                out.append(Visibility(
                    vis=vis, weight=weight, flags=flags, uvw=uvw, time=lay.times,
                    integration_time=_integration(lay, grp, inttim),
                    antenna1=lay.antenna1, antenna2=lay.antenna2,
                    frequency=freq[k, cidx], channel_bandwidth=width[k, cidx],
                    phasecentre=centre, polarisation_frame=PolarisationFrame(target),
                    configuration=config, source=name,
                    meta={"uvfits_path": os.path.abspath(where), "uvfits_source": sid, "uvfits_if": k,
                          "uvfits_groups": groups, "uvfits_equinox": equinox},
                ))  # fmt: skip
    if not out:
        raise UVFITSError(f"{where!r}: the selection (field={field!r}, spw={spw!r}) holds no data")
    return out


def _products(stokes_axis: dict) -> list[str]:
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


def _antennas(g, names, ant_index, where):
    """0-based AN-table rows of antenna1/antenna2 of every group."""
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


def _integration(lay, grp, inttim) -> np.ndarray:
    if inttim is not None:
        per = np.zeros(lay.times.size)
        per[lay.t_index] = inttim[0][grp]
        return per
    if lay.times.size > 1:
        dt = np.diff(lay.times)
        return np.full(lay.times.size, float(np.round(np.min(dt[dt > 0.01]), 2)))
    log.warning("UVFITS: one integration and no INTTIM; integration time set to 0")
    return np.zeros(lay.times.size)
