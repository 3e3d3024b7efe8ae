"""Outputs of ``uvflow image --mode ical`` and of ``--write-model``: gain tables and MS columns.

``<name>-gaintable.zarr`` holds the solved chain as one table (``J = J_1 @ J_2 …`` in
calibration-context order, so that correcting by it equals correcting term by term);
``<name>-NNNN-gaintable.zarr`` per output channel when the windows' tables differ.
MODEL_DATA and CORRECTED_DATA go into the input MeasurementSets chunk by chunk, each chunk
by a task that reads it (its MS rows and channels) and writes it under the table's lock,
into staged copies of the columns that replace them only when every chunk is written
(:func:`uvflow.datamodels.io.ms_staging.staged_columns`): an error, Ctrl-C, SIGTERM or a
full disk leaves the MeasurementSets as they were.
"""

from __future__ import annotations

import numpy as np

from uvflow.datamodels import MeasurementSetError, load_visibility
from uvflow.datamodels.io import write_rows
from uvflow.datamodels.io.ms_staging import check_column_space, staged_columns
from uvflow.execution import rsexecute, table_lock

from .errors import CLIError

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


def _same(value):
    return value


def _model_rows(chunk, model, gridding, column: str) -> int:
    """Predict ``model`` at a chunk's samples and write them into ``column`` (a task)."""
    vis = load_visibility(chunk)
    pred = gridding.predict(vis, model)
    with table_lock(pred.meta["ms_path"]):
        write_rows(pred.meta["ms_path"], pred, column)
    return int(pred.nvis)


def _corrected_rows(chunk, tables, calibration, iteration: int, column: str) -> int:
    """Correct a chunk's data by the gain tables and write them into ``column`` (a task)."""
    from uvflow.calibration.chain import apply_chain

    vis = apply_chain(load_visibility(chunk), tables, calibration, iteration)
    with table_lock(vis.meta["ms_path"]):
        write_rows(vis.meta["ms_path"], vis, column)
    return int(vis.nvis)


def columns_to_write(args) -> list[str]:
    """The MS columns this run will write (``-predict``, ``--write-model``,
    ``--write-corrected``), for the early free-space check."""
    if getattr(args, "predict", False):
        return ["MODEL_DATA"]
    return (["MODEL_DATA"] if args.write_model else []) + (
        ["CORRECTED_DATA"] if args.write_corrected else []
    )


def check_space_for_columns(args, paths) -> None:
    """Refuse, before any imaging, a column write that an MS's file system has no room
    for (the write checks again when it starts).

    Raises
    ------
    CLIError
        One line naming the MS, the MiB needed and the MiB available.
    """
    columns = columns_to_write(args)
    for path in paths if columns else ():
        try:
            check_column_space(path, columns)
        except MeasurementSetError as exc:
            raise CLIError(str(exc)) from None


def write_columns(args, windows, models, gt_list, gridding, model_only: bool = False) -> int:
    """MODEL_DATA (the final model at each chunk's samples) and CORRECTED_DATA (the data
    corrected by the ICAL gains) written into the input MeasurementSets.

    Each chunk is read, predicted or corrected, and written by a task of its own (its own
    table handle); the writes of one table are serialised by a lock on its path
    (:func:`uvflow.execution.table_lock`). The tasks write into staging copies of the
    columns, made first, here; the copies replace the columns after the last task, so
    the MeasurementSets end either as they were or fully written.

    ``model_only`` (``-predict``): MODEL_DATA only, whatever the other options say.

    Returns
    -------
    int
        Samples written.
    """
    from uvflow.calibration import CalibrationSettings
    from uvflow.pipelines.ical import default_ical_controls

    write_model = args.write_model or model_only
    columns = (["MODEL_DATA"] if write_model else []) + (
        ["CORRECTED_DATA"] if args.write_corrected and gt_list is not None and not model_only
        else []
    )  # fmt: skip
    paths = sorted({c.path for band in windows.sources for c in band})
    calibration = CalibrationSettings.create(args.calibration_context, default_ical_controls())
    with staged_columns(paths, columns) as staged:
        tasks = []
        for b, band in enumerate(windows.sources):
            # one graph node per band's model and tables, not a copy in every chunk's task
            model = rsexecute.execute(_same)(models[b]) if write_model else None
            tables = rsexecute.execute(_same)(gt_list[b]) if "CORRECTED_DATA" in columns else None
            for chunk in band:
                stage = staged[chunk.path]
                if write_model:
                    tasks.append(rsexecute.execute(_model_rows)(
                        chunk, model, gridding, stage["MODEL_DATA"]))  # fmt: skip
                if "CORRECTED_DATA" in columns and gt_list[b] is not None:
                    tasks.append(rsexecute.execute(_corrected_rows)(
                        chunk, tables, calibration, args.nmajor, stage["CORRECTED_DATA"]))  # fmt: skip
        return int(sum(rsexecute.compute(tasks, sync=True)))
