"""Reading an H5parm solset into gain tables (the work of :func:`uvflow.calibration.read_h5parm`).

A soltab is read whole, its ``val`` and ``weight`` put in the order ``time, freq, ant, pol``
(a missing axis becomes one of length 1; ``dir`` is reduced to the chosen direction), then
the amplitude and phase soltabs of one table are combined: ``gain = amplitude * exp(i
phase)``, a solution flagged (weight 0 or NaN) in either is flagged (weight 0; a NaN gain
becomes 1, a finite one is kept). The ``pol`` names give
the Jones entries: ``XX``/``RR`` is entry (0, 0), ``XY``/``RL`` (0, 1), and so on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord

from uvflow.datamodels import Configuration, GainTable, ReceptorFrame

from .errors import H5parmError

__all__ = ["KNOWN_AXES", "decode", "read_solset"]

#: The axes an H5parm soltab may have (LoSoTo's and DP3's names).
KNOWN_AXES = ("time", "freq", "ant", "pol", "dir")
_CANONICAL = ("time", "freq", "ant", "pol")
_GAIN_TYPES = ("amplitude", "phase")
_LETTERS = {"linear": "XY", "circular": "RL"}


def decode(value) -> str:
    """An HDF5 string (bytes, numpy bytes or str, NUL-padded or not) as ``str``."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode("ascii", errors="replace")
    return str(value).rstrip("\x00").strip()


@dataclass
class _Soltab:
    """One soltab, its arrays in canonical order ``[time, freq, ant, pol]``."""

    name: str
    kind: str
    val: np.ndarray
    weight: np.ndarray
    axes: dict
    attrs: dict
    extras: dict = field(default_factory=dict)
    direction: str | None = None


def _axes_of(path: str, grp, val) -> list[str]:
    raw = grp["val"].attrs.get("AXES")
    if raw is None:
        raise H5parmError(f"soltab {path} has no AXES attribute on its val")
    axes = [a.strip() for a in decode(raw).split(",")]
    if len(axes) != val.ndim or len(set(axes)) != len(axes) or not set(axes) <= set(KNOWN_AXES):
        raise H5parmError(
            f"soltab {path} has axes {','.join(axes)!r} for a {val.ndim}-dimensional val; "
            f"H5parm axes are distinct names among {', '.join(KNOWN_AXES)}, one per dimension"
        )
    if "ant" not in axes:
        raise H5parmError(f"soltab {path} has no 'ant' axis: antenna gains need one")
    return axes


def _read_soltab(path: str, grp, direction) -> _Soltab:
    if "val" not in grp:
        raise H5parmError(f"soltab {path} has no val dataset")
    val = np.asarray(grp["val"][()], dtype=float)
    axes = _axes_of(path, grp, val)
    weight = np.asarray(grp["weight"][()], dtype=float) if "weight" in grp else np.ones(val.shape)
    if weight.shape != val.shape:
        raise H5parmError(f"soltab {path}: weight {weight.shape} and val {val.shape} differ")
    values = {}
    for k, ax in enumerate(axes):
        if ax not in grp or grp[ax].shape != (val.shape[k],):
            raise H5parmError(
                f"soltab {path}: axis {ax!r} needs a dataset of {val.shape[k]} values"
            )
        values[ax] = grp[ax][()]
    chosen = None
    if "dir" in axes:
        dirs = [decode(d) for d in values.pop("dir")]
        if direction is None and len(dirs) != 1:
            raise H5parmError(
                f"soltab {path} has {len(dirs)} directions ({', '.join(dirs)}); name one with direction="
            )
        if direction is not None and direction not in dirs:
            raise H5parmError(
                f"soltab {path} has no direction {direction!r}; it has: {', '.join(dirs)}"
            )
        k = axes.index("dir")
        chosen = dirs[0] if direction is None else direction
        val, weight = (np.take(a, dirs.index(chosen), axis=k) for a in (val, weight))
        axes.remove("dir")
    for ax in _CANONICAL:
        if ax not in axes:
            val, weight = val[..., None], weight[..., None]
            axes.append(ax)
    perm = [axes.index(ax) for ax in _CANONICAL]
    out = {
        "time": np.asarray(values.get("time", [0.0]), dtype=float),
        "freq": np.asarray(values.get("freq", [0.0]), dtype=float),
        "ant": [decode(a) for a in values["ant"]],
        "pol": [decode(p).upper() for p in values["pol"]] if "pol" in values else None,
    }
    attrs = {k: grp.attrs[k] for k in grp.attrs}
    extras = {k: grp[k][()] for k in grp if k.startswith("uvflow_")}
    kind = decode(attrs.get("TITLE", b""))
    return _Soltab(
        path, kind, val.transpose(perm), weight.transpose(perm), out, attrs, extras, chosen
    )


