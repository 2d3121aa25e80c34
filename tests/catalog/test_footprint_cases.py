"""Footprints at the antimeridian, the poles and for global grids, checked against GDAL-located pixel centres."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from rasterio.warp import transform as gdal_transform
from shapely.geometry import shape

from eokit.catalog import create_item
from eokit.errors import FallbackWarning

# (name, CRS, west, north, pixel size, width, height, a lon/lat point inside, one outside (or None))
CASES = [
    ("north_pole", "EPSG:3413", -3e6, 3e6, 60000.0, 100, 100, (17.0, 89.9), (17.0, 30.0)),
    ("south_pole", "EPSG:3031", -1e6, 1e6, 20000.0, 100, 100, (-120.0, -89.9), (-120.0, -60.0)),
    ("global_180", "EPSG:4326", -180.0, 90.0, 3.6, 100, 50, (179.9, 0.0), None),
    ("global_360", "EPSG:4326", 0.0, 90.0, 3.6, 100, 50, (-0.1, 0.0), None),
    ("dateline_utm1", "EPSG:32601", 200000.0, 6000000.0, 1000.0, 150, 100, (-179.9, 53.9), (0.0, 53.9)),
    ("dateline_4326", "EPSG:4326", 170.0, 10.0, 0.5, 40, 20, (-175.0, 5.0), (0.0, 5.0)),
]


def _raster(tmp_path: Path, name: str, crs: str, west: float, north: float, res: float, w: int, h: int) -> Path:
    path = tmp_path / f"{name}.tif"
    profile = dict(driver="GTiff", width=w, height=h, count=1, dtype="uint8", crs=crs,
                   transform=from_origin(west, north, res, res))  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.ones((1, h, w), dtype="uint8"))
    return path


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_footprint_holds_every_pixel_centre(tmp_path: Path, stac_validator, case) -> None:
    name, crs, west, north, res, w, h, inside, outside = case
    path = _raster(tmp_path, name, crs, west, north, res, w, h)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        item = create_item(path).to_dict()
    assert stac_validator(item) == []
    geom = shape(item["geometry"])
    with rasterio.open(path) as ds:
        rows, cols = np.mgrid[0:h, 0:w]
        xs, ys = ds.transform @ (cols.ravel() + 0.5, rows.ravel() + 0.5)
        lon, lat = gdal_transform(ds.crs, "EPSG:4326", list(xs), list(ys))
    lon = (np.asarray(lon) + 180.0) % 360.0 - 180.0  # GDAL leaves 0..360 grids unwrapped
    assert shapely.contains_xy(geom.buffer(1e-9), lon, np.asarray(lat)).all()
    assert geom.buffer(1e-9).contains(shapely.Point(*inside))
    if outside is not None:  # not the rest of the globe (the dateline bug: 756 deg² around longitude 0)
        assert not geom.contains(shapely.Point(*outside))
    west_, south, east, north_ = item["bbox"]
    crosses = geom.geom_type == "MultiPolygon" and geom.bounds[0] <= -180.0 and geom.bounds[2] >= 180.0
    assert (west_ > east) == (crosses and not (west_ == -180.0 and east == 180.0))
    assert south <= min(lat) + 1e-9 and north_ >= max(lat) - 1e-9
