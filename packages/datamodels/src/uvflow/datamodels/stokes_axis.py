"""The STOKES axis of an Image's WCS: which polarisation product each plane holds.

An Image's planes are in its polarisation frame's order (``linear``: XX XY YX YY). Their
FITS STOKES codes (−5 −7 −8 −6; ``circular`` RR RL LR LL: −1 −3 −4 −2) are not an
arithmetic sequence, so no linear FITS axis labels them in that order. In memory such an
axis is a lookup table (the FITS ``-TAB`` algorithm, which wcslib evaluates) giving each
plane its own code; its CTYPE is ``'STOK-TAB'`` because wcslib reads the ``-TAB`` code only
in the 4-3 form (``'STOKES-TAB'`` is not recognised). Frames whose codes are arithmetic
(stokesI, stokesIQUV, stokesIQ, stokesIV, linearnp, circularnp) keep a linear ``'STOKES'``
axis. Either way ``wcs.pixel_to_world_values(..., plane, ...)`` gives the FITS code of
``polarisation_frame.names[plane]``.

Files (FITS, and the FITS headers stored by the zarr and xarray serialisations) hold a
linear STOKES axis in FITS code order (:func:`stokes_axis_codes`) with the planes
reordered to it (:func:`fits_plane_order`); readers put the planes back in frame order.
"""

from __future__ import annotations

import warnings

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from .polarisation import FITS_STOKES_CODES, PolarisationFrame

__all__ = [
    "STOKES_TAB_CTYPE",
    "stokes_axis_codes",
    "fits_plane_order",
    "plane_stokes_codes",
    "label_stokes_axis",
    "linear_stokes_axis",
]


#: CTYPE of an in-memory lookup-table STOKES axis (frames with non-arithmetic codes).
STOKES_TAB_CTYPE = "STOK-TAB"
_AXIS = 2  # 0-based WCS axis of STOKES in an Image (RA, DEC, STOKES, FREQ)
_TAB_KEYS = ("PS3_0", "PS3_1", "PS3_2", "PV3_1", "PV3_2", "PV3_3", "CUNIT3")


def _codes(frame: PolarisationFrame) -> list[int]:
    return [FITS_STOKES_CODES[p] for p in PolarisationFrame(frame).names]


def _arithmetic(codes: list[int]) -> bool:
    return len(codes) == 1 or len(set(np.diff(codes).tolist())) == 1


def stokes_axis_codes(frame: PolarisationFrame | str) -> tuple[float, float]:
    """CRVAL and CDELT of a linear FITS STOKES axis holding ``frame``'s products.

    Arithmetic code sequences keep the frame's order; ``linear`` and ``circular`` get their
    first product's code and a step of −1, i.e. the FITS order XX YY XY YX (RR LL RL LR), in
    which files store their planes (:func:`fits_plane_order`).

    Parameters
    ----------
    frame : PolarisationFrame or str

    Returns
    -------
    (crval, cdelt) : float
        For CRPIX = 1.
    """
    codes = _codes(frame)
    if len(codes) == 1:
        return float(codes[0]), 1.0
    if _arithmetic(codes):
        return float(codes[0]), float(codes[1] - codes[0])
    return float(codes[0]), -1.0


def fits_plane_order(frame: PolarisationFrame | str) -> list[int]:
    """Indices of ``frame``'s planes in the order of the FITS axis :func:`stokes_axis_codes`.

    Parameters
    ----------
    frame : PolarisationFrame or str

    Returns
    -------
    list of int, length npol
        ``data_in_file_order = data[:, fits_plane_order(frame)]``; the identity for frames
        whose codes are arithmetic, ``[0, 3, 1, 2]`` for linear (XX YY XY YX) and circular.
    """
    codes = _codes(frame)
    crval, cdelt = stokes_axis_codes(frame)
    return [codes.index(int(round(crval + k * cdelt))) for k in range(len(codes))]


def plane_stokes_codes(wcs: WCS, npol: int) -> np.ndarray:
    """The STOKES world value of each of ``npol`` planes, float64 [npol] (NaN if undefined).

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        An Image's four-axis WCS (RA, DEC, STOKES, FREQ).
    npol : int
    """
    w = wcs.wcs
    if str(w.ctype[_AXIS]).upper() == STOKES_TAB_CTYPE:  # indices off the table give NaN
        return np.asarray(wcs.sub([_AXIS + 1]).pixel_to_world_values(np.arange(npol)), float)
    scale = w.cd[_AXIS, _AXIS] if w.has_cd() else w.cdelt[_AXIS] * w.get_pc()[_AXIS, _AXIS]
    return w.crval[_AXIS] + (np.arange(npol) + 1 - w.crpix[_AXIS]) * scale


