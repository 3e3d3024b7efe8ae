"""Write Visibility to a UVFITS file (AIPS random groups, AIPS Memo 117).

:func:`write_uvfits` writes what AIPS FITLD and CASA's importuvfits read, and what
:func:`~uvflow.datamodels.read_uvfits` gives back. Conventions are the reader's, inverted
(its module :mod:`~uvflow.datamodels.io.uvfits_read` gives the reasons):

*uvw and phase.* The file's baseline (a1, a2) is ``XYZ(a1) − XYZ(a2)`` with the opposite
phase sign, so each cell is written as the Hermitian transpose of its coherency:
``uvw_file = −uvw / c`` (UU, VV, WW in seconds) and ``vis_file^p = conj(vis^p̄)`` where p̄
exchanges the cross hands (RL ↔ LR, XY ↔ YX). The phase centres are written as J2000
(EPOCH 2000, the ICRS values: the reader takes them as ICRS), so the J2000 uvw need no
rotation.

*Weights and flags.* The COMPLEX axis holds (real, imaginary, weight); the weight is
``|weight|``, negated where the sample is flagged. A zero weight is a flag in UVFITS: an
unflagged sample of weight 0 is read back flagged.

*Time.* Two DATE parameters, summed by AIPS, CASA and the reader: PZERO of the first is
the Julian date of 0h UTC on the day of the first integration (RDATE, TIMSYS 'UTC'); the
first holds the days since then rounded to a multiple of 2⁻³¹ day (float32, and exact when
added to PZERO in float64), the second the float32 remainder. The sum is exact to ~1e-13
day; read back, times agree to the float64 resolution of MJD seconds (~1 µs). (The
AIPS-written 3C273XC1.fits holds the whole day fraction in its first DATE and 0 in the
second: 2.6 ms resolution.)

*Baselines.* BASELINE = 256·a1 + a2 (1-based antenna numbers, AN NOSTA = index + 1) for up
to 255 antennas; beyond that ANTENNA1, ANTENNA2 and SUBARRAY (CASA reads these; the
BASELINE 2048 form is Miriad's, which CASA does not decode, and AIPS holds at most 255).

*Sources.* One field (distinct source name and phase centre) gives a single-source file as
AIPS SPLIT and CASA exportuvfits write it: OBJECT the name, the RA/DEC axes the phase
centre, no SOURCE parameter or SU table. Several fields give a multi-source file: OBJECT
'MULTI', RA/DEC 0, a SOURCE parameter (1-based SU ``ID. NO.``) and an ``AIPS SU`` table
(fields of one name at different centres differ by QUAL). Groups are in time-baseline
('TB') order, so interleaved scans of several fields are interleaved in the file.

*Frequencies.* One IF: all Visibility share their channels, which must be evenly spaced
(FREQ axis f0 + k·Δf; the ``AIPS FQ`` CH WIDTH is Δf as float32). ``channel_bandwidth`` is
not stored separately: it is read back as |Δf| (a single channel: its bandwidth).

*Other readers* (checked by hand with pip-installed casatasks 6.7.0 and pyuvdata 3.2.8,
which are not uvflow dependencies; AIPS was not run). CASA's importuvfits reads the files
of tests/datamodels/test_dm_uvfits_write.py with their fields, times (exact), frequencies,
antennas (ANTENNA1/ANTENNA2 beyond 255 too), weights and flags; it copies uvw and data as
the file stores them, as for any UVFITS file, so its MS rows are the Hermitian transposes of
uvflow's (the same samples and images). It refuses Stokes data ("Stokes I cannot be
decomposed into proper correlation types"): write correlations (linear, circular, …) for
CASA. pyuvdata reads the same data, uvw and times (to 20 µs, its float64 Julian dates),
with the cross-hand labels exchanged relative to uvflow's (its 'rl' is uvflow's LR).

Cells that carry nothing (all flagged, weight, data and uvw zero: the filled cells of a
Visibility read from a file) are not written, as :func:`~uvflow.datamodels.write_ms`.
The file is built in memory (one float32 copy of the data) and written to a temporary name
beside ``path``, then moved into place (:func:`~uvflow.datamodels.io.atomic_file`).
"""

