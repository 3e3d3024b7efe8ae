"""What the data-model dataclasses share: ``replace`` and unpickling with aligned arrays."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from ._pickling import aligned_state

__all__ = ["DataModelBase"]

_M = TypeVar("_M", bound="DataModelBase")


class DataModelBase:
    """Base of Visibility, Image, GainTable, SkyComponent and SkyModel (dataclasses).

    A data model is never changed in place by uvflow: :meth:`replace` makes a new one,
    validated by the constructor again, sharing every field it does not change (arrays
    are not copied). Unpickled models hold aligned arrays (:mod:`uvflow.datamodels._pickling`).
    """

    def replace(self: _M, **changes) -> _M:
        """A new object of this class with ``changes`` applied (validated again); the other
        fields, arrays included, are shared, not copied.

        Parameters
        ----------
        **changes
            Field names and new values, as for the constructor.

        Returns
        -------
        Visibility, Image, GainTable, SkyComponent or SkyModel
            Of the class of ``self``.
        """
        return dataclasses.replace(self, **changes)

    def __setstate__(self, state: dict) -> None:
        """Unpickling: arrays that arrive unaligned (Dask network frames) are copied once."""
        self.__dict__.update(aligned_state(state))
