"""``uvflow simulate``: a named observation of random point sources → a MeasurementSet.

Writes ``<out>`` (e.g. ``x.ms``) and the truth next to it, ``<out stem>-sky.json``: phase
centre, frequencies, and every component's position and flux (what ``uvflow image`` should
find), plus the noise and gain-error settings. The sources are predicted exactly (direct
Fourier transform); ``--gain-errors`` corrupts with per-antenna gains (smooth in time, one
table for the whole band); ``--noise`` adds Gaussian noise of that σ per real/imaginary part.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from astropy.coordinates import SkyCoord

from uvflow.datamodels import PolarisationFrame, SkyModel, to_radians
from uvflow.datamodels.io import atomic_file
from uvflow.execution import rsexecute
from uvflow.simulation import (
    STANDARD_OBSERVATIONS,
    add_noise,
    corrupt_list_rsexecute_workflow,
    create_random_skycomponents,
    predict_skymodel_list_rsexecute_workflow,
    simulate_list_rsexecute_workflow,
    write_simulated_ms,
)

from .errors import CLIError
from .report import Stages
from .session import add_execution_arguments, execution

__all__ = ["add_arguments", "run", "sky_path"]


def add_arguments(p) -> None:
    p.add_argument(
        "--array", required=True, help="meerkat, vla, vla-a … vla-d, lowbd2, lowbd2-core"
    )
    p.add_argument(
        "--layout", default=None, metavar="PATH", help="layout file (or its directory) for lowbd2"
    )
    p.add_argument(
        "--rmax", type=float, default=None, help="keep antennas within this radius, metres"
    )
    p.add_argument("--out", required=True, help="MeasurementSet to write, e.g. sim.ms")
    p.add_argument("--overwrite", action="store_true", help="replace an existing MeasurementSet")
    p.add_argument("--ntimes", type=int, default=13, help="integrations (default 13)")
    p.add_argument(
        "--ha-range",
        type=float,
        nargs=2,
        default=None,
        metavar=("START", "STOP"),
        help="hour angles, hours (default the standard -3 3)",
    )
    p.add_argument("--nchan", type=int, default=3, help="channels (default 3)")
    p.add_argument(
        "--freq",
        type=float,
        nargs="+",
        default=None,
        metavar="HZ",
        help="first [and last] channel frequency, Hz (default the standard band)",
    )
    p.add_argument(
        "--channel-width",
        type=float,
        default=None,
        metavar="HZ",
        help="default: the channel spacing",
    )
    p.add_argument("--ra", type=float, default=None, help="phase centre RA, degrees")
    p.add_argument("--dec", type=float, default=None, help="phase centre Dec, degrees")
    p.add_argument(
        "--pol", default="stokesI", help="stokesI, linear, linearnp, circular … (default stokesI)"
    )
    p.add_argument("--nsrc", type=int, default=10, help="random point sources (default 10)")
    p.add_argument(
        "--flux",
        type=float,
        nargs=2,
        default=(0.1, 1.0),
        metavar=("MIN", "MAX"),
        help="flux range, Jy",
    )
    p.add_argument(
        "--spectral-index", type=float, nargs=2, default=(0.0, 0.0), metavar=("MEAN", "STD")
    )
    p.add_argument("--fov", default="0.2deg", help="sources within this square field, e.g. 0.2deg")
    p.add_argument(
        "--noise",
        type=float,
        default=0.0,
        metavar="SIGMA",
        help="noise per visibility component, Jy",
    )
    p.add_argument(
        "--gain-errors",
        type=float,
        nargs="+",
        default=None,
        metavar="RMS",
        help="PHASE_RAD [AMPLITUDE] rms of antenna gains",
    )
    p.add_argument("--seed", type=int, default=1234)
    add_execution_arguments(p, default_workers=0)  # fmt: skip


def sky_path(out) -> Path:
    """``x.ms`` → ``x-sky.json`` (next to the MeasurementSet)."""
    p = Path(out)
    stem = p.with_suffix("") if p.suffix.lower() == ".ms" else p
    return stem.parent / f"{stem.name}-sky.json"


def _check(args) -> dict:
    key = "".join(ch for ch in args.array.upper() if ch not in "-_ ")
    if key not in STANDARD_OBSERVATIONS:
        raise CLIError(
            f"--array {args.array!r} unknown; use one of {', '.join(k.lower() for k in STANDARD_OBSERVATIONS)}"
        )
    std = STANDARD_OBSERVATIONS[key]
    if key.startswith("LOWBD2") and args.layout is None:
        raise CLIError(
            f"--array {args.array} needs --layout PATH (the {std.configuration} file or its directory)"
        )
    if args.ntimes < 1 or args.nchan < 1:
        raise CLIError("--ntimes and --nchan must be >= 1")
    if args.nsrc < 0:
        raise CLIError(f"--nsrc must be >= 0, got {args.nsrc}")
    if args.noise < 0:
        raise CLIError(f"--noise must be >= 0 Jy, got {args.noise}")
    if not 0 < args.flux[0] < args.flux[1]:
        raise CLIError(f"--flux needs 0 < MIN < MAX, got {args.flux}")
    if args.gain_errors is not None and (len(args.gain_errors) > 2 or min(args.gain_errors) < 0):
        raise CLIError("--gain-errors takes PHASE_RAD [AMPLITUDE], each >= 0")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise CLIError(f"output directory {str(out.parent)!r} does not exist")
    if out.exists() and not args.overwrite:
        raise CLIError(f"{args.out} exists; pass --overwrite to replace it")
    try:
        fov = to_radians(args.fov)
        frame = PolarisationFrame(args.pol)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if args.freq is None:
        lo, hi = std.frequency[0], std.frequency[-1]
    elif len(args.freq) in (1, 2):
        lo = args.freq[0]
        hi = args.freq[1] if len(args.freq) == 2 else None
    else:
        raise CLIError("--freq takes FIRST [LAST] in Hz")
    if hi is None:
        width = args.channel_width or std.channel_bandwidth
        freq = lo + width * np.arange(args.nchan)
    else:
        freq = np.linspace(lo, hi, args.nchan)
        width = args.channel_width or (
            (hi - lo) / (args.nchan - 1) if args.nchan > 1 else std.channel_bandwidth
        )
    if not (np.all(freq > 0) and width > 0):
        raise CLIError("frequencies and --channel-width must be > 0 Hz")
    ha = std.hour_angle_range if args.ha_range is None else args.ha_range
    return {
        "key": key, "frequency": freq, "channel_bandwidth": float(width), "fov": fov,
        "frame": frame, "times": np.linspace(ha[0], ha[1], args.ntimes) * np.pi / 12.0,
        "phasecentre": SkyCoord(ra=std.ra if args.ra is None else args.ra,
                                dec=std.dec if args.dec is None else args.dec, unit="deg"),
    }  # fmt: skip


def _noisy(vis, sigma, seed):
    return add_noise(vis, sigma=sigma, seed=seed)


def run(args) -> int:
    o = _check(args)
    stages = Stages()
    with execution(args):
        with stages("simulate"):
            (vis,) = simulate_list_rsexecute_workflow(
                o["key"], phasecentre=o["phasecentre"], frequency=o["frequency"],
                channel_bandwidth=o["channel_bandwidth"], times=o["times"],
                polarisation_frame=o["frame"], order=None, rmax=args.rmax, layout_path=args.layout,
            )  # fmt: skip
            comps = create_random_skycomponents(
                o["phasecentre"], fov=o["fov"], frequency=o["frequency"], nsources=args.nsrc,
                flux_limits=tuple(args.flux), slope=1.0, spectral_index=tuple(args.spectral_index),
                polarisation_frame=o["frame"], seed=args.seed,
            )  # fmt: skip
            (vis,) = predict_skymodel_list_rsexecute_workflow(
                vis, [SkyModel(components=comps)], context="2d"
            )
            if args.gain_errors:
                phase, amp = (list(args.gain_errors) + [0.0])[:2]
                (vis,) = corrupt_list_rsexecute_workflow(
                    [vis], seed=args.seed + 1, phase_error=phase, amplitude_error=amp,
                    smooth_in_time=True, jones_type="T" if o["frame"].npol == 1 else "G",
                )  # fmt: skip
            if args.noise > 0:
                vis = rsexecute.execute(_noisy)(vis, args.noise, args.seed + 2)
            vis = rsexecute.compute(vis, sync=True)
        sky = _truth(args, o, comps)
        with stages("write"):
            with atomic_file(sky_path(args.out)) as tmp:
                Path(tmp).write_text(json.dumps(sky, indent=1) + "\n")
                write_simulated_ms(vis, args.out, overwrite=args.overwrite)
    print(f"{args.out}: {vis.ntime} times x {vis.nbaseline} baselines x {vis.nchan} channels x "
          f"{vis.npol} pols, {len(comps)} sources")  # fmt: skip
    print(os.fspath(sky_path(args.out)))
    return 0


def _truth(args, o, comps) -> dict:
    return {
        "array": args.array, "phasecentre": {"ra_deg": o["phasecentre"].ra.deg,
                                             "dec_deg": o["phasecentre"].dec.deg},
        "frequency_hz": o["frequency"].tolist(), "channel_bandwidth_hz": o["channel_bandwidth"],
        "polarisation_frame": o["frame"].name, "noise_sigma_jy": args.noise,
        "gain_errors": args.gain_errors, "seed": args.seed,
        "components": [
            {"name": c.name, "ra_deg": float(c.direction.ra.deg), "dec_deg": float(c.direction.dec.deg),
             "flux_jy": float(np.mean(c.flux[:, 0])), "flux_per_channel_jy": c.flux[:, 0].tolist()}
            for c in comps
        ],
    }  # fmt: skip