def _entries(pol, frame_hint, receptor_frame) -> tuple[str, list[tuple[int, int]]]:
    """Receptor frame and the Jones entry (p, q) of each pol name."""
    if pol is None or len(pol) == 1:
        frame = receptor_frame or frame_hint or "stokesI"
        nrec = ReceptorFrame(frame).nrec
        return frame, [(r, r) for r in range(nrec)]
    letters = set("".join(pol))
    found = next((f for f, s in _LETTERS.items() if letters <= set(s)), None)
    if found is None or any(len(p) != 2 for p in pol) or len(set(pol)) != len(pol):
        raise H5parmError(f"pol axis {pol} unknown: use XX YY (XY YX) or RR LL (RL LR)")
    order = _LETTERS[found]
    entries = [(order.index(p[0]), order.index(p[1])) for p in pol]
    if len(pol) == 2 and entries and any(p != q for p, q in entries):
        raise H5parmError(f"pol axis {pol}: two entries must be the parallel hands")
    if len(pol) not in (2, 4):
        raise H5parmError(f"pol axis {pol}: H5parm gains have 1, 2 or 4 pol entries")
    return receptor_frame or found, entries


def _interval(times: np.ndarray) -> np.ndarray:
    if times.size == 1:
        return np.array([np.inf])
    order = np.argsort(times)
    gaps = np.diff(times[order])
    width = np.minimum(np.concatenate([[gaps[0]], gaps]), np.concatenate([gaps, [gaps[-1]]]))
    return width[np.argsort(order)]


def _combine(key: str, parts: dict) -> tuple[_Soltab, np.ndarray, np.ndarray]:
    ref = parts.get("amplitude") or parts["phase"]
    for other in parts.values():
        same = all(
            np.array_equal(
                np.asarray(other.axes[a], dtype=object), np.asarray(ref.axes[a], dtype=object)
            )
            for a in ("time", "freq", "ant", "pol")
        )
        if not same:
            raise H5parmError(
                f"soltabs {ref.name} and {other.name} of table {key!r} have different axes values"
            )
    amp = parts["amplitude"].val if "amplitude" in parts else np.ones(ref.val.shape)
    phase = parts["phase"].val if "phase" in parts else np.zeros(ref.val.shape)
    weight = np.minimum.reduce([p.weight for p in parts.values()])
    nan = ~(np.isfinite(amp) & np.isfinite(phase))
    bad = nan | ~(np.isfinite(weight) & (weight > 0))
    gain = np.where(nan, 1.0, amp * np.exp(1j * np.where(nan, 0.0, phase)))
    scale = float(ref.attrs.get("uvflow_weight_scale", 1.0))
    return ref, gain, np.where(bad, 0.0, weight) * scale


def _antenna_rows(ss, names: list[str]):
    """(table name, its rows for ``names`` in order, positions float64 [nant, 3])."""
    for table, pos in (("uvflow_antenna", "xyz"), ("antenna", "position")):
        if table in ss:
            rows = ss[table][()]
            known = {decode(n): i for i, n in enumerate(rows["name"])}
            if all(n in known for n in names):
                idx = [known[n] for n in names]
                return table, rows[idx], np.asarray(rows[pos], dtype=float)[idx]
    raise H5parmError(
        f"the solset's antenna table lacks some of the soltabs' antennas {names[:4]}...; "
        "pass configuration="
    )


def _file_configuration(ss, names: list[str]) -> Configuration:
    table, rows, xyz = _antenna_rows(ss, names)
    attrs = ss[table].attrs
    if table == "uvflow_antenna":
        loc = EarthLocation.from_geocentric(*attrs["location"], unit=u.m)
        diameter, mount = rows["diameter"], [decode(m) for m in rows["mount"]]
    else:
        loc = EarthLocation.from_geocentric(*xyz.mean(axis=0), unit=u.m)
        diameter, mount = np.nan, None
    name = decode(attrs["array"]) if "array" in attrs else "H5parm"
    return Configuration(
        name=name, location=loc, names=names, xyz=xyz, diameter=diameter, mount=mount
    )


def _phasecentre(ss, ref: _Soltab) -> SkyCoord:
    if "uvflow_phasecentre" in ref.attrs:
        lon, lat = ref.attrs["uvflow_phasecentre"]
        frame = decode(ref.attrs.get("uvflow_phasecentre_frame", b"icrs"))
        return SkyCoord(lon * u.rad, lat * u.rad, frame=frame)
    rows = ss["source"][()] if "source" in ss else np.zeros(0, [("name", "S1"), ("dir", "f8", 2)])
    names = [decode(n) for n in rows["name"]]
    k = names.index(ref.direction) if ref.direction in names else (0 if len(names) == 1 else None)
    ra, dec = (0.0, 0.0) if k is None else (float(v) for v in rows["dir"][k])
    return SkyCoord(ra * u.rad, dec * u.rad, frame="icrs")


