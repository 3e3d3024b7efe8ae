"""Operations on gain tables: products of Jones terms and quality summaries."""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import GainTable

from .errors import CalibrationError
from .gaintable_create import solution_channel_index, solution_time_index

__all__ = ["multiply_gaintables", "qa_gaintable"]


def multiply_gaintables(gt1: GainTable, gt2: GainTable) -> GainTable:
    """The product ``J = G1 @ G2`` of two Jones terms, so ``V = J M J^H = G1 G2 M G2^H G1^H``.

    ``gt2`` is the term nearer the sky (applied to the model first). The two tables may
    have different solution grids: the product is given on the finer grid in time (the
    table with more solution times; ``gt1`` on a tie) and the finer grid in frequency,
    the other table being looked up there as ``apply_gaintable`` would (nearest solution
    in time, the frequency solution containing the channel). A one-receptor (scalar)
    table multiplies every receptor.

    Weights: 0 where either gain has weight 0, otherwise ``1 / (1/w1 + 1/w2)``.
    Residuals: ``sqrt(r1² + r2²)``.

    Parameters
    ----------
    gt1, gt2 : GainTable
        ``gain[ntime, nant, nchan, nrec, nrec]`` with the same antennas.

    Returns
    -------
    GainTable
        ``jones_type`` is the concatenation, e.g. ``'TB'``.
    """
    for name, gt in (("gt1", gt1), ("gt2", gt2)):
        if not isinstance(gt, GainTable):
            raise CalibrationError(f"{name} must be a GainTable, got {type(gt).__name__}")
    if gt1.nants != gt2.nants:
        raise CalibrationError(f"gain tables have {gt1.nants} and {gt2.nants} antennas")
    if gt1.nrec != gt2.nrec and 1 not in (gt1.nrec, gt2.nrec):
        raise CalibrationError(
            f"gain tables have receptors {gt1.receptor_frame.name} and {gt2.receptor_frame.name}"
        )
    if gt1.nrec == gt2.nrec and gt1.receptor_frame != gt2.receptor_frame:
        raise CalibrationError(
            f"gain tables have receptors {gt1.receptor_frame.name} and {gt2.receptor_frame.name}"
        )
    tbase = gt1 if gt1.ntimes >= gt2.ntimes else gt2
    fbase = gt1 if gt1.nchan >= gt2.nchan else gt2
    nrec = max(gt1.nrec, gt2.nrec)

    def on_grid(gt):
        ti = solution_time_index(gt, tbase.time)
        ci = solution_channel_index(gt, fbase.frequency)
        g = gt.gain[ti][:, :, ci]
        w = gt.weight[ti][:, :, ci]
        r = gt.residual[ti][:, ci]
        if gt.nrec == 1 and nrec > 1:
            eye = np.eye(nrec)
            g = g[..., 0:1, 0:1] * eye
            w = np.broadcast_to(w[..., 0:1, 0:1], w.shape[:-2] + (nrec, nrec)) * eye
            r = np.broadcast_to(r[..., 0:1, 0:1], r.shape[:-2] + (nrec, nrec)) * eye
        return g, w, r

    g1, w1, r1 = on_grid(gt1)
    g2, w2, r2 = on_grid(gt2)
    both = (w1 > 0) & (w2 > 0)
    weight = np.where(both, w1 * w2 / np.where(both, w1 + w2, 1.0), 0.0)
    rec = gt1 if gt1.nrec == nrec else gt2
    meta = {"frequency_interval": fbase.meta.get("frequency_interval"), "product_of": (
        gt1.jones_type, gt2.jones_type)}  # fmt: skip
    if meta["frequency_interval"] is None:
        del meta["frequency_interval"]
    return GainTable(
        gain=g1 @ g2,
        weight=weight,
        residual=np.sqrt(r1**2 + r2**2),
        time=tbase.time.copy(),
        interval=tbase.interval.copy(),
        frequency=fbase.frequency.copy(),
        receptor_frame=rec.receptor_frame,
        phasecentre=gt1.phasecentre,
        configuration=gt1.configuration,
        jones_type=gt1.jones_type + gt2.jones_type,
        meta=meta,
    )


def qa_gaintable(gt: GainTable) -> dict:
    """Summary statistics of a gain table (JSON-serialisable).

    Amplitude and phase statistics are over the diagonal gains of valid solutions
    (weight > 0); statistics of an empty selection are None.

    Parameters
    ----------
    gt : GainTable
        ``gain[ntime, nant, nchan, nrec, nrec]`` complex128, ``weight`` float64 of the same
        shape, ``residual[ntime, nchan, nrec, nrec]`` float64.

    Returns
    -------
    dict
        ``jones_type``, ``shape``, ``nsolutions``, ``fraction_valid``, ``amplitude_{min,
        max,mean,median,rms}``, ``phase_rms_deg``, ``phase_max_abs_deg``, ``residual_max``,
        ``residual_mean``, and from ``meta`` when solved: ``converged_fraction``,
        ``iterations_max``, ``iterations_median``.
    """
    if not isinstance(gt, GainTable):
        raise CalibrationError(f"qa_gaintable needs a GainTable, got {type(gt).__name__}")
    d = np.diagonal(gt.gain, axis1=-2, axis2=-1)
    valid = np.diagonal(gt.weight, axis1=-2, axis2=-1) > 0
    amp = np.abs(d[valid])
    phase = np.degrees(np.angle(d[valid]))

    def stat(f, x):
        return float(f(x)) if x.size else None

    out = {
        "jones_type": gt.jones_type,
        "shape": list(gt.gain.shape),
        "nsolutions": int(valid.size),
        "fraction_valid": float(valid.mean()) if valid.size else 0.0,
        "amplitude_min": stat(np.min, amp),
        "amplitude_max": stat(np.max, amp),
        "amplitude_mean": stat(np.mean, amp),
        "amplitude_median": stat(np.median, amp),
        "amplitude_rms": stat(lambda a: np.sqrt(np.mean(a**2)), amp),
        "phase_rms_deg": stat(lambda p: np.sqrt(np.mean(p**2)), phase),
        "phase_max_abs_deg": stat(lambda p: np.max(np.abs(p)), phase),
        "residual_max": float(np.max(gt.residual)) if gt.residual.size else None,
        "residual_mean": float(np.mean(gt.residual)) if gt.residual.size else None,
    }
    if "converged" in gt.meta:
        conv = np.asarray(gt.meta["converged"])
        its = np.asarray(gt.meta["iterations"])
        out["converged_fraction"] = float(conv.mean()) if conv.size else None
        out["iterations_max"] = int(its.max()) if its.size else None
        out["iterations_median"] = float(np.median(its)) if its.size else None
    return out
