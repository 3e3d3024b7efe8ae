"""Options of ``uvflow image``: the parser's arguments and their validation.

WSClean-style options with single-dash aliases (``-size``, ``-scale``, ``-niter``, ``-name``,
``-weight`` …); everything is checked before any data are read or any file is written, and
a bad value raises :class:`~uvflow.pipelines.cli.errors.CLIError` saying what is allowed.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CLIError
from .image_wsclean import resolve_wsclean

if TYPE_CHECKING:
    from uvflow.datamodels import PolarisationFrame

__all__ = [
    "ICAL_MGAIN",
    "MODES",
    "POLARISATIONS",
    "check_arguments",
    "deconvolver_options",
    "input_kind",
    "line_free_channels",
]

MODES = ("invert", "cip", "ical", "spectral")
WEIGHTINGS = ("natural", "uniform", "briggs")
#: ``--mgain`` of ``--mode ical`` when none is given (WSClean's usual self-calibration value)
ICAL_MGAIN = 0.8
#: ``--pol`` values (WSClean's spelling) → uvflow polarisation frames
POLARISATIONS = {
    "I": "stokesI", "IQUV": "stokesIQUV", "XXYY": "linearnp", "XX,YY": "linearnp",
    "XXXYYXYY": "linear", "XX,XY,YX,YY": "linear", "RRLL": "circularnp", "RR,LL": "circularnp",
    "RRRLLRLL": "circular", "RR,RL,LR,LL": "circular",
}  # fmt: skip


_BRIGGS_NEEDS_R = (
    "--weight briggs needs the robustness, from -2 (uniform-like) to 2 "
    "(natural-like), e.g. '-weight briggs 0'"
)


def input_kind(path) -> str:
    """``'ms'`` (a directory holding a casacore table) or ``'uvfits'`` (a ``.uvfits``,
    ``.uvf`` or ``.fits`` file); a CLIError says what is wrong with anything else."""
    p = Path(path)
    if not p.exists():
        raise CLIError(f"input {str(path)!r} does not exist")
    if p.is_dir():
        if not (p / "table.dat").exists():
            raise CLIError(f"input {str(path)!r} is a directory but not a MeasurementSet")
        return "ms"
    if p.suffix.lower() in (".fits", ".uvfits", ".uvf"):
        return "uvfits"
    raise CLIError(f"input {str(path)!r}: expected a MeasurementSet directory or a "
                   ".uvfits/.fits file")  # fmt: skip


def _frame(pol: str) -> PolarisationFrame:
    from uvflow.datamodels import PolarisationFrame

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
            raise CLIError(_BRIGGS_NEEDS_R)
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


def _weighting_limits(args) -> None:
    """``-weighting-rank-filter(-size)``, ``-minuv-l``, ``-maxuv-l`` as WSClean takes them."""
    level, size = args.weighting_rank_filter, args.weighting_rank_filter_size
    lo, hi = args.minuv_l, args.maxuv_l
    checks = [
        (math.isfinite(level) and (level == 0 or level >= 1),
         f"--weighting-rank-filter must be 0 (off) or >= 1, got {level}"),
        (size >= 1, f"--weighting-rank-filter-size must be >= 1 cell, got {size}"),
        (math.isfinite(lo) and lo >= 0, f"--minuv-l must be >= 0 wavelengths, got {lo}"),
        (math.isfinite(hi) and hi >= 0, f"--maxuv-l must be >= 0 wavelengths, got {hi}"),
        (not 0 < hi <= lo, f"--minuv-l {lo} must be below --maxuv-l {hi}"),
    ]  # fmt: skip
    for ok, message in checks:
        if not ok:
            raise CLIError(message)


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
    if keep == 2 and (len(args.weight) < 2 or not _is_number(args.weight[1])):
        raise CLIError(
            _BRIGGS_NEEDS_R + (f", not {args.weight[1]!r}" if len(args.weight) > 1 else "")
        )
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
    from uvflow.datamodels import to_radians
    from uvflow.imaging import installed_gridders

    _redistribute_inputs(args)
    resolve_wsclean(args)
    # what no product may overwrite (.product_paths)
    opts: dict = {"inputs": [*args.inputs, *([args.fits_mask] if args.fits_mask else [])]}
    opts["kinds"] = [input_kind(path) for path in args.inputs]
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
    _weighting_limits(args)
    if args.mgain is None:  # WSClean's default; self-calibration needs several major cycles
        args.mgain = ICAL_MGAIN if args.mode == "ical" else 1.0
    checks = [
        (args.niter >= 0, f"--niter must be >= 0, got {args.niter}"),
        (0 < args.gain < 2, f"--gain must be in (0, 2), got {args.gain}"),
        (0 < args.mgain <= 1, f"--mgain must be in (0, 1], got {args.mgain}"),
        (args.nmajor >= 0, f"--nmiter must be >= 0, got {args.nmajor}"),
        (args.threshold >= 0, f"--threshold must be >= 0 Jy, got {args.threshold}"),
        (args.auto_threshold is None or args.auto_threshold > 0, "--auto-threshold must be > 0"),
        (args.auto_mask is None or args.auto_mask > 0, "--auto-mask must be > 0"),
        (args.auto_mask is None or args.auto_threshold is None
         or args.auto_mask > args.auto_threshold,
         "--auto-mask must be above --auto-threshold (the mask is made first)"),
        (not args.local_rms or args.auto_threshold is not None or args.auto_mask is not None,
         "--local-rms needs --auto-threshold or --auto-mask"),
        (args.local_rms_window > 0, "--local-rms-window must be > 0 beams"),
        (args.fits_mask is None or Path(args.fits_mask).is_file(),
         f"--fits-mask {args.fits_mask!r} is not a file"),
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
        (not ((args.write_model or args.write_corrected) and getattr(args, "apply_solutions", None)),
         "--apply-solutions corrects the data as they are read: not with --write-model or "
         "--write-corrected (calibrate into a new MeasurementSet with uvflow calibrate)"),
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
        from .image_memory import memory_limit

        memory_limit(args.memory_limit)  # a bad value fails before anything is read
    if args.mode != "spectral" and (
        args.line_free_channels or args.continuum_subtraction_degree is not None
    ):
        raise CLIError(
            "--line-free-channels and --continuum-subtraction-degree need --mode spectral"
        )
    if args.continuum_subtraction_degree is not None and args.continuum_subtraction_degree < 0:
        raise CLIError("--continuum-subtraction-degree must be >= 0")
    if args.join_channels and not args.multiscale:
        opts["scales"] = (0.0,)
    opts.update(_settings(args, opts))
    return opts


def _literal(text: str):
    """A ``--deconvolver-option`` value: a Python literal (number, tuple, list …) or the word."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def deconvolver_options(args, algorithm: str, scales) -> dict:
    """The deconvolver's options: scales and Taylor terms as the WSClean-style flags say,
    then every ``--deconvolver-option KEY=VALUE``."""
    options = {}
    if args.multiscale or algorithm == "mmclean":
        options["scales"] = scales
        if getattr(args, "multiscale_scale_bias", None) is not None:
            options["scale_bias"] = args.multiscale_scale_bias
    if algorithm == "mmclean":
        options["nmoment"] = args.nmoment
    for item in args.deconvolver_option:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CLIError(f"--deconvolver-option {item!r}: give KEY=VALUE, e.g. scales=0,4,16")
        options[key.strip()] = _literal(value.strip())
    return options