from __future__ import annotations

import logging
import os

import numpy as np
from astropy.io import fits
from astropy.time import Time

from ..polarisation import FITS_STOKES_CODES
from ..visibility import SPEED_OF_LIGHT, Visibility
from .atomic import atomic_file
from .uvfits_tables import UVFITSError
from .uvfits_write_tables import antenna_table, frequency_table, source_table
from .vis_blocks import chunk_rows

__all__ = ["write_uvfits"]

log = logging.getLogger(__name__)

_HERMITIAN = {"RL": "LR", "LR": "RL", "XY": "YX", "YX": "XY"}
_CODE_TO_PRODUCT = {v: k for k, v in FITS_STOKES_CODES.items()}
MAX_BASELINE_ANTENNAS = 255  # BASELINE = 256·a1 + a2 holds antennas 1..255
_DATE_QUANTUM = 2.0**-31  # day: PZERO (JD 2²¹..2²²) + a multiple of it is exact in float64


def _as_list(vis_list) -> list[Visibility]:
    items = [vis_list] if isinstance(vis_list, Visibility) else list(vis_list)
    if not items or not all(isinstance(v, Visibility) for v in items):
        raise TypeError("expected a Visibility or a non-empty list of Visibility")
    return items


def _check_same(vis_list: list[Visibility]):
    """The common configuration of ``vis_list``; raises on any difference the file cannot hold."""
    v0 = vis_list[0]
    for i, v in enumerate(vis_list):
        c, c0 = v.configuration, v0.configuration
        if c is None:
            raise UVFITSError(f"Visibility {i} has no configuration: the UVFITS AN table needs "
                              "antenna names and positions (set Visibility.configuration)")  # fmt: skip
        if c0 is not None and c is not c0 and (
            c.nants != c0.nants or not np.array_equal(c.names, c0.names)
            or not np.allclose(c.xyz, c0.xyz, rtol=0, atol=1e-6)
        ):  # fmt: skip
            raise UVFITSError(f"Visibility {i} has a different configuration from Visibility 0; "
                              "a UVFITS file holds one array (write separate files)")  # fmt: skip
        if v.frequency.shape != v0.frequency.shape or not (
            np.allclose(v.frequency, v0.frequency, rtol=1e-12, atol=0)
            and np.allclose(v.channel_bandwidth, v0.channel_bandwidth, rtol=1e-12, atol=0)
        ):
            raise UVFITSError(f"Visibility {i} has different frequencies from Visibility 0; a "
                              "UVFITS file written here holds one IF (write separate files)")  # fmt: skip
        if v.polarisation_frame != v0.polarisation_frame:
            raise UVFITSError(
                f"Visibility {i} has polarisation frame {v.polarisation_frame.name}, Visibility "
                f"0 {v0.polarisation_frame.name}; a UVFITS file holds one frame"
            )
    return v0.configuration


def _frequency_axis(freq: np.ndarray, bandwidth: np.ndarray) -> tuple[float, float]:
    """(f0, Δf) of the FREQ axis; Δf signed."""
    if freq.size == 0:
        raise UVFITSError("the Visibility has no channels")
    if freq.size == 1:
        if not bandwidth[0] > 0:
            raise UVFITSError("a single channel needs channel_bandwidth > 0 (the FQ CH WIDTH)")
        return float(freq[0]), float(bandwidth[0])
    df = (freq[-1] - freq[0]) / (freq.size - 1)
    axis = freq[0] + df * np.arange(freq.size)
    if df == 0 or np.max(np.abs(freq - axis)) > 1e-3 * abs(df):
        raise UVFITSError("channels are not evenly spaced; the UVFITS FREQ axis is f0 + k·Δf "
                          "(write each evenly spaced range to its own file)")  # fmt: skip
    if not np.allclose(bandwidth, abs(df), rtol=1e-6, atol=0):
        log.warning("UVFITS: channel_bandwidth (%g Hz) differs from the channel spacing (%g Hz);"
                    " the file stores the spacing", float(bandwidth[0]), abs(df))  # fmt: skip
    return float(freq[0]), float(df)


