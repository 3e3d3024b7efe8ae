"""FITS header cards that carry floats at full precision (shortest round-trip repr).

``astropy.wcs.WCS.to_header`` writes about 12 significant digits; astropy's ``Card`` keeps
at most 20 characters. A FITS free-format real may use columns 11–80, so cards built from
the exact ``repr`` text give bit-exact round trips through files and header strings.
"""

from __future__ import annotations

import logging
import math
import re
import warnings

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

__all__ = ["float_card", "set_float", "wcs_to_header", "wcs_from_header"]

log = logging.getLogger(__name__)

_INDEXED = re.compile(r"^(CRVAL|CDELT|CRPIX)(\d+)$")
_MATRIX = re.compile(r"^(PC|CD)(\d+)_(\d+)$")


def float_card(key: str, value: float, comment: str = "") -> fits.Card:
    """A card whose value is ``value`` exactly (``repr`` text, free format if > 20 characters)."""
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"FITS header value {key}={v} is not finite")
    text = repr(v).upper()
    if len(text) <= 20:
        return fits.Card(key, v, comment)
    image = f"{key:<8}= {text:>20}"
    if comment:
        image += f" / {comment}"
    return fits.Card.fromstring(image[:80].ljust(80))


def set_float(header: fits.Header, key: str, value: float, comment: str | None = None) -> None:
    """Set ``header[key]`` to ``value`` at full precision, keeping the card's place and comment."""
    if comment is None:
        comment = header.comments[key] if key in header else ""
    card = float_card(key, value, comment)
    if key in header:
        header.set(key, card.value, comment)  # keeps the position
        idx = header.index(key)
        del header[idx]
        header.insert(idx, card)
    else:
        header.append(card)


def wcs_to_header(wcs: WCS) -> fits.Header:
    """``wcs.to_header()`` with every numeric WCS value rewritten at full precision."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        header = wcs.to_header()
    w = wcs.wcs
    pc = w.get_pc() if not w.has_cd() else None
    for key in list(header.keys()):
        m = _INDEXED.match(key)
        if m:
            i = int(m.group(2)) - 1
            value = {"CRVAL": w.crval, "CDELT": w.cdelt, "CRPIX": w.crpix}[m.group(1)][i]
            set_float(header, key, value)
            continue
        m = _MATRIX.match(key)
        if m:
            i, j = int(m.group(2)) - 1, int(m.group(3)) - 1
            mat = pc if m.group(1) == "PC" else w.cd
            if mat is not None:
                set_float(header, key, mat[i, j])
            continue
        attr = {"LONPOLE": "lonpole", "LATPOLE": "latpole", "RESTFRQ": "restfrq",
                "RESTWAV": "restwav", "EQUINOX": "equinox"}.get(key)  # fmt: skip
        if attr is not None and np.isfinite(getattr(w, attr)):
            set_float(header, key, getattr(w, attr))
    return header


def wcs_from_header(header: fits.Header) -> WCS:
    """A WCS from a header, logging (not warning about) the fixes astropy applies."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FITSFixedWarning)
        w = WCS(header)
    for c in caught:
        log.debug("WCS from header: %s", c.message)
    return w
