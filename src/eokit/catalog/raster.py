"""Raster files (any GDAL-readable, COGs first) -> :class:`AssetRecord`."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eokit.catalog._common import (
    EXT,
    MEDIA,
    clean_number,
    crs_fields,
    densified_box,
    gsd_metres,
    multihash,
    parse_datetime,
    stat_input,
    to_wgs84,
)
from eokit.catalog.records import AssetRecord, ReadOptions
from eokit.errors import InvalidInputError, MissingCRSError, UnreadableInputError

log = logging.getLogger(__name__)

__all__ = ["read_raster_asset", "raster_media_type"]

_COMMON_NAMES = {
    "coastal", "blue", "green", "red", "yellow", "pan", "rededge", "nir", "nir08", "nir09",
    "cirrus", "swir16", "swir22", "lwir", "lwir11", "lwir12",
}  # fmt: skip
_DRIVER_MEDIA = {"JP2OpenJPEG": "jp2", "netCDF": "netcdf", "HDF5": "hdf", "HDF4": "hdf", "VRT": "vrt", "PNG": "png"}


def raster_media_type(ds: Any) -> str | None:
    """Media type of an open dataset: COG vs plain GeoTIFF by its layout, else by driver."""
    if ds.driver == "GTiff":
        layout = ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT", "")
        if layout.upper() == "COG":
            return MEDIA["cog"]
        tiled = bool(ds.profile.get("tiled"))
        one_tile = bool(ds.block_shapes) and max(ds.width, ds.height) <= max(ds.block_shapes[0])
        if tiled and (one_tile or (ds.count and ds.overviews(1))):
            return MEDIA["cog"]
        return MEDIA["geotiff"]
    key = _DRIVER_MEDIA.get(ds.driver)
    return MEDIA[key] if key else None


def _decimated_shape(ds: Any, limit: int) -> tuple[int, int]:
    scale = max(ds.width / limit, ds.height / limit, 1.0)
    return max(1, round(ds.height / scale)), max(1, round(ds.width / scale))


def _band_stats(ds: Any, shape: tuple[int, int], *, histogram: bool) -> list[dict[str, Any]]:
    import numpy as np

    data = ds.read(out_shape=(ds.count, *shape), masked=True)
    out = []
    for band in data:
        valid = band.compressed().astype("float64")
        valid = valid[np.isfinite(valid)]
        entry: dict[str, Any] = {}
        if valid.size:
            entry["statistics"] = {
                "minimum": float(valid.min()),
                "maximum": float(valid.max()),
                "mean": float(valid.mean()),
                "stddev": float(valid.std()),
                "valid_percent": float(100.0 * valid.size / band.size),
            }
            if histogram:
                lo, hi = float(valid.min()), float(valid.max())
                counts, _ = np.histogram(valid, bins=256, range=(lo, hi if hi > lo else lo + 1))
                entry["histogram"] = {"count": 256, "min": lo, "max": hi, "buckets": counts.astype(int).tolist()}
        else:
            entry["statistics"] = {"valid_percent": 0.0}
        out.append(entry)
    return out


def _data_footprint(ds: Any, wkt: str, limit: int) -> Any:
    """Outline of valid pixels from a decimated mask (uses overviews when present), simplified."""
    import numpy as np
    import shapely
    from rasterio.features import shapes

    h, w = _decimated_shape(ds, limit)
    mask = ds.dataset_mask(out_shape=(h, w))
    if not mask.any():
        return None
    transform = ds.transform @ ds.transform.scale(ds.width / w, ds.height / h)
    polys = [shapely.geometry.shape(g) for g, v in shapes((mask > 0).astype(np.uint8), transform=transform) if v == 1]
    outline = shapely.union_all(polys)
    pixel = max(abs(transform.a), abs(transform.e))
    outline = outline.simplify(pixel, preserve_topology=True)
    dense = shapely.segmentize(outline, pixel * 8)
    return to_wgs84(wkt, dense)


@dataclass
class _View:
    """The header facts an asset is made of, from rasterio or from the fast TIFF parser."""

    wkt: str
    transform: Any
    width: int
    height: int
    dtypes: list[str]
    nodatavals: list[float | None]
    scales: list[float]
    offsets: list[float]
    units: list[str | None]
    descriptions: list[str | None]
    colorinterp: list[str]
    tags: dict[str, str]
    media_type: str | None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        from rasterio.transform import array_bounds

        west, south, east, north = array_bounds(self.height, self.width, self.transform)
        return west, south, east, north

    @classmethod
    def of_dataset(cls, ds: Any, wkt: str) -> _View:
        return cls(
            wkt=wkt,
            transform=ds.transform,
            width=ds.width,
            height=ds.height,
            dtypes=list(ds.dtypes),
            nodatavals=list(ds.nodatavals),
            scales=list(ds.scales),
            offsets=list(ds.offsets),
            units=list(ds.units or [None] * ds.count),
            descriptions=list(ds.descriptions),
            colorinterp=[ci.name for ci in ds.colorinterp],
            tags=ds.tags(),
            media_type=raster_media_type(ds),
        )

    @classmethod
    def of_header(cls, h: Any) -> _View:
        from affine import Affine

        one_tile = max(h.width, h.height) <= max(h.block)
        cog = h.cog_layout or (h.tiled and (one_tile or h.has_overviews))
        tags = dict(h.tags)
        if h.datetime:
            tags["TIFFTAG_DATETIME"] = h.datetime
        return cls(
            wkt=_epsg_wkt(h.epsg),
            transform=Affine(*h.transform),
            width=h.width,
            height=h.height,
            dtypes=[h.dtype] * h.count,
            nodatavals=[h.nodata] * h.count,
            scales=h.scales,
            offsets=h.offsets,
            units=h.units,
            descriptions=h.descriptions,
            colorinterp=h.colorinterp,
            tags=tags,
            media_type=MEDIA["cog"] if cog else MEDIA["geotiff"],
        )


@lru_cache(maxsize=512)
def _epsg_wkt(code: int) -> str:
    from pyproj import CRS

    return CRS.from_epsg(code).to_wkt()


def read_raster_asset(path: str | os.PathLike[str], options: ReadOptions | None = None) -> AssetRecord:
    """Read a raster's header (and, if asked, a decimated copy) into an asset record.

    Plain GeoTIFFs with EPSG-coded CRSs are parsed directly (no GDAL open) when no pixel
    reads are needed; everything else goes through rasterio.

    Raises
    ------
    InputNotFoundError, UnreadableInputError, MissingCRSError
    """
    options = options or ReadOptions()
    path = os.fspath(path)
    st = stat_input(path)
    simple = options.footprint == "bbox" and not (options.statistics or options.histogram)
    if simple and path.lower().endswith((".tif", ".tiff")):
        from eokit.catalog._tiff import read_header

        header = read_header(path)
        if header is not None:
            return _record(path, st, _View.of_header(header), options, None)
    return _read_with_rasterio(path, st, options)


def _read_with_rasterio(path: str, st: os.stat_result, options: ReadOptions) -> AssetRecord:
    import rasterio
    from rasterio.crs import CRS
    from rasterio.errors import RasterioIOError

    try:
        ds_ctx = rasterio.open(path)
    except RasterioIOError as exc:
        raise UnreadableInputError(f"not a readable raster: {exc}", path=path) from None
    except OSError as exc:
        raise UnreadableInputError(f"I/O error: {exc.strerror or exc}", path=path) from None
    with ds_ctx as ds:
        crs = ds.crs
        if crs is None:
            if options.default_crs is None:
                raise MissingCRSError("raster has no CRS (pass a default CRS to catalogue it)", path=path)
            crs = CRS.from_user_input(options.default_crs)
        if ds.transform.is_identity and not ds.gcps[0]:
            raise MissingCRSError("raster has no georeferencing (identity transform)", path=path)
        try:
            return _record(path, st, _View.of_dataset(ds, crs.to_wkt()), options, ds)
        except RasterioIOError as exc:
            raise UnreadableInputError(f"pixel data cannot be read: {exc}", path=path) from None


def _record(path: str, st: os.stat_result, v: _View, options: ReadOptions, ds: Any) -> AssetRecord:
    import shapely

    t, wkt = v.transform, v.wkt
    bounds = v.bounds
    try:
        footprint = densified_box(bounds, wkt)
        if options.footprint == "data":
            traced = _data_footprint(ds, wkt, options.max_decimated)
            if traced is not None and not traced.is_empty:
                footprint = traced
        elif options.footprint != "bbox":
            raise InvalidInputError(f"unknown footprint mode {options.footprint!r}: use 'bbox' or 'data'")
    except InvalidInputError as exc:
        raise InvalidInputError(exc.message, path=path) from None
    res = [math.hypot(t.a, t.d), math.hypot(t.b, t.e)]
    gsd = gsd_metres(min(res), wkt, footprint.centroid.y)
    asset: dict[str, Any] = {"type": v.media_type, "roles": ["data"]}
    asset.update(crs_fields(wkt))
    asset["proj:shape"] = [v.height, v.width]
    asset["proj:transform"] = [t.a, t.b, t.c, t.d, t.e, t.f]
    asset["proj:bbox"] = list(bounds)
    asset["gsd"] = gsd
    stats = None
    if options.statistics or options.histogram:
        stats = _band_stats(ds, _decimated_shape(ds, options.max_decimated), histogram=options.histogram)
    bands, eo_bands = [], []
    for i, dtype in enumerate(v.dtypes):
        band: dict[str, Any] = {"data_type": dtype, "spatial_resolution": float(min(res))}
        nodata = v.nodatavals[i]
        if nodata is not None:
            band["nodata"] = clean_number(float(nodata))
        if v.scales[i] not in (None, 1.0):
            band["scale"] = float(v.scales[i])
        if v.offsets[i] not in (None, 0.0):
            band["offset"] = float(v.offsets[i])
        if v.units[i]:
            band["unit"] = v.units[i]
        if stats:
            band.update(stats[i])
        bands.append(band)
        eo_bands.append(_eo_band(v, i))
    asset["raster:bands"] = bands
    extensions = [EXT["proj"], EXT["raster"], EXT["file"]]
    if any("common_name" in b for b in eo_bands):
        asset["eo:bands"] = eo_bands
        extensions.append(EXT["eo"])
    when = parse_datetime(v.tags.get("TIFFTAG_DATETIME") or v.tags.get("ACQUISITIONDATETIME"))
    asset["file:size"] = st.st_size
    if options.checksum:
        asset["file:checksum"] = multihash(path, options.checksum)
    return AssetRecord(
        path=path,
        kind="raster",
        asset=asset,
        geometry=shapely.geometry.mapping(footprint),
        datetime=when,
        datetime_source="tiff-tag" if when else None,
        extensions=extensions,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
    )


def _eo_band(v: _View, i: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": v.descriptions[i] or f"b{i + 1}"}
    desc = (v.descriptions[i] or "").strip().lower()
    ci = v.colorinterp[i] if i < len(v.colorinterp) else None
    if desc in _COMMON_NAMES:
        entry["common_name"] = desc
    elif ci in ("red", "green", "blue"):
        entry["common_name"] = ci
    return entry
