"""GainTable: antenna-based Jones matrices ``gain[ntime, nant, nchan, nrec, nrec]``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.coordinates import SkyCoord

from ._axes import axis_length
from ._model_base import DataModelBase
from ._validation import DataModelError, broadcast_field, check_array, in_unit, mjd_seconds
from .configuration import Configuration
from .polarisation import ReceptorFrame

__all__ = ["GainTable", "JONES_TYPES"]

JONES_TYPES = ("T", "G", "B")


@dataclass(kw_only=True, eq=False)
class GainTable(DataModelBase):
    """Antenna gains, convention ``V_obs_ij = g_i V_model_ij g_j^H``.

    Parameters
    ----------
    gain : numpy.ndarray of complex128, shape [ntime, nant, nchan, nrec, nrec]
    weight : numpy.ndarray of float64, shape [ntime, nant, nchan, nrec, nrec]
        0 where a solution has no data.
    residual : numpy.ndarray of float64, shape [ntime, nchan, nrec, nrec]
        RMS misfit of the solution.
    time : numpy.ndarray of float64, shape [ntime]
        Centre of each solution interval, MJD seconds (UTC).
    interval : numpy.ndarray of float64, shape [ntime]
        Width of each solution interval, seconds.
    frequency : numpy.ndarray of float64, shape [nchan]
        Centre of each frequency solution interval, Hz.
    receptor_frame : ReceptorFrame
    phasecentre : SkyCoord
    configuration : Configuration or None
    jones_type : str
        ``'T'`` (scalar), ``'G'`` (per receptor) or ``'B'`` (per channel), or a plugin's name.
    meta : dict
        Solver diagnostics (iterations, convergence).

    Notes
    -----
    ``time`` (an astropy ``Time`` too), ``interval`` and ``frequency`` accept astropy
    quantities, converted to seconds and Hz; a unit that does not convert is a
    ``DataModelError`` naming the field.
    """

    gain: np.ndarray
    weight: np.ndarray
    residual: np.ndarray
    time: np.ndarray
    interval: np.ndarray
    frequency: np.ndarray
    receptor_frame: ReceptorFrame
    phasecentre: SkyCoord
    configuration: Configuration | None = None
    jones_type: str = "T"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        o = "GainTable"
        self.gain = check_array(o, "gain", self.gain, ndim=5, kind="c")
        nt, na, nc, nr, nr2 = self.gain.shape
        if nr != nr2:
            raise DataModelError(
                f"GainTable.gain must be [..., nrec, nrec], got {list(self.gain.shape)}"
            )
        self.weight = check_array(
            o, "weight", self.weight, shape=self.gain.shape, kind="fiu"
        ).astype(float, copy=False)
        self.residual = check_array(
            o, "residual", self.residual, shape=(nt, nc, nr, nr), kind="fiu"
        )
        self.time = check_array(
            o, "time", mjd_seconds(o, "time", self.time), shape=(nt,), kind="fiu"
        ).astype(float, copy=False)
        self.interval = broadcast_field(
            o, "interval", in_unit(o, "interval", self.interval, "s"), (nt,)
        )
        self.frequency = check_array(
            o, "frequency", in_unit(o, "frequency", self.frequency, "Hz"), shape=(nc,), kind="fiu"
        ).astype(float, copy=False)
        self.receptor_frame = ReceptorFrame(self.receptor_frame)
        if self.receptor_frame.nrec != nr:
            raise DataModelError(
                f"GainTable has {nr} receptors but receptor_frame {self.receptor_frame.name} has "
                f"{self.receptor_frame.nrec}"
            )
        if self.configuration is not None and self.configuration.nants != na:
            raise DataModelError(
                f"GainTable has {na} antennas, its configuration {self.configuration.nants}"
            )
        if not isinstance(self.phasecentre, SkyCoord):
            raise DataModelError("GainTable.phasecentre must be an astropy SkyCoord")

    ntimes = axis_length("gain", 0, "Solution intervals: axis 0 of ``gain``.")
    nants = axis_length("gain", 1, "Antennas: axis 1 of ``gain``.")
    nchan = axis_length("gain", 2, "Channels: axis 2 of ``gain``.")
    nrec = axis_length("gain", 3, "Receptors: axes 3 and 4 of ``gain``.")

    def copy(self) -> GainTable:
        """A copy with new gain, weight, residual, time, interval arrays and meta dict."""
        return self.replace(
            gain=self.gain.copy(), weight=self.weight.copy(), residual=self.residual.copy(),
            time=self.time.copy(), interval=self.interval.copy(), meta=dict(self.meta),
        )  # fmt: skip

    def __repr__(self) -> str:
        """Jones type, shapes, receptor frame and the range of the gain amplitudes."""
        amp = np.abs(self.gain)
        rng = f"|g| {amp.min():.3g}..{amp.max():.3g}" if amp.size else "no gains"
        return (
            f"GainTable({self.jones_type}, ntimes={self.ntimes}, nants={self.nants}, nchan={self.nchan}, "
            f"nrec={self.nrec} {self.receptor_frame.name}, {rng})"
        )
