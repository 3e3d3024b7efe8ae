"""What the subtables of a MeasurementSet say: :func:`read_ms_metadata` (no visibilities).

Read by the client to plan work (:func:`~uvflow.datamodels.io.ms_chunks.ms_index`) and by
``uvflow info``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.coordinates import SkyCoord

from ..configuration import Configuration
from .ms_tables import (
    MeasurementSetError,
    SpectralWindow,
    casacore_tables,
    check_ms,
    read_configuration,
    read_correlations,
    read_data_descriptions,
    read_fields,
    read_spectral_windows,
)

__all__ = ["MeasurementSetMetadata", "read_ms_metadata", "resolve_ids"]


@dataclass(frozen=True)
class MeasurementSetMetadata:
    """What the subtables of a MeasurementSet say about its main table.

    Parameters
    ----------
    path : str
        The MeasurementSet (as :func:`read_ms_metadata` checked it).
    configuration : Configuration
        The ANTENNA table (and the OBSERVATION table's telescope name).
    spectral_windows : list of SpectralWindow
        Per SPECTRAL_WINDOW row: ``name``, ``frequency`` and ``width`` float64 [nchan] Hz.
    correlations : list of tuple of str
        Per POLARIZATION row, the correlation products as stored (e.g. ``('XX', 'YY')``).
    data_descriptions : list of (int, int)
        Per DATA_DESCRIPTION row: (spectral window id, polarisation id).
    fields : list of (str, SkyCoord)
        Per FIELD row: name and phase centre (ICRS).
    """

    path: str
    configuration: Configuration
    spectral_windows: list[SpectralWindow]
    correlations: list[tuple[str, ...]]
    data_descriptions: list[tuple[int, int]]
    fields: list[tuple[str, SkyCoord]]


def read_ms_metadata(path) -> MeasurementSetMetadata:
    """Read the subtables that describe a MeasurementSet (no visibilities are loaded).

    Parameters
    ----------
    path : str or os.PathLike
        A MeasurementSet directory.

    Returns
    -------
    MeasurementSetMetadata

    Raises
    ------
    ImportError
        python-casacore is not installed (the message names the ``ms`` extra).
    MeasurementSetError
        Not a MeasurementSet (a required subtable is missing).
    """
    casacore_tables()
    ms = check_ms(path)
    return MeasurementSetMetadata(
        path=ms,
        configuration=read_configuration(ms),
        spectral_windows=read_spectral_windows(ms),
        correlations=read_correlations(ms),
        data_descriptions=read_data_descriptions(ms),
        fields=read_fields(ms),
    )


def resolve_ids(kind: str, request, names: list[str], ms: str) -> list[int]:
    """Ids chosen by ``field=``/``spw=`` (None, an id, a name, or a list of those).

    Parameters
    ----------
    kind : str
        For the message (``'field'``, ``'spectral window'``).
    request : None, int, str or list of those
    names : list of str
        The name of each id.
    ms : str
        For the message.

    Returns
    -------
    list of int
        Sorted, unique.

    Raises
    ------
    MeasurementSetError
        An unknown id or name (the available ones are listed).
    """
    if request is None:
        return list(range(len(names)))
    items = request if isinstance(request, (list, tuple, np.ndarray)) else [request]
    ids = []
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            ok = 0 <= int(item) < len(names)
            ident = int(item)
        else:
            ok = str(item) in names
            ident = names.index(str(item)) if ok else -1
        if not ok:
            listing = ", ".join(f"{i} {n!r}" for i, n in enumerate(names)) or "none"
            raise MeasurementSetError(f"{ms}: {kind} {item!r} unknown; available: {listing}")
        ids.append(ident)
    return sorted(set(ids))
