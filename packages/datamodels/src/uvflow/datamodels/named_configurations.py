"""Named array configurations from the layouts shipped in ``uvflow/datamodels/data/layouts``.

Shipped (licences in that directory's README): ``MEERKAT`` (pyvisgen, MIT), ``VLA``
(pyvisgen's layout: the B configuration, MIT), ``VLAA``–``VLAD`` (CASA's simobserve
files, LGPL). The SKA1-LOW layouts (``LOWBD2``, ``LOWBD2-CORE``) are not shipped: read
them with :func:`create_configuration_from_file` from a copy you have.
"""

from __future__ import annotations

from importlib import resources

from ._validation import DataModelError
from .config_readers import create_configuration_from_file
from .configuration import Configuration

__all__ = ["create_named_configuration", "NAMED_CONFIGURATIONS"]

# key: (file, display name, array centre)
NAMED_CONFIGURATIONS: dict[str, tuple[str, str, str]] = {
    "MEERKAT": ("meerkat.txt", "MEERKAT", "MEERKAT"),
    "VLA": ("vla.txt", "VLA", "VLA"),
    "VLAA": ("vla.a.cfg", "VLA-A", "VLA"),
    "VLAB": ("vla.b.cfg", "VLA-B", "VLA"),
    "VLAC": ("vla.c.cfg", "VLA-C", "VLA"),
    "VLAD": ("vla.d.cfg", "VLA-D", "VLA"),
}
# Known layouts that must not be copied into the package (see ../shared/data/README.md).
_NOT_SHIPPED = {
    "LOWBD2": "LOWBD2.csv",
    "LOWBD2CORE": "LOWBD2-CORE.csv",
    "LOW": "LOWBD2.csv",
    "SKA1LOW": "LOWBD2.csv",
}


def _key(name: str) -> str:
    return "".join(ch for ch in str(name).upper() if ch not in "-_ ")


def create_named_configuration(
    name: str, rmax: float | None = None, centre: str = "location"
) -> Configuration:
    """A configuration shipped with the package.

    Parameters
    ----------
    name : str
        ``MEERKAT``, ``VLA`` (B configuration), ``VLAA``, ``VLAB``, ``VLAC``, ``VLAD``;
        case, ``-`` and ``_`` are ignored (``'vla-a'`` works).
    rmax : float, optional
        Keep antennas within this horizontal distance (metres) of ``centre``.
    centre : {'location', 'mean'}
        The array centre or the mean antenna position.

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones), or a layout that is not shipped
        (the message says how to read it from its file).
    """
    key = _key(name)
    if key in _NOT_SHIPPED:
        fname = _NOT_SHIPPED[key]
        raise DataModelError(
            f"the {name} layout is not shipped with uvflow-datamodels (its licence does not "
            f"allow it); read it from its file, e.g. create_configuration_from_file("
            f"'../shared/data/layouts/{fname}', location='SKA1-LOW', diameter=35.0, "
            f"mount='xy', rmax=..., centre='mean')"
        )
    if key not in NAMED_CONFIGURATIONS:
        raise DataModelError(
            f"configuration {name!r} unknown; known: {', '.join(NAMED_CONFIGURATIONS)} "
            "(or read a layout file with create_configuration_from_file)"
        )
    fname, display, location = NAMED_CONFIGURATIONS[key]
    ref = resources.files("uvflow.datamodels").joinpath("data", "layouts", fname)
    with resources.as_file(ref) as path:
        return create_configuration_from_file(
            path, location=location, name=display, rmax=rmax, centre=centre
        )
