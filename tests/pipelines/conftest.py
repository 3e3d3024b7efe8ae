"""The pipeline tests share ``pipe_helpers`` (a small test field and result comparisons).

This directory goes on ``sys.path`` so that test modules ``import pipe_helpers``
(pytest runs with ``--import-mode=importlib``, which does not add it); Dask worker
processes started from the tests inherit the path, so helpers pickled by reference
import there too. No fixtures here: each module keeps its own.
"""

from __future__ import annotations

import pathlib
import sys

HERE = str(pathlib.Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
