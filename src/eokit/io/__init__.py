"""Raster and vector I/O: atomic writes, checked opens, block-wise processing.

Submodules are imported on first use, so ``eokit.io.atomic`` stays light (the
CLI entry point imports it without pulling in rasterio).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "RasterWriter",
    "atomic_path",
    "ensure_writable_dir",
    "open_raster",
    "process_raster_blocks",
    "read_raster",
    "read_vector",
    "require_same_grid",
    "write_raster",
    "write_vector",
]

_WHERE = {
    "atomic_path": "atomic",
    "ensure_writable_dir": "atomic",
    "RasterWriter": "raster",
    "open_raster": "raster",
    "process_raster_blocks": "raster",
    "read_raster": "raster",
    "require_same_grid": "raster",
    "write_raster": "raster",
    "read_vector": "vector",
    "write_vector": "vector",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'eokit.io' has no attribute {name!r}")
    return getattr(importlib.import_module(f"eokit.io.{module}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
