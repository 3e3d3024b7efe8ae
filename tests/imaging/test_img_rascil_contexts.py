"""RASCIL's context names run on the ducc0 gridder each maps to (issue 18 item 2).

Each RASCIL name gives exactly the image of its ducc0 gridder (the same object type and the
same call: bit-identical), is logged once with what uvflow does instead, and a name that is
neither installed nor RASCIL's is still refused, listing the installed gridders.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from uvflow.imaging import (
    GriddingSettings,
    UnknownGridderError,
    get_gridder,
    invert,
    rascil_contexts,
)
from uvflow.imaging.rascil_contexts import RASCIL_CONTEXTS


@pytest.mark.parametrize("context", sorted(RASCIL_CONTEXTS))
def test_rascil_context_is_its_ducc0_gridder(wide_data, wide_image, context, caplog, monkeypatch):
    monkeypatch.setattr(rascil_contexts, "_LOGGED", set())
    gridder = RASCIL_CONTEXTS[context][0]
    with caplog.at_level(logging.INFO, logger="uvflow.imaging.rascil_contexts"):
        got, _ = invert(wide_data, wide_image, context=context, epsilon=1e-4)
    want, _ = invert(wide_data, wide_image, context=gridder, epsilon=1e-4)
    assert np.array_equal(got.data, want.data)
    assert f"context {context!r} (RASCIL) runs as gridder {gridder!r}" in caplog.text
    assert GriddingSettings(context).context == gridder
    assert type(get_gridder(context)) is type(get_gridder(gridder))


def test_unknown_context_lists_the_installed_gridders():
    with pytest.raises(UnknownGridderError, match="2d.*ng.*wstack"):
        GriddingSettings("wproj")
