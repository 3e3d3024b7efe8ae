"""The ``uvflow`` command (console script of uvflow-pipelines): image, simulate, demo, info, plugins."""

from .errors import CLIError
from .main import build_parser, main
from .products import KINDS, ProductWriter, find_sources, product_name

__all__ = [
    "CLIError",
    "KINDS",
    "ProductWriter",
    "build_parser",
    "find_sources",
    "main",
    "product_name",
]
