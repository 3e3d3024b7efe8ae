"""The uvflow.gridders entry points: conformance of every installed gridder, loading, errors."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import numpy as np
import pytest

from uvflow.imaging import (
    Gridder,
    UnknownGridderError,
    get_gridder,
    installed_gridders,
    invert,
)
from uvflow.imaging.ducc0_gridder import Ducc0Gridder
from uvflow.imaging.gridder_plugins import GRIDDER_GROUP, GRIDDERS
from uvflow.imaging.testing import check_gridder, wide_field_visibility


def test_built_ins_are_registered():
    assert {"2d", "ng", "wstack"} <= set(installed_gridders())
    assert get_gridder("ng").corrects_w and not get_gridder("2d").corrects_w
    assert get_gridder("wstack").name == "wstack"


@pytest.mark.parametrize("name", installed_gridders())
def test_every_installed_gridder_conforms(name):
    """check_gridder at epsilon 1e-6 (DFT agreement to 10 epsilon, adjointness to 1e-10)."""
    errors = check_gridder(get_gridder(name), epsilon=1e-6)
    assert set(errors) == {"adjoint", "invert_dft", "predict_dft", "psf_peak", "stokes_dft"}


def test_conformance_without_small_inversion():
    check_gridder(get_gridder("ng", small_inversion=False), epsilon=1e-6)


def test_unknown_name_and_options():
    with pytest.raises(UnknownGridderError, match=r"'wproj' unknown; installed: .*2d, ng, wstack"):
        get_gridder("wproj")  # 'facets' is RASCIL's: test_img_rascil_contexts.py
    with pytest.raises(
        TypeError,
        match="unexpected keyword argument .oversampling.; valid keywords: small_inversion",
    ):
        get_gridder("ng", oversampling=2)
    with pytest.raises(TypeError, match="must be a str"):
        get_gridder(3)


@pytest.fixture
def fake_entry_points(monkeypatch):
    """Replace the installed set by ``eps`` (name → value) for one test."""

    def install(eps: dict):
        GRIDDERS.reset(
            {n: EntryPoint(name=n, value=v, group=GRIDDER_GROUP) for n, v in eps.items()}
        )

    yield install
    GRIDDERS.reset()


def test_a_plugin_is_found_by_name(fake_entry_points):
    fake_entry_points({"toy": "uvflow.imaging.ducc0_gridder:Ducc0Gridder2D"})
    assert installed_gridders() == ["toy"]
    vis, image = wide_field_visibility(zerow=True)
    dirty, _ = invert(vis.replace(vis=np.ones_like(vis.vis)), image, context="toy")
    assert dirty.data[0, 0, 32, 32] == pytest.approx(1.0, abs=1e-5)


def test_broken_plugins_are_named(fake_entry_points):
    fake_entry_points({"missing": "no_such_module_uvflow:Gridder", "notone": "builtins:dict"})
    with pytest.raises(
        ImportError, match="'missing' .*no_such_module_uvflow:Gridder.* failed to load"
    ):
        get_gridder("missing")
    with pytest.raises(TypeError, match="lacks the Gridder protocol"):
        get_gridder("notone")


class _Mirrored(Ducc0Gridder):
    """A gridder with the classic orientation bug: images mirrored through the centre."""

    name = "mirrored"

    def invert(self, vis, model_image, **kw):
        image, sumwt = super().invert(vis, model_image, **kw)
        flipped = np.roll(image.data[:, :, ::-1, ::-1], 1, axis=(2, 3))
        return image.replace(data=flipped), sumwt

    def predict(self, vis, model_image, **kw):
        flipped = np.roll(model_image.data[:, :, ::-1, ::-1], 1, axis=(2, 3))
        return super().predict(vis, model_image.replace(data=flipped), **kw)


class _NotAdjoint(Ducc0Gridder):
    name = "not-adjoint"

    def predict(self, vis, model_image, **kw):
        out = super().predict(vis, model_image, **kw)
        return out.replace(vis=out.vis * 1.001)


class _Sloppy(Ducc0Gridder):
    """Asks ducc0 for a thousand times less accuracy than promised."""

    name = "sloppy"

    def invert(self, vis, model_image, *, epsilon=1e-5, **kw):
        return super().invert(vis, model_image, epsilon=epsilon * 1000, **kw)

    def predict(self, vis, model_image, *, epsilon=1e-5, **kw):
        return super().predict(vis, model_image, epsilon=epsilon * 1000, **kw)


def test_check_gridder_catches_bugs():
    # the mirrored gridder is self-consistent (adjoint) but disagrees with the DFT
    with pytest.raises(AssertionError, match="mirrored: invert differs from the DFT"):
        check_gridder(_Mirrored())
    with pytest.raises(AssertionError, match=r"not-adjoint: <predict\(x\), v>"):
        check_gridder(_NotAdjoint())
    with pytest.raises(AssertionError, match="sloppy: invert differs from the DFT by"):
        check_gridder(_Sloppy(), epsilon=1e-9)
    with pytest.raises(AssertionError, match="lacks the Gridder protocol"):
        check_gridder(object())


def test_a_gridder_object_as_context():
    vis, image = wide_field_visibility()
    g = get_gridder("ng", small_inversion=False)
    assert isinstance(g, Gridder)
    a, _ = invert(vis, image, context=g, dopsf=True)
    b, _ = invert(vis, image, context="ng", dopsf=True, small_inversion=False)
    np.testing.assert_array_equal(a.data, b.data)
