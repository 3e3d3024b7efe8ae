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

from dataclasses import dataclass

from uvflow.imaging.workflows import sum_invert_map_rsexecute, sum_invert_results_rsexecute

from .errors import PipelineError

__all__ = ["Chunks", "flatten_windows"]


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

    def combine_images(self, results: list) -> list:
        """Per window, the sumwt-weighted mean of its chunks' ``(Image, sumwt)`` results."""
        out = []
        for w in range(self.nwindows):
            items = [r for r, o in zip(results, self.owner) if o == w]
            out.append(items[0] if len(items) == 1 else sum_invert_results_rsexecute(items))
        return out

    def image_windows(self, make, vis: list, *per_chunk: list) -> list:
        """Per window, the combined ``(Image, sumwt)`` of ``make`` over its chunks.

        ``make(vis_list, *lists)`` is a per-window workflow step (e.g.
        :func:`~uvflow.imaging.workflows.invert_windows`) returning one ``(Image, sumwt)``
        per chunk. The result is ``self.combine_images(make(vis, *per_chunk))``, the same
        graph in the Dask modes; in serial mode each chunk is imaged only when the window's
        tree reaches it, so a window's memory holds about ``log2(chunks) + 1`` images, not
        one per chunk.

        Parameters
        ----------
        make : callable
            ``make(vis_list, *lists) -> list`` of ``(Image, sumwt)``, one per item.
        vis : list
            Per chunk, Visibility or visibility source (or graphs).
        *per_chunk : list
            Further per-chunk arguments of ``make`` (e.g. image templates).
        """

        def one(i: int):
            return make([vis[i]], *[[arg[i]] for arg in per_chunk])[0]

        out = []
        for w in range(self.nwindows):
            index = [i for i, o in enumerate(self.owner) if o == w]
            out.append(sum_invert_map_rsexecute(lambda k, index=index: one(index[k]), len(index)))
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
