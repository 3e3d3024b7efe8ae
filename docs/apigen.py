"""Write the API reference sources (``docs/api/*.rst``) from every package's ``__all__``.

Run by ``docs/conf.py`` at the start of every build, so a name added to a package's
``__all__`` appears in the reference without editing the docs. It can also be run by
hand (``python docs/apigen.py [outdir]``) and is imported by ``tests/test_docs_api.py``.

Which modules: every ``__init__.py`` under ``packages/*/src/uvflow/`` that defines
``__all__`` (``uvflow.execution``, ``uvflow.datamodels``, ``uvflow.datamodels.io``,
``uvflow.imaging``, ``uvflow.imaging.workflows`` ...): the packages' public API; then
the modules in ``EXTENSION_MODULES``, which plugin authors and test writers import
directly (conformance checks, synthetic test data, the built-ins registered through
the ``uvflow.gridders`` / ``uvflow.deconvolvers`` entry points). Which names: that
module's ``__all__`` in order, less dunder names (``__version__`` is given in the
page's text).
Each name gets an ``autosummary`` entry whose stub page (``api/generated/``) autodoc
fills from the docstring.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ["execution", "datamodels", "imaging", "calibration", "simulation", "pipelines"]

#: Modules outside the packages' ``__init__`` that are public: what plugin authors and
#: test writers import (conformance checks, test data) and the built-in plugins.
EXTENSION_MODULES = [
    "uvflow.datamodels.testing",
    "uvflow.imaging.testing",
    "uvflow.imaging.ducc0_gridder",
    "uvflow.imaging.deconvolution.conformance",
    "uvflow.imaging.deconvolution.clean_algorithms",
    "uvflow.imaging.deconvolution.radler_deconvolver",
]


def public_modules(root: pathlib.Path = ROOT) -> list[str]:
    """Dotted names of the package modules that declare ``__all__`` (packages in order),
    then ``EXTENSION_MODULES``."""
    out = []
    for pkg in PACKAGES:
        top = root / "packages" / pkg / "src" / "uvflow" / pkg
        inits = sorted(top.rglob("__init__.py"), key=lambda p: (len(p.parts), str(p)))
        for init in inits:
            if "__all__" not in init.read_text(encoding="utf-8"):
                continue
            rel = init.parent.relative_to(root / "packages" / pkg / "src")
            out.append(".".join(rel.parts))
    return out + [m for m in EXTENSION_MODULES if m not in out]


def public_names(module: str) -> list[str]:
    """``module.__all__`` without dunder names, in the module's order."""
    mod = importlib.import_module(module)
    return [n for n in mod.__all__ if not (n.startswith("__") and n.endswith("__"))]


def module_page(module: str, names: list[str], elsewhere: dict[str, str] | None = None) -> str:
    """The reStructuredText of one module's reference page.

    ``elsewhere`` maps names of this module that are the same class or function as one
    documented on an earlier page to that page's full name: they are listed with a link
    there (one description per object; Sphinx refuses two of the same class).
    """
    elsewhere = elsewhere or {}
    mod = importlib.import_module(module)
    title = f"``{module}``"
    doc = (mod.__doc__ or "").strip().splitlines()
    summary = doc[0] if doc else ""
    version = getattr(mod, "__version__", None)
    lines = [title, "=" * len(title), "", f".. module:: {module}", ""]
    if summary:
        lines += [summary, ""]
    if version:
        lines += [f"Version {version} (``{module}.__version__``).", ""]
    if not names:
        lines += [f"``{module}.__all__`` lists no public names yet.", ""]
        return "\n".join(lines)
    own = [n for n in names if n not in elsewhere]
    lines += [f"Every name in ``{module}.__all__``.", ""]
    if own:
        lines += [".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in own]
        lines.append("")
    exported_classes = {getattr(mod, n): n for n in names if inspect.isclass(getattr(mod, n))}
    for name in own:
        cls = type(getattr(mod, name))
        if cls in exported_classes and not inspect.isclass(getattr(mod, name)):
            lines += [
                f"``{name}`` is an instance of :class:`{exported_classes[cls]}`: its methods"
                f" are documented there.",
                "",
            ]
    if elsewhere:
        lines += ["Also exported here, documented on another page:", ""]
        lines += [f"- ``{module}.{n}``: :py:obj:`{elsewhere[n]}`" for n in names if n in elsewhere]
        lines.append("")
    return "\n".join(lines)


def _is_documented_object(obj) -> bool:
    return inspect.isclass(obj) or inspect.isfunction(obj)


def index_page(modules: list[str]) -> str:
    lines = [
        "API reference",
        "=============",
        "",
        "Generated from each package's ``__all__`` at build time (``docs/apigen.py``): a",
        "public name is listed here as soon as its package exports it. Each entry's page",
        "is its numpydoc docstring (shapes and dtypes of array arguments, errors raised).",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    lines += [f"   {m}" for m in modules]
    lines.append("")
    return "\n".join(lines)


def _write_if_changed(path: pathlib.Path, text: str) -> None:
    """Leave unchanged files alone, so Sphinx does not rebuild every page each time."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_api(outdir: str | os.PathLike) -> dict[str, list[str]]:
    """Write ``index.rst`` and one ``<module>.rst`` per public module into ``outdir``.

    Returns
    -------
    dict
        module name → the names listed for it.
    """
    out = pathlib.Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    modules = public_modules()
    listed = {}
    seen: dict[int, str] = {}  # id of a class/function -> the full name it is documented as
    for module in modules:
        mod = importlib.import_module(module)
        names = public_names(module)
        listed[module] = names
        elsewhere = {}
        for name in names:
            obj = getattr(mod, name)
            if not _is_documented_object(obj):
                continue
            if id(obj) in seen:
                elsewhere[name] = seen[id(obj)]
            else:
                seen[id(obj)] = f"{module}.{name}"
        _write_if_changed(out / f"{module}.rst", module_page(module, names, elsewhere))
    for stale in out.glob("uvflow.*.rst"):
        if stale.stem not in listed:
            stale.unlink()
    _write_if_changed(out / "index.rst", index_page(modules))
    return listed


if __name__ == "__main__":  # pragma: no cover
    target = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "docs" / "api")
    for mod, names in write_api(target).items():
        print(f"{mod}: {len(names)} names")
