"""``uvflow image`` never writes over an input, and replaces only its own products (issue 17).

Before anything is written, every product path of ``--name`` (and the output directory,
where the hidden temporary folder goes) is compared with every input: a UVFITS input
named like a product, an MS directory at a product path (an input or not), a product
path that is a symlink to an input, an output directory inside an input MS — each is
refused with one line, exit 2, and the input is unchanged byte for byte (sha256 of every
file) with nothing new in the output directory. A previous run's products are still
replaced, and what replaces them is judged by content, never by name
(:func:`~uvflow.pipelines.cli.product_paths.uvflow_product_kind`).

The runs image a small MeerKAT simulation (64² pixels, serial, under a second each); a
refused run stops before reading any data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

from uvflow.datamodels import (
    GainTable,
    create_image,
    read_gaintable_zarr,
    write_gaintable_zarr,
    write_image_zarr,
)
from uvflow.datamodels.testing import random_configuration
from uvflow.pipelines.cli import main
from uvflow.pipelines.cli.errors import CLIError
from uvflow.pipelines.cli.product_paths import uvflow_product_kind
from uvflow.pipelines.cli.products import ProductWriter

SIMULATE = ["simulate", "--array", "meerkat", "--rmax", "500", "--ntimes", "4", "--nchan", "2",
            "--freq", "1.3e9", "1.4e9", "--nsrc", "2", "--fov", "0.2deg"]  # fmt: skip
IMAGE = ["-size", "64", "-scale", "10asec", "--nworkers", "0"]
UVFITS_3C273 = Path("/work/shared/data/real/3C273XC1.fits")


@pytest.fixture(scope="module")
def ms(tmp_path_factory):
    path = tmp_path_factory.mktemp("paths") / "small.ms"
    assert main(["-q", *SIMULATE, "--out", str(path)]) == 0
    return path


def _tree(path: Path) -> dict:
    """sha256 of every file under ``path`` (or of ``path`` itself), by relative name."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _image(inputs, name, *extra) -> int:
    return main(["-q", "image", *map(str, inputs), "-name", str(name), *IMAGE, *extra])


def _one_line(capsys, *phrases) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("uvflow: error: "), err
    for phrase in phrases:
        assert phrase in err, err
    return err


def _refused_untouched(capsys, directory: Path, before: set, inputs: dict, *phrases) -> None:
    """One line naming the phrases; nothing new in ``directory`` (no product, no hidden
    temporary folder); every input byte for byte as before."""
    _one_line(capsys, *phrases)
    assert set(os.listdir(directory)) == before
    for path, tree in inputs.items():
        assert _tree(path) == tree, path


def test_uvfits_input_named_like_a_product_is_refused(tmp_path, capsys):
    if not UVFITS_3C273.exists():
        pytest.skip(f"{UVFITS_3C273} not found")
    data = tmp_path / "x-dirty.fits"
    shutil.copyfile(UVFITS_3C273, data)
    before, tree = set(os.listdir(tmp_path)), _tree(data)
    assert _image([data], tmp_path / "x") == 2
    _refused_untouched(capsys, tmp_path, before, {data: tree},
                       f"would write {str(data)!r} over the input {str(data)!r}")  # fmt: skip


def test_ms_at_a_product_path_is_refused_and_kept(ms, tmp_path, capsys):
    # the input itself at a product path (a directory product: the gain table's)
    data = tmp_path / "x-gaintable.zarr"
    shutil.copytree(ms, data)
    before, tree = set(os.listdir(tmp_path)), _tree(data)
    assert _image([data], tmp_path / "x") == 2
    _refused_untouched(capsys, tmp_path, before, {data: tree}, "over the input")
    # another MS (not an input) at a product path: not ours, so not replaced
    other = tmp_path / "y-image.fits"
    shutil.copytree(ms, other)
    before, tree = set(os.listdir(tmp_path)), _tree(other)
    assert _image([ms], tmp_path / "y") == 2
    _refused_untouched(capsys, tmp_path, before, {other: tree, ms: _tree(ms)},
                       f"{str(other)!r} is in the way of the image product: a directory "
                       "that uvflow did not write")  # fmt: skip


def test_symlink_to_an_input_and_output_inside_an_input_are_refused(ms, tmp_path, capsys):
    data = tmp_path / "data.ms"
    shutil.copytree(ms, data)
    tree = _tree(data)
    (tmp_path / "x-psf.fits").symlink_to(data)
    before = set(os.listdir(tmp_path))
    assert _image([data], tmp_path / "x") == 2
    _refused_untouched(capsys, tmp_path, before, {data: tree}, "over the input")
    inside = set(os.listdir(data))
    assert _image([data], data / "x") == 2
    _refused_untouched(capsys, data, inside, {data: tree},
                       f"would write the products inside the input {str(data)!r}")  # fmt: skip


