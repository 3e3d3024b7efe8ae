"""Small synthetic data for tests of uvflow packages (and of plugins).

These builders are deterministic and fast, not rigorous: uvw come from the classic
hour-angle rotation of local baseline vectors (no precession, nutation or aberration).
Use ``uvflow.simulation.create_visibility`` for real simulations. :func:`read_ms_peak_rss`
measures the memory of a MeasurementSet read in a fresh process (tests and benchmarks).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord

from .configuration import Configuration
from .polarisation import PolarisationFrame
from .visibility import Visibility


class MemorySource:
    """A visibility source that gives a copy of a Visibility it holds (for tests).

    It follows :class:`~uvflow.datamodels.VisibilitySource` as a reader of a file would,
    and counts its loads in this process (``MemorySource.loads``), so that a test can see how
    often a workflow reads each chunk (serial runs; worker processes count their own).

    Parameters
    ----------
    vis : Visibility
        ``vis[ntime, nbaseline, nchan, npol]``, given back as a copy by every ``load()``.
    """

    loads = 0

    def __init__(self, vis: Visibility):
        self.vis = vis

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """The held Visibility's ``vis`` shape."""
        return tuple(self.vis.vis.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the held Visibility's vis, weight, flags and uvw."""
        v = self.vis
        return int(v.vis.nbytes + v.weight.nbytes + v.flags.nbytes + v.uvw.nbytes)

    def load(self) -> Visibility:
        """A copy of the held Visibility (its arrays copied, so callers may change them)."""
        MemorySource.loads += 1
        v = self.vis
        return v.replace(vis=v.vis.copy(), weight=v.weight.copy(), flags=v.flags.copy())


__all__ = [
    "random_configuration",
    "hour_angle_uvw",
    "simple_visibility",
    "read_ms_peak_rss",
    "MemorySource",
    "write_uvfits_groups",
]


def random_configuration(
    nant: int = 10,
    radius: float = 1000.0,
    seed: int = 0,
    latitude_deg: float = -30.7,
    name: str = "TEST",
) -> Configuration:
    """``nant`` antennas spread uniformly in a disc of ``radius`` metres (seeded).

    Parameters
    ----------
    nant : int
    radius : float
        Metres, in the local horizontal plane (heights scatter by ~1 m).
    seed : int
        For ``numpy.random.default_rng``: the same seed gives the same array.
    latitude_deg : float
        Latitude of the array centre (longitude 21.44°, height 1000 m).
    name : str

    Returns
    -------
    Configuration
        ITRF ``xyz`` float64 [nant, 3], 15 m dishes, names ``A000``….
    """
    rng = np.random.default_rng(seed)
    r = radius * np.sqrt(rng.uniform(0, 1, nant))
    phi = rng.uniform(0, 2 * np.pi, nant)
    enu = np.stack([r * np.cos(phi), r * np.sin(phi), rng.normal(0, 1.0, nant)], axis=1)
    loc = EarthLocation.from_geodetic(lon=21.44, lat=latitude_deg, height=1000.0)
    lon, lat = loc.lon.rad, loc.lat.rad
    sl, cl, sp, cp = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
    rot = np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])
    centre = np.array([v.to_value("m") for v in loc.to_geocentric()])
    xyz = centre + enu @ rot
    return Configuration(
        name=name,
        location=loc,
        names=[f"A{i:03d}" for i in range(nant)],
        xyz=xyz,
        diameter=np.full(nant, 15.0),
    )


def hour_angle_uvw(
    config: Configuration, hour_angles: np.ndarray, dec: float, a1, a2
) -> np.ndarray:
    """uvw [ntime, nbaseline, 3] in metres for ``XYZ(a2) - XYZ(a1)`` at the given hour angles.

    The classic rotation of Earth-fixed baselines (no precession, nutation or aberration).

    Parameters
    ----------
    config : Configuration
    hour_angles : numpy.ndarray of float64, shape [ntime]
        Radians, of the phase centre at the array's longitude.
    dec : float
        Declination of the phase centre, radians.
    a1, a2 : numpy.ndarray of int, shape [nbaseline]
        Antenna indices.

    Returns
    -------
    numpy.ndarray of float64, shape [ntime, nbaseline, 3]
    """
    lon = config.location.lon.rad
    # Earth-fixed baseline vectors rotated so that X points to the local meridian (hour angle 0).
    xyz = config.xyz
    c, s = np.cos(-lon), np.sin(-lon)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    local = xyz @ rot.T
    b = local[a2] - local[a1]  # [nbaseline, 3]
    ha = np.asarray(hour_angles, dtype=float)[:, None]
    sh, ch = np.sin(ha), np.cos(ha)
    sd, cd = np.sin(dec), np.cos(dec)
    x, y, z = b[None, :, 0], b[None, :, 1], b[None, :, 2]
    u = sh * x + ch * y
    v = -sd * ch * x + sd * sh * y + cd * z
    w = cd * ch * x - cd * sh * y + sd * z
    return np.stack([u, v, w], axis=-1)


