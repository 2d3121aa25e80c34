"""Grids, blocks with halos, masks and nodata, CRS helpers, numpy/dask dispatch.

``eokit.core`` imports neither ``eokit.io`` nor click nor dask at module level.
"""

from __future__ import annotations

from eokit.core.blocks import Block, apply_blocks, iter_blocks
from eokit.core.crs import cell_areas_km2, pixel_sizes_m, require_crs
from eokit.core.dispatch import Executor, open_executor
from eokit.core.masks import fill_masked, to_masked, valid_mask

__all__ = [
    "Block",
    "Executor",
    "apply_blocks",
    "cell_areas_km2",
    "fill_masked",
    "iter_blocks",
    "open_executor",
    "pixel_sizes_m",
    "require_crs",
    "to_masked",
    "valid_mask",
]
