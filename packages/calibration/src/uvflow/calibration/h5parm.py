"""Gain tables in H5parm, the solutions format of DP3, WSClean and LoSoTo (HDF5, via h5py).

Layout written (what LoSoTo's ``h5parm`` and DP3's ``H5Parm`` write and read)::

    /sol000                       group, attr h5parm_version b'1.0'
        antenna                   compound [nant]: name S16, position float32[3] (ITRF, m)
        source                    compound [1]: name S128 b'pointing', dir float32[2] (RA, Dec rad)
        amplitude000, phase000    groups, attr TITLE b'amplitude' / b'phase'
            time   float64 [ntime]  MJD seconds (solution centres)
            freq   float64 [nfreq]  Hz
            ant    S<n> [nant]      antenna names
            dir    S128 [1]         b'pointing' (the source table's entry)
            pol    S2 [npol]        b'XX', b'YY' (b'RR', b'LL' for circular feeds); absent if scalar
            val    float64, attr AXES b'time,freq,ant,dir,pol' (the order of its dimensions)
            weight float64, same shape and AXES; 0 = flagged, otherwise in (0, 1]

Every string is fixed-length ASCII: DP3 refuses variable-length strings. Table ``k`` of the
input is the soltab pair ``amplitude{k:03d}`` / ``phase{k:03d}``, with ``val`` = ``|g|`` and
``arg(g)`` (radians). The ``pol`` axis follows DP3's solution modes: a scalar table
(``jones_type`` 'T' whose receptors share one gain, or a one-receptor table) has none, as DP3
writes scalar solutions (they apply to every correlation); a diagonal table has two entries,
a table with leakage (non-zero off-diagonal gains) four, ``XX XY YX YY`` (LoSoTo's and DP3's
full-Jones order, the order of uvflow's Jones matrix entries). Times and frequencies are
written in ascending order, as DP3 requires. The axes are in DP3's order, with its ``dir``
axis of one direction although the gains are direction-independent: WSClean's
``-apply-facet-solutions`` looks each facet's direction up in it (and fails without it).

H5parm weights are relative (1 the best); uvflow's are inverse variances, so they are divided
by a power of two (exact in binary) that brings the largest into (0.5, 1], and the factor is
kept. uvflow's own extras, ignored by other readers, make a uvflow round trip exact: group
attributes ``uvflow_table``, ``uvflow_jones_type``, ``uvflow_receptor_frame``,
``uvflow_weight_scale``, ``uvflow_phasecentre`` (RA, Dec rad float64, frame in
``uvflow_phasecentre_frame``), datasets ``uvflow_interval``, ``uvflow_frequency_interval`` and
``uvflow_residual`` in the amplitude soltab, and ``uvflow_antenna`` (the configuration in
float64) in the solset. Solver diagnostics in ``GainTable.meta`` are not written.

Reading rebuilds ``gain = amplitude * exp(i phase)`` from any such file (a phase-only file
has amplitude 1, an amplitude-only one phase 0); the rules for files from other programs are
in :func:`read_h5parm`.
"""

from __future__ import annotations

import datetime
import logging
import os
import re

import numpy as np

from uvflow.datamodels import Configuration, GainTable
from uvflow.datamodels.io.atomic import atomic_file

from .errors import H5parmError
from .h5parm_read import read_solset

__all__ = ["H5PARM_DIRECTION", "H5PARM_VERSION", "H5parmError", "read_h5parm", "write_h5parm"]

log = logging.getLogger(__name__)

#: The H5parm version stamped on solsets and soltabs (LoSoTo's and DP3's).
H5PARM_VERSION = "1.0"
#: The name of the one direction written (LoSoTo's name for direction-independent solutions).
H5PARM_DIRECTION = "pointing"

_ANT_DTYPE = np.dtype([("name", "S16"), ("position", "<f4", (3,))])
_SOURCE_DTYPE = np.dtype([("name", "S128"), ("dir", "<f4", (2,))])
_UVFLOW_ANT_DTYPE = np.dtype(
    [("name", "S16"), ("xyz", "<f8", (3,)), ("diameter", "<f8"), ("mount", "S16")]
)
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _fixed(text: str) -> np.bytes_:
    """A fixed-length ASCII string attribute (h5py writes ``str`` as variable-length)."""
    return np.bytes_(text.encode("ascii"))