def simple_visibility(
    config: Configuration | None = None,
    ntime: int = 5,
    frequency=(1.0e8,),
    channel_bandwidth: float = 1.0e6,
    phasecentre: SkyCoord | None = None,
    polarisation_frame: str | PolarisationFrame = "stokesI",
    hour_angle_span: float = np.pi / 3,
    integration_time: float = 60.0,
    dtype=np.complex128,
    zerow: bool = False,
) -> Visibility:
    """A zero-valued Visibility of all cross-correlation baselines over a symmetric HA track.

    Parameters
    ----------
    config : Configuration, optional
        Defaults to ``random_configuration()``.
    ntime : int
    frequency : sequence of float
        Hz.
    channel_bandwidth : float
        Hz.
    phasecentre : SkyCoord, optional
        Defaults to RA 15°, Dec −45°.
    polarisation_frame : str or PolarisationFrame
    hour_angle_span : float
        Radians, centred on transit.
    integration_time : float
        Seconds.
    dtype : numpy dtype
        Of ``vis`` (complex64 or complex128).
    zerow : bool
        Set w = 0 (for 2d-gridding tests).

    Returns
    -------
    Visibility
        ``vis`` zeros [ntime, nant(nant−1)/2, nchan, npol], unit weights, no flags.
    """
    config = config if config is not None else random_configuration()
    phasecentre = (
        phasecentre if phasecentre is not None else SkyCoord(ra=15.0, dec=-45.0, unit="deg")
    )
    frame = PolarisationFrame(polarisation_frame)
    freq = np.atleast_1d(np.asarray(frequency, dtype=float))
    a1, a2 = np.triu_indices(config.nants, k=1)
    ha = np.linspace(-hour_angle_span / 2, hour_angle_span / 2, ntime) if ntime > 1 else np.zeros(1)
    uvw = hour_angle_uvw(config, ha, phasecentre.icrs.dec.rad, a1, a2)
    if zerow:
        uvw[..., 2] = 0.0
    shape = (ntime, a1.size, freq.size, frame.npol)
    t0 = 5.0e9
    return Visibility(
        vis=np.zeros(shape, dtype=dtype),
        weight=np.ones(shape),
        flags=np.zeros(shape, dtype=bool),
        uvw=uvw,
        time=t0 + ha * 86164.0905 / (2 * np.pi),
        integration_time=np.full(ntime, integration_time),
        antenna1=a1,
        antenna2=a2,
        frequency=freq,
        channel_bandwidth=np.full(freq.size, channel_bandwidth),
        phasecentre=phasecentre,
        polarisation_frame=frame,
        configuration=config,
        source="test",
    )


_RSS_CHILD = r"""
import gc, json, sys, time

def status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out

import numpy
import casacore.tables
from uvflow.datamodels import read_ms

gc.collect()
try:  # Linux >= 4.0: writing 5 resets the peak (VmHWM) to the current RSS
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = True
except OSError:
    reset = False
before = status()
t0 = time.perf_counter()
out = read_ms(sys.argv[1], **json.loads(sys.argv[2]))
seconds = time.perf_counter() - t0
after = status()
returned = sum(v.vis.nbytes + v.weight.nbytes + v.flags.nbytes + v.uvw.nbytes
               + v.meta["ms_rows"].nbytes for v in out)
print(json.dumps({"peak_bytes": after["VmHWM"] - before["VmRSS"], "returned_bytes": returned,
                  "nvis": sum(v.nvis for v in out), "seconds": seconds, "hwm_reset": reset,
                  "baseline_rss": before["VmRSS"]}))
"""


