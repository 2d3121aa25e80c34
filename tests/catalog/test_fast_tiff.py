"""The GeoTIFF header fast path must describe files exactly as the rasterio path does."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from eokit.catalog import ReadOptions
from eokit.catalog._tiff import read_header
from eokit.catalog.raster import _read_with_rasterio, read_raster_asset
from eokit.testing.catalog_tree import write_small_geotiff


def _same(a, b) -> None:
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-9)
    else:
        assert a == b


def _check(path: Path) -> bool:
    fast = read_raster_asset(path)
    slow = _read_with_rasterio(str(path), os.stat(path), ReadOptions())
    _same(fast.asset, slow.asset)
    _same(fast.geometry, slow.geometry)
    assert fast.datetime == slow.datetime
    return read_header(path) is not None


@pytest.mark.parametrize("folder", ["samples", "realworld/rio-stac"])
def test_samples_agree(shared_data: Path, folder: str) -> None:
    """Every georeferenced sample and rio-stac fixture: same asset (COG layout, proj:code, dates...) both ways."""
    from eokit.errors import EokitError

    used = 0
    for path in sorted((shared_data / folder).rglob("*")):
        if path.suffix.lower() not in (".tif", ".tiff"):
            continue
        with rasterio.open(path) as ds:
            if ds.crs is None:
                continue
        try:
            used += _check(path)
        except EokitError:  # refused (a Mars CRS): the rasterio path must refuse it too
            with pytest.raises(EokitError):
                _read_with_rasterio(str(path), os.stat(path), ReadOptions())
    assert used >= 5  # the fast path does engage on real files


def _write(path: Path, **kw) -> Path:
    data = kw.pop("data")
    tags = kw.pop("tags", {})
    band_meta = kw.pop("band_meta", None)
    profile = dict(driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0], dtype=data.dtype)
    profile.update(kw)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
        if tags:
            ds.update_tags(**tags)
        if band_meta:
            band_meta(ds)
    return path


@pytest.mark.parametrize(
    "variant",
    ["strip", "cog", "tiled-overviews", "float-nan", "int16-scale", "rgb", "geographic", "bigtiff", "described"],
)
def test_variants_agree(tmp_path: Path, variant: str) -> None:
    rng = np.random.default_rng(1)
    base = dict(crs="EPSG:32633", transform=from_origin(400000, 5000000, 10, 10))
    path = tmp_path / f"{variant}.tif"
    if variant == "strip":
        _write(path, data=rng.integers(0, 255, (1, 40, 50), dtype="uint8"), nodata=0, **base)
    elif variant == "cog":
        write_small_geotiff(path, x0=1, y0=2, size=600, cog=True, when=dt.datetime(2020, 1, 2, 3, 4, 5))
    elif variant == "tiled-overviews":
        _write(path, data=rng.integers(0, 9, (1, 600, 600), dtype="uint16"), tiled=True, blockxsize=256,
               blockysize=256, **base)  # fmt: skip
        with rasterio.open(path, "r+") as ds:
            ds.build_overviews([2, 4])
    elif variant == "float-nan":
        _write(path, data=rng.random((2, 30, 30), dtype="float32"), nodata=float("nan"), **base)
    elif variant == "int16-scale":

        def meta(ds):
            ds.scales = (0.01,)
            ds.offsets = (-5.0,)
            ds.units = ("m",)

        _write(path, data=rng.integers(-100, 100, (1, 20, 20), dtype="int16"), nodata=-9999, band_meta=meta, **base)
    elif variant == "rgb":
        _write(path, data=rng.integers(0, 255, (3, 20, 20), dtype="uint8"), photometric="RGB", **base)
    elif variant == "geographic":
        _write(path, data=rng.integers(0, 255, (1, 20, 20), dtype="uint8"), crs="EPSG:4326",
               transform=from_origin(10, 50, 0.01, 0.01))  # fmt: skip
    elif variant == "bigtiff":
        _write(path, data=rng.integers(0, 255, (1, 20, 20), dtype="uint8"), BIGTIFF="YES", **base)
    elif variant == "described":

        def meta(ds):
            ds.set_band_description(1, "nir")

        _write(path, data=rng.integers(0, 255, (1, 20, 20), dtype="uint8"), band_meta=meta,
               tags={"ACQUISITIONDATETIME": "2019-06-04T11:59:40Z"}, **base)  # fmt: skip
    assert _check(path), "fast path should handle this file"


def test_unsupported_files_fall_back(tmp_path: Path, samples: Path) -> None:
    (tmp_path / "garbage.tif").write_bytes(b"II*\0garbage")
    assert read_header(tmp_path / "garbage.tif") is None
    assert read_header(samples / "stars" / "lc.tif") is None  # user-defined Albers CRS: GDAL decides
    path = write_small_geotiff(tmp_path / "with-aux.tif", x0=1, y0=2)
    (tmp_path / "with-aux.tif.aux.xml").write_text("<PAMDataset/>")
    assert read_header(path) is None
