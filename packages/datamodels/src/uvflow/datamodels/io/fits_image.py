"""FITS images: write like the established imagers do, read what they write.

On disk (DESIGN §3): axes RA, DEC, FREQ, STOKES (numpy ``[npol, nchan, ny, nx]``),
CRPIX = N/2 + 1, CDELT1 < 0, BUNIT, BMAJ/BMIN/BPA in degrees when the clean beam is known,
CRVAL3 the first channel's frequency, RADESYS with EQUINOX 2000, ORIGIN and DATE (of
writing), and when given DATE-OBS, TELESCOP, OBJECT and HISTORY cards (what WSClean and
CASA write); STOKES codes 1..4 = I Q U V, −1..−4 = RR LL RL LR,
−5..−8 = XX YY XY YX. Linear and circular planes are stored in FITS code order
(XX YY XY YX, CRVAL −5, CDELT −1) and put back in frame order (XX XY YX YY) on reading,
where the in-memory WCS labels each plane with its own code
(:mod:`uvflow.datamodels.stokes_axis`).
"""

from __future__ import annotations

import logging
import os
import re
import textwrap
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits

from .._validation import DataModelError
from ..image import Image
from ..polarisation import _FRAMES, FITS_STOKES_CODES, PolarisationError, PolarisationFrame
from ..stokes_axis import (
    fits_plane_order,
    label_stokes_axis,
    linear_stokes_axis,
    plane_stokes_codes,
)
from ._wcsheader import float_card, wcs_from_header, wcs_to_header
from .atomic import atomic_file

__all__ = ["export_image_to_fits", "import_image_from_fits"]

log = logging.getLogger(__name__)

_CODE_NAMES = {code: name for name, code in FITS_STOKES_CODES.items()}
_PROVENANCE = ("ORIGIN", "SOFTWARE", "SOFTVERS", "DATE")
_RESERVED = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|BSCALE|BZERO|BLANK|PCOUNT|GCOUNT|WCSAXES|WCSNAME"
    r"|(CTYPE|CRVAL|CDELT|CRPIX|CUNIT|CROTA|CNAME|CRDER|CSYER)\d+|(PC|CD|PV|PS)\d+_\d+"
    r"|LONPOLE|LATPOLE|RADESYS|RADECSYS|EQUINOX|EPOCH|SPECSYS|SSYSOBS|SSYSSRC|VELREF"
    r"|MJDREF[IF]?|MJD-OBS|MJD-AVG|DATE-OBS|DATE-AVG|DATEREF|TIMESYS|RESTFRQ|RESTFREQ|RESTWAV"
    r"|OBSGEO-[XYZ]|BMAJ|BMIN|BPA|BUNIT|ORIGIN|SOFTWARE|SOFTVERS|DATE|HISTORY|COMMENT|)$"
)
_WRITABLE_DTYPES = ("float32", "float64", "int16", "int32", "int64", "uint8")


def _version() -> str:
    from .. import __version__

    return __version__


def _plane_codes(crval: float, cdelt: float, crpix: float, n: int) -> list[int]:
    codes = crval + (np.arange(n) + 1 - crpix) * cdelt
    if not np.allclose(codes, np.round(codes), atol=1e-6):
        raise PolarisationError(f"STOKES axis values {codes.tolist()} are not integer codes")
    return [int(c) for c in np.round(codes)]


def _check_stokes_axis(im: Image) -> None:
    """The image's WCS must still label its planes as its frame says (it may have been
    edited after the Image was made)."""
    names = im.polarisation_frame.names
    have = plane_stokes_codes(im.wcs, im.npol)
    want = [FITS_STOKES_CODES[p] for p in names]
    if not np.array_equal(have, want):
        shown = [int(c) if np.isfinite(c) and c == round(c) else float(c) for c in have]
        raise DataModelError(
            f"the image's STOKES axis gives codes {shown}, which are not the products "
            f"{' '.join(names)} (codes {want}) of its polarisation frame "
            f"{im.polarisation_frame.name}"
        )