def test_previous_products_are_replaced_foreign_files_are_not(ms, tmp_path, capsys):
    name = tmp_path / "x"
    assert _image([ms], name, "-niter", "0", "--plot") == 0
    first = {p.name: _tree(p) for p in tmp_path.iterdir()}
    kinds = {"dirty": "fits", "psf": "fits", "image": "fits", "report": "json",
             "sources": "json"}  # fmt: skip
    for kind, ext in kinds.items():
        assert uvflow_product_kind(f"{name}-{kind}.{ext}", kind, ext), kind
    assert uvflow_product_kind(f"{name}-image.png", "image", "png")
    assert not uvflow_product_kind(f"{name}-report.json", "sources", "json")
    # a rerun replaces every product of the first run (the model now holds components)
    assert _image([ms], name, "-niter", "20", "-mgain", "0.5", "--plot") == 0
    assert np.any(fits.getdata(f"{name}-model.fits") != 0)
    assert set(first) <= set(os.listdir(tmp_path))
    assert _tree(tmp_path / "x-model.fits") != first["x-model.fits"]
    assert not [p for p in os.listdir(tmp_path) if ".uvflow-tmp-" in p]
    # foreign files named like products are in the way: a FITS image without uvflow's
    # ORIGIN, a JSON file of another layout
    psf = tmp_path / "x-psf.fits"
    fits.PrimaryHDU(np.zeros((4, 4), np.float32)).writeto(psf, overwrite=True)
    tree, before = _tree(psf), set(os.listdir(tmp_path))
    assert _image([ms], name, "-niter", "0") == 2
    _refused_untouched(capsys, tmp_path, before, {psf: tree},
                       f"{str(psf)!r} is in the way of the psf product: a file that uvflow "
                       "did not write")  # fmt: skip
    psf.unlink()
    report = tmp_path / "x-report.json"
    report.write_text(json.dumps({"mine": 1}))
    tree, before = _tree(report), set(os.listdir(tmp_path))
    assert _image([ms], name, "-niter", "0") == 2
    _refused_untouched(capsys, tmp_path, before, {report: tree},
                       f"{str(report)!r} is in the way of the report product")  # fmt: skip


def _gaintable(seed: int) -> GainTable:
    rng = np.random.default_rng(seed)
    shape = (2, 4, 1, 1, 1)
    return GainTable(gain=rng.normal(size=shape) + 1j * rng.normal(size=shape),
                     weight=np.ones(shape), residual=np.zeros((2, 1, 1, 1)),
                     time=5.0e9 + 60.0 * np.arange(2), interval=60.0,
                     frequency=np.array([1.0e8]), receptor_frame="stokesI",
                     phasecentre=SkyCoord(ra=15.0, dec=-45.0, unit="deg"),
                     configuration=random_configuration(nant=4), jones_type="G")  # fmt: skip


def test_a_directory_product_replaces_only_a_uvflow_gain_table(tmp_path):
    """The gain table is the one product that is a directory: the old one is removed only
    when its zarr attributes say it is a uvflow GainTable (an image store is not)."""
    name, dst = str(tmp_path / "x"), tmp_path / "x-gaintable.zarr"
    for seed in (1, 2):  # written, then replaced
        writer = ProductWriter(name, inputs=[])
        write_gaintable_zarr(_gaintable(seed), writer.temporary("gaintable", None, "zarr"))
        assert writer.commit() == [dst]
        np.testing.assert_array_equal(read_gaintable_zarr(dst).gain, _gaintable(seed).gain)
    assert uvflow_product_kind(dst, "gaintable", "zarr")
    shutil.rmtree(dst)
    image = create_image(8, 1e-5, SkyCoord(ra=15.0, dec=-45.0, unit="deg"), 1e8)
    write_image_zarr(image, dst)
    tree = _tree(dst)
    assert not uvflow_product_kind(dst, "gaintable", "zarr")
    with pytest.raises(CLIError, match="is in the way of the gaintable product: a directory"):
        ProductWriter(name, inputs=[])
    assert _tree(dst) == tree and sorted(os.listdir(tmp_path)) == ["x-gaintable.zarr"]


def test_checkpoint_dir_inside_an_input_is_refused(ms, tmp_path, capsys):
    data = tmp_path / "data.ms"
    shutil.copytree(ms, data)
    tree, before = _tree(data), set(os.listdir(tmp_path))
    assert _image([data], tmp_path / "x", "--checkpoint-dir", str(data / "ck")) == 2
    _refused_untouched(capsys, tmp_path, before, {data: tree},
                       f"--checkpoint-dir {str(data / 'ck')!r} collides with the input")  # fmt: skip
