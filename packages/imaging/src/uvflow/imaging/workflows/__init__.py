"""Imaging workflows: graphs built with ``rsexecute`` over lists of frequency windows.

These are the only modules of uvflow-imaging that build graphs; the kernels they call
(:mod:`uvflow.imaging`) never import dask.
"""

from ._lists import window_list
from .image_map import image_rsexecute_map_workflow, sum_images_rsexecute
from .invert_predict import (
    invert_image,
    invert_list_rsexecute_workflow,
    invert_windows,
    predict_list_rsexecute_workflow,
    predict_windows,
    residual_image,
    residual_list_rsexecute_workflow,
    residual_windows,
    sum_invert_map,
    sum_invert_results_rsexecute,
    sum_predict_results_rsexecute,
)
from .minor_cycle_graphs import (
    deconvolve_list_channel_rsexecute_workflow,
    deconvolve_list_rsexecute_workflow,
    deconvolve_windows,
    image_of,
)
from .restore_windows import restore_list_rsexecute_workflow
from .visibility_ops import (
    subtract_list_rsexecute_workflow,
    taper_list_rsexecute_workflow,
    weight_list_rsexecute_workflow,
    weight_windows,
    zero_list_rsexecute_workflow,
)

__all__ = [
    "deconvolve_windows",
    "invert_windows",
    "predict_windows",
    "residual_windows",
    "weight_windows",
    "window_list",
    "deconvolve_list_rsexecute_workflow",
    "deconvolve_list_channel_rsexecute_workflow",
    "image_of",
    "restore_list_rsexecute_workflow",
    "invert_list_rsexecute_workflow",
    "predict_list_rsexecute_workflow",
    "invert_image",
    "residual_image",
    "residual_list_rsexecute_workflow",
    "subtract_list_rsexecute_workflow",
    "sum_invert_map",
    "sum_invert_results_rsexecute",
    "sum_predict_results_rsexecute",
    "taper_list_rsexecute_workflow",
    "weight_list_rsexecute_workflow",
    "zero_list_rsexecute_workflow",
    "image_rsexecute_map_workflow",
    "sum_images_rsexecute",
]
