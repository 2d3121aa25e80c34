"""Earth Engine image algorithms (geetools.algorithms) on local rasters, numpy and dask.

Families: masks and distances (:mod:`.distance`), pansharpening (:mod:`.pansharpen`),
Landsat utilities (:mod:`.landsat`, :mod:`.metadata`), BRDF/NBAR (:mod:`.brdf`,
:mod:`.solar`, :mod:`.orbit`) and spectral indices (:mod:`.indices`). File tools live in
:mod:`.tools` and back the ``eokit algo`` commands.
"""

from __future__ import annotations

from eokit.algorithms.brdf import (
    BRDF_COEFFICIENTS,
    brdf_model,
    c_factor,
    c_factor_legacy,
    li_sparse_r,
    nbar,
    normalization_sun_zenith,
    ross_thick,
)
from eokit.algorithms.distance import (
    distance_to_mask,
    euclidean_distance,
    mask_cover,
    medoid,
    sum_distance,
)
from eokit.algorithms.indices import band_mapping, list_indices, spectral_index
from eokit.algorithms.landsat import (
    check_acquisition,
    harmonize,
    qa_pixel_mask,
    rescale,
    scale_collection2,
    scl_mask,
    unmask_slc_off,
)
from eokit.algorithms.metadata import read_ang, read_mtl
from eokit.algorithms.orbit import scene_view_angles, track_heading
from eokit.algorithms.pansharpen import pansharpen, pansharpen_brovey, pansharpen_hsv, pansharpen_kernel
from eokit.algorithms.solar import landsat_geometry, solar_position

__all__ = [
    "BRDF_COEFFICIENTS",
    "band_mapping",
    "brdf_model",
    "c_factor",
    "c_factor_legacy",
    "check_acquisition",
    "distance_to_mask",
    "euclidean_distance",
    "harmonize",
    "landsat_geometry",
    "li_sparse_r",
    "list_indices",
    "mask_cover",
    "medoid",
    "nbar",
    "normalization_sun_zenith",
    "pansharpen",
    "pansharpen_brovey",
    "pansharpen_hsv",
    "pansharpen_kernel",
    "qa_pixel_mask",
    "read_ang",
    "read_mtl",
    "rescale",
    "ross_thick",
    "scale_collection2",
    "scene_view_angles",
    "scl_mask",
    "solar_position",
    "spectral_index",
    "sum_distance",
    "track_heading",
    "unmask_slc_off",
]
