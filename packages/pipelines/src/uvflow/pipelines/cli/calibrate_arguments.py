"""``uvflow calibrate`` options (the parser only: imports nothing but the standard library)."""

from __future__ import annotations

from .session import add_execution_arguments

__all__ = ["add_arguments"]

STEM_RULE = (
    "outputs are named from --out: '--out cal.ms' writes cal.ms (the target's calibrated "
    "visibilities in DATA), cal-solutions.h5 (H5parm), cal-report.json and, with --plot, "
    "cal-bandpass.png and cal-gains.png"
)


def add_arguments(p) -> None:
    p.description = (
        "Calibrate a raw observation from its calibrators: flag the obvious, solve the "
        "bandpass on the bandpass calibrator, complex gains per scan on the flux and phase "
        "calibrators, bootstrap the phase calibrator's flux density from the flux "
        "calibrator's standard (Perley & Butler 2017), and apply bandpass and interpolated "
        "gains to the target. Fields are given by name, a unique name prefix, or FIELD id. "
        + STEM_RULE
        + "."
    )
    p.add_argument("input", metavar="IN",
                   help="a MeasurementSet, or a multi-source UVFITS file (AIPS SU table)")  # fmt: skip
    p.add_argument("--flux-calibrator", required=True, metavar="F",
                   help="the flux-density calibrator (a source of the flux standard)")  # fmt: skip
    p.add_argument("--phase-calibrator", required=True, metavar="P",
                   help="the phase calibrator (its flux density is bootstrapped)")  # fmt: skip
    p.add_argument("--target", required=True, metavar="T", help="the target field")
    p.add_argument("--out", required=True, metavar="OUT.ms", help=STEM_RULE)
    p.add_argument("--bandpass-calibrator", default=None, metavar="B",
                   help="bandpass calibrator (default the flux calibrator)")  # fmt: skip
    p.add_argument("--refant", default=None, metavar="NAME",
                   help="reference antenna, by name or index (default the first antenna "
                   "with data)")  # fmt: skip
    p.add_argument("--solint", default="scan", metavar="SECONDS",
                   help="gain solution interval: 'scan' (default: one per scan) or seconds "
                   "(e.g. 60, 60s, 2min)")  # fmt: skip
    p.add_argument("--flux-standard", default="Perley-Butler 2017", metavar="NAME",
                   help="flux-density standard (default and only: Perley-Butler 2017)")  # fmt: skip
    p.add_argument("--spw", default=None, metavar="ID",
                   help="calibrate only this spectral window (default: every spectral window "
                   "of the target, each with its own bandpass and gains)")  # fmt: skip
    p.add_argument("--quack", type=float, default=0.0, metavar="SECONDS",
                   help="flag this many seconds at the start of every scan (default 0)")  # fmt: skip
    p.add_argument("--flag-antennas", nargs="+", default=(), metavar="ANT",
                   help="antennas to flag, by name or index")  # fmt: skip
    p.add_argument("--flag-baselines", nargs="+", default=(), metavar="A&B",
                   help="baselines to flag, e.g. ea01&ea05")  # fmt: skip
    p.add_argument("--datacolumn", default="DATA", help="MeasurementSet column to calibrate")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--plot", action="store_true",
                   help="write PNG plots of the solutions (needs matplotlib)")  # fmt: skip
    add_execution_arguments(p, default_workers=0)
