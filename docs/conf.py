"""Sphinx configuration for the uvflow documentation (built by ``nox -s docs``).

The API reference (``api/``) and the command reference (``cli.rst``) are generated
here at the start of every build, from the installed packages' ``__all__`` and from the
``uvflow`` command's parser: see ``apigen.py`` and ``cligen.py`` beside this file.
"""

from __future__ import annotations

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import apigen  # noqa: E402
import cligen  # noqa: E402

API_MODULES = apigen.write_api(HERE / "api")
cligen.write_cli(HERE / "cli.rst")

project = "uvflow"
author = "The uvflow developers"
copyright = "2026, The uvflow developers"
release = version = __import__("uvflow.execution", fromlist=["__version__"]).__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "dev", "design.md", "**/*.tmp", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

# autodoc / autosummary: one page per public name, signatures as written
# the generated pages, named: also right when a page is new since the last build
autosummary_generate = [f"api/{module}.rst" for module in API_MODULES]
autosummary_imported_members = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc "Parameters" sections carry the types
autodoc_class_signature = "mixed"

# numpydoc: the docstrings' own sections; no automatic method tables (autodoc lists
# the members) and no cross-referencing of free-text type descriptions
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

intersphinx_mapping = {}  # no network at build time: links to other projects are plain text

html_theme = "alabaster"
html_theme_options = {"page_width": "1240px", "sidebar_width": "280px"}
html_title = f"uvflow {release}"
html_static_path: list[str] = []
