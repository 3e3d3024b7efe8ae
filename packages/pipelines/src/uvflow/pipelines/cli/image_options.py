"""Options of ``uvflow image``: the parser's arguments and their validation.

WSClean-style options with single-dash aliases (``-size``, ``-scale``, ``-niter``, ``-name``,
``-weight`` …); everything is checked before any data are read or any file is written, and
a bad value raises :class:`~uvflow.pipelines.cli.errors.CLIError` saying what is allowed.
"""

from __future__ import annotations

from pathlib import Path

from uvflow.datamodels import PolarisationFrame, to_radians
from uvflow.imaging import installed_gridders

from .errors import CLIError
from .session import add_execution_arguments

__all__ = [
    "MODES",
    "POLARISATIONS",
    "add_arguments",
    "check_arguments",
    "line_free_channels",
    "pipeline_function",
]

MODES = ("invert", "cip", "ical", "spectral")
WEIGHTINGS = ("natural", "uniform", "briggs")
#: ``--pol`` values (WSClean's spelling) → uvflow polarisation frames
POLARISATIONS = {
    "I": "stokesI", "IQUV": "stokesIQUV", "XXYY": "linearnp", "XX,YY": "linearnp",
    "XXXYYXYY": "linear", "XX,XY,YX,YY": "linear", "RRLL": "circularnp", "RR,LL": "circularnp",
    "RRRLLRLL": "circular", "RR,RL,LR,LL": "circular",
}  # fmt: skip
_PIPELINE_FUNCTIONS = {
    "cip": "continuum_imaging_list_rsexecute_workflow",
    "ical": "ical_list_rsexecute_workflow",
    "spectral": "spectral_line_imaging_list_rsexecute_workflow",
}


