"""The data of ``uvflow image``: indexed in the client, read in the tasks, chunked to fit.

The client reads metadata only: each input's subtables and row index
(:func:`uvflow.datamodels.io.ms_index`, :func:`~uvflow.datamodels.io.uvfits_index`), never
a visibility. From it, it makes the image templates (the default cell and size from the uv
extent and the dishes), assigns every input's channels to the output bands
(``--channels-out``), and cuts each band's data into chunks whose largest task fits the
memory limit (:mod:`.image_memory`). Each chunk is a visibility source
(:mod:`uvflow.datamodels.sources`), a small recipe that reads its rows and channels in the
task that needs them, with its own table handle. Then:

- *resident*: when the chunks fit in the workers' memory (a share of it), one read task per
  chunk loads it and the pipelines keep the result there between major cycles; a lost
  worker's chunks are read again by their tasks (nothing is scattered);
- *streaming*: otherwise the chunks themselves go to the tasks, and every task that needs a
  chunk reads (and weights, and calibrates) it; nothing the size of the data lives between
  tasks, so memory stays flat whatever the data size. Serial runs stream the same way.

The choice is logged and reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from uvflow.calibration import correct_with_solutions
from uvflow.datamodels import (
    Image,
    convert_visibility_polarisation,
    create_image,
    derive,
    load_visibility,
)
from uvflow.datamodels.io import ms_index, uvfits_index
from uvflow.datamodels.io.vis_parts import uv_rank
from uvflow.execution import rsexecute
from uvflow.imaging import create_image_from_visibility

from .errors import CLIError
from .image_memory import MemoryBudget, check_images, chunk_piece

__all__ = ["Windows", "Piece", "index_inputs", "check_sampling", "plan_windows"]

log = logging.getLogger(__name__)

#: share of the workers' memory (above their baseline) the resident chunks may take
RESIDENT_SHARE = 0.3


@dataclass
class Piece:
    """The channels of one indexed part (an input's field × spectral window) in one band."""

    part: object  # MSPart or UVFITSPart
    channels: np.ndarray  # int64, indices into the part's channels
    band: int
    times: np.ndarray | None = None  # int64 indices into the part's integrations (None: all)


@dataclass
class Windows:
    """What ``uvflow image`` images: per output band its chunks, and the image templates."""

    vis: list  # per band: the chunk nodes given to the pipelines (read tasks or sources)
    sources: list  # per band: the chunk sources (provenance: MS rows, for write-back)
    templates: list[Image]  # per band
    mfs_template: Image
    resident: bool = True
    report: dict = field(default_factory=dict)


def _read_frame(args, opts):
    """The frame chunks are read in: the image's, or the data's own when solutions are
    applied first (gains act on receptors: :func:`corrected_in_frame` converts after)."""
    return None if getattr(args, "apply_solutions", None) else opts["frame"]


def corrected_in_frame(vis, tables: list, frame):
    """``vis`` corrected by ``tables`` (:func:`uvflow.calibration.correct_with_solutions`),
    then converted to the image's polarisation ``frame``: a task's kernel."""
    return convert_visibility_polarisation(correct_with_solutions(vis, tables), frame)


def read_solutions(path, configuration) -> list:
    """The gain tables of an H5parm (its only solution set, or ``sol000``), mapped onto
    the data's antennas by name, in file order; a CLIError says what is wrong."""
    from uvflow.calibration import H5parmError, read_h5parm

    try:
        try:
            tables = read_h5parm(path, configuration=configuration)
        except H5parmError as exc:
            if "solset" not in str(exc):
                raise
            tables = read_h5parm(path, solset="sol000", configuration=configuration)
    except (H5parmError, FileNotFoundError) as exc:
        raise CLIError(f"--apply-solutions: {exc}") from None
    log.info("--apply-solutions %s: %s", path, ", ".join(tables))
    return list(tables.values())


def index_inputs(args, opts) -> list:
    """Every input's parts (one per field × spectral window), in input order.

    Raises
    ------
    CLIError
        No input holds cross-correlations in the selection (the message says why: no
        rows, autocorrelations only, or the ``--field`` / ``--spw`` selection), the data
        cannot make an image (:func:`check_sampling`), or the inputs hold several fields.
    """
    parts, empty = [], []
    for path, kind in zip(args.inputs, opts["kinds"]):
        if kind == "ms":
            found = ms_index(path, datacolumn=args.datacolumn, field=opts["field"],
                             spw=opts["spw"], pol=_read_frame(args, opts))  # fmt: skip
        else:
            if args.datacolumn != "DATA":
                raise CLIError(f"--datacolumn applies to MeasurementSets, not to {path}")
            found = uvfits_index(path, field=opts["field"], spw=opts["spw"],
                                 pol=_read_frame(args, opts))  # fmt: skip
        if not found:
            empty.append(_why_empty(path, kind, opts))
        parts += found
    if not parts:
        raise CLIError("; ".join(empty))
    for reason in empty:  # the other inputs are imaged
        log.warning("%s: nothing of it is imaged", reason)
    check_sampling(parts)
    pc = parts[0].phasecentre
    for p in parts[1:]:
        if p.phasecentre.separation(pc).deg > 1e-9:
            raise CLIError(
                "the inputs hold several fields (phase centres differ): choose one with --field"
            )
    return parts


def _why_empty(path, kind: str, opts) -> str:
    """Why an input gave no part: no rows, autocorrelations only, or the selection."""
    selection = " (--field/--spw)" if opts["field"] is not None or opts["spw"] is not None else ""
    if kind != "ms":
        return (f"{path} has no cross-correlation (baseline) data in the selected sources and "
                f"IFs{selection}: only autocorrelations, or none")  # fmt: skip
    from uvflow.datamodels.io.ms_tables import open_table

    with open_table(str(path)) as table:
        a1, a2 = table.getcol("ANTENNA1"), table.getcol("ANTENNA2")
    if a1.size == 0:
        return f"{path} has no rows: no data to image"
    if np.all(a1 == a2):
        return (f"{path} holds only autocorrelations (all {a1.size} rows have ANTENNA1 == "
                "ANTENNA2): an image needs cross-correlations (baselines of two antennas)")  # fmt: skip
    return f"the selection{selection} of {path} holds no cross-correlation rows"


def check_sampling(parts: list) -> None:
    """Refuse data whose uv sampling cannot make the products asked for.

    - every (u, v) on one line through the origin (one row, one baseline at one time, a
      snapshot of a linear array): the PSF is a ridge, constant along a direction, with
      no peak to fit a beam to;
    - one baseline: its PSF is a fringe pattern whose sidelobes reach its peak, so no
      restoring beam can be fitted to it (every mode writes one) and the minor cycle
      could not tell a source from its sidelobes. Two baselines are enough.

    Raises
    ------
    CLIError
        Naming the inputs and their rows, baselines and integrations.
    """
    paths = ", ".join(sorted({str(p.path) for p in parts}))
    baselines = {(int(a), int(b)) for p in parts for a, b in zip(p.antenna1, p.antenna2)}
    nrow = sum(p.nrow for p in parts)
    ntime = len({float(t) for p in parts for t in p.times})
    what = (f"{nrow} row(s), {len(baselines)} baseline(s), {ntime} integration(s) "
            "selected")  # fmt: skip
    moments = [p.uv_moments_m2 for p in parts if getattr(p, "uv_moments_m2", None) is not None]
    rank = uv_rank(np.sum(moments, axis=0)) if len(moments) == len(parts) else 2
    if rank == 0:
        raise CLIError(f"{paths}: every baseline has u = v = 0 ({what}): there is no uv "
                       "coverage to make an image from")  # fmt: skip
    if rank == 1:
        raise CLIError(f"{paths}: every (u, v) sample lies on one line through the origin "
                       f"({what}): the PSF is a ridge with no peak, so no image can be made; "
                       "give data of more baselines or integrations")  # fmt: skip
    if len(baselines) == 1:
        ((a, b),) = baselines
        raise CLIError(f"{paths}: one baseline (antennas {a} and {b}; {what}): its PSF is a "
                       "fringe pattern whose sidelobes reach its peak, so no beam can be "
                       "fitted to it and no source told from its sidelobes; give data of "
                       "two baselines or more")  # fmt: skip


def _selection(part, opts) -> tuple[np.ndarray, np.ndarray | None]:
    """``(channels, times)`` of a part that ``-channel-range`` and ``-intervals-out`` keep."""
    chans = np.arange(part.nchan, dtype=np.int64)
    if opts.get("channel_range") is not None:
        lo, hi = opts["channel_range"]
        chans = chans[(chans >= lo) & (chans < hi)]
    times = None
    if opts.get("interval") is not None:
        k, n = opts["interval"]
        times = np.array_split(np.arange(part.ntime, dtype=np.int64), n)[k]
    return chans, times


def _band_edges(parts: list, selected: list, nbands: int) -> np.ndarray:
    los = [
        float(np.min(p.frequency[c] - p.channel_bandwidth[c] / 2))
        for p, c in zip(parts, selected)
        if c.size
    ]
    his = [
        float(np.max(p.frequency[c] + p.channel_bandwidth[c] / 2))
        for p, c in zip(parts, selected)
        if c.size
    ]
    if not los:
        raise CLIError("-channel-range selects no channel of the inputs")
    return np.linspace(min(los), max(his), nbands + 1)


def _pieces(parts: list, edges: np.ndarray, opts) -> list[Piece]:
    nbands = edges.size - 1
    pieces = []
    for part in parts:
        keep, times = _selection(part, opts)
        idx = np.clip(np.searchsorted(edges, part.frequency, side="right") - 1, 0, nbands - 1)
        for b in range(nbands):
            chans = keep[idx[keep] == b]
            if chans.size and (times is None or times.size):
                pieces.append(Piece(part, chans.astype(np.int64), b, times))
    empty = sorted(set(range(nbands)) - {p.band for p in pieces})
    if empty:
        raise CLIError(
            f"--channels-out {nbands}: output channel(s) {empty} hold no data channel; "
            "use fewer output channels"
        )
    return pieces


def _templates(pieces, edges, template: Image, frame, cube: bool) -> list[Image]:
    npixel, cell, pc = (template.ny, template.nx), template.cellsize, template.phasecentre
    out = []
    for b in range(edges.size - 1):
        if not cube:
            out.append(create_image(npixel, cell, pc, 0.5 * (edges[b] + edges[b + 1]),
                                    channel_bandwidth=edges[b + 1] - edges[b],
                                    polarisation_frame=frame))  # fmt: skip
            continue
        mine = [p for p in pieces if p.band == b]
        freq = mine[0].part.frequency[mine[0].channels]
        for p in mine[1:]:
            if not np.allclose(p.part.frequency[p.channels], freq, rtol=0, atol=1.0):
                raise CLIError(
                    f"--mode spectral: output channel {b}: the inputs' channel frequencies "
                    "differ; image them separately"
                )
        bw = mine[0].part.channel_bandwidth[mine[0].channels]
        try:
            out.append(create_image(npixel, cell, pc, freq, channel_bandwidth=bw,
                                    polarisation_frame=frame))  # fmt: skip
        except ValueError as exc:
            raise CLIError(f"--mode spectral: {exc}") from None
    return out


def _too_large(opts, budget: MemoryBudget) -> str:
    size = "the default size" if opts["npixel"] is None else f"--size {opts['npixel']}"
    return (
        f"the images ({size}) do not fit in this machine's memory (limit "
        f"{budget.limit / 2**20:.0f} MiB from {budget.source}): make smaller images"
    )


def plan_windows(parts: list, args, opts, budget: MemoryBudget) -> Windows:
    """Templates, bands and chunks of the inputs, and how the chunks reach the tasks.

    Parameters
    ----------
    parts : list of MSPart or UVFITSPart
        :func:`index_inputs`.
    args, opts
        The command's arguments and resolved options.
    budget : MemoryBudget
        The memory limit per worker and what a task and the resident chunks may take.

    Returns
    -------
    Windows
    """
    nbands = args.channels_out or 1
    cube = args.mode == "spectral"
    try:  # zeros: pages are taken when written, so the check below comes first
        template = create_image_from_visibility(
            parts[0], npixel=opts["npixel"], cellsize=opts["cellsize"],
            polarisation_frame=opts["frame"],
        )  # fmt: skip
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    except MemoryError:
        raise CLIError(_too_large(opts, budget)) from None
    edges = _band_edges(parts, [_selection(p, opts)[0] for p in parts], nbands)
    pieces = _pieces(parts, edges, opts)
    nchan = max(int(p.channels.size) for p in pieces) if cube else 1
    check_images((nchan, template.npol, template.ny, template.nx), args.mode, budget)
    try:
        templates = _templates(pieces, edges, template, opts["frame"], cube)
        mfs = create_image((template.ny, template.nx), template.cellsize, template.phasecentre,
                           0.5 * (edges[0] + edges[-1]), channel_bandwidth=edges[-1] - edges[0],
                           polarisation_frame=opts["frame"])  # fmt: skip
    except MemoryError:
        raise CLIError(_too_large(opts, budget)) from None
    sources = [[] for _ in range(nbands)]
    report = {"memory_limit_bytes": budget.limit, "source": budget.source, "windows": []}
    for piece in pieces:
        chunks, choice = chunk_piece(piece, templates[piece.band], args.mode, budget,
                                     args.calibration_context)  # fmt: skip
        sources[piece.band] += chunks
        report["windows"].append(dict(choice, band=piece.band, nchunks=len(chunks)))
    total = sum(c.nbytes for band in sources for c in band)
    resident = total <= budget.resident_bytes(RESIDENT_SHARE)
    log.info(
        "data: %d chunks, %.1f MiB in all, %s (%.1f MiB may stay resident on %d worker(s))",
        sum(len(b) for b in sources), total / 2**20,
        "kept in memory between major cycles" if resident else "read by each task that needs it",
        budget.resident_bytes(RESIDENT_SHARE) / 2**20, budget.nworkers,
    )  # fmt: skip
    report.update(total_bytes=int(total), resident=bool(resident))
    feed = sources
    if getattr(args, "apply_solutions", None):
        tables = read_solutions(args.apply_solutions, parts[0].configuration)
        feed = [[derive(c, corrected_in_frame, tables, opts["frame"]) for c in band]
                for band in sources]  # fmt: skip
        report["solutions"] = {"path": str(args.apply_solutions), "tables": len(tables)}
    if resident:
        vis = [[rsexecute.execute(load_visibility)(c) for c in band] for band in feed]
    else:
        vis = [list(band) for band in feed]
    return Windows(vis, sources, templates, mfs, resident, report)
