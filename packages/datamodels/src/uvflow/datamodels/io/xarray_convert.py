"""xarray views of Visibility and Image, and back (xarray is an optional extra).

The Datasets share the arrays of the data model (no copies) and keep everything else as
JSON-string attributes, so they can be written with ``Dataset.to_zarr`` and read back
losslessly::

    Visibility: vis, weight, flags (time, baseline, frequency, polarisation),
                uvw (time, baseline, uvw_index), integration_time (time),
                antenna1, antenna2 (baseline), channel_bandwidth (frequency)
    Image:      pixels (frequency, polarisation, y, x)
"""

from __future__ import annotations

import numpy as np

from .._validation import DataModelError
from ..image import Image
from ..visibility import Visibility
from ._extras import import_extra
from ._serialise import image_attributes, image_fields, visibility_attributes, visibility_fields

__all__ = ["visibility_to_xarray", "visibility_from_xarray", "image_to_xarray", "image_from_xarray"]

_CORR_DIMS = ("time", "baseline", "frequency", "polarisation")


def _xarray():
    return import_extra("xarray", "xarray", "xarray conversion needs xarray")


def _attr(ds, key: str, kind: str):
    if ds.attrs.get("uvflow_type") != kind:
        raise DataModelError(
            f"this Dataset is not a uvflow {kind} (attrs['uvflow_type'] = "
            f"{ds.attrs.get('uvflow_type')!r}); make it with {kind.lower()}_to_xarray"
        )
    if key not in ds.attrs:
        raise DataModelError(f"the {kind} Dataset lacks attribute {key!r}")
    return ds.attrs[key]


def visibility_to_xarray(vis: Visibility):
    """An ``xarray.Dataset`` sharing ``vis``'s arrays.

    Coordinates: ``time`` (MJD s), ``frequency`` (Hz), ``polarisation`` (product names),
    ``baseline`` (index), ``uvw_index`` ('u', 'v', 'w'). The phase centre, configuration
    and meta are JSON strings in ``attrs``.

    Parameters
    ----------
    vis : Visibility
        ``vis``, ``weight``, ``flags`` [ntime, nbaseline, nchan, npol] become variables of
        dims (time, baseline, frequency, polarisation); ``uvw`` float64 [ntime, nbaseline, 3]
        of dims (time, baseline, uvw_index).

    Returns
    -------
    xarray.Dataset
    """
    xr = _xarray()
    if not isinstance(vis, Visibility):
        raise TypeError(f"visibility_to_xarray needs a Visibility, got {type(vis).__name__}")
    data_vars = {
        "vis": (_CORR_DIMS, vis.vis),
        "weight": (_CORR_DIMS, vis.weight),
        "flags": (_CORR_DIMS, vis.flags),
        "uvw": (("time", "baseline", "uvw_index"), vis.uvw, {"units": "m"}),
        "integration_time": (("time",), vis.integration_time, {"units": "s"}),
        "antenna1": (("baseline",), vis.antenna1),
        "antenna2": (("baseline",), vis.antenna2),
        "channel_bandwidth": (("frequency",), vis.channel_bandwidth, {"units": "Hz"}),
    }
    coords = {
        "time": ("time", vis.time, {"units": "s", "long_name": "MJD seconds (UTC)"}),
        "frequency": ("frequency", vis.frequency, {"units": "Hz"}),
        "polarisation": ("polarisation", list(vis.polarisation_frame.names)),
        "baseline": ("baseline", np.arange(vis.nbaseline)),
        "uvw_index": ("uvw_index", ["u", "v", "w"]),
    }
    attrs = {"uvflow_type": "Visibility", **visibility_attributes(vis, strings=True)}
    return xr.Dataset(data_vars=data_vars, coords=coords, attrs=attrs)


def visibility_from_xarray(ds) -> Visibility:
    """The Visibility of a Dataset made by :func:`visibility_to_xarray` (arrays shared).

    Parameters
    ----------
    ds : xarray.Dataset
        With the variables, dims and attributes :func:`visibility_to_xarray` writes.

    Returns
    -------
    Visibility

    Raises
    ------
    DataModelError
        A variable, dimension or attribute is missing.
    """
    _attr(ds, "phasecentre", "Visibility")
    for dims, name in ((_CORR_DIMS, "vis"), (("time", "baseline", "uvw_index"), "uvw")):
        if name not in ds or ds[name].dims != dims:
            raise DataModelError(f"the Visibility Dataset needs variable {name!r} with dims {dims}")
    return Visibility(
        vis=ds["vis"].values,
        weight=ds["weight"].values,
        flags=ds["flags"].values,
        uvw=ds["uvw"].values,
        time=ds["time"].values,
        integration_time=ds["integration_time"].values,
        antenna1=ds["antenna1"].values,
        antenna2=ds["antenna2"].values,
        frequency=ds["frequency"].values,
        channel_bandwidth=ds["channel_bandwidth"].values,
        **visibility_fields(ds.attrs),
    )


def image_to_xarray(im: Image):
    """An ``xarray.Dataset`` with variable ``pixels`` (frequency, polarisation, y, x) sharing
    ``im.data``; coordinates frequency (Hz), polarisation (names), y, x (0-based pixels).
    The WCS is kept exactly as a FITS header string in ``attrs['wcs_header']`` (its STOKES
    axis in FITS code order; :func:`image_from_xarray` relabels it in frame order).

    Parameters
    ----------
    im : Image
        ``data[nchan, npol, ny, nx]`` float or complex.

    Returns
    -------
    xarray.Dataset
    """
    xr = _xarray()
    if not isinstance(im, Image):
        raise TypeError(f"image_to_xarray needs an Image, got {type(im).__name__}")
    coords = {
        "frequency": ("frequency", im.frequency, {"units": "Hz"}),
        "polarisation": ("polarisation", list(im.polarisation_frame.names)),
        "y": ("y", np.arange(im.ny)),
        "x": ("x", np.arange(im.nx)),
    }
    attrs = {"uvflow_type": "Image", **image_attributes(im, strings=True)}
    pixels = xr.Variable(("frequency", "polarisation", "y", "x"), im.data)
    return xr.Dataset({"pixels": pixels}, coords=coords, attrs=attrs)


def image_from_xarray(ds) -> Image:
    """The Image of a Dataset made by :func:`image_to_xarray` (data shared).

    Parameters
    ----------
    ds : xarray.Dataset
        With variable ``pixels`` of dims (frequency, polarisation, y, x) and the attributes
        :func:`image_to_xarray` writes.

    Returns
    -------
    Image

    Raises
    ------
    DataModelError
        ``pixels`` or an attribute is missing.
    """
    _attr(ds, "wcs_header", "Image")
    if "pixels" not in ds or ds["pixels"].dims != ("frequency", "polarisation", "y", "x"):
        raise DataModelError(
            "the Image Dataset needs variable 'pixels' with dims (frequency, polarisation, y, x)"
        )
    return Image(data=ds["pixels"].values, **image_fields(ds.attrs))
