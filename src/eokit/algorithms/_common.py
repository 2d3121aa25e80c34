"""Shared helpers: numpy/dask handling, row metrics in metres, geometries on raster grids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from affine import Affine

from eokit.core.arrays import is_dask
from eokit.errors import InvalidInputError

__all__ = [
    "as_array",
    "geometry_inside",
    "map_overlap_multi",
    "row_metrics",
    "to_raster_crs",
]


def as_array(data: Any) -> Any:
    """The numpy or dask array behind ``data`` (xarray objects are unwrapped)."""
    inner = getattr(data, "data", None)
    if inner is not None and not isinstance(data, np.ndarray) and hasattr(data, "dims"):
        return inner
    if is_dask(data):
        return data
    return np.asarray(data)


def lazy_pair(fn: Callable[..., tuple[Any, Any]], *arrays: Any) -> tuple[Any, Any] | None:
    """``fn(*arrays)`` block by block when an input is dask (two float64 outputs), else ``None``."""
    if not any(is_dask(a) for a in arrays):
        return None
    import dask.array as da

    blocks = da.broadcast_arrays(*(da.asarray(a) for a in arrays))

    def _both(*b: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(r, dtype=np.float64) for r in fn(*b)])

    out = da.map_blocks(_both, *blocks, new_axis=0, chunks=((2,), *blocks[0].chunks), dtype=np.float64)
    return out[0], out[1]


def row_metrics(transform: Affine, crs: Any, height: int) -> tuple[np.ndarray, np.ndarray]:
    """``(y, dx)`` per row in metres: row-centre position along the column and pixel width.

    With ``crs=None`` the transform's units are taken as metres.
    """
    transform = Affine(*transform[:6]) if not isinstance(transform, Affine) else transform
    if crs is None:
        dx = np.full(height, float(np.hypot(transform.a, transform.d)))
        dy = np.full(height, float(np.hypot(transform.b, transform.e)))
    else:
        from eokit.core.crs import pixel_sizes_m

        dx, dy = pixel_sizes_m(transform, crs, height)
        dx, dy = np.abs(np.asarray(dx, float)), np.abs(np.asarray(dy, float))
    if not (np.all(np.isfinite(dx)) and np.all(dx > 0) and np.all(dy > 0)):
        raise InvalidInputError(f"transform {tuple(transform)[:6]} gives non-positive pixel sizes")
    y = np.cumsum(dy) - dy / 2.0
    return y, dx


def map_overlap_multi(
    kernel: Callable[..., np.ndarray], arrays: list[Any], *, depth: tuple[int, int], dtype: Any, **kwargs: Any
) -> Any:
    """Like :func:`eokit.core.arrays.map_overlap` for several 2-D arrays chunked alike."""
    if not any(is_dask(a) for a in arrays):
        return kernel(*[np.asarray(a) for a in arrays], **kwargs)
    import dask.array as da

    first = next(a for a in arrays if is_dask(a))
    darrs = [a if is_dask(a) else da.from_array(np.asarray(a), chunks=first.chunks) for a in arrays]
    darrs = [a.rechunk(first.chunks) for a in darrs]
    # a halo never needs to reach further than the array itself
    depth = (min(depth[0], max(first.shape[0] - 1, 0)), min(depth[1], max(first.shape[1] - 1, 0)))
    return da.map_overlap(
        kernel, *darrs, depth={0: depth[0], 1: depth[1]}, boundary="none", trim=True, dtype=dtype, **kwargs
    )


def to_raster_crs(geometry: Any, geometry_crs: Any, crs: Any) -> Any:
    """A shapely geometry from ``geometry`` (shapely, GeoJSON mapping or WKT), in ``crs``."""
    import shapely
    from shapely.geometry import shape

    if isinstance(geometry, str):
        geom = shapely.from_wkt(geometry)
    elif isinstance(geometry, dict):
        geom = shape(geometry.get("geometry", geometry))
    elif hasattr(geometry, "__geo_interface__") and not hasattr(geometry, "geom_type"):
        geom = shape(geometry.__geo_interface__)
    else:
        geom = geometry
    if geom is None or geom.is_empty:
        raise InvalidInputError("geometry is empty")
    if geometry_crs is not None and crs is not None:
        from pyproj import Transformer

        from eokit.core.crs import to_pyproj

        src, dst = to_pyproj(geometry_crs), to_pyproj(crs)
        if src != dst:
            tr = Transformer.from_crs(src, dst, always_xy=True)
            geom = shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    return geom


def geometry_inside(
    geometry: Any, transform: Affine, shape: tuple[int, int], *, row: int = 0, col: int = 0, all_touched: bool = False
) -> np.ndarray:
    """Boolean array, ``True`` for pixels whose centre lies in ``geometry`` (or touched, with ``all_touched``)."""
    from rasterio.features import geometry_mask

    win_transform = transform @ Affine.translation(col, row)
    return geometry_mask([geometry], out_shape=shape, transform=win_transform, invert=True, all_touched=all_touched)


def inside_like(data: Any, geometry: Any, transform: Affine, *, all_touched: bool = False) -> Any:
    """:func:`geometry_inside` shaped and chunked like the 2-D ``data`` (numpy or dask)."""
    if not is_dask(data):
        return geometry_inside(geometry, transform, data.shape[-2:], all_touched=all_touched)
    import dask.array as da

    def _block(block: np.ndarray, block_info: Any = None) -> np.ndarray:
        (r0, _), (c0, _) = block_info[0]["array-location"][-2:]
        return geometry_inside(geometry, transform, block.shape[-2:], row=r0, col=c0, all_touched=all_touched)

    return da.map_blocks(_block, data, dtype=bool)
