"""Synthetic rasters whose answers are known in closed form."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

__all__ = ["coordinate_image", "gaussian_cities", "write_test_raster"]


def coordinate_image(shape: tuple[int, int], dtype: Any = np.float64) -> np.ndarray:
    """An image whose value encodes its position: ``row * cols + col``.

    Any resampling or block bug shows up as a wrong value at a known place.
    """
    rows, cols = shape
    return (np.arange(rows)[:, None] * cols + np.arange(cols)[None, :]).astype(dtype)


def gaussian_cities(
    shape: tuple[int, int],
    centers: Sequence[tuple[float, float]],
    populations: Sequence[float],
    sigmas: Sequence[float] | float = 3.0,
    *,
    background: float = 0.0,
) -> np.ndarray:
    """A population grid: one Gaussian "city" per centre, each summing to its population.

    Each city's cells are its Gaussian weights normalised over the grid, so the
    grid's total is ``sum(populations) + background * rows * cols`` exactly.
    ``centers`` are ``(row, col)`` in pixel coordinates.
    """
    rows, cols = shape
    rr, cc = np.mgrid[0:rows, 0:cols].astype(np.float64)
    sig = [float(s) for s in sigmas] if isinstance(sigmas, Sequence) else [float(sigmas)] * len(centers)
    grid = np.full(shape, float(background))
    for (r0, c0), pop, s in zip(centers, populations, sig, strict=True):
        w = np.exp(-((rr - r0) ** 2 + (cc - c0) ** 2) / (2.0 * s * s))
        grid += pop * w / w.sum()
    return grid


def write_test_raster(
    path: str | os.PathLike[str],
    data: np.ndarray,
    *,
    crs: Any = "EPSG:3857",
    transform: Affine | None = None,
    nodata: float | None = None,
    tiled: bool = False,
) -> Path:
    """Write ``data`` (2-D or 3-D) as a GeoTIFF with rasterio directly (independent of eokit.io)."""
    import rasterio

    arr = data if data.ndim == 3 else data[np.newaxis]
    transform = transform or Affine(30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0)
    profile: dict[str, Any] = dict(
        driver="GTiff",
        width=arr.shape[2],
        height=arr.shape[1],
        count=arr.shape[0],
        dtype=arr.dtype.name,
        crs=crs,
        transform=transform,
        nodata=nodata,
    )
    if tiled:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(arr)
    return Path(path)


def write_declared_raster(
    path: str | os.PathLike[str],
    *,
    width: int,
    height: int,
    count: int = 1,
    dtype: str = "float32",
    block: tuple[int, int] | None = (512, 512),
    crs: Any = "EPSG:32633",
    transform: Affine | None = None,
    nodata: float | None = None,
) -> Path:
    """A GeoTIFF *declaring* ``height`` x ``width`` x ``count`` pixels with no pixel written (a few KB).

    ``block`` is the native ``(rows, cols)`` of a tile; None stores the image in strips of
    ``rows_per_strip`` = the whole height (one strip), ``(rows, width)`` gives strips of ``rows``.
    Hostile input for memory bounds: what the header declares, not what the file holds.
    """
    import rasterio

    layout: dict[str, Any]
    if block is None:
        layout = {"blockysize": height}
    elif block[1] >= width:
        layout = {"blockysize": block[0]}
    else:
        layout = {"tiled": True, "blockysize": block[0], "blockxsize": block[1]}
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=count, dtype=dtype, crs=crs,
        transform=transform or Affine(10.0, 0, 500000.0, 0, -10.0, 5000000.0), nodata=nodata,
        compress="deflate", SPARSE_OK=True, BIGTIFF="IF_SAFER", **layout,
    ):  # fmt: skip
        pass
    return Path(path)
