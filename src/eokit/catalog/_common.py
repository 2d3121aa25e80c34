"""Shared pieces of item creation: STAC constants, CRS handling, footprints, datetimes, checksums."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from eokit.errors import FallbackWarning, InvalidInputError

STAC_VERSION = "1.1.0"

EXT = {
    "proj": "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "raster": "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "eo": "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "pc": "https://stac-extensions.github.io/pointcloud/v1.0.0/schema.json",
    "file": "https://stac-extensions.github.io/file/v2.1.0/schema.json",
    "sci": "https://stac-extensions.github.io/scientific/v1.0.0/schema.json",
}

MEDIA = {
    "cog": "image/tiff; application=geotiff; profile=cloud-optimized",
    "geotiff": "image/tiff; application=geotiff",
    "jp2": "image/jp2",
    "netcdf": "application/netcdf",
    "hdf": "application/x-hdf",
    "vrt": "application/xml",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "las": "application/vnd.las",
    "laz": "application/vnd.laszip",
    "copc": "application/vnd.laszip+copc",
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "shp": "application/vnd.shp",
    "fgb": "application/vnd.flatgeobuf",
    "parquet": "application/vnd.apache.parquet",
}

RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt", ".nc", ".img", ".hdf", ".h5", ".png", ".jpg", ".jpeg")
POINTCLOUD_SUFFIXES = (".las", ".laz")
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".shp", ".fgb")
CRAWL_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt", ".img", ".nc", *POINTCLOUD_SUFFIXES, *VECTOR_SUFFIXES)
ALL_SUFFIXES = RASTER_SUFFIXES + POINTCLOUD_SUFFIXES + VECTOR_SUFFIXES

# multihash function codes (https://github.com/multiformats/multicodec)
_MULTIHASH = {"sha2-256": (0x12, "sha256"), "sha2-512": (0x13, "sha512"), "blake3": (0x1E, None), "md5": (0xD5, "md5")}


def stat_input(path: str) -> os.stat_result:
    """``os.stat(path)`` with eokit errors: missing (or a broken link) vs unreadable."""
    from eokit.errors import InputNotFoundError, UnreadableInputError

    try:
        return os.stat(path)
    except FileNotFoundError:
        raise InputNotFoundError("file does not exist (or is a broken link)", path=path) from None
    except OSError as exc:
        raise UnreadableInputError(f"cannot stat: {exc.strerror or exc}", path=path) from None


def kind_of(path: str | os.PathLike[str]) -> str | None:
    """``"raster"``, ``"pointcloud"``, ``"vector"`` or None from the file name."""
    name = os.fspath(path).lower()
    if name.endswith(".aux.xml") or name.endswith(".ovr"):
        return None
    if name.endswith(POINTCLOUD_SUFFIXES):
        return "pointcloud"
    if name.endswith(RASTER_SUFFIXES):
        return "raster"
    if name.endswith(VECTOR_SUFFIXES):
        return "vector"
    return None


def asset_key_of(path: str | os.PathLike[str]) -> str:
    """The asset key of a file: its name without (compound) suffixes, e.g. ``points`` for ``points.copc.laz``."""
    name = os.fspath(path).rsplit("/", 1)[-1]
    lower = name.lower()
    for compound in (".copc.laz", ".aux.xml"):
        if lower.endswith(compound):
            return name[: -len(compound)]
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name


# ---------------------------------------------------------------- CRS helpers
@lru_cache(maxsize=256)
def _crs_info(wkt: str) -> tuple[str | None, str | None, bool, float]:
    """(proj:code, wkt2-if-no-code, is_geographic, metres per linear unit) for a WKT string."""
    from pyproj import CRS

    crs = CRS.from_wkt(wkt)
    code = None
    auth = crs.to_authority(min_confidence=90)
    if auth is not None:
        code = f"{auth[0]}:{auth[1]}"
    wkt2 = None if code else crs.to_wkt("WKT2_2019")
    geographic = crs.is_geographic
    factor = 1.0
    if not geographic:
        axis = crs.axis_info[0] if crs.axis_info else None
        factor = float(axis.unit_conversion_factor) if axis is not None and axis.unit_conversion_factor else 1.0
    return code, wkt2, geographic, factor


def crs_fields(wkt: str) -> dict[str, Any]:
    """Projection v2 fields naming a CRS: ``proj:code`` or, when it has no code, ``proj:wkt2``."""
    code, wkt2, _, _ = _crs_info(wkt)
    return {"proj:code": code} if code else {"proj:code": None, "proj:wkt2": wkt2}


def crs_is_geographic(wkt: str) -> bool:
    return _crs_info(wkt)[2]


def metres_per_unit(wkt: str) -> float:
    return _crs_info(wkt)[3]


@lru_cache(maxsize=256)
def _transformer(wkt: str) -> Any:
    from pyproj import CRS, Transformer

    return Transformer.from_crs(CRS.from_wkt(wkt), CRS.from_epsg(4326), always_xy=True)


def to_wgs84(wkt: str, geometry: Any) -> Any:
    """Reproject a shapely geometry from ``wkt`` to EPSG:4326 (lon/lat order)."""
    import shapely

    if _crs_info(wkt)[0] in ("EPSG:4326", "OGC:CRS84"):
        return geometry
    tr = _transformer(wkt)

    def fn(coords: Any) -> Any:
        import numpy as np

        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    out = shapely.transform(geometry, fn)
    if not shapely.is_valid(out):
        out = shapely.make_valid(out)
    return out


def densified_box(bounds: Sequence[float], wkt: str, *, points_per_edge: int = 21) -> Any:
    """The native-CRS bounding box, densified along each edge and reprojected to EPSG:4326."""
    import shapely
    from shapely.geometry import box

    left, bottom, right, top = (float(v) for v in bounds[:4])
    if right <= left or top <= bottom:
        raise InvalidInputError(f"empty or inverted bounds {list(bounds)}")
    ring = box(left, bottom, right, top)
    seg = max(right - left, top - bottom) / max(points_per_edge - 1, 1)
    dense = shapely.segmentize(ring, seg)
    out = to_wgs84(wkt, dense)
    # drop the interpolated vertices where the projection is locally linear (tolerance ~1 cm)
    out = out.simplify(1e-7, preserve_topology=True)
    if not math.isfinite(sum(out.bounds)):
        raise InvalidInputError("footprint could not be reprojected to EPSG:4326 (coordinates out of the CRS's area)")
    w, s, e, n = out.bounds
    if w < -180.0 - 1e-9 or e > 180.0 + 1e-9 or s < -90.0 - 1e-9 or n > 90.0 + 1e-9:
        raise InvalidInputError(
            f"bounds {[left, bottom, right, top]} fall outside longitude/latitude limits in EPSG:4326: "
            "the file's CRS does not match its coordinates"
        )
    return out


def gsd_metres(res: float, wkt: str, lat: float) -> float:
    """Ground sample distance in metres for a pixel size ``res`` in CRS units."""
    if crs_is_geographic(wkt):
        # metres per degree of latitude on the WGS84 ellipsoid at ``lat`` (meridional radius of curvature)
        a, e2 = 6378137.0, 0.00669437999014
        phi = math.radians(lat)
        m = a * (1 - e2) / (1 - e2 * math.sin(phi) ** 2) ** 1.5
        return abs(res) * math.pi / 180.0 * m
    return abs(res) * metres_per_unit(wkt)


# ---------------------------------------------------------------- datetimes
def utc_iso(value: dt.datetime) -> str:
    """RFC 3339 UTC string; naive datetimes are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + (f".{value.microsecond:06d}" if value.microsecond else "") + "Z"