def _meta_cards(meta: dict) -> list[fits.Card]:
    cards = []
    for key, value in meta.items():
        k = str(key).upper()
        if _RESERVED.match(k):
            if k != "BUNIT":
                log.warning("meta key %s is a reserved FITS keyword: not written", key)
            continue
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool) or isinstance(value, (int, str)):
            card = fits.Card(f"HIERARCH {k}" if len(k) > 8 else k, value)
        elif isinstance(value, float):
            if not np.isfinite(value):
                log.warning("meta %s=%r is not finite: not written to FITS", key, value)
                continue
            card = float_card(k, value) if len(k) <= 8 else fits.Card(f"HIERARCH {k}", value)
        else:
            log.warning("meta %s of type %s is not a FITS scalar: not written", key, type(value))
            continue
        cards.append(card)
    return cards


def _observation_cards(header: fits.Header, date_obs, telescope, object_name) -> None:
    """EQUINOX next to RADESYS (J2000, as WSClean and CASA write it), DATE-OBS, TELESCOP
    and OBJECT."""
    if header.get("RADESYS") in ("ICRS", "FK5") and "EQUINOX" not in header:
        header.set("EQUINOX", 2000.0, "[yr] equinox of equatorial coordinates", after="RADESYS")
    if date_obs:
        header.remove("MJD-OBS", ignore_missing=True)  # the WCS's, if any: DATE-OBS rules
        header["DATE-OBS"] = (str(date_obs), "UTC of the first integration")
    if telescope:
        header["TELESCOP"] = str(telescope)
    if object_name:
        header["OBJECT"] = str(object_name)


def export_image_to_fits(
    im: Image,
    path: str | os.PathLike,
    bunit: str | None = None,
    *,
    overwrite: bool = True,
    dtype: str | np.dtype | None = None,
    date_obs: str | None = None,
    telescope: str | None = None,
    object_name: str | None = None,
    history: Iterable[str] = (),
) -> Path:
    """Write ``im`` to a FITS file (atomically: a temporary file, then ``os.replace``).

    Parameters
    ----------
    im : Image
        ``data`` float32/float64 (or integer) ``[nchan, npol, ny, nx]``; complex data (uv
        grids) cannot be written to FITS.
    path : str or os.PathLike
    bunit : str, optional
        Brightness unit; default ``im.meta['BUNIT']`` or ``'JY/BEAM'`` (use ``'JY/PIXEL'``
        for model images).
    overwrite : bool
        Replace an existing file.
    dtype : str or numpy.dtype, optional
        The data type on disk (``float32`` for products, as the established imagers write
        them); default the image's.
    date_obs : str, optional
        ``DATE-OBS``: the observation's start (the first integration's time stamp, as WSClean
        and CASA write it), ISO-8601 UTC (``2024-01-01T13:52:26.305``).
    telescope : str, optional
        ``TELESCOP``.
    object_name : str, optional
        ``OBJECT``: the field's name.
    history : iterable of str
        ``HISTORY`` lines (e.g. the command that made the image; long lines are continued
        on further HISTORY cards).

    Returns
    -------
    pathlib.Path
        The file written.

    Notes
    -----
    ``BMAJ``, ``BMIN``, ``BPA`` (degrees) are written when ``im.clean_beam`` is set; products
    without a known beam carry none rather than a made-up one. Scalar ``im.meta`` entries are
    written as header cards (keys upper-cased, ``HIERARCH`` for keys longer than 8 characters);
    ``telescope`` and ``object_name`` replace the meta's TELESCOP and OBJECT.
    """
    if not isinstance(im, Image):
        raise TypeError(f"export_image_to_fits needs an Image, got {type(im).__name__}")
    if im.data.dtype.name not in _WRITABLE_DTYPES:
        raise DataModelError(
            f"cannot write image data of dtype {im.data.dtype} to FITS; allowed: "
            f"{', '.join(_WRITABLE_DTYPES)} (complex uv grids need a zarr checkpoint)"
        )
    out_dtype = im.data.dtype if dtype is None else np.dtype(dtype)
    if out_dtype.name not in _WRITABLE_DTYPES:
        raise DataModelError(
            f"cannot write FITS data as {out_dtype}; allowed: {', '.join(_WRITABLE_DTYPES)}"
        )
    _check_stokes_axis(im)
    order = fits_plane_order(im.polarisation_frame)
    # [nchan, npol, ny, nx] in frame order -> FITS order planes -> numpy [npol, nchan, ny, nx]
    data = np.ascontiguousarray(im.data[:, order].transpose(1, 0, 2, 3), dtype=out_dtype)
    linear = linear_stokes_axis(im.wcs, im.polarisation_frame)  # the FITS order's codes
    header = wcs_to_header(linear.swapaxes(2, 3))  # RA, DEC, FREQ, STOKES
    _observation_cards(header, date_obs, telescope, object_name)
    header["BUNIT"] = bunit or str(im.meta.get("BUNIT", "JY/BEAM"))
    if im.clean_beam is not None:
        for key in ("bmaj", "bmin", "bpa"):
            header.append(float_card(key.upper(), im.clean_beam[key], "[deg] clean beam"))
    header["ORIGIN"] = f"uvflow {_version()}"
    header["SOFTWARE"] = "uvflow"
    header["SOFTVERS"] = _version()
    header["DATE"] = (
        datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "UTC date this file was written",
    )
    given = {k for k, v in (("TELESCOP", telescope), ("OBJECT", object_name)) if v}
    for card in _meta_cards(im.meta):
        if card.keyword not in given:
            header.append(card)
    for line in history:  # at word boundaries, 72 characters a card
        for piece in textwrap.wrap(str(line), 72, break_on_hyphens=False) or [""]:
            header.add_history(piece)
    hdu = fits.PrimaryHDU(data=data, header=header)
    with atomic_file(path, overwrite=overwrite) as tmp:
        hdu.writeto(tmp, output_verify="exception")
    return Path(path)


