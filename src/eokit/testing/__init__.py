"""Testing kit: synthetic data with known answers, equivalence asserts, network guard, fixtures."""

from __future__ import annotations

from eokit.testing.asserts import assert_numpy_dask_equal
from eokit.testing.network import block_network
from eokit.testing.synthetic import coordinate_image, gaussian_cities, write_declared_raster, write_test_raster

__all__ = [
    "assert_numpy_dask_equal",
    "block_network",
    "coordinate_image",
    "gaussian_cities",
    "write_declared_raster",
    "write_test_raster",
]