def _settings(args, opts) -> dict:
    """The gridding, weighting and minor-cycle settings (checked once, here)."""
    from uvflow.imaging import (
        CleanSettings,
        GriddingSettings,
        WeightingSettings,
        installed_deconvolvers,
    )
    from uvflow.imaging.deconvolution.cycle_stop import NoiseThresholds

    if args.deconvolver is not None:
        algorithm = args.deconvolver
    else:
        algorithm = "mmclean" if args.join_channels else "msclean" if args.multiscale else "hogbom"
    if algorithm not in installed_deconvolvers():
        raise CLIError(
            f"--deconvolver {algorithm!r} unknown; installed: {', '.join(installed_deconvolvers())}"
        )
    options = deconvolver_options(args, algorithm, opts["scales"])
    noise = None
    if args.auto_threshold is not None or args.auto_mask is not None:
        noise = NoiseThresholds(args.auto_threshold, args.auto_mask, args.local_rms,
                                args.local_rms_window)  # fmt: skip
    try:
        clean = CleanSettings(
            algorithm=algorithm, niter=args.niter, gain=args.gain, threshold=args.threshold,
            fractional_threshold=1.0 - args.mgain, options=options,
            facets=args.deconvolve_facets, niter_total=args.niter, noise=noise,
        )  # fmt: skip
    except TypeError as exc:
        raise CLIError(f"--deconvolver {algorithm}: {exc}") from None
    return {
        "algorithm": algorithm,
        "gridding": GriddingSettings(
            args.gridder, args.accuracy, args.threads, getattr(args, "small_inversion", None)
        ),
        "weighting_settings": WeightingSettings(
            opts["weighting"],
            opts["robustness"],
            opts["taper"],
            rank_filter=args.weighting_rank_filter,
            rank_filter_size=args.weighting_rank_filter_size,
            minuv_l=args.minuv_l,
            maxuv_l=args.maxuv_l,
        ),
        "clean": clean,
    }


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
