"""Image: ``data[nchan, npol, ny, nx]`` with an astropy WCS (RA---SIN, DEC--SIN, STOKES, FREQ)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from ._axes import axis_length
from ._model_base import DataModelBase
from ._pickling import aligned_state
from ._validation import DataModelError, check_array, in_unit
from .polarisation import PolarisationFrame
from .stokes_axis import (
    STOKES_TAB_CTYPE,
    label_stokes_axis,
    linear_stokes_axis,
    stokes_axis_codes,
)
from .units import to_radians

__all__ = ["CHANNEL_FREQUENCIES", "Image", "create_image", "stokes_axis_codes"]

#: ``Image.meta`` key of the channel frequencies (Hz, a tuple) of a cube whose channels are
#: not evenly spaced or repeat (windows of a minor cycle); not written to FITS, which holds a
#: linear FREQ axis only
CHANNEL_FREQUENCIES = "CHANNEL_FREQUENCIES"


@dataclass(kw_only=True, eq=False)
class Image(DataModelBase):
    """A spectral, polarised image (or a uv grid when ``data`` is complex).

    Parameters
    ----------
    data : numpy.ndarray of float32/float64 (or complex), shape [nchan, npol, ny, nx]
    wcs : astropy.wcs.WCS
        Four axes in numpy-reversed order of ``data``: RA---SIN, DEC--SIN, STOKES, FREQ.
        CRPIX1/2 = N/2 + 1 (1-based), so 0-based pixel (ny//2, nx//2) is the reference
        direction; CDELT1 < 0 (RA increases to the left). The STOKES axis is set from
        ``polarisation_frame``: plane k's STOKES world coordinate is the FITS code of
        ``polarisation_frame.names[k]`` (a lookup-table axis, CTYPE ``'STOK-TAB'``, for
        linear and circular, whose codes in frame order are not arithmetic; see
        :mod:`uvflow.datamodels.stokes_axis`). A WCS labelling the planes otherwise (e.g.
        in FITS code order) is replaced by a relabelled copy.
    polarisation_frame : PolarisationFrame
        Defines the order of the planes along axis 1.
    clean_beam : dict or None
        ``{'bmaj': deg, 'bmin': deg, 'bpa': deg}`` when known.
    meta : dict
        Provenance written to FITS headers (e.g. ``BUNIT``, ``WEIGHT``, ``SUMWT``, ``NITER``).
    """

    data: np.ndarray
    wcs: WCS
    polarisation_frame: PolarisationFrame
    clean_beam: dict | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = check_array("Image", "data", self.data, ndim=4, kind="fciu")
        if not isinstance(self.wcs, WCS) or self.wcs.naxis != 4:
            raise DataModelError("Image.wcs must be a 4-axis astropy WCS (RA, DEC, STOKES, FREQ)")
        ctype = [c.upper() for c in self.wcs.wcs.ctype]
        if not (ctype[0].startswith("RA") and ctype[1].startswith("DEC")):
            raise DataModelError(f"Image.wcs axes 1, 2 must be RA, DEC; got {ctype[:2]}")
        stokes_ok = ctype[2].startswith("STOKES") or ctype[2] == STOKES_TAB_CTYPE
        if not (stokes_ok and ctype[3].startswith("FREQ")):
            raise DataModelError(f"Image.wcs axes 3, 4 must be STOKES, FREQ; got {ctype[2:]}")
        self.polarisation_frame = PolarisationFrame(self.polarisation_frame)
        if self.data.shape[1] != self.polarisation_frame.npol:
            raise DataModelError(
                f"Image.data has {self.data.shape[1]} polarisation planes but "
                f"{self.polarisation_frame.name} has {self.polarisation_frame.npol}"
            )
        self.wcs = label_stokes_axis(self.wcs, self.polarisation_frame)
        if self.clean_beam is not None:
            missing = {"bmaj", "bmin", "bpa"} - set(self.clean_beam)
            if missing:
                raise DataModelError(
                    f"Image.clean_beam lacks {sorted(missing)}; give bmaj, bmin, bpa in degrees"
                )

    # ---- geometry ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int, int]:
        return self.data.shape  # type: ignore[return-value]

    nchan = axis_length("data", 0, "Channels: axis 0 of ``data``.")
    npol = axis_length("data", 1, "Polarisations: axis 1 of ``data``.")
    ny = axis_length("data", 2, "Pixels in y (declination): axis 2 of ``data``.")
    nx = axis_length("data", 3, "Pixels in x (right ascension): axis 3 of ``data``.")

    @property
    def phasecentre(self) -> SkyCoord:
        """The reference direction (CRVAL1, CRVAL2) as an ICRS SkyCoord."""
        ra, dec = self.wcs.wcs.crval[:2]
        return SkyCoord(ra=ra, dec=dec, unit="deg", frame="icrs")

    @property
    def cellsize(self) -> float:
        """Pixel size in radians (``|CDELT2|``)."""
        return float(np.deg2rad(abs(self.wcs.wcs.cdelt[1])))

    @property
    def frequency(self) -> np.ndarray:
        """Channel centre frequencies in Hz, float64 [nchan]: from the FREQ axis, or the
        ``meta['CHANNEL_FREQUENCIES']`` of a cube whose channels no linear axis describes
        (:func:`~uvflow.datamodels.concatenate_images` with ``irregular=True``)."""
        table = self.meta.get(CHANNEL_FREQUENCIES)
        if table is not None and len(table) == self.nchan:
            return np.asarray(table, dtype=np.float64)
        w = self.wcs.wcs
        return w.crval[3] + (np.arange(self.nchan) + 1 - w.crpix[3]) * w.cdelt[3]

    @property
    def channel_bandwidth(self) -> np.ndarray:
        """Channel widths in Hz, float64 [nchan] (from CDELT4)."""
        return np.full(self.nchan, abs(self.wcs.wcs.cdelt[3]))

    @property
    def celestial_wcs(self) -> WCS:
        return self.wcs.celestial

    def sky_to_pixel(self, direction: SkyCoord) -> tuple[np.ndarray, np.ndarray]:
        """0-based (x, y) pixel of ``direction`` (x along the RA axis, y along Dec).

        Parameters
        ----------
        direction : astropy.coordinates.SkyCoord
            Scalar or array of directions (any frame astropy can transform).

        Returns
        -------
        (x, y) : numpy.ndarray of float64
            The shape of ``direction``; fractional pixels.
        """
        x, y = self.wcs.celestial.world_to_pixel(direction)
        return np.asarray(x), np.asarray(y)

    def pixel_to_sky(self, x, y) -> SkyCoord:
        """The direction of 0-based pixel (x, y) (x along the RA axis, y along Dec).

        Parameters
        ----------
        x, y : float or numpy.ndarray of float
            Pixel coordinates, broadcast together.

        Returns
        -------
        astropy.coordinates.SkyCoord
            In the image's celestial frame (ICRS for images made by uvflow).
        """
        return self.wcs.celestial.pixel_to_world(x, y)

    # ---- copies -----------------------------------------------------------------------

    def copy(self, zero: bool = False) -> Image:
        """A deep copy (data, WCS, beam, meta).

        Parameters
        ----------
        zero : bool
            Zero the data (same dtype and shape ``[nchan, npol, ny, nx]``).

        Returns
        -------
        Image
        """
        data = np.zeros_like(self.data) if zero else self.data.copy()
        beam = None if self.clean_beam is None else dict(self.clean_beam)
        return self.replace(
            data=data, wcs=self.wcs.deepcopy(), clean_beam=beam, meta=dict(self.meta)
        )

    # ---- interop ----------------------------------------------------------------------
    def to_xarray(self):
        """An ``xarray.Dataset`` sharing these arrays (:func:`uvflow.datamodels.io.image_to_xarray`)."""
        from .io.xarray_convert import image_to_xarray

        return image_to_xarray(self)

    @classmethod
    def from_xarray(cls, ds) -> Image:
        """The Image of a Dataset made by :meth:`to_xarray`."""
        from .io.xarray_convert import image_from_xarray

        return image_from_xarray(ds)

    # ---- pickling -----------------------------------------------------------------------
    # astropy pickles a WCS through its FITS header text, which rounds CDELT/CRVAL in the
    # last bit: an Image sent to a Dask worker would then image a (very slightly) different
    # grid than the same Image in serial mode. The numeric keywords travel as arrays. A
    # lookup-table STOKES axis cannot travel as header text: it goes as the linear FITS
    # form and is relabelled from the polarisation frame on arrival. Arrays arrive aligned
    # (:mod:`uvflow.datamodels._pickling`).
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        wcs = self.wcs
        if str(wcs.wcs.ctype[2]).upper() == STOKES_TAB_CTYPE:
            wcs = linear_stokes_axis(wcs, self.polarisation_frame)
        state["wcs"] = _wcs_state(wcs)
        return state

    def __setstate__(self, state: dict) -> None:
        state = aligned_state(state)
        frame = PolarisationFrame(state["polarisation_frame"])
        state["wcs"] = label_stokes_axis(_wcs_from_state(state["wcs"]), frame)
        self.__dict__.update(state)

    def __repr__(self) -> str:
        """Shape, frame, cell size, frequencies, dtype, data range and clean beam."""
        d = self.data
        rng = f"{d.real.min():.4g}..{d.real.max():.4g}" if d.size else "empty"
        f = self.frequency / 1e6
        freq = f"{f[0]:.4g}" if f.size == 1 else (f"{f[0]:.4g}–{f[-1]:.4g}" if f.size else "none")
        return (
            f"Image(shape={list(d.shape)}, {self.polarisation_frame.name}, "
            f"cell={np.rad2deg(self.cellsize) * 3600:.4g} arcsec, "
            f"freq={freq} MHz, dtype={d.dtype}, range {rng}, beam={self.clean_beam})"
        )


_EXACT_WCS_FIELDS = ("crval", "cdelt", "crpix")


def _wcs_state(wcs: WCS) -> dict:
    """A picklable, bit-exact description of a WCS: its header plus its numeric arrays."""
    state = {"header": wcs.to_header_string(relax=True)}
    for name in _EXACT_WCS_FIELDS:
        state[name] = np.array(getattr(wcs.wcs, name), dtype=float)
    if wcs.wcs.has_pc():
        state["pc"] = np.array(wcs.wcs.pc, dtype=float)
    return state


def _wcs_from_state(state) -> WCS:
    if isinstance(state, WCS):  # pickles made before exact WCS state
        return state
    from astropy.io import fits

    wcs = WCS(fits.Header.fromstring(state["header"]))
    for name in _EXACT_WCS_FIELDS:
        setattr(wcs.wcs, name, state[name])
    if "pc" in state:
        wcs.wcs.pc = state["pc"]
    wcs.wcs.set()
    return wcs


def create_image(
    npixel: int | tuple[int, int],
    cellsize: float,
    phasecentre: SkyCoord,
    frequency,
    channel_bandwidth=None,
    polarisation_frame: PolarisationFrame | str = "stokesI",
    dtype=np.float64,
    nchan: int | None = None,
) -> Image:
    """A zero image centred on ``phasecentre``.

    Parameters
    ----------
    npixel : int or (ny, nx)
    cellsize : float, astropy Quantity or str
        Pixel size in radians, or an angle such as ``1.5 * u.arcsec`` or ``"1.5asec"``.
    phasecentre : SkyCoord
    frequency : float or array of float [nchan], or a Quantity
        Channel centres in Hz (or e.g. ``[100, 101] * u.MHz``); must be evenly spaced (a
        FITS axis is linear).
    channel_bandwidth : float or array [nchan], or a Quantity, optional
        Hz; defaults to the channel spacing (or 1 Hz for one channel).
    polarisation_frame : PolarisationFrame or str
    dtype : numpy dtype
    nchan : int, optional
        With a scalar ``frequency``: that many channels spaced by ``channel_bandwidth``.
    """
    ny, nx = (npixel, npixel) if np.isscalar(npixel) else tuple(npixel)
    if ny <= 0 or nx <= 0:
        raise DataModelError(f"image size must be positive, got {ny} x {nx}")
    try:
        cellsize = to_radians(cellsize)
    except (TypeError, ValueError) as exc:
        raise DataModelError(f"create_image cellsize: {exc}") from None
    if not cellsize > 0:
        raise DataModelError(f"cellsize must be > 0 radians, got {cellsize}")
    freq = np.atleast_1d(
        np.asarray(in_unit("create_image", "frequency", frequency, "Hz"), dtype=float)
    )
    if channel_bandwidth is not None:
        channel_bandwidth = in_unit("create_image", "channel_bandwidth", channel_bandwidth, "Hz")
    if nchan is not None and freq.size == 1 and nchan > 1:
        bw = float(np.atleast_1d(channel_bandwidth)[0]) if channel_bandwidth is not None else 1.0
        freq = freq[0] + bw * np.arange(nchan)
    if np.any(freq <= 0):
        raise DataModelError("image frequencies must be > 0 Hz")
    if freq.size > 1:
        steps = np.diff(freq)
        if not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
            raise DataModelError(
                "image channel frequencies must be evenly spaced (a FITS axis is linear)"
            )
        df = float(steps[0])
    else:
        df = float(np.atleast_1d(channel_bandwidth)[0]) if channel_bandwidth is not None else 1.0
    pol = PolarisationFrame(polarisation_frame)
    w = WCS(naxis=4)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN", "STOKES", "FREQ"]
    w.wcs.cunit = ["deg", "deg", "", "Hz"]
    w.wcs.crpix = [nx // 2 + 1, ny // 2 + 1, 1.0, 1.0]
    cell = float(np.rad2deg(cellsize))
    w.wcs.cdelt = [-cell, cell, stokes_axis_codes(pol)[1], df]
    icrs = phasecentre.icrs
    w.wcs.crval = [icrs.ra.deg, icrs.dec.deg, stokes_axis_codes(pol)[0], freq[0]]  # relabelled
    # in frame order by Image (a lookup-table axis for linear and circular)
    w.wcs.radesys = "ICRS"
    w.wcs.equinox = 2000.0
    w.wcs.specsys = "TOPOCENT"
    data = np.zeros((freq.size, pol.npol, ny, nx), dtype=dtype)
    return Image(data=data, wcs=w, polarisation_frame=pol)
