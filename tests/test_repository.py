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


# hatchling's license-files when a pyproject names none (PEP 639 / hatchling >= 1.27; the
# same globs as its older default): a LICENSE beside the pyproject ships in wheel and sdist
HATCH_DEFAULT_LICENSE_FILES = ["LICEN[CS]E*", "COPYING*", "NOTICE*", "AUTHORS*"]


def _pyproject(pkg: pathlib.Path) -> dict:
    with open(pkg / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def test_root_license_is_bsd3():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Copyright (c) 2026, The uvflow developers" in text


@pytest.mark.parametrize("pkg", PACKAGE_DIRS, ids=lambda p: p.name)
def test_package_license_is_the_root_one(pkg):
    """hatchling cannot reach above a package's root: each keeps a copy, kept identical."""
    assert (pkg / "LICENSE").exists(), f"{pkg}/LICENSE missing: copy the root LICENSE there"
    assert (pkg / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes(), (
        f"{pkg}/LICENSE differs from the root LICENSE"
    )


@pytest.mark.parametrize("pkg", PACKAGE_DIRS, ids=lambda p: p.name)
def test_license_files_ship_license(pkg):
    import fnmatch

    proj = _pyproject(pkg)["project"]
    assert "BSD-3-Clause" in proj["license"].split(" AND ")
    globs = proj.get("license-files", HATCH_DEFAULT_LICENSE_FILES)
    assert any(fnmatch.fnmatchcase("LICENSE", g) for g in globs), (
        f"{pkg.name}: license-files {globs} does not include LICENSE"
    )
    if "license-files" in proj:  # PEP 639 license-files: hatchling >= 1.27 reads them
        build_requires = _pyproject(pkg)["build-system"]["requires"]
        assert "hatchling>=1.27" in build_requires, build_requires


@pytest.mark.parametrize("pkg", PACKAGE_DIRS, ids=lambda p: p.name)
def test_project_urls(pkg):
    urls = _pyproject(pkg)["project"].get("urls", {})
    assert set(urls) >= {"Homepage", "Documentation", "Source", "Issues"}, urls
    assert all(u.startswith("https://") for u in urls.values()), urls


@pytest.mark.parametrize("pkg", PACKAGE_DIRS, ids=lambda p: p.name)
def test_every_dependency_has_a_lower_bound(pkg):
    """``nox -s minimums`` installs each direct dependency at its declared minimum."""
    proj = _pyproject(pkg)["project"]
    reqs = list(proj.get("dependencies", []))
    for extra in proj.get("optional-dependencies", {}).values():
        reqs += extra
    for req in reqs:
        if req.startswith("uvflow-"):
            continue  # siblings: exact pins, checked above
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?>=[0-9][0-9.]*(,<[0-9.]+)?", req), (
            f"{pkg.name}: {req!r} needs a lower bound name>=X (the minimums session pins it)"
        )


@pytest.mark.parametrize("pkg", PACKAGE_DIRS, ids=lambda p: p.name)
def test_package_readme_stands_alone(pkg):
    """The README is the PyPI page: links are absolute, no paths into the monorepo's docs."""
    text = (pkg / "README.md").read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        assert target.startswith(("https://", "#")), (
            f"{pkg.name}/README.md: link to {target!r} breaks on PyPI: use an absolute URL"
        )
    for line in text.splitlines():
        plain = re.sub(r"\[[^\]]*\]\(https://[^)]*\)|<?https://\S+", "", line)
        for path in ("../", "docs/"):
            assert path not in plain, (
                f"{pkg.name}/README.md names {path!r}, which is not on PyPI: {line.strip()!r}"
            )
