# %% [markdown]
# # rsexecute: one workflow, serial and on Dask
#
# A workflow is written once with `rsexecute.execute(func)(*args)`; `rsexecute.set_client`
# decides whether it runs at once (serial) or as a Dask graph. This script builds a small
# workflow (a smoothed random image per "window", then a tree sum of the windows), runs it
# serially and on a 2-worker `LocalCluster`, checks that the answers agree, prints the
# dashboard address, and records run statistics with `rsexecute.init_statistics` /
# `save_statistics`: `simple_dask_task_stream.html`, `simple_dask_profile.html`,
# `simple_dask_statistics.json`, plus a PNG of seconds per function (`simple_dask.png`).
#
# Run: `python examples/simple_dask.py [OUTDIR] [--nworkers N]` (OUTDIR default
# `$UVFLOW_EXAMPLE_OUTPUT` or `./example-output`). See the "uvflow and Dask" guide.

# %%
from __future__ import annotations

import argparse
import json
import operator
import os
import pathlib
import sys

import numpy as np

from uvflow.execution import rsexecute, sum_list_rsexecute


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="rsexecute serial vs Dask, with statistics")
    p.add_argument(
        "outdir",
        nargs="?",
        default=os.environ.get("UVFLOW_EXAMPLE_OUTPUT", "example-output"),
        help="directory for the outputs (default: $UVFLOW_EXAMPLE_OUTPUT or ./example-output)",
    )
    p.add_argument("--nworkers", type=int, default=2, help="Dask workers (processes)")
    p.add_argument("--nwindows", type=int, default=8, help="tasks per stage")
    p.add_argument("--npixel", type=int, default=512, help="image size per task")
    return p.parse_args(argv)


# %% [markdown]
# ## The kernels and the workflow
#
# Kernels are plain functions of plain data; they know nothing of Dask. The workflow
# wraps each call in `rsexecute.execute` and combines the results with a balanced tree of
# additions (`sum_list_rsexecute`), so the graph has 2 × nwindows + (nwindows − 1) tasks.


# %%
def make_window(i: int, npixel: int) -> np.ndarray:
    """A random image of window ``i`` (seeded: the same in every mode)."""
    rng = np.random.default_rng(i)
    return rng.standard_normal((npixel, npixel))


def smooth(image: np.ndarray, width: float) -> np.ndarray:
    """Gaussian smoothing by FFT (a task worth ~0.1 s at 512 x 512)."""
    fy = np.fft.fftfreq(image.shape[0])[:, None]
    fx = np.fft.fftfreq(image.shape[1])[None, :]
    kernel = np.exp(-2 * (np.pi * width) ** 2 * (fx**2 + fy**2))
    out = image
    for _ in range(4):
        out = np.fft.ifft2(np.fft.fft2(out) * kernel).real
    return out


def workflow(nwindows: int, npixel: int):
    windows = [rsexecute.execute(make_window)(i, npixel) for i in range(nwindows)]
    smoothed = [rsexecute.execute(smooth)(w, 3.0) for w in windows]
    return sum_list_rsexecute(smoothed, func=operator.add)


# %%
def main(argv=None) -> int:
    args = parse_args(argv)
    outdir = pathlib.Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)

    # Serial: every execute() call runs at once; compute() returns its argument
    rsexecute.set_client(use_dask=False)
    serial = rsexecute.compute(workflow(args.nwindows, args.npixel), sync=True)

    # Dask: a LocalCluster of nworkers single-threaded processes
    rsexecute.set_client(n_workers=args.nworkers, threads_per_worker=1, dashboard_address=":0")
    print(f"mode: {rsexecute.mode}, workers: {rsexecute.n_workers}")
    print(f"dashboard: {rsexecute.client.dashboard_link}")  # open it while the work runs
    graph = workflow(args.nwindows, args.npixel)  # a dask.delayed: nothing has run yet
    print(f"graph: {len(graph.__dask_graph__())} tasks")
    rsexecute.init_statistics()  # (re)start the clock and the task records
    future = rsexecute.compute(graph)  # a future: the work runs in the background
    on_dask = rsexecute.gather(future)  # wait for it and fetch the result
    stats = rsexecute.save_statistics("simple_dask", directory=outdir)
    rsexecute.close()  # shuts the LocalCluster down; serial again

    difference = float(np.max(np.abs(on_dask - serial)))
    print(f"serial vs Dask: max |difference| = {difference:.3g} (the same kernels, same order)")
    print(
        f"statistics: {stats['n_tasks']} tasks, CPU {stats['cpu_time']:.2f} s, "
        f"wall {stats['wall_time']:.2f} s, speed-up {stats['speedup']:.2f}"
    )
    for name, row in stats["functions"].items():
        print(
            f"  {name:<12} {row['seconds']:8.3f} s  {row['percent']:5.1f} %  {row['calls']} calls"
        )
    for kind, path in sorted(stats["files"].items()):
        print(f"wrote {path} ({kind})")
    print(
        f"RESULT difference={difference:.3g} n_tasks={stats['n_tasks']} "
        f"calls_smooth={stats['functions']['smooth']['calls']} speedup={stats['speedup']:.3f}"
    )

    # A PNG of seconds per function, from the statistics JSON
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    saved = json.loads(pathlib.Path(stats["files"]["statistics"]).read_text())
    names = list(saved["functions"])
    fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    ax.barh(names, [saved["functions"][n]["seconds"] for n in names], color="tab:blue")
    ax.set_xlabel("seconds (sum over tasks)")
    ax.set_title(
        f"{saved['n_tasks']} tasks on {args.nworkers} workers: "
        f"wall {saved['wall_time']:.2f} s, speed-up {saved['speedup']:.2f}"
    )
    path = outdir / "simple_dask.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # worker processes re-import this file: start clusters only here
    sys.exit(main())
