"""The uvflow command returns freed image-sized arrays to the system (glibc's mmap threshold)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from uvflow.pipelines.cli.allocator import MMAP_THRESHOLD, return_large_frees


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator: Linux")
def test_freed_arrays_leave_the_resident_set(monkeypatch):
    """With the threshold set, a freed 16 MiB array, allocated after freeing a 24 MiB one,
    leaves the resident set; by default glibc would have raised its threshold to 24 MiB
    on that free, served the 16 MiB from the heap and kept it (measured: 16 MiB kept)."""
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert return_large_frees()
    assert MMAP_THRESHOLD == 1 << 20
    big = np.ones(3 * 2**20)  # 24 MiB
    del big
    before = _rss_mb()
    a = np.ones(2**21)  # 16 MiB, touched
    during = _rss_mb()
    del a
    after = _rss_mb()
    assert during - before > 12  # it was resident
    assert after - before < 8  # and went back to the system when freed


def test_a_users_setting_stands(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert not return_large_frees()
