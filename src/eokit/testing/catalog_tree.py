"""A synthetic drone-mission data store (the seed's ``MISSION/processed*/full/ASSET`` layout) for tests and benchmarks."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["RASTER_ASSETS", "make_drone_tree", "write_small_geotiff", "write_small_laz"]

RASTER_ASSETS = ("orthomosaic", "chm-mesh", "dsm-ptcloud", "dtm-ptcloud")


def write_small_geotiff(
    path: str | os.PathLike[str],
    *,
    x0: float,
    y0: float,
    size: int = 16,
    res: float = 0.5,
    crs: str | None = "EPSG:32610",
    bands: int = 1,
    dtype: str = "uint8",
    when: dt.datetime | None = None,
    cog: bool = False,
) -> Path:
    """Write a tiny georeferenced GeoTIFF with top-left corner ``(x0, y0)``."""
    import rasterio
    from rasterio.transform import from_origin

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (np.arange(size * size * bands).reshape(bands, size, size) % 200 + 1).astype(dtype)
    profile = dict(
        driver="COG" if cog else "GTiff",
        width=size,
        height=size,
        count=bands,
        dtype=dtype,
        crs=crs,
        transform=from_origin(x0, y0, res, res),
        nodata=0,
    )
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
        if when is not None:
            ds.update_tags(TIFFTAG_DATETIME=when.strftime("%Y:%m:%d %H:%M:%S"))
    return path


def write_small_laz(
    path: str | os.PathLike[str],
    *,
    x0: float,
    y0: float,
    n: int = 200,
    extent: float = 8.0,
    crs: str = "EPSG:32610",
    seed: int = 0,
) -> Path:
    """Write a small LAZ (or LAS, by suffix) with a WKT CRS record and ``n`` random points."""
    import laspy
    from pyproj import CRS

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    header = laspy.LasHeader(point_format=3, version="1.4")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([x0, y0, 0.0])
    header.add_crs(CRS.from_user_input(crs))
    las = laspy.LasData(header)
    las.x = x0 + rng.uniform(0, extent, n)
    las.y = y0 - rng.uniform(0, extent, n)
    las.z = rng.uniform(100, 120, n)
    las.write(str(path))
    return path


def make_drone_tree(
    root: str | os.PathLike[str],
    n_missions: int,
    *,
    rasters: Sequence[str] = RASTER_ASSETS,
    laz_every: int = 1,
    size: int = 16,
    start: dt.datetime = dt.datetime(2023, 5, 1, 12, 0, tzinfo=dt.UTC),
) -> list[str]:
    """Create ``root/<000001>/processed_<k>/full/{rasters}.tif`` (+ ``points.laz`` every ``laz_every`` missions).

    Missions sit on a regular grid of 100 m steps in UTM 10N; returns the mission ids.
    """
    root = Path(root)
    ids = []
    for i in range(n_missions):
        mid = f"{i + 1:06d}"
        ids.append(mid)
        full = root / mid / f"processed_{i % 3}" / "full"
        x0, y0 = 500000.0 + 100.0 * (i % 100), 4400000.0 - 100.0 * (i // 100)
        for name in rasters:
            write_small_geotiff(full / f"{name}.tif", x0=x0, y0=y0, size=size, when=start + dt.timedelta(days=i))
        if laz_every and i % laz_every == 0:
            write_small_laz(full / "points.laz", x0=x0, y0=y0, seed=i)
    return ids