def parse_datetime(value: Any) -> dt.datetime | None:
    """Parse a metadata value (string, date, datetime, pandas Timestamp) into an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "to_pydatetime"):
        try:
            value = value.to_pydatetime()
        except (ValueError, TypeError):
            return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    text = str(value).strip()
    if not text:
        return None
    if len(text) >= 19 and text[4] == ":" and text[7] == ":":  # TIFF "YYYY:MM:DD HH:MM:SS"
        text = text[:4] + "-" + text[5:7] + "-" + text[8:]
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def file_time(path: str | os.PathLike[str], *, warn: bool = True) -> dt.datetime:
    """The file's modification time as UTC, with a :class:`FallbackWarning` (it is not the acquisition time)."""
    if warn:
        warnings.warn(
            f"{os.fspath(path)}: no acquisition datetime in metadata or file tags; using the file modification time",
            FallbackWarning,
            stacklevel=3,
        )
    return dt.datetime.fromtimestamp(os.stat(path).st_mtime, tz=dt.UTC)


# ---------------------------------------------------------------- checksums
def multihash(path: str | os.PathLike[str], algorithm: str = "sha2-256", *, chunk: int = 1 << 20) -> str:
    """Hex multihash of a file's bytes (``file:checksum``), e.g. ``1220<sha256 hex>``."""
    if algorithm not in _MULTIHASH:
        raise InvalidInputError(f"unknown checksum algorithm {algorithm!r}; use one of {sorted(_MULTIHASH)}")
    code, name = _MULTIHASH[algorithm]
    if name is None:
        import blake3

        h: Any = blake3.blake3()
    else:
        h = hashlib.new(name)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    digest = h.digest()
    return _varint(code).hex() + _varint(len(digest)).hex() + digest.hex()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def clean_number(value: Any) -> Any:
    """JSON-friendly number: NaN/inf as strings (raster extension allows them for nodata)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value
