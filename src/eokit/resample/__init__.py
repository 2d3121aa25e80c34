"""Grid resampling, compatible with CNES gridr 0.7.0 and faster.

* :func:`array_grid_resampling` - numpy arrays in, numpy arrays out;
* :func:`grid_full_resolution_shape` - output shape of a coarse grid;
* :func:`grid_resampling_blocks` - the same, lazily with dask, chunk by chunk;
* :func:`basic_grid_resampling_chain` - rasterio datasets, strip/tile streaming;
* :func:`resample_file` - paths in, a tiled GeoTIFF out (what the CLI calls), with its
  :class:`ResampleOptions`. It prepares the run with :func:`eokit.resample.chain.prepare`
  (:class:`~eokit.resample.chain.ChainInputs` + :class:`ResampleOptions`) and streams it through
  :func:`eokit.resample.chain.stream_tiles`: the backbone that gridr's signatures
  (``basic_grid_resampling_chain``, ``prepare_chain``) adapt.
"""

from eokit.resample.blocked import grid_resampling_blocks
from eokit.resample.chain import basic_grid_resampling_chain
from eokit.resample.core import (
    BOUNDARY_CONDITIONS,
    INTERPOLATORS,
    array_grid_resampling,
    grid_full_resolution_shape,
)
from eokit.resample.interp import Interpolator, get_interpolator
from eokit.resample.options import ResampleOptions
from eokit.resample.tool import output_shape, resample_file

__all__ = [
    "BOUNDARY_CONDITIONS",
    "INTERPOLATORS",
    "Interpolator",
    "ResampleOptions",
    "array_grid_resampling",
    "basic_grid_resampling_chain",
    "get_interpolator",
    "grid_full_resolution_shape",
    "grid_resampling_blocks",
    "output_shape",
    "resample_file",
]
