"""``<name>-report.json``: parameters, versions, per-stage timing and memory, image statistics."""

from __future__ import annotations

import logging
import platform
import resource
import sys
import time

from uvflow.datamodels import qa_image
from uvflow.execution import rsexecute

from ..package_versions import package_versions

__all__ = ["Stages", "versions", "image_statistics", "rss_mb"]

log = logging.getLogger(__name__)

_PACKAGES = (
    "uvflow-datamodels", "uvflow-execution", "uvflow-imaging", "uvflow-calibration",
    "uvflow-simulation", "uvflow-pipelines", "numpy", "scipy", "astropy", "dask",
    "distributed", "ducc0", "python-casacore",
)  # fmt: skip


def versions() -> dict:
    """Versions of Python and of the packages a run depends on (None when not installed)."""
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            **package_versions(_PACKAGES)}  # fmt: skip


def rss_mb() -> float:
    """Resident memory of this process, MB (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KiB on Linux


def _worker_memory() -> dict:
    if not rsexecute.using_dask or rsexecute.client is None:
        return {}
    try:
        return {str(k): float(v) for k, v in rsexecute.run(rss_mb).items()}
    except Exception as exc:  # a report must not fail the run
        log.debug("could not read the workers' memory: %s", exc)
        return {}


class Stages:
    """Wall-clock time and memory of each stage of a run.

    ``with stages("image"): ...`` records ``seconds``, this process's resident and peak
    memory (MB) and, on a Dask cluster, each worker's resident memory after the stage.
    """

    def __init__(self):
        self.records: dict[str, dict] = {}

    def __call__(self, name: str):
        return _Stage(self, name)

    @property
    def seconds(self) -> dict[str, float]:
        return {k: v["seconds"] for k, v in self.records.items()}


class _Stage:
    def __init__(self, owner: Stages, name: str):
        self.owner, self.name = owner, name

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            return
        seconds = time.perf_counter() - self.t0
        self.owner.records[self.name] = {
            "seconds": seconds, "rss_mb": rss_mb(), "peak_rss_mb": _peak_mb(),
            "worker_rss_mb": _worker_memory(),
        }  # fmt: skip
        log.info("stage %-10s %7.2f s", self.name, seconds)


def image_statistics(images: dict) -> dict:
    """``qa_image`` of each product (max, min, rms, …)."""
    return {k: qa_image(v, context=k) for k, v in images.items()}
