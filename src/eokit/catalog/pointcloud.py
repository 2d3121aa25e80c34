"""LAS / LAZ / COPC point clouds -> :class:`AssetRecord`, from the header only (laspy + lazrs)."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import struct
from typing import Any

from eokit.catalog._common import (
    EXT,
    MEDIA,
    crs_fields,
    crs_is_geographic,
    densified_box,
    metres_per_unit,
    multihash,
    occupancy_outline,
    stat_input,
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
    check_las_header(path, st.st_size)
    try:
        with laspy.open(path) as reader:
            header = reader.header
    except PermissionError as exc:
        raise UnreadableInputError(f"permission denied: {exc.strerror or exc}", path=path) from None
    except (LaspyException, ValueError, EOFError, OSError, struct.error) as exc:
        raise UnreadableInputError(f"not a readable LAS/LAZ file: {exc}", path=path) from None
    try:
        crs = header.parse_crs()
    except Exception as exc:  # laspy raises assorted errors on malformed CRS records
        log.debug("CRS records of %s unreadable: %s", path, exc)
        crs = None
    if crs is None:
        crs = geotiff_keys_crs(header)
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
    if count == 0:
        raise InvalidInputError("the point cloud holds no point (nothing to locate)", path=path)
    try:
        footprint = densified_box([mins[0], mins[1], maxs[0], maxs[1]], wkt)
        if options.footprint == "data" and header.point_count > 0:
            footprint = _traced_outline(path, [mins[0], mins[1], maxs[0], maxs[1]], count, wkt, options.max_decimated)
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


def _traced_outline(path: str, bounds: list[float], count: int, wkt: str, limit: int) -> Any:
    """Lon/lat outline of every point: the occupied cells of a grid over the header's bounds (all points
    binned, chunk by chunk; cells sized for about four points each, at most ``limit`` per side)."""
    import laspy
    import numpy as np
    from affine import Affine

    west, south, east, north = bounds
    span = max(east - west, north - south)
    if not span > 0:
        return densified_box([west - 0.5, south - 0.5, east + 0.5, north + 0.5], wkt)
    # about four points per occupied cell on average, and at most limit x limit cells
    cell = span / min(limit, max(16, math.isqrt(max(1, count // 4))))
    gw, gh = max(1, math.ceil((east - west) / cell)), max(1, math.ceil((north - south) / cell))
    grid = np.zeros((gh, gw), dtype=bool)
    with laspy.open(path) as reader:
        for chunk in reader.chunk_iterator(1_000_000):
            col = np.clip(((np.asarray(chunk.x) - west) / cell).astype(np.int64), 0, gw - 1)
            row = np.clip(((north - np.asarray(chunk.y)) / cell).astype(np.int64), 0, gh - 1)
            grid[row, col] = True
    if not grid.any():
        raise InvalidInputError("the point cloud holds no point")
    # clipped half a cell beyond the header box, so the extreme points lie inside the outline, not on it
    h = cell / 2
    return occupancy_outline(
        grid, Affine(cell, 0.0, west, 0.0, -cell, north), (west - h, south - h, east + h, north + h), wkt
    )


def _area_m2(mins: list[float], maxs: list[float], wkt: str, footprint: Any) -> float:
    if crs_is_geographic(wkt):
        from pyproj import Geod

        return abs(Geod(ellps="WGS84").geometry_area_perimeter(footprint)[0])
    k = metres_per_unit(wkt)
    area = (maxs[0] - mins[0]) * (maxs[1] - mins[1]) * k * k
    return area if math.isfinite(area) else 0.0


# ---------------------------------------------------------------- header sanity checks
_VLR_HEADER, _EVLR_HEADER = 54, 60


def check_las_header(path: str, size: int) -> None:
    """Refuse LAS/LAZ headers whose declared counts and offsets do not fit the file.

    laspy trusts them: a VLR count of 2^32-1 makes it loop allocating for ever, a point count
    of 2^62 is reported as is. Checked here against the file size, before laspy is called:
    header size, offset to the point data, every VLR and EVLR (count, offset, lengths), and
    the point count (uncompressed: count x record length must fit; LAZ: at most 1000 points
    per byte of point data, far beyond what LASzip reaches).
    """

    def bad(problem: str) -> UnreadableInputError:
        return UnreadableInputError(f"corrupt LAS header: {problem}", path=path)

    with open(path, "rb") as fh:
        head = fh.read(375)
        if len(head) < 227 or head[:4] != b"LASF":
            raise UnreadableInputError("not a LAS/LAZ file (no LASF signature)", path=path)
        minor = head[25]
        (header_size,) = struct.unpack_from("<H", head, 94)
        offset, n_vlrs = struct.unpack_from("<II", head, 96)
        fmt = head[104]
        record_len, legacy_count = struct.unpack_from("<HI", head, 105)
        if header_size < 227 or header_size > size:
            raise bad(f"header size {header_size} (file is {size} bytes)")
        if not header_size <= offset <= size:
            raise bad(f"offset to point data {offset} outside {header_size}..{size}")
        if n_vlrs * _VLR_HEADER > offset - header_size:
            raise bad(f"{n_vlrs} VLRs do not fit in the {offset - header_size} bytes before the point data")
        problem = _walk_records(fh, header_size, n_vlrs, _VLR_HEADER, "<H", size, "VLR")
        if problem:
            raise bad(problem)
        count, evlr_start, n_evlrs = legacy_count, 0, 0
        if minor >= 4 and len(head) >= 255 and header_size >= 375:
            evlr_start, n_evlrs, count14 = struct.unpack_from("<QIQ", head, 235)
            count = count14 or legacy_count
        data_end = evlr_start if n_evlrs and evlr_start else size
        if n_evlrs:
            if not offset <= evlr_start <= size or n_evlrs * _EVLR_HEADER > size - evlr_start:
                raise bad(f"{n_evlrs} EVLRs at offset {evlr_start} do not fit in the file ({size} bytes)")
            problem = _walk_records(fh, evlr_start, n_evlrs, _EVLR_HEADER, "<Q", size, "EVLR")
            if problem:
                raise bad(problem)
    room = max(0, data_end - offset)
    if fmt & 0x80 or fmt & 0x40:  # LASzip sets the high bits of the point format id
        if count > room * 1000:
            raise bad(f"{count} compressed points cannot fit in {room} bytes")
    elif count * record_len > room:
        raise bad(f"{count} points of {record_len} bytes need {count * record_len} bytes; {room} are there")


def _walk_records(fh: Any, pos: int, n: int, head: int, length: str, size: int, what: str) -> str | None:
    """Follow ``n`` (E)VLR headers from ``pos``; why they do not fit in ``size`` bytes, or None."""
    for i in range(n):
        fh.seek(pos)
        raw = fh.read(head)
        if len(raw) < head:
            return f"{what} {i + 1} of {n} starts past the end of the file"
        pos += head + struct.unpack_from(length, raw, 20)[0]  # record length after the header, at byte 20
        if pos > size:
            return f"{what} {i + 1} of {n} ends past the end of the file"
    return None


# ProjectedCSType, GeographicType, GeogGeodeticDatum, GeogEllipsoid, GeogSemiMajorAxis, ProjCoordTrans
_HORIZONTAL_KEYS = {3072, 2048, 2050, 2056, 2057, 3075}


def geotiff_keys_crs(header: Any) -> Any:
    """The CRS of a LAS file's GeoTIFF-key VLRs as GDAL reads them (user-defined keys included), or None.

    laspy only maps keys that name an EPSG code; files with user-defined projections (key value
    32767 plus projection parameters, e.g. laspy's ``plane.laz``) are read by writing the keys
    into a one-pixel in-memory GeoTIFF and letting GDAL's libgeotiff interpret them, as PDAL does.
    """
    records = {}
    for vlr in header.vlrs:
        if getattr(vlr, "user_id", "") == "LASF_Projection" and vlr.record_id in (34735, 34736, 34737):
            try:
                records[vlr.record_id] = bytes(vlr.record_data_bytes())
            except Exception:  # a malformed record: no CRS from it
                return None
    if 34735 not in records:
        return None
    try:
        key_ids = set(
            struct.unpack(f"<{len(records[34735]) // 2}H", records[34735][: len(records[34735]) // 2 * 2])[4::4]
        )
    except struct.error:
        return None
    if not key_ids & _HORIZONTAL_KEYS:
        return None  # no projected or geographic CRS, datum or ellipsoid key: nothing places the points
    import rasterio
    from pyproj import CRS
    from rasterio.errors import RasterioError

    try:
        with rasterio.MemoryFile(_geotiff_with_keys(records)) as mem, mem.open() as ds:
            # inside the dataset's GDAL environment, where GDAL's PROJ finds its database
            crs = ds.crs
            if crs is None:
                return None
            wkt = crs.to_wkt()
            if wkt.startswith("LOCAL_CS"):  # keys that name no geodetic or projected CRS (e.g. all empty)
                return None
            epsg = crs.to_epsg()
    except (RasterioError, struct.error, ValueError):
        return None
    return CRS.from_epsg(epsg) if epsg else CRS.from_wkt(wkt)


def _geotiff_with_keys(records: dict[int, bytes]) -> bytes:
    """A 1x1 little-endian GeoTIFF carrying the given GeoKeyDirectory / Double / Ascii tags."""
    keys = _clean_key_directory(records[34735])
    entries: list[tuple[int, int, int, bytes]] = [  # tag, type, count, little-endian value bytes
        (256, 3, 1, struct.pack("<H", 1)), (257, 3, 1, struct.pack("<H", 1)), (258, 3, 1, struct.pack("<H", 8)),
        (259, 3, 1, struct.pack("<H", 1)), (262, 3, 1, struct.pack("<H", 1)), (273, 4, 1, b""),
        (277, 3, 1, struct.pack("<H", 1)), (278, 3, 1, struct.pack("<H", 1)), (279, 4, 1, struct.pack("<I", 1)),
        (33550, 12, 3, struct.pack("<3d", 1.0, 1.0, 0.0)), (33922, 12, 6, struct.pack("<6d", 0, 0, 0, 0, 0, 0)),
        (34735, 3, len(keys) // 2, keys[: len(keys) // 2 * 2]),
    ]  # fmt: skip
    if 34736 in records:
        doubles = records[34736][: len(records[34736]) // 8 * 8]
        entries.append((34736, 12, len(doubles) // 8, doubles))
    if 34737 in records:
        text = records[34737].split(b"\0\0")[0].rstrip(b"\0") + b"\0"
        entries.append((34737, 2, len(text), text))
    n = len(entries)
    ifd_size = 2 + 12 * n + 4
    data_at = 8 + ifd_size
    blobs, ifd = b"", struct.pack("<H", n)
    pixel_at = data_at + sum(len(v) + len(v) % 2 for _, _, _, v in entries if len(v) > 4)
    for tag, typ, count, value in entries:
        if tag == 273:
            value = struct.pack("<I", pixel_at)
        if len(value) <= 4:
            ifd += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", tag, typ, count, data_at + len(blobs))
            blobs += value + b"\0" * (len(value) % 2)
    return b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + blobs + b"\0"


def _clean_key_directory(raw: bytes) -> bytes:
    """The GeoKeyDirectory without the all-zero padding entries some LAS writers add (libgeotiff rejects them)."""
    n_shorts = len(raw) // 2
    vals = struct.unpack(f"<{n_shorts}H", raw[: n_shorts * 2])
    if n_shorts < 4:
        raise ValueError("GeoKeyDirectory shorter than its header")
    declared = min(vals[3], (n_shorts - 4) // 4)
    keys = [vals[4 + 4 * i : 8 + 4 * i] for i in range(declared)]
    keys = [k for k in keys if k[0]]
    return struct.pack("<4H", vals[0], vals[1], vals[2], len(keys)) + b"".join(struct.pack("<4H", *k) for k in keys)