def _header_without_stokes(wcs: WCS) -> fits.Header:
    from .io._wcsheader import wcs_to_header  # (io imports this module's users)

    header = wcs_to_header(wcs)
    for key in _TAB_KEYS:
        header.remove(key, ignore_missing=True)
    return header


def _from_header(header: fits.Header, fobj=None) -> WCS:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(header, fobj=fobj)


def linear_stokes_axis(wcs: WCS, frame: PolarisationFrame | str) -> WCS:
    """A copy of ``wcs`` whose STOKES axis is linear, holding ``frame``'s products in the
    FITS code order of :func:`stokes_axis_codes` (what a FITS header can say).

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        An Image's four-axis WCS (RA, DEC, STOKES or STOK-TAB, FREQ).
    frame : PolarisationFrame or str

    Returns
    -------
    astropy.wcs.WCS
        The other axes unchanged (bit-exact). Use with :func:`fits_plane_order` to write
        planes; for frames with arithmetic codes this is the in-memory labelling itself.
    """
    crval, cdelt = stokes_axis_codes(frame)
    if str(wcs.wcs.ctype[_AXIS]).upper() == STOKES_TAB_CTYPE:
        header = _header_without_stokes(wcs)
        header["CTYPE3"] = "STOKES"
        out = _from_header(header)
        for name in ("crval", "cdelt", "crpix"):  # exact, whatever the header text said
            arr = np.array(getattr(out.wcs, name))
            src = np.array(getattr(wcs.wcs, name))
            arr[[0, 1, 3]] = src[[0, 1, 3]]
            setattr(out.wcs, name, arr)
    else:
        out = wcs.deepcopy()
        out.wcs.ctype[_AXIS] = "STOKES"
    out.wcs.cunit[_AXIS] = ""
    out.wcs.crval[_AXIS], out.wcs.cdelt[_AXIS], out.wcs.crpix[_AXIS] = crval, cdelt, 1.0
    out.wcs.set()
    return out


def label_stokes_axis(wcs: WCS, frame: PolarisationFrame | str) -> WCS:
    """``wcs`` with a STOKES axis giving plane k the FITS code of ``frame.names[k]``.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        An Image's four-axis WCS (RA, DEC, STOKES or STOK-TAB, FREQ); not changed.
    frame : PolarisationFrame or str

    Returns
    -------
    astropy.wcs.WCS
        ``wcs`` itself when it already labels the planes so, else a copy (other axes
        bit-exact): a linear axis when the codes are arithmetic, a lookup table
        (``'STOK-TAB'``) otherwise.
    """
    frame = PolarisationFrame(frame)
    codes = _codes(frame)
    have = plane_stokes_codes(wcs, len(codes))
    if np.array_equal(have, np.asarray(codes, float)):
        return wcs
    if _arithmetic(codes):
        return linear_stokes_axis(wcs, frame)
    header = _header_without_stokes(wcs)
    header["CTYPE3"] = STOKES_TAB_CTYPE
    header["CRVAL3"], header["CDELT3"], header["CRPIX3"] = 1.0, 1.0, 1.0
    header["PS3_0"] = ("WCS-TAB", "table of the planes' STOKES codes")
    header["PS3_1"] = ("COORDS", "column holding the codes")
    header["PV3_3"] = (1, "axis of the coordinate array")
    column = fits.Column(
        name="COORDS", format=f"{len(codes)}D", dim=f"(1,{len(codes)})",
        array=np.asarray(codes, float).reshape(1, len(codes), 1),
    )  # fmt: skip
    table = fits.BinTableHDU.from_columns([column], name="WCS-TAB")
    out = _from_header(header, fobj=fits.HDUList([fits.PrimaryHDU(), table]))
    for name in ("crval", "cdelt", "crpix"):
        arr = np.array(getattr(out.wcs, name))
        src = np.array(getattr(wcs.wcs, name))
        arr[[0, 1, 3]] = src[[0, 1, 3]]
        setattr(out.wcs, name, arr)
    out.wcs.set()
    return out
