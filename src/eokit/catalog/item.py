"""STAC items from files: :func:`read_asset` (one file) and :func:`create_item` / :func:`assemble_item`."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eokit.catalog._common import EXT, STAC_VERSION, asset_key_of, file_time, kind_of, utc_iso
from eokit.catalog.records import AssetRecord, ReadOptions
from eokit.core.geometry import geometry_bbox, split_antimeridian
from eokit.errors import InvalidInputError, UnreadableInputError

log = logging.getLogger(__name__)

__all__ = ["assemble_item", "create_item", "read_asset"]

_ID_OK = re.compile(r"[^A-Za-z0-9._-]+")


def read_asset(path: str | os.PathLike[str], options: ReadOptions | None = None) -> AssetRecord:
    """Read one file (raster, point cloud or vector, by its name) into an :class:`AssetRecord`."""
    kind = kind_of(path)
    if kind == "raster":
        from eokit.catalog.raster import read_raster_asset

        return read_raster_asset(path, options)
    if kind == "pointcloud":
        from eokit.catalog.pointcloud import read_pointcloud_asset

        return read_pointcloud_asset(path, options)
    if kind == "vector":
        from eokit.catalog.vector import read_vector_asset

        return read_vector_asset(path, options)
    raise UnreadableInputError("not a raster, point cloud or vector file name eokit knows", path=path)


def safe_id(text: str) -> str:
    """An id usable as a file name and URL segment."""
    cleaned = _ID_OK.sub("_", text).strip("._")
    if not cleaned:
        raise InvalidInputError(f"cannot derive an item id from {text!r}")
    return cleaned


def assemble_item(
    item_id: str,
    records: Sequence[AssetRecord],
    *,
    hrefs: Mapping[str, str] | None = None,
    keys: Mapping[str, str] | None = None,
    properties: Mapping[str, Any] | None = None,
    datetime: dt.datetime | None = None,
    geometry: Mapping[str, Any] | None = None,
    collection: str | None = None,
) -> dict[str, Any]:
    """Combine asset records into one STAC item dictionary.

    Parameters
    ----------
    item_id : str
    records : sequence of AssetRecord
        The files of the item (at least one).
    hrefs : mapping, optional
        Record path -> asset href (default: the path).
    keys : mapping, optional
        Record path -> asset key (default: the file name without suffixes, made unique).
    properties : mapping, optional
        Extra item properties (e.g. joined metadata); they win over derived ones.
    datetime : datetime, optional
        Acquisition time; else the earliest record time (TIFF tag, LAS header); else the
        file modification time with a :class:`~eokit.errors.FallbackWarning`.
    geometry : mapping, optional
        A GeoJSON footprint in EPSG:4326 replacing the union of the records' footprints.
    collection : str, optional
        Collection id stamped on the item.
    """
    import shapely
    from shapely.geometry import mapping, shape

    if not records:
        raise InvalidInputError(f"item {item_id!r} has no files")
    hrefs = hrefs or {}
    keys = dict(keys or {})
    if geometry is None and len(records) == 1:
        geometry_doc: dict[str, Any] = records[0].geometry  # already a valid EPSG:4326 GeoJSON mapping
        if geometry_doc["type"] == "Polygon":
            bbox = _bounds(geometry_doc["coordinates"])
        else:  # parts split at the antimeridian: west > east (RFC 7946 §3.1.9)
            bbox = list(geometry_bbox(geometry_doc))
    else:
        if geometry is not None:
            geom = split_antimeridian(shape(geometry))
        else:
            geom = shapely.union_all([shape(r.geometry) for r in records])
        geom = shapely.set_precision(geom, 1e-9) if not geom.is_empty else geom
        geometry_doc = mapping(geom)
        bbox = list(geometry_bbox(geom))

    assets: dict[str, Any] = {}
    used: set[str] = set()
    extensions: list[str] = []
    gsds: list[float] = []
    codes: set[Any] = set()
    pointclouds: list[AssetRecord] = []
    for rec in sorted(records, key=lambda r: r.path):
        key = keys.get(rec.path) or asset_key_of(rec.path)
        if key == item_id:  # one file per item: a stable key keeps assets uniform across items
            key = "data"
        base, n = key, 1
        while key in used:
            n += 1
            key = f"{base}_{n}"
        used.add(key)
        asset = {"href": hrefs.get(rec.path, rec.path), "title": Path(rec.path).name, **rec.asset}
        assets[key] = asset
        for ext in rec.extensions:
            if ext not in extensions:
                extensions.append(ext)
        if "gsd" in rec.asset:
            gsds.append(rec.asset["gsd"])
        codes.add(rec.asset.get("proj:code", "?"))
        if rec.kind == "pointcloud":
            pointclouds.append(rec)

    props: dict[str, Any] = {}
    times = sorted(r.datetime for r in records if r.datetime is not None)
    if datetime is None:
        if times:
            datetime = times[0]
            if times[-1] != times[0]:
                props["start_datetime"] = utc_iso(times[0])
                props["end_datetime"] = utc_iso(times[-1])
        else:
            datetime = min(file_time(r.path) for r in records)
    props["datetime"] = utc_iso(datetime)
    if gsds:
        props["gsd"] = min(gsds)
    if len(codes) == 1 and None not in codes and "?" not in codes:
        props["proj:code"] = next(iter(codes))
    if pointclouds:
        main = max(pointclouds, key=lambda r: r.properties.get("pc:count", 0))
        props.update(main.properties)
    elif EXT["pc"] in extensions:
        extensions.remove(EXT["pc"])
    for rec in records:  # item-level fields of rasters (eo:cloud_cover...): the first file that has one wins
        if rec.kind != "pointcloud":
            for k, v in rec.properties.items():
                props.setdefault(k, v)
    if properties:
        for k, v in properties.items():
            props[k] = utc_iso(v) if isinstance(v, dt.datetime) else v
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": sorted(extensions),
        "id": item_id,
        "geometry": geometry_doc,
        "bbox": bbox,
        "properties": props,
        "links": [],
        "assets": assets,
        **({"collection": collection} if collection else {}),
    }


def _bounds(coords: Any) -> list[float]:
    """[minx, miny, maxx, maxy] of nested GeoJSON coordinates."""
    xs: list[float] = []
    ys: list[float] = []
    stack = [coords]
    while stack:
        c = stack.pop()
        if c and isinstance(c[0], int | float):
            xs.append(float(c[0]))
            ys.append(float(c[1]))
        else:
            stack.extend(c)
    return [min(xs), min(ys), max(xs), max(ys)]


def create_item(
    path_or_paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    item_id: str | None = None,
    footprint: str = "bbox",
    statistics: bool = False,
    histogram: bool = False,
    checksum: str | None = None,
    default_crs: str | None = None,
    datetime: dt.datetime | None = None,
    properties: Mapping[str, Any] | None = None,
    geometry: Mapping[str, Any] | None = None,
    collection: str | None = None,
) -> Any:
    """Create a STAC item (``pystac.Item``) for one file or a group of files.

    Rasters (any GDAL format; COG or GeoTIFF media type by layout), point clouds
    (LAS/LAZ/COPC, header only) and vector files each become an asset with projection
    v2 (``proj:code``, ``proj:shape``, ``proj:transform``, ``proj:bbox``), raster / eo /
    pointcloud and file extension fields; the item has an EPSG:4326 geometry and bbox,
    ``gsd`` and a UTC ``datetime``.

    Parameters
    ----------
    path_or_paths : path or iterable of paths
    item_id : str, optional
        Default: the first file's name without suffixes.
    footprint : {"bbox", "data"}
        ``"bbox"``: native bounds densified and reprojected; ``"data"``: traced valid-data outline.
    statistics, histogram : bool
        Band statistics / histograms from a decimated read.
    checksum : str, optional
        ``file:checksum`` multihash algorithm (``"sha2-256"``, ``"blake3"``).
    default_crs : str, optional
        CRS for files that carry none.
    datetime, properties, geometry, collection
        See :func:`assemble_item`.

    Examples
    --------
    >>> item = create_item("RGB.byte.tif")  # doctest: +SKIP
    >>> item.properties["proj:code"]  # doctest: +SKIP
    'EPSG:32618'
    """
    import pystac

    if isinstance(path_or_paths, str | os.PathLike):
        paths = [os.fspath(path_or_paths)]
    else:
        paths = [os.fspath(p) for p in path_or_paths]
    if not paths:
        raise InvalidInputError("create_item needs at least one file")
    options = ReadOptions(
        footprint=footprint, statistics=statistics, histogram=histogram, checksum=checksum, default_crs=default_crs
    )
    records = [read_asset(p, options) for p in paths]
    item = assemble_item(
        item_id or safe_id(asset_key_of(paths[0])),
        records,
        hrefs={r.path: str(Path(r.path).resolve()) for r in records},
        properties=properties,
        datetime=datetime,
        geometry=geometry,
        collection=collection,
    )
    return pystac.Item.from_dict(item, preserve_dict=False)
