"""Repository invariants: the PEP 420 namespace and lock-step sibling versions.

One stray ``src/uvflow/__init__.py`` turns ``uvflow`` into a regular package and hides
every other ``uvflow.<pkg>``; a subpackage without ``__init__.py`` silently becomes a
namespace of its own. Both are checked here, on the files, for every package.
"""

from __future__ import annotations

import pathlib
import re
import sys

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE_DIRS = sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists())


def test_all_six_packages_present():
    names = {p.name for p in PACKAGE_DIRS}
    assert names == {"execution", "datamodels", "imaging", "calibration", "simulation", "pipelines"}


@pytest.mark.parametrize("pkg", PACKAGE_DIRS, ids=lambda p: p.name)
def test_namespace_has_no_init(pkg):
    stray = pkg / "src" / "uvflow" / "__init__.py"
    assert not stray.exists(), f"{stray} breaks the uvflow namespace for every package: remove it"


@pytest.mark.parametrize("pkg", PACKAGE_DIRS, ids=lambda p: p.name)
def test_every_subpackage_has_init_and_py_typed(pkg):
    top = pkg / "src" / "uvflow" / pkg.name
    assert (top / "__init__.py").exists()
    assert (top / "py.typed").exists()
    for d in top.rglob("*"):
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")):
            assert (d / "__init__.py").exists(), f"{d} has modules but no __init__.py"


def test_sibling_pins_are_exact_and_lock_step():
    versions = {}
    deps = {}
    for pkg in PACKAGE_DIRS:
        with open(pkg / "pyproject.toml", "rb") as f:
            proj = tomllib.load(f)["project"]
        versions[proj["name"]] = proj["version"]
        reqs = list(proj.get("dependencies", []))
        for extra in proj.get("optional-dependencies", {}).values():
            reqs += extra
        deps[proj["name"]] = reqs
    assert len(set(versions.values())) == 1, f"versions must move in lock-step: {versions}"
    (version,) = set(versions.values())
    for name, reqs in deps.items():
        for req in reqs:
            m = re.match(r"(uvflow-[a-z]+)(\[[a-z,]+\])?(.*)", req)
            if m:
                assert m.group(3) == f"=={version}", (
                    f"{name}: sibling pin {req!r} must be =={version}"
                )


def test_version_attribute_matches_pyproject():
    import importlib

    for pkg in PACKAGE_DIRS:
        with open(pkg / "pyproject.toml", "rb") as f:
            version = tomllib.load(f)["project"]["version"]
        try:
            mod = importlib.import_module(f"uvflow.{pkg.name}")
        except ImportError:
            continue  # not installed in this nox session: tests(<pkg>) installs only its closure
        assert mod.__version__ == version


def test_ci_runs_the_readme_test_command_verbatim():
    """README's Quickstart has exactly two commands (demo, tests); .ci/run runs the second."""
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in quickstart.strip().splitlines()]
    commands = [c for c in commands if c]
    assert len(commands) == 2, commands
    assert "nox -s demo" in commands[0]
    ci = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci == [commands[1]], ci