def _as_list(gaintables) -> list[tuple[str, GainTable]]:
    if isinstance(gaintables, GainTable):
        gaintables = [gaintables]
    if isinstance(gaintables, dict):
        items = [(str(k), v) for k, v in gaintables.items()]
    elif isinstance(gaintables, (list, tuple)):
        items = [(getattr(g, "jones_type", "?"), g) for g in gaintables]
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            raise H5parmError(
                f"gain tables of the same Jones type {keys}: pass a dict of tables by name"
            )
    else:
        raise H5parmError(
            f"gaintables must be a GainTable, a list or a dict of them, got {type(gaintables).__name__}"
        )
    if not items:
        raise H5parmError("no gain tables to write")
    for key, gt in items:
        if not key.isascii() or not key:
            raise H5parmError(f"gain table name {key!r}: H5parm strings are ASCII")
        if not isinstance(gt, GainTable):
            raise H5parmError(f"gain table {key!r} is a {type(gt).__name__}, not a GainTable")
        if gt.configuration is None:
            raise H5parmError(
                f"gain table {key!r} has no configuration: H5parm names antennas, give the "
                "table the Visibility's configuration"
            )
        if gt.ntimes == 0 or gt.nchan == 0 or gt.nants == 0:
            raise H5parmError(f"gain table {key!r} is empty: {gt!r}")
    return items


def _configuration(items) -> Configuration:
    cfg = items[0][1].configuration
    for key, gt in items[1:]:
        if list(gt.configuration.names) != list(cfg.names):
            raise H5parmError(
                f"gain table {key!r} has other antennas than {items[0][0]!r}; a solset has one "
                "antenna list"
            )
    bad = [n for n in cfg.names if len(n) > 16 or not n.isascii()]
    if bad:
        raise H5parmError(f"antenna names must be ASCII of at most 16 characters: {bad[:3]}")
    return cfg


def _pol_layout(gt: GainTable) -> tuple[list[tuple[int, int]], list[str]]:
    """The gain entries written and their pol names ([] names: no pol axis)."""
    g = gt.gain
    off = ~np.eye(gt.nrec, dtype=bool)
    leakage = gt.nrec > 1 and bool(np.any(g[..., off]))
    if gt.nrec == 1:
        return [(0, 0)], []
    r = gt.receptor_frame.names
    same = np.array_equal(g[..., 0, 0], g[..., 1, 1]) and np.array_equal(
        gt.weight[..., 0, 0], gt.weight[..., 1, 1]
    )
    if gt.jones_type == "T" and same and not leakage:
        return [(0, 0)], []
    if not leakage:
        return [(0, 0), (1, 1)], [r[0] * 2, r[1] * 2]
    entries = [(0, 0), (0, 1), (1, 0), (1, 1)]
    return entries, [r[p] + r[q] for p, q in entries]


def _weight_scale(weight: np.ndarray) -> float:
    top = float(np.max(weight, initial=0.0))
    if not np.isfinite(top) or np.any(weight < 0):
        raise H5parmError("gain table weights must be finite and >= 0")
    return float(2.0 ** np.ceil(np.log2(top))) if top > 0 else 1.0


def _write_axes(grp, names: dict[str, np.ndarray]) -> None:
    for axis, values in names.items():
        grp.create_dataset(axis, data=values)


