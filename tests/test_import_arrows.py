"""The import arrows of docs/design.md §1, read from the sources with ``ast`` (nothing imported).

- uvflow packages: ``execution`` and ``datamodels`` import no other uvflow package;
  ``imaging`` and ``calibration`` → datamodels, execution; ``simulation`` → those and
  imaging, calibration; ``pipelines`` → all; nothing imports ``pipelines``.
- Third-party libraries of the two base packages: ``execution`` → dask, distributed, bokeh
  (and its extras' asyncssh, dask-jobqueue); ``datamodels`` → numpy, astropy (and its
  extras' casacore, zarr, xarray).
- Kernels never import dask: in datamodels, imaging, calibration and simulation only the
  workflow modules (``*_workflows.py``, or a module inside a ``workflows/`` subpackage)
  import dask, distributed or ``uvflow.execution``, whose keyword checker and plugin loader
  (``uvflow.execution.keywords``, ``uvflow.execution.plugins``) and lazy-import helper
  (``uvflow.execution.lazy``) import no dask and are free to use (a test imports them and
  the kernel packages in a fresh interpreter and finds no dask loaded); nor do kernels import a workflow module (that would import dask for them).

Every import counts: at module level, inside functions (lazy imports are arrows too),
under ``if TYPE_CHECKING``, relative ones, and ``importlib.import_module``/``__import__``
with a constant name. The checker is a function over a directory tree, and the tests at
the end show that it reports a reversed arrow in a small fake tree.
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

PACKAGES = ["execution", "datamodels", "imaging", "calibration", "simulation", "pipelines"]

#: package -> the other uvflow packages it may import (docs/design.md §1)
ALLOWED_UVFLOW = {
    "execution": set(),
    "datamodels": set(),
    "imaging": {"datamodels", "execution"},
    "calibration": {"datamodels", "execution"},
    "simulation": {"datamodels", "execution", "imaging", "calibration"},
    "pipelines": {"datamodels", "execution", "imaging", "calibration", "simulation"},
}

#: package -> the only third-party top-level modules it may import (the rest: stdlib, uvflow)
ALLOWED_THIRD_PARTY = {
    "execution": {"dask", "distributed", "bokeh", "asyncssh", "dask_jobqueue"},
    "datamodels": {"numpy", "astropy", "casacore", "zarr", "xarray"},
}

#: packages whose kernels must not import dask (pipelines and execution build graphs freely)
KERNEL_PACKAGES = {"datamodels", "imaging", "calibration", "simulation"}
GRAPH_LIBRARIES = {"dask", "distributed"}
#: the parts of uvflow.execution that import no dask (its __init__ imports lazily)
DASK_FREE_EXECUTION_MODULES = {
    "uvflow.execution.keywords",
    "uvflow.execution.plugins",
    "uvflow.execution.lazy",
    "uvflow.execution.errors",
}
DASK_FREE_EXECUTION_NAMES = {
    "check_keywords",
    "strict_keywords",
    "PluginGroup",
    "PluginLoadError",
    "keywords",
    "plugins",
    "lazy",
    "lazy_getattr",
    "errors",
    "ExecutionError",
    "ClusterConnectionError",
    "MissingExtraError",
    "__version__",
}


@dataclasses.dataclass(frozen=True, order=True)
class Import:
    """One import statement (or constant ``import_module``) in one source file."""

    path: str  # relative to the tree's root
    line: int
    module: str  # the module it names, relative imports resolved
    names: tuple[str, ...] = ()  # ``from module import names``
    function: str = ""  # the module-level function it stands in ("" at module level)


@dataclasses.dataclass(frozen=True, order=True)
class Violation:
    rule: str  # "arrow", "third-party" or "kernel"
    path: str
    line: int
    module: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} ({self.why})"


def module_name(src: pathlib.Path, path: pathlib.Path) -> tuple[str, bool]:
    """Dotted name of the module at ``path`` under the ``src`` directory; is it a package?"""
    parts = list(path.relative_to(src).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _resolve(current: str, is_package: bool, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imports_of(src: pathlib.Path, path: pathlib.Path) -> list[Import]:
    """Every import in one file, wherever it stands (module level, functions, branches)."""
    current, is_package = module_name(src, path)
    rel = path.relative_to(src.parents[2]).as_posix()  # src is <root>/packages/<pkg>/src
    found = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(rel, node.lineno, a.name, (), function) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(current, is_package, node.level, node.module)
            names = tuple(alias.name for alias in node.names)
            if module == "uvflow":  # ``from uvflow import imaging``: the names are packages
                found.extend(Import(rel, node.lineno, f"uvflow.{n}", (), function) for n in names)
            else:
                found.append(Import(rel, node.lineno, module, names, function))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in {"import_module", "__import__"} and isinstance(first, ast.Constant):
                name = str(first.value)
                level = len(name) - len(name.lstrip("."))
                module = _resolve(current, is_package, level, name.lstrip(".") or None)
                found.append(Import(rel, node.lineno, module, (), function))
        for child in ast.iter_child_nodes(node):
            is_def = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            visit(child, child.name if is_def and not function else function)

    visit(ast.parse(path.read_text(), filename=str(path)), "")
    return found


def _is_workflow_module(module: str) -> bool:
    parts = module.split(".")
    return parts[-1].endswith("_workflows") or "workflows" in parts[2:]


def _dask_free_execution(imp: Import) -> bool:
    if any(imp.module == m or imp.module.startswith(m + ".") for m in DASK_FREE_EXECUTION_MODULES):
        return True
    return (
        imp.module == "uvflow.execution"
        and bool(imp.names)
        and (set(imp.names) <= DASK_FREE_EXECUTION_NAMES)
    )


def lazy_export(path: pathlib.Path, imp: Import, pkg: str) -> bool:
    """A package ``__init__``'s module ``__getattr__`` importing its own modules on demand.

    ``import uvflow.calibration`` then imports no dask; only asking for a workflow does.
    """
    own = imp.module == f"uvflow.{pkg}" or imp.module.startswith(f"uvflow.{pkg}.")
    return path.name == "__init__.py" and imp.function == "__getattr__" and own


def check_tree(root: pathlib.Path) -> list[Violation]:
    """The arrows of docs/design.md §1 in the tree ``root/packages/<pkg>/src/uvflow/<pkg>``."""
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    violations = []
    for pkg in PACKAGES:
        src = root / "packages" / pkg / "src"
        if not (src / "uvflow" / pkg).is_dir():
            continue
        for path in sorted((src / "uvflow" / pkg).rglob("*.py")):
            current, _ = module_name(src, path)
            kernel = pkg in KERNEL_PACKAGES and not _is_workflow_module(current)
            for imp in imports_of(src, path):
                parts = imp.module.split(".")
                top = parts[0]
                target = parts[1] if top == "uvflow" and len(parts) > 1 else None

                def report(rule: str, why: str, imp: Import = imp) -> None:
                    violations.append(Violation(rule, imp.path, imp.line, imp.module, why))

                if target is not None and target != pkg and target not in ALLOWED_UVFLOW[pkg]:
                    allowed = ", ".join(sorted(ALLOWED_UVFLOW[pkg])) or "no uvflow package"
                    report("arrow", f"{pkg} may import {allowed}")
                if (
                    pkg in ALLOWED_THIRD_PARTY
                    and top not in stdlib
                    and top != "uvflow"
                    and top not in ALLOWED_THIRD_PARTY[pkg]
                ):
                    allowed = ", ".join(sorted(ALLOWED_THIRD_PARTY[pkg]))
                    report("third-party", f"{pkg} may import only {allowed} beyond the stdlib")
                if not kernel:
                    continue
                if top in GRAPH_LIBRARIES:
                    report("kernel", "a kernel module imports dask/distributed")
                elif target == "execution" and not _dask_free_execution(imp):
                    report("kernel", "a kernel module imports the dask parts of uvflow.execution")
                elif lazy_export(path, imp, pkg):
                    continue  # a package's __getattr__ handing out its workflows on demand
                elif target is not None and _is_workflow_module(imp.module):
                    report("kernel", "a kernel module imports a workflow module (and so dask)")
                elif target is not None and imp.names:
                    subs = [n for n in imp.names if _is_workflow_module(f"{imp.module}.{n}")]
                    if subs:
                        report("kernel", f"a kernel module imports workflow module(s) {subs}")
    return sorted(set(violations))


# --------------------------------------------------------------------------------------
# The real tree. A violation found here that is listed below is a known one, waiting for
# the package code to be fixed: the test then xfails naming it. Remove the entry when fixed.

KNOWN_VIOLATIONS: dict[str, set[tuple[str, str]]] = {
    "arrow": set(),
    "third-party": set(),
    "kernel": set(),
}


@pytest.fixture(scope="module")
def real_violations():
    return check_tree(ROOT)


def _judge(found: list[Violation], rule: str) -> None:
    found = [v for v in found if v.rule == rule]
    known = KNOWN_VIOLATIONS[rule]
    new = [v for v in found if (v.path, v.module) not in known]
    assert not new, f"{rule} violations:\n" + "\n".join(map(str, new))
    fixed = known - {(v.path, v.module) for v in found}
    assert not fixed, f"fixed, remove from KNOWN_VIOLATIONS[{rule!r}]: {sorted(fixed)}"
    if found:
        pytest.xfail(
            f"known {rule} violations, to be fixed in the package code: "
            + "; ".join(map(str, found))
        )


def test_the_real_tree_is_read():
    """The checker sees every package and the imports it should (a guard against a no-op)."""
    modules = set()
    for pkg in PACKAGES:
        src = ROOT / "packages" / pkg / "src"
        files = list((src / "uvflow" / pkg).rglob("*.py"))
        assert files, pkg
        for path in files:
            modules |= {imp.module.split(".")[0] for imp in imports_of(src, path)}
    assert {"dask", "distributed", "numpy", "astropy", "uvflow"} <= modules


def test_uvflow_arrows(real_violations):
    _judge(real_violations, "arrow")


def test_base_packages_third_party(real_violations):
    _judge(real_violations, "third-party")


def test_kernels_import_no_dask(real_violations):
    _judge(real_violations, "kernel")


# --------------------------------------------------------------------------------------
# The checker on a fake tree: it must report reversed arrows.


def _fake_tree(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for name, text in files.items():
        pkg = name.split("/")[0]
        path = root / "packages" / pkg / "src" / "uvflow" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for pkg in {name.split("/")[0] for name in files}:
        (root / "packages" / pkg / "src" / "uvflow" / pkg / "__init__.py").touch()
    return root


def _found(root: pathlib.Path) -> set[tuple[str, str, int, str]]:
    return {(v.rule, v.path.split("/uvflow/", 1)[1], v.line, v.module) for v in check_tree(root)}


def test_checker_reports_a_reversed_arrow(tmp_path):
    root = _fake_tree(tmp_path, {"execution/executor.py": "import uvflow.imaging\n"})
    assert _found(root) == {("arrow", "execution/executor.py", 1, "uvflow.imaging")}


def test_checker_reports_lazy_relative_and_dynamic_imports(tmp_path):
    files = {
        "execution/client.py": "import dask\n\ndef f():\n    from uvflow.datamodels import Image\n",
        "datamodels/io/ms.py": "def read():\n    from ... import execution\n",
        "imaging/invert.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from ..pipelines import ical\n"
            "import importlib\nimportlib.import_module('uvflow.simulation')\n"
        ),
        "simulation/noise.py": "from uvflow.calibration import solve\nfrom uvflow import imaging\n",
        "calibration/solve.py": "import uvflow.pipelines.cli\n",
    }
    assert _found(_fake_tree(tmp_path, files)) == {
        ("arrow", "execution/client.py", 4, "uvflow.datamodels"),
        ("arrow", "datamodels/io/ms.py", 2, "uvflow.execution"),
        ("kernel", "datamodels/io/ms.py", 2, "uvflow.execution"),
        ("arrow", "imaging/invert.py", 3, "uvflow.pipelines"),
        ("arrow", "imaging/invert.py", 5, "uvflow.simulation"),
        ("arrow", "calibration/solve.py", 1, "uvflow.pipelines.cli"),
    }


def test_checker_reports_dask_in_kernels_only(tmp_path):
    files = {
        "imaging/weighting.py": "def w():\n    import dask.array as da\n",
        "imaging/restore.py": "from uvflow.execution import rsexecute\n",
        "imaging/plugins.py": (
            "from uvflow.execution import PluginGroup, check_keywords\n"
            "from uvflow.execution.keywords import strict_keywords\n"
            "from uvflow.execution import plugins\n"
        ),
        "imaging/facets.py": "from .workflows import invert_list_rsexecute_workflow\n",
        "imaging/workflows/__init__.py": "",
        "imaging/workflows/invert.py": "import dask\nfrom uvflow.execution import rsexecute\n",
        "calibration/calibration_workflows.py": "from distributed import Client\n",
        "calibration/chain.py": "from . import calibration_workflows\n",
        "calibration/__init__.py": (
            "def __getattr__(name):\n    from . import calibration_workflows\n"
            "    return getattr(calibration_workflows, name)\n"
        ),
        "simulation/__init__.py": "from .simulation_workflows import simulate\n",
        "simulation/gains.py": "import distributed\n",
        "datamodels/io/zarr_io.py": "import zarr\nimport pandas\n",
        "execution/memory.py": "import psutil\nimport bokeh.plotting\n",
        "pipelines/ical.py": "import dask\nfrom uvflow.execution import rsexecute\n",
    }
    assert _found(_fake_tree(tmp_path, files)) == {
        ("kernel", "imaging/weighting.py", 2, "dask.array"),
        ("kernel", "imaging/restore.py", 1, "uvflow.execution"),
        ("kernel", "imaging/facets.py", 1, "uvflow.imaging.workflows"),
        ("kernel", "calibration/chain.py", 1, "uvflow.calibration"),
        ("kernel", "simulation/gains.py", 1, "distributed"),
        ("kernel", "simulation/__init__.py", 1, "uvflow.simulation.simulation_workflows"),
        ("third-party", "datamodels/io/zarr_io.py", 2, "pandas"),
        ("third-party", "execution/memory.py", 1, "psutil"),
    }


def test_dask_free_modules_and_kernel_packages_load_no_dask():
    """What the rules above take as dask-free is: a fresh interpreter importing those
    modules and every kernel package has no dask or distributed module loaded."""
    import subprocess
    import sys

    names = sorted(DASK_FREE_EXECUTION_MODULES) + [f"uvflow.{p}" for p in sorted(KERNEL_PACKAGES)]
    code = (
        "import sys\n"
        + "".join(f"import {n}\n" for n in names)
        + "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
