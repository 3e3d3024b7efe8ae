"""Outputs of ``uvflow image --mode ical`` and of ``--write-model``: gain tables and MS columns.

``<name>-gaintable.zarr`` holds the solved chain as one table (``J = J_1 @ J_2 …`` in
calibration-context order, so that correcting by it equals correcting term by term);
``<name>-NNNN-gaintable.zarr`` per output channel when the windows' tables differ.
MODEL_DATA and CORRECTED_DATA go into the input MeasurementSets with ``write_column``,
per piece as read (so each keeps its MS rows and channels).
"""

from __future__ import annotations

import os

import numpy as np

from uvflow.datamodels import write_column

__all__ = ["write_gaintables", "write_columns"]


def _chain_product(tables: dict, context: str):
    """One table for the whole chain: ``J = J_1 @ J_2 …`` in context order (None if empty)."""
    from uvflow.calibration import multiply_gaintables

    terms = [t for t in context if t in tables]
    if not terms:
        return None
    total = tables[terms[0]]
    for t in terms[1:]:
        total = multiply_gaintables(total, tables[t])
    return total


def write_gaintables(writer, gt_list, context: str) -> None:
    """``<name>-gaintable.zarr`` (one table shared by every window), else one per window."""
    from uvflow.datamodels import write_gaintable_zarr

    tables = [None if g is None else _chain_product(g, context) for g in gt_list]
    if all(t is None for t in tables):
        return
    t0 = tables[0]
    shared = all(
        t is not None and t0 is not None and t.gain.shape == t0.gain.shape
        and np.array_equal(t.gain, t0.gain)
        for t in tables
    )  # fmt: skip
    if shared:
        write_gaintable_zarr(tables[0], writer.temporary("gaintable", None, "zarr"))
        return
    for b, t in enumerate(tables):
        if t is not None:
            write_gaintable_zarr(t, writer.temporary("gaintable", b, "zarr"))


def write_columns(args, windows, models, gt_list, gridding) -> None:
    """MODEL_DATA (the final model at each piece's samples) and CORRECTED_DATA (the data
    corrected by the ICAL gains), written into each input MS with ``write_column``."""
    from uvflow.calibration import apply_calibration_chain
    from uvflow.pipelines.ical import default_ical_controls

    by_ms: dict[str, dict[str, list]] = {}
    for piece, b in zip(windows.pieces, windows.band):
        out = by_ms.setdefault(
            os.fspath(piece.meta["ms_path"]), {"MODEL_DATA": [], "CORRECTED_DATA": []}
        )
        if args.write_model:
            out["MODEL_DATA"].append(gridding.predict(piece, models[b]))
        if args.write_corrected and gt_list is not None and gt_list[b] is not None:
            out["CORRECTED_DATA"].append(apply_calibration_chain(
                piece, gt_list[b], args.calibration_context, default_ical_controls(), args.nmajor))  # fmt: skip
    for path, columns in by_ms.items():
        for column, vs in columns.items():
            if vs:
                write_column(path, vs, column)