def add_arguments(p) -> None:
    """The ``image`` sub-command's options."""
    p.add_argument("inputs", nargs="*", metavar="MS", help="MeasurementSets (.ms) or UVFITS files")
    p.add_argument(
        "--name", "-name", required=True, help="prefix of the products (its directory must exist)"
    )
    g = p.add_argument_group("image")
    g.add_argument(
        "--size",
        "-size",
        nargs="+",
        metavar="N",
        help="image size: N, or WIDTH HEIGHT (even, >= 32; default from the primary beam)",
    )
    g.add_argument(
        "--scale",
        "-scale",
        default=None,
        help="pixel size, e.g. 1.5asec (default: 3 pixels across the synthesised beam)",
    )
    g.add_argument(
        "--pol",
        "-pol",
        default="I",
        help="I, IQUV, XXYY, XXXYYXYY, RRLL, RRRLLRLL or a frame name (default I)",
    )
    g.add_argument(
        "--weight",
        "-weight",
        nargs="+",
        default=["uniform"],
        metavar="W",
        help="natural, uniform or 'briggs R' (default uniform)",
    )
    g.add_argument(
        "--taper-gaussian",
        "-taper-gaussian",
        default=None,
        metavar="FWHM",
        help="uv taper to this image-plane FWHM, e.g. 20asec",
    )
    g.add_argument(
        "--channels-out",
        "-channels-out",
        type=int,
        default=None,
        metavar="K",
        help="output channels (equal bands, default 1); -MFS- products combine them "
        "(not with --mode spectral: one product per data channel)",
    )
    g.add_argument("--gridder", default="ng", help="gridder context (default ng: w-corrected)")
    g.add_argument(
        "--accuracy", type=float, default=1e-4, help="gridding accuracy epsilon (default 1e-4)"
    )
    g = p.add_argument_group("deconvolution")
    g.add_argument(
        "--mode",
        choices=MODES,
        default="cip",
        help="invert: dirty+psf; cip: continuum imaging (default); ical; spectral",
    )
    g.add_argument(
        "--niter",
        "-niter",
        type=int,
        default=0,
        help="maximum clean components per minor cycle (default 0: no cleaning)",
    )
    g.add_argument("--gain", "-gain", type=float, default=0.1, help="minor-cycle loop gain")
    g.add_argument(
        "--mgain",
        "-mgain",
        type=float,
        default=0.8,
        help="each minor cycle cleans the peak down by this fraction (default 0.8)",
    )
    g.add_argument(
        "--nmajor",
        "-nmajor",
        type=int,
        default=3,
        help="number of major cycles, each a residual image and one minor cycle (default 3)",
    )
    g.add_argument(
        "--threshold", "-threshold", type=float, default=0.0, help="absolute stopping threshold, Jy"
    )
    g.add_argument(
        "--auto-threshold",
        "-auto-threshold",
        type=float,
        default=None,
        metavar="SIGMA",
        help="stop at SIGMA x the robust noise of the dirty image",
    )
    g.add_argument("--multiscale", "-multiscale", action="store_true", help="multi-scale clean")
    g.add_argument(
        "--scales",
        "-multiscale-scales",
        default="0,3,10,30",
        help="multi-scale scales, pixels (comma separated)",
    )
    g.add_argument(
        "--join-channels",
        "-join-channels",
        action="store_true",
        help="deconvolve the output channels jointly (mmclean)",
    )
    g.add_argument(
        "--nmoment", type=int, default=2, help="Taylor terms with --join-channels (default 2)"
    )
    g.add_argument(
        "--deconvolve-facets",
        type=int,
        default=1,
        metavar="F",
        help="facets per axis of the parallel minor cycle",
    )
    g.add_argument(
        "--continuum-subtraction-degree",
        type=int,
        default=None,
        metavar="D",
        help="spectral: subtract a degree-D polynomial continuum fitted in uv",
    )
    g.add_argument(
        "--line-free-channels",
        default=None,
        metavar="RANGES",
        help="spectral: channels for the continuum fit, e.g. 0-3,12-15 (default all)",
    )
    g = p.add_argument_group("data selection")
    g.add_argument(
        "--datacolumn", "-data-column", default="DATA", help="MS data column (default DATA)"
    )
    g.add_argument("--field", "-field", default=None, help="field id or name")
    g.add_argument("--spw", default=None, help="spectral window ids, comma separated")
    g = p.add_argument_group("calibration (--mode ical)")
    g.add_argument(
        "--calibration-context", default="TG", metavar="TG", help="calibration terms in chain order"
    )
    g.add_argument("--write-corrected", action="store_true", help="write CORRECTED_DATA (ical)")
    g.add_argument(
        "--write-model", action="store_true", help="write MODEL_DATA from the final model"
    )
    g = p.add_argument_group("output")
    g.add_argument(
        "--checkpoint-dir", default=None, help="checkpoint directory of the pipeline workflows"
    )
    g.add_argument("--plot", action="store_true", help="PNG previews of the products")
    add_execution_arguments(p)  # fmt: skip
    p.add_argument_group("execution").add_argument(
        "--memory-limit",
        default=None,
        metavar="MEM",
        help="memory per worker, e.g. 4GiB: each output channel's data are split into "
        "frequency/time chunks whose estimated task memory fits (default: the Dask workers' "
        "limit; serial: no splitting)",
    )


def pipeline_function(mode: str):
    """The pipelines' workflow of ``mode``, or None if this installation lacks it."""
    import uvflow.pipelines as pipelines

    try:
        return getattr(pipelines, _PIPELINE_FUNCTIONS[mode], None)
    except ImportError:
        return None


def _frame(pol: str) -> PolarisationFrame:
    name = POLARISATIONS.get(pol.upper().replace(" ", ""), pol)
    try:
        return PolarisationFrame(name)
    except ValueError:
        raise CLIError(
            f"--pol {pol!r} unknown; use {', '.join(sorted(set(POLARISATIONS) - {k for k in POLARISATIONS if ',' in k}))} "
            "or a frame name (stokesI, stokesIQUV, linear, linearnp, circular, circularnp)"
        ) from None


def _weighting(words: list[str]) -> tuple[str, float]:
    kind = words[0].lower()
    if kind not in WEIGHTINGS:
        raise CLIError(f"--weight {words[0]!r} unknown; use natural, uniform or 'briggs R'")
    if kind == "briggs":
        if len(words) != 2:
            raise CLIError("--weight briggs needs the robustness, e.g. '--weight briggs 0.5'")
        try:
            r = float(words[1])
        except ValueError:
            raise CLIError(f"--weight briggs robustness {words[1]!r} is not a number") from None
        if not -2.0 <= r <= 2.0:
            raise CLIError(f"--weight briggs robustness must be in [-2, 2], got {r}")
        return "robust", r
    if len(words) != 1:
        raise CLIError(f"--weight {kind} takes no value, got {' '.join(words[1:])!r}")
    return kind, 0.0


