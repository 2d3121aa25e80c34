"""LAS / LAZ / COPC point clouds -> :class:`AssetRecord`, from the header only (laspy + lazrs)."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
from typing import Any

from eokit.catalog._common import (
    EXT,
    MEDIA,
    crs_fields,
    crs_is_geographic,
    densified_box,
    metres_per_unit,
    multihash,
    stat_input,
    to_wgs84,
)
from eokit.catalog.records import AssetRecord, ReadOptions
from eokit.errors import InvalidInputError, MissingCRSError, UnreadableInputError

log = logging.getLogger(__name__)

__all__ = ["read_pointcloud_asset", "pointcloud_schemas"]

_KIND = {"SignedInteger": "signed", "UnsignedInteger": "unsigned", "FloatingPoint": "floating", "BitField": "unsigned"}


def pointcloud_schemas(point_format: Any) -> list[dict[str, Any]]:
    """``pc:schemas`` of a laspy point format. X/Y/Z are reported as scaled doubles (8-byte floating)."""
    out = []
    for dim in point_format.dimensions:
        if dim.name in ("X", "Y", "Z"):
            out.append({"name": dim.name, "size": 8, "type": "floating"})
            continue
        size = max(1, (dim.num_bits * dim.num_elements + 7) // 8)
        out.append({"name": dim.name, "size": int(size), "type": _KIND.get(dim.kind.name, "unsigned")})
    return out


def _is_copc(header: Any) -> bool:
    return any(getattr(v, "user_id", "") == "copc" and getattr(v, "record_id", None) == 1 for v in header.vlrs)


def read_pointcloud_asset(path: str | os.PathLike[str], options: ReadOptions | None = None) -> AssetRecord:
    """Read a LAS/LAZ/COPC header into an asset record (no points are decoded).

    Fills ``pc:count``, ``pc:type``, ``pc:encoding``, ``pc:schemas``, ``pc:density``
    (points per square metre of the header's bounding box), projection fields and
    the footprint (bounding box densified and reprojected).
    """
    import laspy
    import shapely
    from laspy.errors import LaspyException
    from pyproj import CRS

    options = options or ReadOptions()
    path = os.fspath(path)
    st = stat_input(path)
    try:
        with laspy.open(path) as reader:
            header = reader.header
    except PermissionError as exc:
        raise UnreadableInputError(f"permission denied: {exc.strerror or exc}", path=path) from None
    except (LaspyException, ValueError, EOFError, OSError) as exc:
        raise UnreadableInputError(f"not a readable LAS/LAZ file: {exc}", path=path) from None
    try:
        crs = header.parse_crs()
    except Exception as exc:  # laspy raises assorted errors on malformed CRS records
        log.debug("CRS records of %s unreadable: %s", path, exc)
        crs = None
    if crs is None:
        if options.default_crs is None:
            raise MissingCRSError("point cloud has no CRS record (WKT or GeoTIFF keys)", path=path)
        crs = CRS.from_user_input(options.default_crs)
    if crs.is_compound:
        horizontal = next((c for c in crs.sub_crs_list if c.is_projected or c.is_geographic), crs)
    else:
        horizontal = crs
    wkt = horizontal.to_wkt()
    mins = [float(v) for v in header.mins]
    maxs = [float(v) for v in header.maxs]
    count = int(header.point_count)
    try:
        footprint = densified_box([mins[0], mins[1], maxs[0], maxs[1]], wkt)
        if options.footprint == "data" and header.point_count > 0:
            footprint = _traced_outline(path, header.point_count, wkt) or footprint
        elif options.footprint not in ("bbox", "data"):
            raise InvalidInputError(f"unknown footprint mode {options.footprint!r}: use 'bbox' or 'data'")
    except InvalidInputError as exc:
        raise InvalidInputError(exc.message, path=path) from None
    except (LaspyException, ValueError, OSError) as exc:
        raise UnreadableInputError(f"points cannot be decoded: {exc}", path=path) from None
    area = _area_m2(mins, maxs, wkt, footprint)
    copc = _is_copc(header)
    compressed = bool(header.are_points_compressed) or path.lower().endswith(".laz")
    encoding = "COPC" if copc else ("LASzip" if compressed else "LAS")
    pc = {
        "pc:count": count,
        "pc:type": "lidar",
        "pc:encoding": encoding,
        "pc:schemas": pointcloud_schemas(header.point_format),
    }
    if area > 0:
        pc["pc:density"] = count / area
    asset: dict[str, Any] = {
        "type": MEDIA["copc"] if copc else (MEDIA["laz"] if compressed else MEDIA["las"]),
        "roles": ["data"],
    }
    asset.update(crs_fields(wkt))
    asset["proj:bbox"] = [mins[0], mins[1], mins[2], maxs[0], maxs[1], maxs[2]]
    asset.update(pc)
    asset["file:size"] = st.st_size
    if options.checksum:
        asset["file:checksum"] = multihash(path, options.checksum)
    when = None
    created = header.creation_date
    if isinstance(created, dt.date) and created.year >= 1990:
        when = dt.datetime(created.year, created.month, created.day, tzinfo=dt.UTC)
    return AssetRecord(
        path=path,
        kind="pointcloud",
        asset=asset,
        geometry=shapely.geometry.mapping(footprint),
        datetime=when,
        datetime_source="las-header" if when else None,
        properties=dict(pc),
        extensions=[EXT["proj"], EXT["pc"], EXT["file"]],
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
    )


def _traced_outline(path: str, count: int, wkt: str, *, max_points: int = 200_000) -> Any:
    """Concave outline of (a regular subsample of) the points, simplified, in EPSG:4326.

    Unlike the header, this decodes points: up to ``max_points`` evenly spaced ones are kept.
    """
    import laspy
    import numpy as np
    import shapely

    step = max(1, count // max_points)
    xs, ys = [], []
    with laspy.open(path) as reader:
        for chunk in reader.chunk_iterator(1_000_000):
            xs.append(np.asarray(chunk.x)[::step])
            ys.append(np.asarray(chunk.y)[::step])
    x, y = np.concatenate(xs), np.concatenate(ys)
    if x.size < 3:
        return None
    points = shapely.multipoints(np.column_stack([x, y]))
    outline = shapely.concave_hull(points, ratio=0.05)
    if outline.geom_type != "Polygon" or outline.is_empty:
        outline = points.convex_hull
    if outline.geom_type != "Polygon":
        return None
    size = max(float(np.ptp(x)), float(np.ptp(y)))
    outline = outline.buffer(size / 1000).simplify(size / 500, preserve_topology=True)
    return to_wgs84(wkt, shapely.segmentize(outline, size / 20))


def _area_m2(mins: list[float], maxs: list[float], wkt: str, footprint: Any) -> float:
    if crs_is_geographic(wkt):
        from pyproj import Geod

        return abs(Geod(ellps="WGS84").geometry_area_perimeter(footprint)[0])
    k = metres_per_unit(wkt)
    area = (maxs[0] - mins[0]) * (maxs[1] - mins[1]) * k * k
    return area if math.isfinite(area) else 0.0
