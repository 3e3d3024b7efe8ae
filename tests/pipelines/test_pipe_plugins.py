"""A deconvolver plugin with an option of its own, installed as a real distribution.

The plugin is a distribution written into a temporary directory (a package and its
``.dist-info`` with an ``entry_points.txt`` naming it in the ``uvflow.deconvolvers`` group)
and put on ``sys.path`` and ``PYTHONPATH``: importlib.metadata finds it exactly as it finds
an installed wheel, in this process and in the Dask worker processes started afterwards.
The toy deconvolver places ONE component of ``flux`` Jy (its own option) at the image
centre, so what reaches it is read back from the model: through the workflows (serial and
on a 2-worker LocalCluster) and through ``uvflow image --deconvolver toy
--deconvolver-option flux=...``. A misspelt option is a ``TypeError`` naming the valid ones.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from astropy.io import fits
from pipe_helpers import make_field

from uvflow.execution import rsexecute
from uvflow.imaging import installed_deconvolvers
from uvflow.imaging.deconvolution.deconvolver_plugins import DECONVOLVERS
from uvflow.pipelines import continuum_imaging_list_rsexecute_workflow
from uvflow.pipelines.cli import main

TOY = '''
import numpy as np


class ToyDeconvolver:
    """One component of ``flux`` Jy at the image centre; the residual is the dirty image."""

    name = "toy"

    def __init__(self, flux: float = 1.0):
        self.flux = float(flux)

    def deconvolve(self, dirty, psf, *, window=None, niter=100, gain=0.1, threshold=0.0,
                   fractional_threshold=0.1):
        model = np.zeros(dirty.shape, dtype=dirty.data.dtype)
        model[..., dirty.ny // 2, dirty.nx // 2] = self.flux
        meta = dict(dirty.meta, BUNIT="JY/PIXEL", NITER=1)
        return dirty.replace(data=model, meta=meta), dirty
'''


@pytest.fixture(scope="module")
def toy_plugin(tmp_path_factory):
    """The toy distribution on sys.path and PYTHONPATH for this module's tests."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "uvflow_toy_plugin").mkdir()
    (root / "uvflow_toy_plugin" / "__init__.py").write_text(textwrap.dedent(TOY))
    info = root / "uvflow_toy_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: uvflow-toy-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[uvflow.deconvolvers]\ntoy = uvflow_toy_plugin:ToyDeconvolver\n"
    )
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(root))
    mp.setenv("PYTHONPATH", str(root), prepend=":")
    DECONVOLVERS.reset()
    yield root
    mp.undo()
    DECONVOLVERS.reset()
    rsexecute.set_client(use_dask=False)


@pytest.fixture(scope="module")
def field():
    vis, models, _ = make_field(nwin=2, ntime=3, nant=8)
    return vis, models


def test_plugin_is_installed(toy_plugin):
    assert "toy" in installed_deconvolvers()


@pytest.mark.parametrize("mode", ["serial", "dask"])
def test_workflow_gives_the_plugin_its_option(toy_plugin, field, mode):
    vis, models = field
    if mode == "dask":
        rsexecute.set_client(n_workers=2, threads_per_worker=1, dashboard_address=":0")
    try:
        graphs = continuum_imaging_list_rsexecute_workflow(
            vis, models, algorithm="toy", deconvolver_options={"flux": 2.5}, nmajor=2,
            context="2d",
        )  # fmt: skip
        out = rsexecute.compute(graphs, sync=True)
    finally:
        rsexecute.set_client(use_dask=False)
    for model in out[0]:  # two cycles, one centre component of 2.5 Jy each
        centre = model.data[0, 0, model.ny // 2, model.nx // 2]
        assert centre == pytest.approx(5.0) and np.count_nonzero(model.data) == 1


def test_misspelt_option_names_the_valid_ones(toy_plugin, field):
    vis, models = field
    with pytest.raises(TypeError, match=r"'flx' \(did you mean 'flux'\?\); valid keywords: flux$"):
        continuum_imaging_list_rsexecute_workflow(
            vis, models, algorithm="toy", deconvolver_options={"flx": 2.5}
        )


@pytest.fixture(scope="module")
def small_ms(tmp_path_factory):
    d = tmp_path_factory.mktemp("plugin-ms")
    args = ["simulate", "--array", "meerkat", "--rmax", "500", "--ntimes", "4", "--nchan", "2",
            "--freq", "1.3e9", "1.4e9", "--nsrc", "2", "--fov", "0.2deg"]  # fmt: skip
    assert main([*args, "--out", str(d / "small.ms")]) == 0
    return d / "small.ms"


@pytest.mark.parametrize("nworkers", ["0", "2"])
def test_cli_gives_the_plugin_its_option(toy_plugin, small_ms, tmp_path, nworkers):
    name = tmp_path / "toy"
    status = main(["image", str(small_ms), "--name", str(name), "--size", "64", "--niter", "10",
                   "--nmajor", "1", "--deconvolver", "toy", "--deconvolver-option", "flux=1.5",
                   "--nworkers", nworkers])  # fmt: skip
    assert status == 0
    model = fits.getdata(f"{name}-model.fits")
    assert model[0, 0, 32, 32] == pytest.approx(1.5) and np.count_nonzero(model) == 1


def test_cli_misspelt_option_is_one_line(toy_plugin, small_ms, tmp_path, capsys):
    name = tmp_path / "bad"
    status = main(["image", str(small_ms), "--name", str(name), "--niter", "10",
                   "--deconvolver", "toy", "--deconvolver-option", "flx=1.5",
                   "--nworkers", "0"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    assert "--deconvolver toy" in err[0] and "'flx' (did you mean 'flux'?)" in err[0]
    assert not list(tmp_path.glob("bad*"))