def _write_table(ss, index: int, key: str, gt: GainTable, history: str) -> None:
    tord = np.argsort(gt.time, kind="stable")
    ford = np.argsort(gt.frequency, kind="stable")
    entries, pols = _pol_layout(gt)
    p, q = (np.array([e[i] for e in entries]) for i in (0, 1))
    # [ntime, nant, nchan, npol] -> [ntime, nchan, nant, npol]
    g = gt.gain[tord][:, :, ford][..., p, q].transpose(0, 2, 1, 3)
    w = gt.weight[tord][:, :, ford][..., p, q].transpose(0, 2, 1, 3)
    g, w = g[:, :, :, None], w[:, :, :, None]  # the one direction: [time, freq, ant, dir, pol]
    if not pols:
        g, w = g[..., 0], w[..., 0]
    scale = _weight_scale(gt.weight)
    axes = {"time": gt.time[tord], "freq": gt.frequency[ford]}
    names = [n.encode("ascii") for n in gt.configuration.names]
    axes["ant"] = np.array(names, dtype=f"S{max(1, max(len(n) for n in names))}")
    axes["dir"] = np.array([H5PARM_DIRECTION.encode()], dtype="S128")
    if pols:
        axes["pol"] = np.array([s.encode() for s in pols], dtype="S2")
    axes_attr = _fixed(",".join(axes))
    pc = gt.phasecentre
    for kind, values in (("amplitude", np.abs(g)), ("phase", np.angle(g))):
        grp = ss.create_group(f"{kind}{index:03d}")
        grp.attrs["TITLE"] = _fixed(kind)
        grp.attrs["h5parm_version"] = _fixed(H5PARM_VERSION)
        grp.attrs["parmdb_type"] = _fixed("")
        grp.attrs["uvflow_table"] = _fixed(key)
        grp.attrs["uvflow_jones_type"] = _fixed(gt.jones_type)
        grp.attrs["uvflow_receptor_frame"] = _fixed(gt.receptor_frame.name)
        grp.attrs["uvflow_weight_scale"] = scale
        grp.attrs["uvflow_phasecentre"] = np.array([pc.spherical.lon.rad, pc.spherical.lat.rad])
        grp.attrs["uvflow_phasecentre_frame"] = _fixed(pc.frame.name)
        _write_axes(grp, axes)
        for name, data in (("val", values), ("weight", w / scale)):
            ds = grp.create_dataset(name, data=np.ascontiguousarray(data, dtype="<f8"))
            ds.attrs["AXES"] = axes_attr
        grp["val"].attrs["HISTORY000"] = _fixed(history)
        if kind == "amplitude":
            grp.create_dataset("uvflow_interval", data=gt.interval[tord])
            fint = gt.meta.get("frequency_interval")
            if fint is not None and np.shape(fint) == (gt.nchan,):
                grp.create_dataset("uvflow_frequency_interval", data=np.asarray(fint)[ford])
            grp.create_dataset("uvflow_residual", data=gt.residual[tord][:, ford])


def _write_antennas(ss, cfg: Configuration) -> None:
    ant = np.zeros(cfg.nants, _ANT_DTYPE)
    ant["name"] = [n.encode("ascii") for n in cfg.names]
    ant["position"] = cfg.xyz
    ss.create_dataset("antenna", data=ant)
    exact = np.zeros(cfg.nants, _UVFLOW_ANT_DTYPE)
    exact["name"], exact["xyz"] = ant["name"], cfg.xyz
    exact["diameter"] = cfg.diameter
    exact["mount"] = [m.encode("ascii")[:16] for m in cfg.mount]
    ds = ss.create_dataset("uvflow_antenna", data=exact)
    ds.attrs["array"] = _fixed(cfg.name)
    ds.attrs["location"] = np.array([v.to_value("m") for v in cfg.location.to_geocentric()])