def _stokes_axis(frame) -> tuple[list[str], float, float]:
    """File products (FITS code order), CRVAL and CDELT of the STOKES axis."""
    codes = sorted((FITS_STOKES_CODES[p] for p in frame.names), key=abs)
    step = codes[1] - codes[0] if len(codes) > 1 else 1
    if any(b - a != step for a, b in zip(codes, codes[1:])):
        raise UVFITSError(f"polarisation frame {frame.name}: codes {codes} are not evenly spaced")
    return [_CODE_TO_PRODUCT[c] for c in codes], float(codes[0]), float(step)


def _fields(vis_list: list[Visibility]):
    """Distinct (name, ICRS centre): (names, quals, ra_deg, dec_deg), field index per Visibility."""
    keys, names, quals, ra, dec, index = {}, [], [], [], [], []
    for v in vis_list:
        c = v.phasecentre.icrs
        key = (v.source, round(float(c.ra.rad), 12), round(float(c.dec.rad), 12))
        if key not in keys:
            keys[key] = len(names)
            quals.append(sum(n == v.source for n in names))
            names.append(v.source)
            ra.append(float(c.ra.wrap_at("360d").deg))
            dec.append(float(c.dec.deg))
        index.append(keys[key])
    if any(quals):
        log.warning("UVFITS: fields of the same name at different phase centres are told apart "
                    "by the SU table's QUAL only")  # fmt: skip
    return names, quals, np.array(ra), np.array(dec), index


def _cells(v: Visibility, total_bytes: int):
    """(time index, baseline index) of the cells that carry data, time-major; and the step."""
    per_time = max(1, v.nbaseline * v.nchan * v.npol * 40)
    step = chunk_rows(max(v.ntime, 1), per_time, total_bytes)
    ti, bi = [], []
    for t0 in range(0, v.ntime, step):
        sl = slice(t0, min(v.ntime, t0 + step))
        empty = (np.all(v.flags[sl], axis=(2, 3)) & np.all(v.weight[sl] == 0, axis=(2, 3))
                 & np.all(v.vis[sl] == 0, axis=(2, 3)) & np.all(v.uvw[sl] == 0, axis=2))  # fmt: skip
        t, b = np.nonzero(~empty)
        ti.append(t + t0)
        bi.append(b)
    return np.concatenate(ti) if ti else np.zeros(0, int), np.concatenate(bi) if bi else np.zeros(0, int), step  # fmt: skip


def _dates(time_s: np.ndarray, day0: float) -> tuple[np.ndarray, np.ndarray]:
    """The two float32 DATE parameters (days since MJD ``day0``) of MJD seconds ``time_s``."""
    days = (time_s - day0 * 86400.0) / 86400.0
    hi = (np.round(days / _DATE_QUANTUM) * _DATE_QUANTUM).astype(np.float32)
    lo = (days - hi.astype(np.float64)).astype(np.float32)
    return hi, lo


def _fill(raw, names, v: Visibility, cells, pos, step, context) -> None:
    """Write the groups of Visibility ``v`` (its cells at file groups ``pos``) into ``raw``."""
    ti, bi = cells
    src = [v.polarisation_frame.names.index(_HERMITIAN.get(p, p)) for p in context["products"]]
    a1, a2 = v.antenna1.astype(np.int64) + 1, v.antenna2.astype(np.int64) + 1
    starts = np.searchsorted(ti, np.arange(0, v.ntime + step, step))
    fields = raw.dtype.names
    for s0, s1 in zip(starts[:-1], starts[1:]):
        if s1 == s0:
            continue
        t, b, g = ti[s0:s1], bi[s0:s1], pos[s0:s1]
        vis = v.vis[t, b][..., src]
        w = np.abs(v.weight[t, b][..., src]).astype(np.float32)
        d = np.empty(vis.shape + (3,), np.float32)
        d[..., 0], d[..., 1] = vis.real, -vis.imag  # conj: the file's phase sign
        d[..., 2] = np.where(v.flags[t, b][..., src], -w, w)
        raw[fields[-1]][g] = d.reshape((d.shape[0], 1, 1, 1) + d.shape[1:])
        uvw = -v.uvw[t, b] / SPEED_OF_LIGHT  # the file's baseline vector, seconds
        hi, lo = _dates(v.time[t], context["day0"])
        values = {"UU---SIN": uvw[:, 0], "VV---SIN": uvw[:, 1], "WW---SIN": uvw[:, 2],
                  "DATE": hi, "_DATE": lo, "BASELINE": 256 * a1[b] + a2[b],
                  "ANTENNA1": a1[b], "ANTENNA2": a2[b], "SUBARRAY": 1,
                  "SOURCE": context["source_id"], "FREQSEL": 1,
                  "INTTIM": v.integration_time[t]}  # fmt: skip
        for field, name in zip(fields[:-1], names):
            raw[field][g] = values["_DATE" if field == "_DATE" else name]


