"""``uvflow info``: a summary of a MeasurementSet (or UVFITS file).

Fields, spectral windows and channels, correlations, times, antennas and baselines, and
the main table's columns, read from the MS's tables (no visibilities are loaded).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.time import Time

from uvflow.datamodels import read_uvfits
from uvflow.datamodels.io import read_ms_metadata
from uvflow.datamodels.io.ms_tables import open_table

from .image_options import input_kind

__all__ = ["add_arguments", "run", "describe_ms"]


def add_arguments(p) -> None:
    p.add_argument("inputs", nargs="+", metavar="MS", help="MeasurementSets or UVFITS files")


def _iso(mjd_seconds: float) -> str:
    return Time(mjd_seconds / 86400.0, format="mjd", scale="utc").isot


def describe_ms(path) -> dict:
    """The summary of one MeasurementSet as a dict (what ``uvflow info`` prints)."""
    meta = read_ms_metadata(path)
    config = meta.configuration
    with open_table(meta.path) as t:
        columns = list(t.colnames())
        nrows = t.nrows()
        times = np.unique(t.getcol("TIME")) if nrows else np.zeros(0)
        a1, a2 = (t.getcol("ANTENNA1"), t.getcol("ANTENNA2")) if nrows else ([], [])
    baselines = {(int(i), int(j)) for i, j in zip(a1, a2)}
    return {
        "path": str(path), "rows": nrows, "columns": columns,
        "fields": [{"id": i, "name": n, "ra_deg": float(c.ra.deg), "dec_deg": float(c.dec.deg)}
                   for i, (n, c) in enumerate(meta.fields)],
        "spectral_windows": [
            {"id": i, "name": s.name, "nchan": int(s.frequency.size),
             "frequency_min_hz": float(s.frequency.min()), "frequency_max_hz": float(s.frequency.max()),
             "channel_width_hz": float(np.median(s.width))}
            for i, s in enumerate(meta.spectral_windows)
        ],
        "correlations": [list(c) for c in meta.correlations],
        "data_descriptions": meta.data_descriptions,
        "ntimes": int(times.size),
        "time_start": _iso(times[0]) if times.size else None,
        "time_end": _iso(times[-1]) if times.size else None,
        "antennas": len(config.names), "telescope": config.name,
        "baselines": len([b for b in baselines if b[0] != b[1]]),
        "autocorrelations": any(b[0] == b[1] for b in baselines),
    }  # fmt: skip


def _print_ms(d: dict) -> None:
    print(f"MeasurementSet {d['path']}: {d['rows']} rows")
    print(f"  telescope {d['telescope']}, {d['antennas']} antennas, {d['baselines']} baselines"
          f"{' (+ autocorrelations)' if d['autocorrelations'] else ''}")  # fmt: skip
    print(f"  times: {d['ntimes']} integrations, {d['time_start']} .. {d['time_end']} UTC")
    for f in d["fields"]:
        print(
            f"  field {f['id']} {f['name']!r}: RA {f['ra_deg']:.6f} deg, Dec {f['dec_deg']:.6f} deg"
        )
    for s in d["spectral_windows"]:
        print(f"  spw {s['id']} {s['name']!r}: {s['nchan']} channels, {s['frequency_min_hz'] / 1e6:.4f}"
              f" .. {s['frequency_max_hz'] / 1e6:.4f} MHz, width {s['channel_width_hz'] / 1e3:.3f} kHz")  # fmt: skip
    for i, c in enumerate(d["correlations"]):
        print(f"  polarisation {i}: {' '.join(c)}")
    print(f"  columns: {', '.join(d['columns'])}")


def _print_uvfits(path) -> None:
    vis_list = read_uvfits(path)
    print(f"UVFITS {path}: {len(vis_list)} source/IF blocks")
    for i, v in enumerate(vis_list):
        print(f"  block {i}: {v.ntime} times x {v.nbaseline} baselines x {v.nchan} channels "
              f"({v.frequency.min() / 1e6:.4f} .. {v.frequency.max() / 1e6:.4f} MHz) x "
              f"{v.npol} pols ({v.polarisation_frame.name}); RA {v.phasecentre.ra.deg:.6f}, "
              f"Dec {v.phasecentre.dec.deg:.6f} deg")  # fmt: skip


def run(args) -> int:
    for path in args.inputs:
        if input_kind(path) == "ms":
            _print_ms(describe_ms(Path(path)))
        else:
            _print_uvfits(Path(path))
    return 0