def _selection(value: str | None, what: str):
    if value is None:
        return None
    items = [s.strip() for s in str(value).split(",") if s.strip()]
    if not items:
        raise CLIError(f"--{what} {value!r} is empty")
    out = [int(s) if s.isdigit() else s for s in items]
    if what == "spw" and not all(isinstance(s, int) for s in out):
        raise CLIError(f"--spw takes spectral window ids (integers), got {value!r}")
    return out[0] if len(out) == 1 else out


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _redistribute_inputs(args) -> None:
    """Give back to the inputs what ``--size N [M]`` and ``--weight W [R]`` took too much.

    WSClean's order puts the MeasurementSets last (``-size 128 128 -weight briggs 0 x.ms``),
    and argparse's ``nargs='+'`` would swallow them; only the leading numbers (at most two)
    of ``--size`` and the weighting's own words stay with those options.
    """
    extra = []
    if args.size is not None:
        n = 0
        while n < min(2, len(args.size)) and _is_number(args.size[n]):
            n += 1
        args.size, rest = args.size[:n], args.size[n:]
        extra += rest
        if not args.size:
            raise CLIError("--size needs N or WIDTH HEIGHT (pixels)")
        try:
            args.size = [int(v) for v in args.size]
        except ValueError:
            raise CLIError(
                f"--size takes whole numbers of pixels, got {' '.join(args.size)}"
            ) from None
    keep = 2 if args.weight and args.weight[0].lower() == "briggs" else 1
    if keep == 1 and len(args.weight) > 1 and _is_number(args.weight[1]):
        raise CLIError(f"--weight {args.weight[0]} takes no value, got {args.weight[1]!r}")
    if len(args.weight) > keep and not (keep == 1 and _is_number(args.weight[1])):
        extra += args.weight[keep:]
        args.weight = args.weight[:keep]
    args.inputs = extra + list(args.inputs)
    if not args.inputs:
        raise CLIError("no input: give one or more MeasurementSets or UVFITS files")


