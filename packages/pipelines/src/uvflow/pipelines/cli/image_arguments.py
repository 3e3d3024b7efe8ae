"""The ``uvflow image`` parser: its options, WSClean-style (single-dash aliases accepted).

``-size``, ``-scale``, ``-niter``, ``-name``, ``-weight`` … mean what they mean in WSClean;
:mod:`.image_options` checks them before any data are read.
"""

from __future__ import annotations

from .image_options import MODES
from .image_wsclean import add_wsclean_arguments
from .session import add_execution_arguments

__all__ = ["add_arguments"]


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
        "--weighting-rank-filter",
        "-weighting-rank-filter",
        type=float,
        default=3.0,
        metavar="LEVEL",
        help="cap weights above LEVEL x the local mean (default 3, as WSClean; 0: off)",
    )
    g.add_argument(
        "--weighting-rank-filter-size",
        "-weighting-rank-filter-size",
        type=int,
        default=16,
        metavar="CELLS",
        help="the rank filter's window, in uv cells (default 16)",
    )
    g.add_argument(
        "--minuv-l", "-minuv-l", type=float, default=0.0, metavar="LAMBDA",
        help="give weight 0 to uv distances below LAMBDA wavelengths (default 0: no limit)",
    )  # fmt: skip
    g.add_argument(
        "--maxuv-l", "-maxuv-l", type=float, default=0.0, metavar="LAMBDA",
        help="give weight 0 to uv distances above LAMBDA wavelengths (default 0: no limit)",
    )  # fmt: skip
    g.add_argument(
        "--channels-out",
        "-channels-out",
        type=int,
        default=None,
        metavar="K",
        help="output channels (equal bands, default 1); -MFS- products combine them "
        "(not with --mode spectral: one product per data channel)",
    )
    g.add_argument(
        "--gridder",
        "-gridder",
        default="ng",
        help="gridder: a uvflow context (2d, ng, wstack, a plugin's) or WSClean's name "
        "(wgridder, tuned-wgridder, wstacking: ducc0's w-corrected gridder; default ng)",
    )
    g.add_argument(
        "--accuracy",
        "-wgridder-accuracy",
        "--wgridder-accuracy",
        dest="accuracy",
        type=float,
        default=1e-4,
        help="gridding accuracy epsilon (default 1e-4, as WSClean's -wgridder-accuracy)",
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
        help="clean components in all, over every major cycle, as WSClean (default 0: no cleaning)",
    )
    g.add_argument("--gain", "-gain", type=float, default=0.1, help="minor-cycle loop gain")
    g.add_argument(
        "--mgain",
        "-mgain",
        type=float,
        default=None,
        help="major-cycle gain, as WSClean: each minor cycle cleans the peak down by this "
        "fraction before a major cycle (default 1.0: clean to the threshold, then one last "
        "major cycle; 0.8 with --mode ical, whose major cycles are the self-calibration "
        "rounds: a first minor cycle cleaning to the threshold would model the uncalibrated "
        "data's artefacts)",
    )
    g.add_argument(
        "--nmiter",
        "-nmiter",
        "--nmajor",
        "-nmajor",
        dest="nmajor",
        type=int,
        default=20,
        metavar="N",
        help="at most N major cycles, as WSClean's -nmiter (default 20); the cycles stop "
        "earlier when the threshold or -niter is reached (--nmajor, RASCIL's name, is the same)",
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
        help="stop at SIGMA x the robust noise of the residual, measured at every major cycle",
    )
    g.add_argument(
        "--auto-mask",
        "-auto-mask",
        type=float,
        default=None,
        metavar="SIGMA",
        help="clean without a mask down to SIGMA x the noise, then only where components "
        "were found, down to the threshold (as WSClean)",
    )
    g.add_argument(
        "--local-rms",
        "-local-rms",
        action="store_true",
        help="the noise of -auto-threshold/-auto-mask is a local RMS image, not one number",
    )
    g.add_argument(
        "--local-rms-window",
        "-local-rms-window",
        type=float,
        default=25.0,
        metavar="BEAMS",
        help="width of the local RMS window in beams (default 25)",
    )
    g.add_argument(
        "--fits-mask",
        "-fits-mask",
        default=None,
        metavar="FITS",
        help="clean only where this FITS image (of the output size) is nonzero",
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
        "--deconvolver",
        default=None,
        metavar="NAME",
        help="deconvolver plugin (uvflow plugins lists them; default hogbom, msclean with "
        "--multiscale, mmclean with --join-channels)",
    )
    g.add_argument(
        "--deconvolver-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the deconvolver (repeatable; VALUE a Python literal or a word); "
        "one it does not declare is an error naming those it does",
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
    g.add_argument("--apply-solutions", default=None, metavar="FILE.h5",
                   help="correct the data by the gain tables of this H5parm (its one solution "
                   "set, or sol000), in order, interpolated to each integration (e.g. "
                   "uvflow calibrate's OUT-solutions.h5)")  # fmt: skip
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
        "--checkpoint-dir",
        default=None,
        help="save the models (ical: and gain tables) after every major cycle here; a rerun "
        "of the same data and options resumes after the last complete cycle (it may ask for "
        "more -nmiter cycles, or another -niter total if the old one cut no cycle short), "
        "another is refused naming the difference",
    )
    g.add_argument(
        "--checkpoint-restart",
        action="store_true",
        help="remove the checkpoint in --checkpoint-dir and start afresh",
    )
    g.add_argument("--plot", action="store_true", help="PNG previews of the products")
    add_execution_arguments(p)  # fmt: skip
    p.add_argument_group("execution").add_argument(
        "--memory-limit",
        default=None,
        metavar="MEM",
        help="memory per process, e.g. 4GiB: the limit of the local cluster's workers (or, "
        "serial, of this process); the data are read in chunks whose tasks fit it, kept in "
        "memory between major cycles when they fit, else read again by each task (default: "
        "a running cluster's worker limit, else half of this machine's memory)",
    )
    p.add_argument_group("execution").add_argument(
        "--task-memory",
        default=None,
        metavar="MEM",
        help="memory one task's data may take, e.g. 200MB (default: half of --memory-limit "
        "above what a process holds before reading data); chunks are cut to fit it",
    )
    add_wsclean_arguments(p)
