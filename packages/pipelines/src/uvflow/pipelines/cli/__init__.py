"""The ``uvflow`` command (console script of uvflow-pipelines): image, simulate, demo, info, plugins."""

from uvflow.execution.lazy import lazy_getattr

from .errors import CLIError
from .main import build_parser, main

# the products' module imports numpy and uvflow.datamodels: loaded on first use, so that
# the command starts at once
__getattr__ = lazy_getattr(
    __name__, dict.fromkeys(["KINDS", "ProductWriter", "find_sources", "product_name"], "products")
)

__all__ = [
    "CLIError",
    "KINDS",
    "ProductWriter",
    "build_parser",
    "find_sources",
    "main",
    "product_name",
]