def check_arguments(args) -> dict:
    """Validate everything before any data are read or any file is written.

    Returns
    -------
    dict
        The resolved options (``npixel``, ``cellsize``, ``frame``, ``weighting``, …).

    Raises
    ------
    CLIError
        A bad argument; the message says what is allowed.
    """
    _redistribute_inputs(args)
    opts: dict = {}
    for path in args.inputs:
        p = Path(path)
        if not p.exists():
            raise CLIError(f"input {path!r} does not exist")
        if p.is_dir():
            if not (p / "table.dat").exists():
                raise CLIError(f"input {path!r} is a directory but not a MeasurementSet")
            opts.setdefault("kinds", []).append("ms")
        elif p.suffix.lower() in (".fits", ".uvfits", ".uvf"):
            opts.setdefault("kinds", []).append("uvfits")
        else:
            raise CLIError(
                f"input {path!r}: expected a MeasurementSet directory or a .uvfits/.fits file"
            )
    if args.size is not None:
        if len(args.size) not in (1, 2):
            raise CLIError(f"--size takes N or WIDTH HEIGHT, got {len(args.size)} values")
        for n in args.size:
            if n <= 0 or n % 2 or n < 32:
                raise CLIError(f"--size {n}: image sizes must be even and >= 32 pixels")
        opts["npixel"] = args.size[0] if len(args.size) == 1 else (args.size[1], args.size[0])
    else:
        opts["npixel"] = None
    opts["cellsize"] = None
    if args.scale is not None:
        try:
            cell = to_radians(args.scale)
        except ValueError as exc:
            raise CLIError(f"--scale: {exc}") from None
        if not cell > 0:
            raise CLIError(f"--scale must be > 0, got {args.scale!r}")
        opts["cellsize"] = cell
    opts["frame"] = _frame(args.pol)
    opts["weighting"], opts["robustness"] = _weighting(args.weight)
    if args.taper_gaussian is not None:
        try:
            opts["taper"] = to_radians(args.taper_gaussian)
        except ValueError as exc:
            raise CLIError(f"--taper-gaussian: {exc}") from None
        if not opts["taper"] > 0:
            raise CLIError("--taper-gaussian must be > 0")
    else:
        opts["taper"] = None
    checks = [
        (args.niter >= 0, f"--niter must be >= 0, got {args.niter}"),
        (0 < args.gain < 2, f"--gain must be in (0, 2), got {args.gain}"),
        (0 < args.mgain <= 1, f"--mgain must be in (0, 1], got {args.mgain}"),
        (args.nmajor >= 0, f"--nmajor must be >= 0, got {args.nmajor}"),
        (args.threshold >= 0, f"--threshold must be >= 0 Jy, got {args.threshold}"),
        (args.auto_threshold is None or args.auto_threshold > 0, "--auto-threshold must be > 0"),
        (args.channels_out is None or args.channels_out >= 1,
         f"--channels-out must be >= 1, got {args.channels_out}"),
        (args.nmoment >= 1, f"--nmoment must be >= 1, got {args.nmoment}"),
        (args.deconvolve_facets >= 1, f"--deconvolve-facets must be >= 1, got {args.deconvolve_facets}"),
        (1e-13 < args.accuracy < 0.1, f"--accuracy must be in (1e-13, 0.1), got {args.accuracy}"),
        (not (args.join_channels and args.nmoment > (args.channels_out or 1)),
         f"--nmoment {args.nmoment} needs at least as many --channels-out ({args.channels_out or 1})"),
        (args.gridder in installed_gridders(),
         f"--gridder {args.gridder!r} unknown; installed: {', '.join(installed_gridders())}"),
        (not args.write_corrected or args.mode == "ical", "--write-corrected needs --mode ical"),
        (not ((args.write_model or args.write_corrected) and "uvfits" in opts["kinds"]),
         "--write-model and --write-corrected need MeasurementSet inputs"),
        (not (args.write_model and args.mode == "invert"), "--write-model needs a model: not with --mode invert"),
    ]  # fmt: skip
    for ok, message in checks:
        if not ok:
            raise CLIError(message)
    try:
        opts["scales"] = tuple(float(s) for s in args.scales.split(",") if s.strip())
    except ValueError:
        raise CLIError(f"--scales {args.scales!r}: give numbers separated by commas") from None
    opts["field"] = _selection(args.field, "field")
    opts["spw"] = _selection(args.spw, "spw")
    if args.mode == "spectral" and args.join_channels:
        raise CLIError(
            "--join-channels does not apply to --mode spectral (each channel is cleaned)"
        )
    if args.mode == "spectral" and args.channels_out is not None:
        raise CLIError(
            "--channels-out does not apply to --mode spectral (one product per data channel; "
            "--memory-limit splits the data in time if needed)"
        )
    if args.memory_limit is not None:
        from .image_chunks import memory_limit

        memory_limit(args.memory_limit)  # a bad value fails before anything is read
    if args.mode != "spectral" and (
        args.line_free_channels or args.continuum_subtraction_degree is not None
    ):
        raise CLIError(
            "--line-free-channels and --continuum-subtraction-degree need --mode spectral"
        )
    if args.continuum_subtraction_degree is not None and args.continuum_subtraction_degree < 0:
        raise CLIError("--continuum-subtraction-degree must be >= 0")
    if args.mode in ("cip", "ical", "spectral") and pipeline_function(args.mode) is None:
        raise CLIError(
            f"--mode {args.mode} needs uvflow.pipelines.{_PIPELINE_FUNCTIONS[args.mode]}, "
            "which this installation does not have; use --mode invert or cip"
        )
    if args.checkpoint_dir is not None and pipeline_function("cip") is None:
        raise CLIError("--checkpoint-dir needs the pipelines' continuum workflow (not installed)")
    if args.join_channels:
        opts["algorithm"] = "mmclean"
    else:
        opts["algorithm"] = "msclean" if args.multiscale else "hogbom"
    if args.join_channels and not args.multiscale:
        opts["scales"] = (0.0,)
    return opts


def line_free_channels(spec: str | None, nchans: list[int]):
    """``--line-free-channels 0-3,12-15`` (indices over all windows' channels) → per window."""
    if spec is None:
        return None
    chosen = set()
    try:
        for part in spec.split(","):
            lo, _, hi = part.strip().partition("-")
            chosen.update(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise CLIError(
            f"--line-free-channels {spec!r}: give channel ranges like 0-3,12-15"
        ) from None
    total = sum(nchans)
    if not chosen or min(chosen) < 0 or max(chosen) >= total:
        raise CLIError(f"--line-free-channels {spec!r}: channels must be in 0..{total - 1}")
    out, start = [], 0
    for n in nchans:
        out.append([c - start for c in sorted(chosen) if start <= c < start + n])
        start += n
    return out
