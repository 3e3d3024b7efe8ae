"""The API reference lists every public name of every package (without running Sphinx).

``docs/apigen.py`` (run by ``docs/conf.py`` at each build) writes the autosummary sources
of the reference. Here it writes them into a temporary directory, and the names those
pages list (autosummary entries, plus re-exports linked to the page that documents the
object) are compared with ``__all__`` of every module, found independently of apigen by
walking the installed ``uvflow`` namespace with pkgutil.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import pkgutil
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_apigen():
    spec = importlib.util.spec_from_file_location("uvflow_docs_apigen", ROOT / "docs" / "apigen.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def modules_with_all() -> dict[str, list[str]]:
    """Every installed uvflow package module that declares ``__all__`` → its names."""
    import uvflow

    out = {}
    for info in pkgutil.walk_packages(uvflow.__path__, "uvflow."):
        if not info.ispkg:
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            out[info.name] = list(module.__all__)
    return out


def listed_names(page: str) -> tuple[list[str], dict[str, str]]:
    """(autosummary entries, {re-exported name: page it links to}) of one generated page."""
    summary = []
    block = re.search(r"\.\. autosummary::\n(?:   :\S+:.*\n)*\n((?:   \S+\n)+)", page)
    if block:
        summary = [line.strip() for line in block.group(1).splitlines()]
    linked = dict(re.findall(r"^- ``[\w.]+\.(\w+)``: :py:obj:`([\w.]+)`$", page, re.M))
    return summary, linked


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("api")
    listed = load_apigen().write_api(out)
    return out, listed


def test_every_module_with_all_has_a_page(generated):
    out, listed = generated
    expected = modules_with_all()
    assert "uvflow.execution" in expected and "uvflow.imaging.workflows" in expected
    extension = set(load_apigen().EXTENSION_MODULES)
    assert set(listed) == set(expected) | extension
    expected = {**expected, **{m: list(importlib.import_module(m).__all__) for m in extension}}
    index = (out / "index.rst").read_text()
    for module in expected:
        assert (out / f"{module}.rst").exists(), module
        assert f"   {module}\n" in index, f"{module} missing from the API index toctree"


def test_every_public_name_is_listed(generated):
    out, listed = generated
    missing = []
    for module in listed:
        names = list(importlib.import_module(module).__all__)
        page = (out / f"{module}.rst").read_text()
        summary, linked = listed_names(page)
        assert not set(summary) & set(linked), "a name is both documented and linked"
        for name in names:
            if name.startswith("__") and name.endswith("__"):
                continue  # __version__: given in the page's text
            if name not in summary and name not in linked:
                missing.append(f"{module}.{name}")
        # nothing listed that the module does not export
        assert set(summary) | set(linked) <= set(names), module
        if "__version__" in names:
            assert "__version__" in page
    assert not missing, f"not in the generated API reference: {missing}"


def test_links_point_at_the_same_object_documented_elsewhere(generated):
    out, listed = generated
    documented = set()
    for module in listed:
        summary, _ = listed_names((out / f"{module}.rst").read_text())
        documented |= {f"{module}.{n}" for n in summary}
    for module in listed:
        _, linked = listed_names((out / f"{module}.rst").read_text())
        for name, target in linked.items():
            assert target in documented, f"{module}.{name} links to undocumented {target}"
            owner, _, attr = target.rpartition(".")
            here = getattr(importlib.import_module(module), name)
            assert getattr(importlib.import_module(owner), attr) is here


def _entry_points() -> list[tuple[str, str]]:
    """(group, "module:attr") of every uvflow.* entry point declared by the packages."""
    import tomllib

    out = []
    for pyproject in sorted((ROOT / "packages").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        for group, entries in project.get("entry-points", {}).items():
            if group.startswith("uvflow."):
                out += [(group, target) for target in entries.values()]
    return out


def test_plugin_helpers_and_builtin_plugins_are_documented(generated):
    """What plugin authors use: check_gridder/check_deconvolver, the test data helpers,
    and every built-in registered through an entry point has a documented page."""
    out, listed = generated
    documented = set()
    for module in listed:
        summary, _ = listed_names((out / f"{module}.rst").read_text())
        documented |= {id(getattr(importlib.import_module(module), n)) for n in summary}
    from uvflow.imaging.deconvolution.conformance import check_deconvolver
    from uvflow.imaging.testing import check_gridder

    assert id(check_gridder) in documented and id(check_deconvolver) in documented
    points = _entry_points()
    assert {g for g, _ in points} >= {"uvflow.gridders", "uvflow.deconvolvers", "uvflow.solvers"}
    for group, target in points:
        module, _, attr = target.partition(":")
        obj = getattr(importlib.import_module(module), attr)
        assert id(obj) in documented or id(type(obj)) in documented, f"{group}: {target}"
