"""Quality-assessment statistics of visibilities and images, as JSON-able dicts.

Pipelines put these in ``<name>-report.json`` and tests compare them; every value is a
plain Python ``int``, ``float``, ``str`` or list.
"""

from __future__ import annotations

import numpy as np

from .image import Image
from .visibility import Visibility

__all__ = ["qa_visibility", "qa_image"]


def _nan() -> float:
    return float("nan")


def qa_visibility(vis: Visibility, context: str = "") -> dict:
    """Statistics of the unflagged visibilities.

    Parameters
    ----------
    vis : Visibility
    context : str
        A label stored under ``'context'`` (e.g. ``'residual after cycle 2'``).

    Returns
    -------
    dict
        ``maxabs``, ``minabs``, ``rms`` (sqrt of mean ``|V|²``), ``medianabs``, ``sum_real``,
        ``sum_imag`` over unflagged samples (NaN when everything is flagged); ``sumwt``
        (unflagged weights), ``nvis`` (all samples), ``nflagged``, ``flagged_fraction``,
        ``ntime``, ``nbaseline``, ``nchan``, ``npol``, ``polarisation_frame``,
        ``frequency_min``/``frequency_max`` (Hz) and ``context``.
    """
    good = ~vis.flags
    v = vis.vis[good]
    amp = np.abs(v)
    nvis = int(vis.vis.size)
    nflagged = int(nvis - amp.size)
    any_good = amp.size > 0
    return {
        "context": context,
        "maxabs": float(amp.max()) if any_good else _nan(),
        "minabs": float(amp.min()) if any_good else _nan(),
        "rms": float(np.sqrt(np.mean(amp**2))) if any_good else _nan(),
        "medianabs": float(np.median(amp)) if any_good else _nan(),
        "sum_real": float(v.real.sum()) if any_good else _nan(),
        "sum_imag": float(v.imag.sum()) if any_good else _nan(),
        "sumwt": float(vis.weight[good].sum()),
        "nvis": nvis,
        "nflagged": nflagged,
        "flagged_fraction": nflagged / nvis if nvis else 0.0,
        "ntime": vis.ntime,
        "nbaseline": vis.nbaseline,
        "nchan": vis.nchan,
        "npol": vis.npol,
        "polarisation_frame": vis.polarisation_frame.name,
        "frequency_min": float(vis.frequency.min()) if vis.nchan else _nan(),
        "frequency_max": float(vis.frequency.max()) if vis.nchan else _nan(),
    }


def qa_image(im: Image, context: str = "") -> dict:
    """Statistics of an image's finite pixels (NaN pixels are counted, not used).

    Parameters
    ----------
    im : Image
        Real data; for complex data (uv grids) the statistics are of the real part except
        ``maxabs``/``medianabs``/``rms``, which use the modulus.
    context : str

    Returns
    -------
    dict
        ``max``, ``min``, ``maxabs``, ``rms`` (sqrt of mean square), ``sum``, ``mean``,
        ``std``, ``medianabs``, ``npixels`` (all values), ``nnan``, ``argmax`` and ``argmaxabs``
        (``[chan, pol, y, x]`` of the first maximum), ``shape``, ``polarisation_frame``,
        ``frequency`` (list, Hz) and ``context``.
    """
    d = im.data
    finite = np.isfinite(d)
    nnan = int(d.size - np.count_nonzero(finite))
    real = d.real if np.iscomplexobj(d) else d
    amp = np.abs(d)
    if nnan:
        real = np.where(finite, real, np.nan)
        amp = np.where(finite, amp, np.nan)
    ok = d.size > nnan

    def pos(arr: np.ndarray) -> list[int]:
        return [int(i) for i in np.unravel_index(int(np.nanargmax(arr)), arr.shape)]

    return {
        "context": context,
        "max": float(np.nanmax(real)) if ok else _nan(),
        "min": float(np.nanmin(real)) if ok else _nan(),
        "maxabs": float(np.nanmax(amp)) if ok else _nan(),
        "rms": float(np.sqrt(np.nanmean(amp**2))) if ok else _nan(),
        "sum": float(np.nansum(real)) if ok else _nan(),
        "mean": float(np.nanmean(real)) if ok else _nan(),
        "std": float(np.nanstd(real)) if ok else _nan(),
        "medianabs": float(np.nanmedian(amp)) if ok else _nan(),
        "npixels": int(d.size),
        "nnan": nnan,
        "argmax": pos(real) if ok else [],
        "argmaxabs": pos(amp) if ok else [],
        "shape": [int(s) for s in d.shape],
        "polarisation_frame": im.polarisation_frame.name,
        "frequency": [float(f) for f in im.frequency],
    }
