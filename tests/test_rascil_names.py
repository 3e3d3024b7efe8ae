"""Every rsexecute workflow name of RASCIL 0.1.5 exists in uvflow where docs/rascil.md says.

The names are those of RASCIL 0.1.5's documentation (docs/workflows/rsexecute, which
documents the ``__all__`` of each ``rascil.workflows.rsexecute`` module: calibration,
image, imaging, pipelines, simulation, skymodel, execution_support), copied here so the
test does not need RASCIL.
"""

from __future__ import annotations

import importlib
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

RASCIL_015_RSEXECUTE = {
    "calibration": ["calibrate_list_rsexecute_workflow"],
    "execution_support": ["rsexecute", "get_dask_client"],
    "image": ["image_rsexecute_map_workflow", "sum_images_rsexecute"],
    "imaging": [
        "predict_list_rsexecute_workflow", "invert_list_rsexecute_workflow",
        "residual_list_rsexecute_workflow", "restore_list_rsexecute_workflow",
        "deconvolve_list_rsexecute_workflow", "deconvolve_list_channel_rsexecute_workflow",
        "weight_list_rsexecute_workflow", "taper_list_rsexecute_workflow",
        "zero_list_rsexecute_workflow", "subtract_list_rsexecute_workflow",
        "sum_invert_results_rsexecute", "sum_predict_results_rsexecute",
    ],
    "pipelines": [
        "ical_list_rsexecute_workflow", "continuum_imaging_list_rsexecute_workflow",
        "spectral_line_imaging_list_rsexecute_workflow", "mpccal_skymodel_list_rsexecute_workflow",
    ],
    "simulation": [
        "simulate_list_rsexecute_workflow", "corrupt_list_rsexecute_workflow",
        "calculate_residual_from_gaintables_rsexecute_workflow",
        "calculate_selfcal_residual_from_gaintables_rsexecute_workflow",
        "create_polarisation_gaintable_rsexecute_workflow",
        "create_pointing_errors_gaintable_rsexecute_workflow",
        "create_standard_mid_simulation_rsexecute_workflow",
        "create_standard_low_simulation_rsexecute_workflow",
        "create_surface_errors_gaintable_rsexecute_workflow",
        "create_atmospheric_errors_gaintable_rsexecute_workflow",
    ],
    "skymodel": [
        "predict_skymodel_list_rsexecute_workflow",
        "predict_skymodel_list_compsonly_rsexecute_workflow",
        "crosssubtract_datamodels_skymodel_list_rsexecute_workflow",
        "convolve_skymodel_list_rsexecute_workflow", "invert_skymodel_list_rsexecute_workflow",
    ],
}  # fmt: skip
NAMES = sorted({n for names in RASCIL_015_RSEXECUTE.values() for n in names})


def _page_table() -> dict[str, str]:
    """docs/rascil.md's table: RASCIL name -> uvflow module."""
    text = (ROOT / "docs" / "rascil.md").read_text()
    return dict(re.findall(r"^\| `(\w+)` \| `([\w.]+)` \|$", text, flags=re.M))


def test_the_page_maps_every_name():
    table = _page_table()
    assert sorted(table) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_each_name_is_public_where_the_page_says(name):
    module = importlib.import_module(_page_table()[name])
    assert name in module.__all__, f"{name} not in {module.__name__}.__all__"
    obj = getattr(module, name)
    assert obj is not None
    if name.endswith(("_workflow", "_rsexecute")):
        assert callable(obj) and obj.__doc__, f"{name} needs a docstring"
