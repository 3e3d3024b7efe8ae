"""The uvflow command returns freed image-sized arrays to the system (glibc's mmap threshold)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from uvflow.pipelines.cli.allocator import return_large_frees

# in a fresh interpreter: this one's heap already holds freed space that new arrays reuse
CHECK = """
import json, sys
import numpy as np

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

if sys.argv[1] == "set":
    from uvflow.pipelines.cli.allocator import return_large_frees
    assert return_large_frees()
big = np.ones(3 * 2**20)  # 24 MiB, mmapped, freed: glibc raises its threshold to 24 MiB
del big
before = rss()
a = np.ones(2**21)  # 16 MiB, touched
during = rss()
del a
print(json.dumps([during - before, rss() - before]))
"""


def _grown(mode: str) -> list[float]:
    run = subprocess.run([sys.executable, "-c", CHECK, mode], capture_output=True, text=True,
                         timeout=120, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator: Linux")
def test_freed_arrays_leave_the_resident_set():
    """A freed 16 MiB array, allocated after freeing a 24 MiB one: by default glibc serves
    it from the heap and keeps it (measured: 16 MiB still resident); with the threshold
    fixed it is unmapped when freed."""
    during, after = _grown("set")
    assert during > 12 and after < 8
    during, after = _grown("default")
    assert during > 12 and after > 12  # the case the threshold is for (so the test can fail)


def test_a_users_setting_stands(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert not return_large_frees()


@pytest.mark.cluster
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator: Linux")
def test_the_commands_local_workers_get_the_threshold_too(monkeypatch):
    """Workers of the local cluster ``uvflow`` starts run with the same threshold (their
    heaps otherwise kept freed chunk arrays: issue 15's large MS hung with both workers
    paused at Dask's 80 % on memory that pausing cannot free)."""
    import argparse
    import os

    from uvflow.pipelines.cli.allocator import MMAP_THRESHOLD
    from uvflow.pipelines.cli.session import add_execution_arguments, execution

    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    parser = argparse.ArgumentParser()
    add_execution_arguments(parser)
    args = parser.parse_args(["--nworkers", "1"])
    with execution(args) as rsx:
        seen = rsx.client.run(lambda: os.environ.get("MALLOC_MMAP_THRESHOLD_"))
    assert list(seen.values()) == [str(MMAP_THRESHOLD)]
