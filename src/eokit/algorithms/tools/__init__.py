"""File tools: paths in, GeoTIFFs out, streamed block by block (what ``eokit algo`` calls).

Each tool reads aligned rasters window by window through
:func:`eokit.io.process_raster_blocks` (halo-padded where the operation needs
neighbours), so memory is bounded by the block size, and writes atomically.
Input nodata becomes NaN on the way in; float outputs carry NaN as nodata.

Modules: :mod:`.masks` (distances, mask cover, medoid), :mod:`.bands` (indices,
harmonisation, band references), :mod:`.landsat` (rescaling, scale factors, QA/SCL
masks, SLC-off), :mod:`.nbar` (BRDF) and :mod:`.pansharpen`.
"""

from __future__ import annotations

from eokit.algorithms.tools.bands import (
    band_pixels,
    harmonize_file,
    index_band_refs,
    index_file,
    index_pixels,
    resolve_bands,
)
from eokit.algorithms.tools.landsat import (
    qa_mask_file,
    rescale_file,
    scale_collection2_file,
    scale_file,
    scl_mask_file,
    unmask_slc_off_file,
)
from eokit.algorithms.tools.masks import distance_to_mask_file, load_geometry, mask_cover_file, medoid_file
from eokit.algorithms.tools.nbar import nbar_file
from eokit.algorithms.tools.pansharpen import pansharpen_file

__all__ = [
    "band_pixels",
    "distance_to_mask_file",
    "harmonize_file",
    "index_band_refs",
    "index_file",
    "index_pixels",
    "load_geometry",
    "mask_cover_file",
    "medoid_file",
    "nbar_file",
    "pansharpen_file",
    "qa_mask_file",
    "rescale_file",
    "resolve_bands",
    "scale_collection2_file",
    "scale_file",
    "scl_mask_file",
    "unmask_slc_off_file",
]