def _frame_from_codes(codes: list[int]) -> tuple[PolarisationFrame, list[int]]:
    """The frame whose products are the planes' codes, and the plane index of each product."""
    try:
        names = [_CODE_NAMES[c] for c in codes]
    except KeyError as exc:
        raise PolarisationError(
            f"STOKES code {exc.args[0]} is not a polarisation product"
        ) from None
    for frame, products in _FRAMES.items():
        if sorted(products) == sorted(names) and len(products) == len(names):
            return PolarisationFrame(frame), [names.index(p) for p in products]
    raise PolarisationError(
        f"the image planes {' '.join(names)} do not form a polarisation frame; known frames: "
        + "; ".join(f"{k}={' '.join(v)}" for k, v in _FRAMES.items())
    )


def _first_image_hdu(hdul: fits.HDUList, path) -> fits.ImageHDU | fits.PrimaryHDU:
    for hdu in hdul:
        if isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU)) and hdu.header.get("NAXIS", 0) >= 2:
            return hdu
    raise DataModelError(f"{path} has no image HDU with at least two axes")


def import_image_from_fits(path: str | os.PathLike, *, frequency: float | None = None) -> Image:
    """Read a FITS image (any order of the STOKES and FREQ axes; 2- or 3-axis images too).

    Parameters
    ----------
    path : str or os.PathLike
    frequency : float, optional
        Hz, for files without a FREQ axis (default: the header's RESTFRQ, else 1 Hz).

    Returns
    -------
    Image
        ``data`` ``[nchan, npol, ny, nx]`` in native byte order, planes in the frame's order;
        ``meta`` holds BUNIT and the header's other non-structural cards.

    Raises
    ------
    DataModelError
        No celestial axes, non-equatorial celestial axes, or other axes longer than 1.
    """
    with fits.open(path, memmap=False) as hdul:
        hdu = _first_image_hdu(hdul, path)
        header = hdu.header.copy()
        raw = np.asarray(hdu.data)
    wcs = wcs_from_header(header)
    wcs.wcs.set()
    ctypes = [c.upper() for c in wcs.wcs.ctype]
    lng, lat = wcs.wcs.lng, wcs.wcs.lat
    if lng < 0 or lat < 0:
        raise DataModelError(
            f"{path}: no celestial axes (CTYPEs {ctypes}); an image needs RA and DEC axes"
        )
    if not (ctypes[lng].startswith("RA") and ctypes[lat].startswith("DEC")):
        raise DataModelError(
            f"{path}: celestial axes {ctypes[lng]}, {ctypes[lat]} are not RA/DEC; "
            "only equatorial images are supported"
        )
    stokes = next((k for k, c in enumerate(ctypes) if c == "STOKES"), None)
    freq = next((k for k, c in enumerate(ctypes) if c.startswith("FREQ")), None)

    naxis = wcs.naxis
    ndim = raw.ndim
    shape = [raw.shape[ndim - 1 - k] if k < ndim else 1 for k in range(naxis)]
    for k in range(naxis):
        if k not in (lng, lat, stokes, freq) and shape[k] != 1:
            raise DataModelError(
                f"{path}: axis {k + 1} ({ctypes[k] or 'unnamed'}) has length {shape[k]}; "
                "images may have only RA, DEC, STOKES and FREQ axes longer than 1"
            )
    # numpy array with one axis per WCS axis, in FITS order reversed
    full = raw.reshape([shape[k] for k in reversed(range(naxis))])
    np_axis = {k: naxis - 1 - k for k in range(naxis)}
    picks = [freq, stokes, lat, lng]
    arr = np.moveaxis(
        full, [np_axis[k] for k in picks if k is not None], range(4 - picks.count(None))
    )
    arr = arr.reshape(arr.shape[: 4 - picks.count(None)])
    if freq is None:
        arr = arr[None]
    if stokes is None:
        arr = arr[:, None]
    arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)

    w4 = wcs.sub([lng + 1, lat + 1, (stokes + 1) if stokes is not None else 0,
                  (freq + 1) if freq is not None else 0])  # fmt: skip
    if stokes is not None:
        sw = wcs.wcs
        codes = _plane_codes(sw.crval[stokes], sw.cdelt[stokes], sw.crpix[stokes], arr.shape[1])
        frame, index = _frame_from_codes(codes)
        arr = arr[:, index]
    else:
        frame = PolarisationFrame("stokesI")
    w4.wcs.ctype[2] = "STOKES"
    w4.wcs.cunit[2] = ""
    w4.wcs.crval[2], w4.wcs.cdelt[2], w4.wcs.crpix[2] = 1.0, 1.0, 1.0  # set for frame below
    if freq is None:
        f0 = frequency or header.get("RESTFRQ", header.get("RESTFREQ"))
        if f0 is None:
            log.warning("%s has no FREQ axis and no RESTFRQ: frequency set to 1 Hz", path)
            f0 = 1.0
        w4.wcs.ctype[3] = "FREQ"
        w4.wcs.cunit[3] = "Hz"
        w4.wcs.crval[3], w4.wcs.cdelt[3], w4.wcs.crpix[3] = float(f0), 1.0, 1.0
    elif w4.wcs.cunit[3] != "Hz":
        scale = u.Unit(str(w4.wcs.cunit[3]) or "Hz").to(u.Hz)
        w4.wcs.crval[3] *= scale
        w4.wcs.cdelt[3] *= scale
        w4.wcs.cunit[3] = "Hz"

    beam = None
    if "BMAJ" in header and "BMIN" in header:
        beam = {"bmaj": float(header["BMAJ"]), "bmin": float(header["BMIN"]),
                "bpa": float(header.get("BPA", 0.0))}  # fmt: skip
    meta = {}
    if "BUNIT" in header:
        meta["BUNIT"] = header["BUNIT"]
    for card in header.cards:
        if not _RESERVED.match(card.keyword):
            meta[card.keyword] = card.value
    w4.wcs.set()
    return Image(
        data=arr, wcs=label_stokes_axis(w4, frame), polarisation_frame=frame, clean_beam=beam,
        meta=meta,
    )  # fmt: skip
