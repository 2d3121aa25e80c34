"""Raster and vector I/O: atomic writes, checked opens, block-wise processing."""

from __future__ import annotations

from eokit.io.atomic import atomic_path, ensure_writable_dir
from eokit.io.raster import (
    RasterWriter,
    open_raster,
    process_raster_blocks,
    read_raster,
    require_same_grid,
    write_raster,
)
from eokit.io.vector import read_vector, write_vector

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
