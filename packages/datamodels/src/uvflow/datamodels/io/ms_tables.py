"""MeasurementSet v2 subtables: opening tables, reading and writing ANTENNA, SPECTRAL_WINDOW,
POLARIZATION, DATA_DESCRIPTION, FIELD, SOURCE, FEED, OBSERVATION, HISTORY, PROCESSOR.

python-casacore is imported lazily (extra ``uvflow-datamodels[ms]``). Every function opens
its own handle with :func:`~uvflow.datamodels.io.ms_open.open_table` (locked for the whole
use: a read lock for readers, the write lock for writers) and closes it before returning.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
from astropy.coordinates import FK4, EarthLocation, SkyCoord

from ..configuration import Configuration
from ..polarisation import MS_CORR_CODES, PolarisationFrame
from .ms_open import TABLE_LOCK, MeasurementSetError, TableBusyError, casacore_tables, open_table

__all__ = [
    "MeasurementSetError",
    "TableBusyError",
    "TABLE_LOCK",
    "casacore_tables",
    "open_table",
    "check_ms",
]

log = logging.getLogger(__name__)

_CODE_TO_CORR = {v: k for k, v in MS_CORR_CODES.items()}
_MOUNT_TO_MS = {"altaz": "ALT-AZ", "equatorial": "EQUATORIAL", "xy": "X-Y", "orbiting": "ORBITING"}
_MOUNT_FROM_MS = {v: k for k, v in _MOUNT_TO_MS.items()}
_REQUIRED_SUBTABLES = ("ANTENNA", "DATA_DESCRIPTION", "FIELD", "POLARIZATION", "SPECTRAL_WINDOW")


def check_ms(path) -> str:
    """``path`` as an absolute string after checking it looks like a MeasurementSet."""
    p = os.path.abspath(os.fspath(path))
    if not os.path.isdir(p) or not os.path.isfile(os.path.join(p, "table.dat")):
        raise MeasurementSetError(
            f"{str(path)!r} is not a MeasurementSet (no table.dat: not a casacore table)"
        )
    missing = [
        s for s in _REQUIRED_SUBTABLES if not os.path.isfile(os.path.join(p, s, "table.dat"))
    ]
    if missing:
        raise MeasurementSetError(
            f"{str(path)!r} is not a MeasurementSet: subtables {', '.join(missing)} are missing"
        )
    return p


# ---- reading ---------------------------------------------------------------------------
def read_configuration(ms: str) -> Configuration:
    """The ANTENNA table as a Configuration (location: the mean antenna position)."""
    with open_table(f"{ms}/ANTENNA") as t:
        if t.nrows() == 0:
            raise MeasurementSetError(f"{ms}: the ANTENNA table is empty")
        names = [str(n) for n in t.getcol("NAME")]
        stations = [str(s) for s in t.getcol("STATION")]
        xyz = np.asarray(t.getcol("POSITION"), dtype=float)
        diameter = np.asarray(t.getcol("DISH_DIAMETER"), dtype=float)
        mount = [_MOUNT_FROM_MS.get(str(m).upper(), str(m).lower()) for m in t.getcol("MOUNT")]
        ref = t.getcolkeywords("POSITION").get("MEASINFO", {}).get("Ref", "ITRF")
    if str(ref).upper() != "ITRF":
        log.warning("%s: ANTENNA POSITION reference %s taken as ITRF", ms, ref)
    if len(set(names)) != len(names):  # e.g. the same dish on several pads
        names = [f"{n}@{s}" for n, s in zip(names, stations)]
        if len(set(names)) != len(names):
            names = [f"{n}#{i}" for i, n in enumerate(names)]
    telescope = "unknown"
    if os.path.isdir(f"{ms}/OBSERVATION"):
        with open_table(f"{ms}/OBSERVATION") as t:
            if t.nrows():
                telescope = str(t.getcell("TELESCOPE_NAME", 0)) or "unknown"
    centre = xyz.mean(axis=0)
    return Configuration(
        name=telescope,
        location=EarthLocation.from_geocentric(*centre, unit="m"),
        names=np.array(names),
        xyz=xyz,
        diameter=diameter,
        mount=np.array(mount),
    )


@dataclass
class SpectralWindow:
    name: str
    frequency: np.ndarray
    width: np.ndarray


def read_spectral_windows(ms: str) -> list[SpectralWindow]:
    with open_table(f"{ms}/SPECTRAL_WINDOW") as t:
        has_name = "NAME" in t.colnames()
        return [
            SpectralWindow(
                name=str(t.getcell("NAME", i)) if has_name else "",
                frequency=np.asarray(t.getcell("CHAN_FREQ", i), dtype=float),
                width=np.asarray(t.getcell("CHAN_WIDTH", i), dtype=float),
            )
            for i in range(t.nrows())
        ]


def read_correlations(ms: str) -> list[tuple[str, ...]]:
    """Correlation product names (e.g. ``('XX', 'YY')``) of each POLARIZATION row."""
    out = []
    with open_table(f"{ms}/POLARIZATION") as t:
        for i in range(t.nrows()):
            codes = [int(c) for c in np.atleast_1d(t.getcell("CORR_TYPE", i))]
            unknown = [c for c in codes if c not in _CODE_TO_CORR]
            if unknown:
                raise MeasurementSetError(
                    f"{ms}: POLARIZATION row {i} has correlation codes {unknown} uvflow does "
                    f"not handle; known: {sorted(_CODE_TO_CORR)} ({', '.join(MS_CORR_CODES)})"
                )
            out.append(tuple(_CODE_TO_CORR[c] for c in codes))
    return out


def read_data_descriptions(ms: str) -> list[tuple[int, int]]:
    """(SPECTRAL_WINDOW_ID, POLARIZATION_ID) of each DATA_DESCRIPTION row."""
    with open_table(f"{ms}/DATA_DESCRIPTION") as t:
        if t.nrows() == 0:
            return []
        spw = t.getcol("SPECTRAL_WINDOW_ID")
        pol = t.getcol("POLARIZATION_ID")
    return [(int(s), int(p)) for s, p in zip(spw, pol)]


def direction_to_icrs(lon: float, lat: float, ref: str, where: str) -> SkyCoord:
    """A casacore direction (radians, reference code) as an ICRS SkyCoord.

    J2000 is taken as ICRS (their frame tie is ~20 mas, as in CASA and WSClean).
    """
    ref = str(ref).upper()
    if ref in ("J2000", "ICRS"):
        return SkyCoord(ra=lon, dec=lat, unit="rad", frame="icrs")
    if ref in ("B1950", "B1950_VLA"):
        c = SkyCoord(ra=lon, dec=lat, unit="rad", frame=FK4(equinox="B1950")).icrs
    elif ref == "GALACTIC":
        c = SkyCoord(l=lon, b=lat, unit="rad", frame="galactic").icrs
    else:
        raise MeasurementSetError(
            f"{where}: direction reference {ref} is not supported; J2000, ICRS, B1950, GALACTIC are"
        )
    return SkyCoord(ra=c.ra, dec=c.dec, frame="icrs")


def read_fields(ms: str) -> list[tuple[str, SkyCoord]]:
    """(NAME, phase centre) of each FIELD row."""
    with open_table(f"{ms}/FIELD") as t:
        info = t.getcolkeywords("PHASE_DIR").get("MEASINFO", {})
        ref = info.get("Ref", "J2000")
        if "VarRefCol" in info:
            log.warning("%s: FIELD PHASE_DIR has per-row references; taken as J2000", ms)
            ref = "J2000"
        out = []
        for i in range(t.nrows()):
            d = np.asarray(t.getcell("PHASE_DIR", i), dtype=float).reshape(-1, 2)[0]
            out.append((str(t.getcell("NAME", i)), direction_to_icrs(d[0], d[1], ref, ms)))
    return out


# ---- writing ---------------------------------------------------------------------------
def _put_rows(table, columns: dict) -> None:
    """Append rows; scalars via putcol, variable-shape arrays cell by cell."""
    n = len(next(iter(columns.values())))
    start = table.nrows()
    table.addrows(n)
    for name, values in columns.items():
        if isinstance(values, np.ndarray):
            table.putcol(name, values, startrow=start, nrow=n)
        else:
            for i, v in enumerate(values):
                table.putcell(name, start + i, v)


def write_antenna(ms: str, config: Configuration) -> None:
    with open_table(f"{ms}/ANTENNA", readonly=False) as t:
        _put_rows(
            t,
            {
                "NAME": list(config.names),
                "STATION": list(config.names),
                "TYPE": ["GROUND-BASED"] * config.nants,
                "MOUNT": [_MOUNT_TO_MS.get(str(m).lower(), str(m).upper()) for m in config.mount],
                "POSITION": np.ascontiguousarray(config.xyz, dtype=float),
                "OFFSET": np.zeros((config.nants, 3)),
                "DISH_DIAMETER": np.asarray(config.diameter, dtype=float),
                "FLAG_ROW": np.zeros(config.nants, bool),
            },
        )


def write_feed(ms: str, nants: int, frame: PolarisationFrame, time: float) -> None:
    rec = frame.receptor_frame
    types = list(rec.names) if rec.nrec == 2 else ["X", "Y"]
    angle = [0.0, np.pi / 2] if types == ["X", "Y"] else [0.0, 0.0]
    with open_table(f"{ms}/FEED", readonly=False) as t:
        _put_rows(
            t,
            {
                "ANTENNA_ID": np.arange(nants, dtype=np.int32),
                "FEED_ID": np.zeros(nants, np.int32),
                "SPECTRAL_WINDOW_ID": np.full(nants, -1, np.int32),
                "BEAM_ID": np.full(nants, -1, np.int32),
                "TIME": np.full(nants, time),
                "INTERVAL": np.full(nants, 1.0e30),
                "NUM_RECEPTORS": np.full(nants, 2, np.int32),
                "POLARIZATION_TYPE": [np.array(types)] * nants,
                "POL_RESPONSE": [np.eye(2, dtype=np.complex64)] * nants,
                "BEAM_OFFSET": [np.zeros((2, 2))] * nants,
                "RECEPTOR_ANGLE": [np.array(angle)] * nants,
                "POSITION": np.zeros((nants, 3)),
            },
        )


def write_spectral_windows(ms: str, spws: list[tuple[np.ndarray, np.ndarray]]) -> None:
    with open_table(f"{ms}/SPECTRAL_WINDOW", readonly=False) as t:
        n = len(spws)
        _put_rows(
            t,
            {
                "NUM_CHAN": np.array([f.size for f, _ in spws], np.int32),
                "NAME": [f"SPW{i}" for i in range(n)],
                "CHAN_FREQ": [np.asarray(f, float) for f, _ in spws],
                "CHAN_WIDTH": [np.asarray(w, float) for _, w in spws],
                "EFFECTIVE_BW": [np.abs(w) for _, w in spws],
                "RESOLUTION": [np.abs(w) for _, w in spws],
                "REF_FREQUENCY": np.array([f[0] for f, _ in spws], float),
                "TOTAL_BANDWIDTH": np.array([np.abs(w).sum() for _, w in spws], float),
                "MEAS_FREQ_REF": np.full(n, 5, np.int32),  # TOPO
                "NET_SIDEBAND": np.ones(n, np.int32),
                "FREQ_GROUP": np.zeros(n, np.int32),
                "FREQ_GROUP_NAME": [""] * n,
                "IF_CONV_CHAIN": np.zeros(n, np.int32),
                "FLAG_ROW": np.zeros(n, bool),
            },
        )


def write_polarisations(ms: str, frames: list[PolarisationFrame]) -> None:
    def products(frame):
        rec = {"X": 0, "Y": 1, "R": 0, "L": 1}
        return np.array(
            [[rec.get(p[0], 0), rec.get(p[-1], 0)] if len(p) == 2 else [0, 0] for p in frame.names],
            np.int32,
        )

    with open_table(f"{ms}/POLARIZATION", readonly=False) as t:
        _put_rows(
            t,
            {
                "NUM_CORR": np.array([f.npol for f in frames], np.int32),
                "CORR_TYPE": [
                    np.array([MS_CORR_CODES[p] for p in f.names], np.int32) for f in frames
                ],
                "CORR_PRODUCT": [products(f) for f in frames],
                "FLAG_ROW": np.zeros(len(frames), bool),
            },
        )


def write_data_descriptions(ms: str, dds: list[tuple[int, int]]) -> None:
    with open_table(f"{ms}/DATA_DESCRIPTION", readonly=False) as t:
        _put_rows(
            t,
            {
                "SPECTRAL_WINDOW_ID": np.array([s for s, _ in dds], np.int32),
                "POLARIZATION_ID": np.array([p for _, p in dds], np.int32),
                "FLAG_ROW": np.zeros(len(dds), bool),
            },
        )


def write_fields_and_sources(ms: str, fields: list[tuple[str, SkyCoord]], time: float) -> None:
    """FIELD rows (phase centres, J2000 = ICRS values) and a SOURCE row per field."""
    n = len(fields)
    dirs = np.array([[[c.icrs.ra.rad, c.icrs.dec.rad]] for _, c in fields], float)
    names = [name for name, _ in fields]
    with open_table(f"{ms}/FIELD", readonly=False) as t:
        _put_rows(
            t,
            {
                "NAME": names,
                "CODE": [""] * n,
                "TIME": np.full(n, time),
                "NUM_POLY": np.zeros(n, np.int32),
                "DELAY_DIR": dirs,
                "PHASE_DIR": dirs,
                "REFERENCE_DIR": dirs,
                "SOURCE_ID": np.arange(n, dtype=np.int32),
                "FLAG_ROW": np.zeros(n, bool),
            },
        )
    tables = casacore_tables()
    src = tables.default_ms_subtable("SOURCE", f"{ms}/SOURCE")
    try:
        _put_rows(
            src,
            {
                "SOURCE_ID": np.arange(n, dtype=np.int32),
                "NAME": names,
                "TIME": np.full(n, time),
                "INTERVAL": np.full(n, 1.0e30),
                "SPECTRAL_WINDOW_ID": np.full(n, -1, np.int32),
                "NUM_LINES": np.zeros(n, np.int32),
                "CALIBRATION_GROUP": np.zeros(n, np.int32),
                "CODE": [""] * n,
                "DIRECTION": dirs[:, 0, :].copy(),
                "PROPER_MOTION": np.zeros((n, 2)),
            },
        )
    finally:
        src.close()
    with open_table(ms, readonly=False) as t:
        t.putkeyword("SOURCE", f"Table: {ms}/SOURCE")


def write_observation(ms: str, telescope: str, time_range: tuple[float, float]) -> None:
    with open_table(f"{ms}/OBSERVATION", readonly=False) as t:
        _put_rows(
            t,
            {
                "TELESCOPE_NAME": [telescope],
                "TIME_RANGE": np.array([time_range], float),
                "OBSERVER": ["uvflow"],
                "PROJECT": [""],
                "SCHEDULE_TYPE": [""],
                "RELEASE_DATE": np.zeros(1),
                "LOG": [np.array([""])],
                "SCHEDULE": [np.array([""])],
                "FLAG_ROW": np.zeros(1, bool),
            },
        )
    with open_table(f"{ms}/PROCESSOR", readonly=False) as t:
        _put_rows(
            t,
            {
                "TYPE": ["CORRELATOR"],
                "SUB_TYPE": [""],
                "TYPE_ID": np.zeros(1, np.int32),
                "MODE_ID": np.zeros(1, np.int32),
                "FLAG_ROW": np.zeros(1, bool),
            },
        )


def write_history(ms: str, time: float, message: str) -> None:
    with open_table(f"{ms}/HISTORY", readonly=False) as t:
        _put_rows(
            t,
            {
                "TIME": np.array([time]),
                "OBSERVATION_ID": np.zeros(1, np.int32),
                "MESSAGE": [message],
                "PRIORITY": ["NORMAL"],
                "ORIGIN": ["uvflow.datamodels.write_ms"],
                "OBJECT_ID": np.zeros(1, np.int32),
                "APPLICATION": ["uvflow"],
                "CLI_COMMAND": [np.array([""])],
                "APP_PARAMS": [np.array([""])],
            },
        )