def write_h5parm(
    path, gaintables, solset: str = "sol000", overwrite: bool = False, history: str | None = None
) -> str:
    """Write gain tables as amplitude and phase soltabs of one H5parm solset (module notes).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.h5`` file; written to a temporary name in the same directory, then renamed.
    gaintables : GainTable, list of GainTable or dict of str to GainTable
        ``gain[ntime, nant, nchan, nrec, nrec]`` complex128, ``weight`` float64 of the same
        shape (>= 0), with a ``configuration`` (all tables the same antennas). A list is keyed
        by ``jones_type`` (which must then differ); the keys come back from :func:`read_h5parm`.
    solset : str
        Solution-set name (``[A-Za-z0-9_-]+``, LoSoTo's rule).
    overwrite : bool
        Replace an existing file (otherwise ``FileExistsError``).
    history : str, optional
        Text for the ``HISTORY000`` attribute of each ``val`` (dated, as DP3 and LoSoTo do).

    Returns
    -------
    str
        The path written.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    H5parmError
        Tables without a configuration or with different antennas, bad names or weights.
    """
    import h5py

    items = _as_list(gaintables)
    if not isinstance(solset, str) or not _NAME.match(solset):
        raise H5parmError(f"solset name {solset!r} invalid: use letters, digits, '_' and '-'")
    cfg = _configuration(items)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    from . import __version__

    note = history or f"written by uvflow-calibration {__version__}"
    path = os.fspath(path)
    with atomic_file(path, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            ss = f.create_group(solset)
            ss.attrs["h5parm_version"] = _fixed(H5PARM_VERSION)
            _write_antennas(ss, cfg)
            pc = items[0][1].phasecentre.icrs
            src = np.zeros(1, _SOURCE_DTYPE)
            src["name"], src["dir"] = H5PARM_DIRECTION.encode(), [pc.ra.rad, pc.dec.rad]
            ss.create_dataset("source", data=src)
            for index, (key, gt) in enumerate(items):
                _write_table(ss, index, key, gt, f"{stamp}: {note} (table {key})")
    log.info("wrote %d gain table(s) to %s (solset %s)", len(items), path, solset)
    return path


def read_h5parm(
    path, solset: str | None = None, configuration=None, direction=None, receptor_frame=None
) -> dict[str, GainTable]:
    """Read the amplitude and phase soltabs of one solset back into gain tables.

    Parameters
    ----------
    path : str or os.PathLike
        An H5parm file.
    solset : str, optional
        The solution set; None: the file's only one (as DP3 does).
    configuration : Configuration, optional
        Antennas to map the solutions onto by name (the visibilities' configuration, so that
        antenna indices agree); every one must be in the soltabs. None: the file's antennas,
        in the order of the ``ant`` axis.
    direction : str, optional
        The ``dir`` entry to read from direction-dependent soltabs (None: the only one).
    receptor_frame : {'linear', 'circular'}, optional
        What the ``pol`` names stand for. None: from the names (XX/YY linear, RR/LL circular).
        DP3 writes XX, YY whatever the feeds: pass 'circular' for its solutions of
        circular-feed data.

    Returns
    -------
    dict of str to GainTable
        ``gain[ntime, nant, nchan, nrec, nrec]`` complex128 and ``weight`` float64 per table,
        keyed as written by :func:`write_h5parm`; tables from other writers are keyed by the
        soltabs' number (``'000'`` for ``amplitude000`` with ``phase000``).

    Notes
    -----
    Files from other writers: no ``pol`` axis is a scalar gain (``receptor_frame`` None: a
    one-receptor table, which acts on every correlation); ``weight`` 0 or a NaN value is a
    flagged solution (weight 0; a NaN gain becomes 1); a missing ``time`` or ``freq`` axis is one solution
    for all times or channels; a solution's interval is the spacing of its neighbours (one
    time: all times); ``jones_type`` is 'B' for several frequencies, else 'T' (scalar) or
    'G'; the configuration has the antenna table's float32 positions and unknown (NaN)
    diameters; the phase centre is the direction's entry of the source table.

    Raises
    ------
    FileNotFoundError
        No such file.
    H5parmError
        Not HDF5, no such solset (the message lists them), soltab types other than amplitude
        and phase, axes that are not a permutation of ``time, freq, ant, pol, dir``, or
        antennas of ``configuration`` without solutions.
    """
    import h5py

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"H5parm {path} does not exist")
    if not h5py.is_hdf5(path):
        raise H5parmError(f"{path} is not an HDF5 file (an H5parm is HDF5)")
    with h5py.File(path, "r") as f:
        solsets = [k for k in f if isinstance(f[k], h5py.Group)]
        if solset is None:
            if len(solsets) != 1:
                raise H5parmError(
                    f"{path} holds {len(solsets)} solsets ({', '.join(solsets) or 'none'}); "
                    "name one with solset="
                )
            solset = solsets[0]
        elif solset not in solsets:
            raise H5parmError(
                f"{path} has no solset {solset!r}; it holds: {', '.join(solsets) or 'none'}"
            )
        tables = read_solset(f[solset], configuration, direction, receptor_frame)
    log.info("read %d gain table(s) from %s (solset %s)", len(tables), path, solset)
    return tables