def write_uvfits(vis_list, path, overwrite: bool = False) -> None:
    """Write Visibility to a new UVFITS file (random groups, AIPS AN/FQ[/SU] tables).

    The layout and conventions are in the module notes (:mod:`uvflow.datamodels.io.uvfits_write`):
    float32 data, uvw in seconds with the file's (opposite) baseline vector and phase sign,
    weights negative where flagged, two DATE parameters (~1 µs), one IF, BASELINE or
    ANTENNA1/ANTENNA2, a single-source file for one field and a multi-source file (SOURCE
    parameter, ``AIPS SU`` table) for several. :func:`~uvflow.datamodels.read_uvfits`
    reads it back to float32 precision.

    Parameters
    ----------
    vis_list : Visibility or list of Visibility
        E.g. the scans of a flux calibrator, a phase calibrator and a target, in any order;
        all with the same ``configuration`` (required), ``frequency`` [nchan] and
        ``channel_bandwidth`` [nchan] (evenly spaced channels) and ``polarisation_frame``.
        ``vis`` complex [ntime, nbaseline, nchan, npol], ``weight`` float and ``flags`` bool
        of that shape, ``uvw`` float64 [ntime, nbaseline, 3] metres, ``time`` [ntime] MJD
        seconds (UTC), ``integration_time`` [ntime] seconds.
    path : str or os.PathLike
        The file to write.
    overwrite : bool
        Replace an existing file at ``path``.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    TypeError
        ``vis_list`` is not a Visibility or a non-empty list of them.
    UVFITSError
        A Visibility has no configuration; configurations, frequencies or polarisation
        frames differ; channels are not evenly spaced; a source name does not fit the SU
        table (20 ASCII characters); nothing to write (every cell empty).
    """
    vis_list = _as_list(vis_list)
    if not overwrite and os.path.exists(path):  # before the work; atomic_file checks again
        raise FileExistsError(f"{os.fspath(path)} exists; pass overwrite=True to replace it")
    config = _check_same(vis_list)
    v0 = vis_list[0]
    f0, df = _frequency_axis(v0.frequency, v0.channel_bandwidth)
    products, stokes0, dstokes = _stokes_axis(v0.polarisation_frame)
    names_f, quals, ra, dec, field_of = _fields(vis_list)
    multi = len(names_f) > 1
    if not multi and not names_f[0].isascii():
        raise UVFITSError(f"source name {names_f[0]!r}: FITS OBJECT holds ASCII text only")
    nchan, npol = v0.nchan, v0.npol
    record_bytes = 4 * (12 + 3 * nchan * npol)
    total = sum(v.ntime * v.nbaseline for v in vis_list) * record_bytes
    cells = [_cells(v, total) for v in vis_list]
    n = sum(c[0].size for c in cells)
    if n == 0:
        raise UVFITSError("nothing to write: every (time, baseline) cell is empty")
    # time-baseline order over all Visibility (interleaved scans stay interleaved)
    times = np.concatenate([v.time[c[0]] for v, c in zip(vis_list, cells)])
    bl = np.concatenate(
        [v.antenna1[c[1]] * 65536 + v.antenna2[c[1]] for v, c in zip(vis_list, cells)]
    )
    owner = np.concatenate([np.full(c[0].size, k) for k, c in enumerate(cells)])
    pos = np.empty(n, np.int64)
    pos[np.lexsort((owner, bl, times))] = np.arange(n)
    day0 = float(np.floor(times.min() / 86400.0))
    rdate_jd = day0 + 2400000.5
    del times, bl, owner

    pnames = ["UU---SIN", "VV---SIN", "WW---SIN", "DATE", "DATE"]
    pnames += (
        ["BASELINE"]
        if config.nants <= MAX_BASELINE_ANTENNAS
        else ["ANTENNA1", "ANTENNA2", "SUBARRAY"]
    )
    pnames += (["SOURCE"] if multi else []) + ["FREQSEL", "INTTIM"]
    if config.nants > MAX_BASELINE_ANTENNAS:
        log.warning("UVFITS: %d antennas: written with ANTENNA1/ANTENNA2 (CASA reads them; "
                    "AIPS holds at most 255 antennas)", config.nants)  # fmt: skip
    zero = np.float32(0.0)
    groups = fits.GroupData(np.broadcast_to(zero, (n, 1, 1, 1, nchan, npol, 3)), bitpix=-32,
                            parnames=pnames, pardata=[np.broadcast_to(zero, (n,))] * len(pnames))  # fmt: skip
    raw = groups.view(np.ndarray)  # the records as stored (no scaling)
    start = 0
    for k, (v, (ti, bi, step)) in enumerate(zip(vis_list, cells)):
        context = {"products": products, "day0": day0, "source_id": field_of[k] + 1}
        _fill(raw, pnames, v, (ti, bi), pos[start : start + ti.size], step, context)
        start += ti.size

    hdu = fits.GroupsHDU(groups)
    h = hdu.header
    for i in range(1, len(pnames) + 1):
        h[f"PSCAL{i}"] = 1.0
        h[f"PZERO{i}"] = rdate_jd if i == 4 else 0.0
    centre = (0.0, 0.0) if multi else (ra[0], dec[0])
    for k, (ctype, crval, cdelt) in enumerate(
        [("COMPLEX", 1.0, 1.0), ("STOKES", stokes0, dstokes), ("FREQ", f0, df), ("IF", 1.0, 1.0),
         ("RA", centre[0], 1.0), ("DEC", centre[1], 1.0)], start=2,
    ):  # fmt: skip
        h[f"CTYPE{k}"], h[f"CRVAL{k}"], h[f"CDELT{k}"] = ctype, crval, cdelt
        h[f"CRPIX{k}"], h[f"CROTA{k}"] = 1.0, 0.0
    h["OBJECT"] = "MULTI" if multi else names_f[0]
    h["TELESCOP"] = h["INSTRUME"] = str(config.name)
    h["DATE-OBS"] = (Time(rdate_jd, format="jd", scale="utc").isot[:10], "reference date (UTC)")
    h["BSCALE"], h["BZERO"], h["BUNIT"] = 1.0, 0.0, "UNCALIB"
    h["EPOCH"] = h["EQUINOX"] = 2000.0
    if not multi:
        h["OBSRA"], h["OBSDEC"] = ra[0], dec[0]
    h["SPECSYS"] = "TOPOCENT"
    h["ORIGIN"] = "uvflow.datamodels.write_uvfits"
    h.add_history("AIPS WTSCAL =  1.0")
    h.add_history("AIPS SORT ORDER = 'TB'")
    hdus = [hdu, antenna_table(config, v0.polarisation_frame.name, f0, rdate_jd),
            frequency_table(df, nchan)]  # fmt: skip
    if multi:
        hdus.append(source_table(names_f, quals, ra, dec, nchan * abs(df), rdate_jd))
    with atomic_file(path, overwrite=overwrite) as tmp:
        fits.HDUList(hdus).writeto(tmp)
    log.info("wrote %s: %d groups, %d source(s), %d channels × %d correlations", path, n,
             len(names_f), nchan, npol)  # fmt: skip
