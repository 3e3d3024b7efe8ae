"""zarr checkpoints: exact round trips of Visibility, Image and GainTable; atomic replacement."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.time import Time

from uvflow.datamodels import (
    DataModelError,
    GainTable,
    load_checkpoint,
    read_gaintable_zarr,
    read_image_zarr,
    read_visibility_zarr,
    save_checkpoint,
    write_gaintable_zarr,
    write_image_zarr,
    write_visibility_zarr,
)
from uvflow.datamodels.io import describe_checkpoint
from uvflow.datamodels.testing import random_configuration

pytest.importorskip("zarr")


def _leftovers(directory) -> list[str]:
    return [p.name for p in directory.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_visibility_round_trip_is_exact(tmp_path, make_vis, checks, dtype):
    vis = make_vis(dtype=dtype)
    vis.meta.update({"ms": "obs.ms", "nested": {"a": [1, 2.5, "x"]}, "arr": np.arange(3.0),
                     "z": 1 + 2j, "nan": float("nan")})  # fmt: skip
    path = write_visibility_zarr(vis, tmp_path / "v.zarr")
    back = read_visibility_zarr(path)
    checks.visibility_equal(vis, back)
    assert back.meta["ms"] == "obs.ms" and back.meta["nested"] == {"a": [1, 2.5, "x"]}
    np.testing.assert_array_equal(back.meta["arr"], np.arange(3.0))
    assert back.meta["z"] == 1 + 2j and np.isnan(back.meta["nan"])
    assert _leftovers(tmp_path) == []


def test_visibility_without_configuration_and_fk5_phasecentre(tmp_path, vis, checks):
    pc = SkyCoord(ra=1.2345678901234567, dec=-0.5, unit="rad", frame="fk5", equinox="J2000")
    v = vis.replace(configuration=None, phasecentre=pc)
    back = load_checkpoint(save_checkpoint(v, tmp_path / "v.zarr"))
    assert back.configuration is None
    assert back.phasecentre.frame.name == "fk5"
    assert back.phasecentre.equinox == Time("J2000")
    # the direction is kept in the unit it was given in: bit-exact radians
    assert back.phasecentre.ra.rad == pc.ra.rad and back.phasecentre.dec.rad == pc.dec.rad


@pytest.mark.parametrize("frame, dtype", [("stokesIQUV", np.float32), ("linear", np.complex128)])
def test_image_round_trip_is_exact(tmp_path, make_image, checks, frame, dtype):
    im = make_image(frame=frame, dtype=dtype)
    if np.iscomplexobj(im.data):
        im.data.imag[...] = 0.25
    im.meta.update({"BUNIT": "JY/BEAM", "SUMWT": 3.0})
    back = read_image_zarr(write_image_zarr(im, tmp_path / "i.zarr"))
    checks.image_equal(im, back)
    assert back.meta == im.meta


def _gaintable(rng, nant=5) -> GainTable:
    shape = (3, nant, 2, 2, 2)
    return GainTable(
        gain=rng.normal(size=shape) + 1j * rng.normal(size=shape),
        weight=rng.uniform(size=shape),
        residual=rng.uniform(size=(3, 2, 2, 2)),
        time=5.0e9 + 60.0 * np.arange(3),
        interval=60.0,
        frequency=np.array([1.0e8, 1.1e8]),
        receptor_frame="linear",
        phasecentre=SkyCoord(ra=15.0, dec=-45.0, unit="deg"),
        configuration=random_configuration(nant=nant),
        jones_type="G",
        meta={"niter": 12, "converged": True, "tol": 1e-8},
    )


def test_gaintable_round_trip_is_exact(tmp_path, rng, checks):
    gt = _gaintable(rng)
    back = read_gaintable_zarr(write_gaintable_zarr(gt, tmp_path / "cal-gaintable.zarr"))
    for name in ("gain", "weight", "residual", "time", "interval", "frequency"):
        a, b = getattr(gt, name), getattr(back, name)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert back.receptor_frame == gt.receptor_frame and back.jones_type == "G"
    assert back.meta == gt.meta
    checks.configuration_equal(gt.configuration, back.configuration)
    assert back.phasecentre.ra.deg == 15.0 and back.phasecentre.dec.deg == -45.0


def test_checkpoint_dispatch_and_description(tmp_path, vis, image, rng):
    for obj, name in ((vis, "v"), (image, "i"), (_gaintable(rng), "g")):
        path = save_checkpoint(obj, tmp_path / f"{name}.zarr")
        assert type(load_checkpoint(path)) is type(obj)
        info = describe_checkpoint(path)
        assert info["uvflow_type"] == type(obj).__name__ and info["uvflow_format"] == 1
    with pytest.raises(TypeError, match="cannot checkpoint a dict; supported: Visibility"):
        save_checkpoint({}, tmp_path / "d.zarr")
    with pytest.raises(DataModelError, match="holds a Visibility, not a Image"):
        read_image_zarr(tmp_path / "v.zarr")
    with pytest.raises(FileNotFoundError, match="is not a zarr store"):
        load_checkpoint(tmp_path / "nothing.zarr")


def test_overwrite_replaces_atomically(tmp_path, make_vis):
    a, b = make_vis(ntime=2), make_vis(ntime=3)
    path = write_visibility_zarr(a, tmp_path / "v.zarr")
    write_visibility_zarr(b, path)
    assert read_visibility_zarr(path).ntime == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.zarr"]
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        write_visibility_zarr(a, path, overwrite=False)


def test_refuses_to_replace_unrelated_directories(tmp_path, vis):
    precious = tmp_path / "results"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a store this writer made; refusing"):
        write_visibility_zarr(vis, precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    (tmp_path / "file.zarr").write_text("x")
    with pytest.raises(FileExistsError, match="is not a directory"):
        write_visibility_zarr(vis, tmp_path / "file.zarr")


def test_failed_write_leaves_no_directory_and_keeps_the_old_store(tmp_path, make_vis, monkeypatch):
    import uvflow.datamodels.io.zarr_store as zs

    old = make_vis(ntime=2)
    path = write_visibility_zarr(old, tmp_path / "v.zarr")
    real_put = zs._put
    calls = []

    def failing_put(group, name, data):
        calls.append(name)
        if name == "uvw":  # after vis, weight and flags are written
            raise OSError(28, "No space left on device")
        real_put(group, name, data)

    monkeypatch.setattr(zs, "_put", failing_put)
    with pytest.raises(OSError, match="No space left"):
        write_visibility_zarr(make_vis(ntime=3), path)
    with pytest.raises(OSError, match="No space left"):
        write_visibility_zarr(make_vis(ntime=3), tmp_path / "new.zarr")
    assert calls.count("vis") == 2  # the failure came part-way through each write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.zarr"]
    np.testing.assert_array_equal(read_visibility_zarr(path).vis, old.vis)


def test_unserialisable_meta_is_kept_as_repr(tmp_path, vis, caplog):
    v = vis.replace(meta={"when": object.__new__(type("Opaque", (), {}))})
    with caplog.at_level("WARNING"):
        back = read_visibility_zarr(write_visibility_zarr(v, tmp_path / "v.zarr"))
    assert "Opaque" in back.meta["when"] and "not JSON-able" in caplog.text
