"""Visibility: block-layout visibilities ``[ntime, nbaseline, nchan, npol]``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.coordinates import SkyCoord

from ._axes import axis_length, last_axis_component
from ._model_base import DataModelBase
from ._validation import (
    DataModelError,
    broadcast_field,
    check_array,
    check_same_shape,
    in_unit,
    mjd_seconds,
)
from .configuration import Configuration
from .polarisation import PolarisationFrame

__all__ = ["Visibility", "SPEED_OF_LIGHT"]

SPEED_OF_LIGHT = 299792458.0  # m/s


@dataclass(kw_only=True, eq=False)
class Visibility(DataModelBase):
    """Visibilities in block layout.

    Parameters
    ----------
    vis : numpy.ndarray of complex64 or complex128, shape [ntime, nbaseline, nchan, npol]
    weight : numpy.ndarray of float, shape [ntime, nbaseline, nchan, npol]
    flags : numpy.ndarray of bool, shape [ntime, nbaseline, nchan, npol]
        True where a sample is flagged (not to be used).
    uvw : numpy.ndarray of float64, shape [ntime, nbaseline, 3]
        Metres, ``XYZ(antenna2) - XYZ(antenna1)`` in the J2000 frame of the phase centre.
    time : numpy.ndarray of float64, shape [ntime]
        Mid-point of each integration, MJD seconds (UTC). An astropy ``Time`` or a
        quantity of MJD in any time unit is converted.
    integration_time : numpy.ndarray of float64, shape [ntime]
        Seconds.
    antenna1, antenna2 : numpy.ndarray of int, shape [nbaseline]
    frequency : numpy.ndarray of float64, shape [nchan]
        Hz, every value > 0.
    channel_bandwidth : numpy.ndarray of float64, shape [nchan]
        Hz.
    phasecentre : astropy.coordinates.SkyCoord
    polarisation_frame : PolarisationFrame
    configuration : Configuration or None
    source : str
        Field name.
    meta : dict
        Free-form provenance (e.g. the MS it came from).

    Notes
    -----
    ``uvw``, ``time``, ``integration_time``, ``frequency`` and ``channel_bandwidth`` accept
    astropy quantities (e.g. ``[100, 110] * u.MHz``, ``uvw * u.km``), converted to the units
    above; a unit that does not convert (Jy for a frequency) is a ``DataModelError`` naming
    the field. Plain numbers are taken in the units above.
    """

    vis: np.ndarray
    weight: np.ndarray
    flags: np.ndarray
    uvw: np.ndarray
    time: np.ndarray
    integration_time: np.ndarray
    antenna1: np.ndarray
    antenna2: np.ndarray
    frequency: np.ndarray
    channel_bandwidth: np.ndarray
    phasecentre: SkyCoord
    polarisation_frame: PolarisationFrame
    configuration: Configuration | None = None
    source: str = "unknown"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        o = "Visibility"
        self.vis = check_array(o, "vis", self.vis, ndim=4, kind="c")
        nt, nb, nc, npol = self.vis.shape
        self.weight = check_array(o, "weight", self.weight, kind="fiu")
        if self.weight.dtype.kind != "f":
            self.weight = self.weight.astype(float)
        self.flags = check_array(o, "flags", self.flags, kind="bui").astype(bool, copy=False)
        check_same_shape(o, "vis", self.vis, weight=self.weight, flags=self.flags)
        self.uvw = check_array(
            o, "uvw", in_unit(o, "uvw", self.uvw, "m"), shape=(nt, nb, 3), kind="f"
        )
        self.time = check_array(
            o, "time", mjd_seconds(o, "time", self.time), shape=(nt,), kind="fiu"
        ).astype(float, copy=False)
        self.integration_time = broadcast_field(
            o, "integration_time", in_unit(o, "integration_time", self.integration_time, "s"), (nt,)
        )
        self.antenna1 = check_array(o, "antenna1", self.antenna1, shape=(nb,), kind="iu")
        self.antenna2 = check_array(o, "antenna2", self.antenna2, shape=(nb,), kind="iu")
        self.frequency = check_array(
            o, "frequency", in_unit(o, "frequency", self.frequency, "Hz"), shape=(nc,), kind="fiu"
        ).astype(float, copy=False)
        self.channel_bandwidth = broadcast_field(
            o,
            "channel_bandwidth",
            in_unit(o, "channel_bandwidth", self.channel_bandwidth, "Hz"),
            (nc,),
        )
        if nc and np.any(self.frequency <= 0):
            raise DataModelError("Visibility.frequency must be > 0 Hz")
        if not isinstance(self.phasecentre, SkyCoord):
            raise DataModelError("Visibility.phasecentre must be an astropy SkyCoord")
        self.polarisation_frame = PolarisationFrame(self.polarisation_frame)
        if self.polarisation_frame.npol != npol:
            raise DataModelError(
                f"Visibility.vis has {npol} polarisations but polarisation_frame "
                f"{self.polarisation_frame.name} has {self.polarisation_frame.npol}"
            )
        if self.configuration is not None and nb:
            nant = self.configuration.nants
            if max(self.antenna1.max(), self.antenna2.max()) >= nant:
                raise DataModelError(
                    f"Visibility antenna indices exceed the configuration's {nant} antennas"
                )

    # ---- shape and derived quantities -------------------------------------------------
    ntime = axis_length("vis", 0, "Integrations: axis 0 of ``vis``.")
    nbaseline = axis_length("vis", 1, "Baselines: axis 1 of ``vis``.")
    nchan = axis_length("vis", 2, "Channels: axis 2 of ``vis``.")
    npol = axis_length("vis", 3, "Polarisations: axis 3 of ``vis``.")

    @property
    def nvis(self) -> int:
        """Number of complex samples (all times, baselines, channels, polarisations)."""
        return int(self.vis.size)

    @property
    def nants(self) -> int:
        if self.configuration is not None:
            return self.configuration.nants
        return int(max(self.antenna1.max(), self.antenna2.max()) + 1) if self.nbaseline else 0

    @property
    def flagged_weight(self) -> np.ndarray:
        """``weight`` with flagged samples set to 0, shape [ntime, nbaseline, nchan, npol]."""
        return np.where(self.flags, 0.0, self.weight)

    @property
    def uvw_lambda(self) -> np.ndarray:
        """uvw in wavelengths, float64 [ntime, nbaseline, nchan, 3] (allocates)."""
        return self.uvw[:, :, None, :] * (self.frequency / SPEED_OF_LIGHT)[None, None, :, None]

    u = last_axis_component("uvw", 0, "u, metres: float64 [ntime, nbaseline], a view of ``uvw``.")
    v = last_axis_component("uvw", 1, "v, metres: float64 [ntime, nbaseline], a view of ``uvw``.")
    w = last_axis_component("uvw", 2, "w, metres: float64 [ntime, nbaseline], a view of ``uvw``.")

    # ---- copies -----------------------------------------------------------------------

    def copy(self, zero: bool = False, deep: bool = True) -> Visibility:
        """A copy.

        Parameters
        ----------
        zero : bool
            The visibilities are zeros (same dtype and shape); weights and flags are kept.
        deep : bool
            Copy weight, flags, uvw, time and meta too (default); ``deep=False`` gives new
            ``vis`` only (zeros or shared) and shares the rest.

        Returns
        -------
        Visibility
        """
        vis = np.zeros_like(self.vis) if zero else (self.vis.copy() if deep else self.vis)
        if not deep:
            return self.replace(vis=vis)
        return self.replace(
            vis=vis, weight=self.weight.copy(), flags=self.flags.copy(), uvw=self.uvw.copy(),
            time=self.time.copy(), meta=dict(self.meta),
        )  # fmt: skip

    # ---- selection --------------------------------------------------------------------
    def select(self, time=None, channel=None, baseline=None) -> Visibility:
        """Select by time, channel and/or baseline.

        Parameters
        ----------
        time : slice, numpy.ndarray of int or bool [ntime], optional
        channel : slice, numpy.ndarray of int or bool [nchan], optional
        baseline : slice, numpy.ndarray of int or bool [nbaseline], optional
            None keeps the whole axis. A single int is refused (it would drop the axis).

        Returns
        -------
        Visibility
            Slices give views of the arrays; index arrays and masks give copies.
        """
        t = slice(None) if time is None else time
        c = slice(None) if channel is None else channel
        b = slice(None) if baseline is None else baseline
        for name, sel, n in (
            ("time", t, self.ntime),
            ("channel", c, self.nchan),
            ("baseline", b, self.nbaseline),
        ):
            if isinstance(sel, (int, np.integer)):
                raise DataModelError(
                    f"select {name}= takes a slice, index array or mask, not a single int"
                )
            if not isinstance(sel, slice):
                arr = np.asarray(sel)
                if arr.dtype == bool and arr.shape != (n,):
                    raise DataModelError(f"select {name} mask has length {arr.size}, expected {n}")

        def take(a: np.ndarray, *sels):
            out = a
            for axis, sel in enumerate(sels):
                if not (isinstance(sel, slice) and sel == slice(None)):
                    index = [slice(None)] * out.ndim
                    index[axis] = sel
                    out = out[tuple(index)]
            return out

        return self.replace(
            vis=take(self.vis, t, b, c), weight=take(self.weight, t, b, c), flags=take(self.flags, t, b, c),
            uvw=take(self.uvw, t, b), time=take(self.time, t), integration_time=take(self.integration_time, t),
            antenna1=take(self.antenna1, b), antenna2=take(self.antenna2, b),
            frequency=take(self.frequency, c), channel_bandwidth=take(self.channel_bandwidth, c),
        )  # fmt: skip

    # ---- interop ----------------------------------------------------------------------
    def to_xarray(self):
        """An ``xarray.Dataset`` sharing these arrays (:func:`uvflow.datamodels.io.visibility_to_xarray`)."""
        from .io.xarray_convert import visibility_to_xarray

        return visibility_to_xarray(self)

    @classmethod
    def from_xarray(cls, ds) -> Visibility:
        """The Visibility of a Dataset made by :meth:`to_xarray`."""
        from .io.xarray_convert import visibility_from_xarray

        return visibility_from_xarray(ds)

    def __repr__(self) -> str:
        """Shapes, frame, frequency range, time span, longest uvw, dtype and flagged fraction."""
        f = self.frequency
        frange = f"{f.min() / 1e6:.3f}–{f.max() / 1e6:.3f} MHz" if f.size else "no channels"
        span = f"time span {np.ptp(self.time):.1f} s" if self.ntime else "no times"
        longest = f"|uvw| <= {np.sqrt((self.uvw**2).sum(-1)).max():.1f} m" if self.uvw.size else ""
        return (
            f"Visibility(source={self.source!r}, ntime={self.ntime}, nbaseline={self.nbaseline}, "
            f"nchan={self.nchan}, npol={self.npol} {self.polarisation_frame.name}, {frange}, "
            f"{span}, {longest}, dtype={self.vis.dtype}, "
            f"flagged={self.flags.mean() if self.flags.size else 0:.1%})"
        )
