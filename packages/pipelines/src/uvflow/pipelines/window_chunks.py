"""Windows made of several visibility chunks: flattening, and summing their images per window.

A pipeline's ``vis_list`` holds one item per window (one model image each). An item may be
a Visibility or a list of Visibility chunks of that window — its data split in time or
frequency so that each task fits in a worker's memory (:func:`uvflow.pipelines.choose_chunking`).
Every chunk is weighted, imaged, predicted and calibrated as a window of its own; the
images of a window's chunks are combined into the window's image as the sumwt-weighted
mean (:func:`uvflow.imaging.workflows.sum_invert_results_rsexecute`), which is the image
of all the window's data up to the gridder's accuracy (gridding is linear).

A window with one Visibility builds exactly the graph it built before chunks existed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from uvflow.execution import rsexecute
from uvflow.imaging.workflows import sum_invert_map

from .errors import PipelineError

__all__ = ["Chunks", "chunk_group", "flatten_windows", "TASKS_PER_WORKER"]

#: Dask tasks per worker a window's chunk images are made in (see :func:`chunk_group`)
TASKS_PER_WORKER = 4


def chunk_group(nchunks: int) -> int:
    """Chunks one Dask task images and combines, for a window of ``nchunks`` chunks.

    About :data:`TASKS_PER_WORKER` tasks per worker: enough to keep every worker busy and
    to rebuild little when one is lost, few enough that the partial images waiting to be
    combined stay a handful per worker (one task per chunk left 140 images of the 5.9 GB
    MS of issue 15 in flight, and both workers paused at Dask's memory mark). 1 in serial
    mode (where chunks are imaged one by one anyway).
    """
    if not rsexecute.using_dask:
        return 1
    return max(1, math.ceil(nchunks / (TASKS_PER_WORKER * max(rsexecute.n_workers, 1))))


@dataclass
class Chunks:
    """The chunks of all windows in order, and which window each belongs to."""

    vis: list  # Visibility (or graphs), every chunk of every window
    owner: list[int]  # window of each chunk
    nested: list[bool]  # per window: given as a list of chunks
    nwindows: int

    def per_chunk(self, per_window: list) -> list:
        """A per-window list (models, tables …) repeated for each window's chunks."""
        return [per_window[w] for w in self.owner]

    def image_windows(self, item, vis: list, *per_chunk: list) -> list:
        """Per window, the combined ``(Image, sumwt)`` of ``item`` over its chunks.

        The sumwt-weighted mean of ``item(vis[i], *(arg[i] for arg in per_chunk))`` over
        the window's chunks, combined by :func:`~uvflow.imaging.workflows.sum_invert_map`.
        In serial mode each chunk is imaged only when it is needed, in pairs whose images
        are added to a running sum (a window holds at most 3 images, however many chunks it
        has); on Dask, as one balanced tree, a task imaging and combining a run of
        consecutive chunks (:func:`chunk_group`), so the workers hold a few partial images,
        not one per chunk. The two orders of summation agree to float rounding (1.5e-7 of
        the peak on issue 15's 5.9 GB MS), not bit for bit.

        Parameters
        ----------
        item : callable
            A kernel giving ``(Image, sumwt)``: e.g.
            :func:`~uvflow.imaging.workflows.invert_image` or
            :func:`~uvflow.imaging.workflows.residual_image` (``functools.partial`` for
            fixed keywords; it must pickle).
        vis : list
            Per chunk, Visibility or visibility source (or graphs).
        *per_chunk : list
            Further per-chunk arguments of ``item`` (e.g. image templates).
        """
        out = []
        for w in range(self.nwindows):
            index = [i for i, o in enumerate(self.owner) if o == w]
            args = [(vis[i], *(arg[i] for arg in per_chunk)) for i in index]
            out.append(sum_invert_map(item, args, group=chunk_group(len(index))))
        return out

    def per_window(self, per_chunk: list) -> list:
        """Per-chunk values regrouped by window: the value, or a list for a chunked window."""
        out = []
        for w in range(self.nwindows):
            items = [v for v, o in zip(per_chunk, self.owner) if o == w]
            out.append(items if self.nested[w] else items[0])
        return out


def flatten_windows(vis_list) -> Chunks:
    """The chunks of ``vis_list`` (one item per window: a Visibility or a list of chunks).

    Raises
    ------
    PipelineError
        An empty list, or a window with no chunks.
    """
    vis_list = list(vis_list)
    if not vis_list:
        raise PipelineError("vis_list is empty: give at least one visibility window")
    vis, owner, nested = [], [], []
    for w, item in enumerate(vis_list):
        if isinstance(item, (list, tuple)):
            if not item:
                raise PipelineError(f"window {w} is an empty list: give its visibility chunks")
            vis += list(item)
            owner += [w] * len(item)
            nested.append(True)
        else:
            vis.append(item)
            owner.append(w)
            nested.append(False)
    return Chunks(vis, owner, nested, len(vis_list))
