"""Collect ``bench_*.py`` here (pytest's default ``python_files`` is ``test_*.py``).

If the harness later lists ``bench_*.py`` in ``python_files`` itself, this hook steps
aside, so nothing is collected twice.
"""

from __future__ import annotations

from fnmatch import fnmatch

import pytest


def pytest_collect_file(file_path, parent):
    if file_path.suffix != ".py" or not file_path.name.startswith("bench_"):
        return None
    if any(fnmatch(file_path.name, pat) for pat in parent.config.getini("python_files")):
        return None
    return pytest.Module.from_parent(parent, path=file_path)