def read_ms_peak_rss(path, timeout: float = 600.0, **options) -> dict:
    """Peak resident memory of ``read_ms(path, **options)`` in a fresh Python process.

    The child imports numpy, python-casacore and uvflow.datamodels, resets its peak RSS
    (``/proc/self/clear_refs``) and reads; the peak counts every byte the read holds, C++
    buffers of casacore included (tracemalloc sees only Python's allocations). Linux only.

    Parameters
    ----------
    path : str or os.PathLike
        A MeasurementSet.
    timeout : float
        Seconds to wait for the child.
    **options
        JSON-able keyword arguments of :func:`uvflow.datamodels.read_ms` (``pol='stokesI'``,
        ``time_chunks=4`` …).

    Returns
    -------
    dict
        ``peak_bytes`` (VmHWM after the read minus VmRSS just before it), ``returned_bytes``
        (vis, weight, flags, uvw and ``meta['ms_rows']`` of the result), ``ratio`` (the two
        divided), ``nvis``, ``seconds`` (the read alone), ``hwm_reset`` (False: the peak
        also covers the imports, an overestimate) and ``baseline_rss``.
    """
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(path), json.dumps(options)],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"read_ms in a subprocess failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["ratio"] = result["peak_bytes"] / max(result["returned_bytes"], 1)
    return result


def write_uvfits_groups(path, config: Configuration, uvw, a1, a2, ntime: int, data,
                        stokes=(1.0, 1.0), object_name: str = "TEST"):  # fmt: skip
    """Write a minimal single-source, one-IF UVFITS file (random groups and an AIPS AN table).

    Parameters
    ----------
    path : str or os.PathLike
    config : Configuration
        The antennas (MeerKAT's array centre frame, ITRF).
    uvw : numpy.ndarray of float, shape [ntime · nbaseline, 3]
        Metres, time-major; written as the file's (negated) u, v, w in seconds.
    a1, a2 : numpy.ndarray of int, shape [nbaseline]
        0-based antenna indices of each baseline.
    ntime : int
        Integrations of 10 s each.
    data : numpy.ndarray of float32, shape [ntime · nbaseline, 1, 1, nchan, npol, 3]
        (re, im, weight) per channel and product; channels of 1 MHz from 1 GHz.
    stokes : (float, float)
        CRVAL and CDELT of the STOKES axis (1, 1: I…; -5, -1: XX…).
    object_name : str
    """
    from astropy.io import fits

    from .visibility import SPEED_OF_LIGHT

    rows = uvw.shape[0]
    pars = [-uvw[:, 0] / SPEED_OF_LIGHT, -uvw[:, 1] / SPEED_OF_LIGHT, -uvw[:, 2] / SPEED_OF_LIGHT,
            np.tile(256.0 * (a1 + 1) + (a2 + 1), ntime),
            np.full(rows, 2459000.5), np.repeat(np.arange(ntime) * 10.0 / 86400.0, a1.size)]  # fmt: skip
    names = ["UU---SIN", "VV---SIN", "WW---SIN", "BASELINE", "DATE", "DATE"]
    hdu = fits.GroupsHDU(fits.GroupData(data, parnames=names, pardata=pars, bitpix=-32))
    for k, (ctype, crval, cdelt) in enumerate(
        [("COMPLEX", 1.0, 1.0), ("STOKES", *stokes), ("FREQ", 1.0e9, 1.0e6),
         ("RA", 150.0, 1.0), ("DEC", -35.0, 1.0)], start=2,
    ):  # fmt: skip
        hdu.header.update({f"CTYPE{k}": ctype, f"CRVAL{k}": crval, f"CDELT{k}": cdelt,
                           f"CRPIX{k}": 1.0})  # fmt: skip
    hdu.header.update({"OBJECT": object_name, "EQUINOX": 2000.0})
    centre = np.array([v.to_value("m") for v in config.location.to_geocentric()])
    an = fits.BinTableHDU.from_columns([
        fits.Column("ANNAME", "8A", array=np.array(config.names)),
        fits.Column("STABXYZ", "3D", array=config.xyz - centre),
        fits.Column("NOSTA", "1J", array=np.arange(1, config.nants + 1)),
    ], name="AIPS AN")  # fmt: skip
    an.header.update({"ARRAYX": centre[0], "ARRAYY": centre[1], "ARRAYZ": centre[2],
                      "FRAME": "ITRF", "TIMSYS": "UTC", "ARRNAM": "MEERKAT"})  # fmt: skip
    fits.HDUList([hdu, an]).writeto(path)
    return path