def _table(key, parts, ss, cfg: Configuration, receptor_frame) -> GainTable:
    ref, g, w = _combine(key, parts)
    hint = (
        decode(ref.attrs["uvflow_receptor_frame"]) if "uvflow_receptor_frame" in ref.attrs else None
    )
    frame, entries = _entries(ref.axes["pol"], hint, receptor_frame)
    ants = ref.axes["ant"]
    missing = [n for n in cfg.names if n not in ants]
    if missing:
        raise H5parmError(
            f"table {key!r} has no solutions for antenna(s) {', '.join(missing[:5])} of the configuration"
        )
    idx = np.array([ants.index(n) for n in cfg.names])
    g, w = g[:, :, idx].transpose(0, 2, 1, 3), w[:, :, idx].transpose(0, 2, 1, 3)
    nt, na, nf, _ = g.shape
    nrec = ReceptorFrame(frame).nrec
    gain = np.zeros((nt, na, nf, nrec, nrec), complex)
    weight = np.zeros(gain.shape)
    gain[..., range(nrec), range(nrec)] = 1.0
    scalar = ref.axes["pol"] is None or len(ref.axes["pol"]) == 1
    for col, (p, q) in enumerate(entries):
        gain[..., p, q] = g[..., 0 if scalar else col]
        weight[..., p, q] = w[..., 0 if scalar else col]
    ex = ref.extras if "uvflow_interval" in ref.extras else parts.get("amplitude", ref).extras
    interval = ex.get("uvflow_interval")
    if interval is None or np.shape(interval) != (nt,):
        interval = _interval(ref.axes["time"])
    residual = ex.get("uvflow_residual")
    if residual is None or np.shape(residual) != (nt, nf, nrec, nrec):
        residual = np.zeros((nt, nf, nrec, nrec))
    meta = {}
    if np.shape(ex.get("uvflow_frequency_interval")) == (nf,):
        meta["frequency_interval"] = np.asarray(ex["uvflow_frequency_interval"], dtype=float)
    jones = ref.attrs.get("uvflow_jones_type")
    jones = decode(jones) if jones is not None else ("B" if nf > 1 else "T" if scalar else "G")
    return GainTable(
        gain=gain, weight=weight, residual=residual, time=ref.axes["time"], interval=interval,
        frequency=ref.axes["freq"], receptor_frame=frame, phasecentre=_phasecentre(ss, ref),
        configuration=cfg, jones_type=jones, meta=meta,
    )  # fmt: skip


def read_solset(ss, configuration, direction, receptor_frame) -> dict[str, GainTable]:
    """Gain tables of an open solset group (see :func:`uvflow.calibration.read_h5parm`).

    Parameters
    ----------
    ss : h5py.Group
        The solset.
    configuration : Configuration or None
    direction : str or None
    receptor_frame : str or None

    Returns
    -------
    dict of str to GainTable
    """
    import h5py

    if receptor_frame is not None and receptor_frame not in _LETTERS:
        raise H5parmError(f"receptor_frame {receptor_frame!r} unknown; use linear or circular")
    if configuration is not None and not isinstance(configuration, Configuration):
        raise H5parmError(
            f"configuration must be a Configuration, got {type(configuration).__name__}"
        )
    soltabs = [
        _read_soltab(f"{ss.name.lstrip('/')}/{k}", ss[k], direction)
        for k in ss
        if isinstance(ss[k], h5py.Group)
    ]
    other = [f"{s.name} ({s.kind or 'no TITLE'})" for s in soltabs if s.kind not in _GAIN_TYPES]
    if other:
        raise H5parmError(
            f"soltabs {', '.join(other)} are not amplitude or phase; uvflow reads complex gains "
            "only (convert or remove them, e.g. with LoSoTo)"
        )
    if not soltabs:
        raise H5parmError(f"solset {ss.name.lstrip('/')} has no amplitude or phase soltabs")
    tables: dict[str, dict] = {}
    for s in soltabs:
        found = re.search(r"(\d+)$", s.name)
        key = decode(s.attrs["uvflow_table"]) if "uvflow_table" in s.attrs else (
            found.group(1) if found else s.name.split("/")[-1]
        )  # fmt: skip
        if s.kind in tables.setdefault(key, {}):
            raise H5parmError(f"two {s.kind} soltabs for table {key!r}")
        tables[key][s.kind] = s
    first = next(iter(tables.values()))
    cfg = configuration or _file_configuration(ss, next(iter(first.values())).axes["ant"])
    return {key: _table(key, parts, ss, cfg, receptor_frame) for key, parts in tables.items()}
