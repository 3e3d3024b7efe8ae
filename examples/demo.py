# %% [markdown]
# # uvflow demo: simulate, corrupt, calibrate and image a MeerKAT observation on Dask
#
# A 3-hour MeerKAT track in four frequency windows (1.30–1.45 GHz) of a field of random
# point sources is simulated, corrupted by per-antenna gains (0.5 rad phase, 10 %
# amplitude errors), calibrated against the sky model (one global G solution over all
# windows), and imaged: robust weighting on one grid shared by the windows, three major
# cycles of residual imaging and Högbom cleaning, then restoring. Every stage is a graph
# built with ``rsexecute`` and run on a local Dask cluster (``--nworkers 0``: serially,
# without Dask; the answer is the same).
#
# The code lives in ``uvflow.pipelines.cli.demo`` (the ``uvflow demo`` command); this file
# runs it. Products (in ``--out``, default ``demo-output/``): ``demo-MFS-{dirty,psf,model,
# residual,image}.fits`` (WSClean-style names and headers), ``demo-sources.json``,
# ``demo-report.json`` and PNG previews.
#
# Run: ``uvflow demo [--out DIR] [--nworkers N]``, ``nox -s demo`` or
# ``python examples/demo.py [--out DIR] [--nworkers N] [--npixel 256] [--ntimes 24] [--nmajor 3]``.

# %%
from __future__ import annotations

import sys

from uvflow.pipelines.cli import main as uvflow


def main(argv=None) -> int:
    """``uvflow demo`` with these arguments (default: the command line's)."""
    return uvflow(["demo", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
