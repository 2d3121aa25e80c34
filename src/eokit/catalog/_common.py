"""Shared pieces of item creation: STAC constants, CRS handling, footprints, datetimes, checksums."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

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

RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt", ".nc", ".img", ".hdf", ".h5", ".png", ".jpg", ".jpeg", ".webp")
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
class _CrsInfo(NamedTuple):
    code: str | None  # proj:code when the CRS has one
    wkt2: str | None  # proj:wkt2 when it has none
    geographic: bool
    factor: float  # metres per linear unit (projected CRSs)
    body: str | None  # None for Earth, else why the CRS is not an Earth CRS


# Earth ellipsoids and spheres (GRS80, WGS84, Clarke, Bessel, Airy, authalic/MODIS spheres...) all have
# semi-major axes within this range; Mars (3396 km) and Moon (1737 km) CRSs are far outside it.
_EARTH_AXIS = (6.30e6, 6.45e6)


@lru_cache(maxsize=256)
def _crs_info(wkt: str) -> _CrsInfo:
    """What item creation needs to know about a CRS (cached: a crawl sees few distinct CRSs)."""
    from pyproj import CRS

    crs = CRS.from_wkt(wkt)
    code = None
    auth = crs.to_authority(min_confidence=70)  # rasterio's and GDAL's threshold
    if auth is not None:
        code = f"{auth[0]}:{auth[1]}"
    wkt2 = None if code else crs.to_wkt("WKT2_2019")
    geographic = crs.is_geographic
    factor = 1.0
    if not geographic:
        axis = crs.axis_info[0] if crs.axis_info else None
        factor = float(axis.unit_conversion_factor) if axis is not None and axis.unit_conversion_factor else 1.0
    body = None
    ellipsoid = crs.ellipsoid
    if crs.is_engineering or (crs.is_bound and crs.source_crs is not None and crs.source_crs.is_engineering):
        body = "it is a local engineering CRS, tied to no place on the Earth"
    elif ellipsoid is not None and not _EARTH_AXIS[0] <= ellipsoid.semi_major_metre <= _EARTH_AXIS[1]:
        body = (
            f"its ellipsoid {ellipsoid.name!r} (semi-major axis {ellipsoid.semi_major_metre:.0f} m) is not the Earth's"
        )
    return _CrsInfo(code, wkt2, geographic, factor, body)


def crs_fields(wkt: str) -> dict[str, Any]:
    """Projection v2 fields naming a CRS: ``proj:code`` or, when it has no code, ``proj:wkt2``."""
    info = _crs_info(wkt)
    return {"proj:code": info.code} if info.code else {"proj:code": None, "proj:wkt2": info.wkt2}


def crs_is_geographic(wkt: str) -> bool:
    return _crs_info(wkt).geographic


def metres_per_unit(wkt: str) -> float:
    return _crs_info(wkt).factor


def check_earth_crs(wkt: str) -> None:
    """Refuse CRSs of other celestial bodies (Mars, Moon...): STAC geometries are WGS84 lon/lat."""
    body = _crs_info(wkt).body
    if body is not None:
        raise InvalidInputError(f"the CRS cannot be placed on the Earth ({body}); STAC footprints need lon/lat")


def _wrap_longitudes(geom: Any) -> Any:
    """A geographic footprint with longitudes beyond ±180 (e.g. a 0..360 grid) folded into [-180, 180]."""
    import shapely
    from shapely.geometry import box

    w, _, e, _ = geom.bounds
    if w >= -180.0 and e <= 180.0:
        return geom
    if w < -540.0 or e > 540.0:
        raise InvalidInputError(f"longitudes {w}..{e} are out of range for a geographic CRS")
    world = box(-180.0, -90.0, 180.0, 90.0)
    parts = [shapely.affinity.translate(geom, k * 360.0).intersection(world) for k in (-1, 0, 1)]
    parts = [p for p in parts if not p.is_empty and p.area > 0]
    return shapely.union_all(parts)


def lonlat_footprint(native: Any, wkt: str, *, densify: float | None = None) -> Any:
    """A footprint in the CRS ``wkt`` reprojected to EPSG:4326 and split at ±180° (RFC 7946 §3.1.9).

    Uses :func:`eokit.core.geometry.to_lonlat`; refuses non-Earth CRSs and coordinates outside the CRS's
    domain (which is what a wrong CRS looks like) with :class:`~eokit.errors.InvalidInputError`.
    """
    import shapely
    from pyproj.exceptions import ProjError

    from eokit.core.geometry import to_lonlat

    check_earth_crs(wkt)
    if _crs_info(wkt).geographic:
        w, s, e, n = native.bounds
        if s < -90.0 - 1e-6 or n > 90.0 + 1e-6:
            raise InvalidInputError(
                f"latitudes {s}..{n} fall outside -90..90: the file's CRS does not match its coordinates"
            )
        native = _wrap_longitudes(native)
    try:
        out = to_lonlat(native, _code_or_wkt(wkt), densify=densify)
    except ProjError as exc:
        raise InvalidInputError(f"footprint cannot be reprojected to EPSG:4326: {exc}") from None
    except (shapely.errors.GEOSException, ValueError):
        # edges that do not map to the Earth (e.g. the corners of a geostationary full disk) give
        # infinite coordinates; an outline through them would be wrong, so none is made
        raise InvalidInputError(
            "the outline does not lie on the Earth in the file's CRS (e.g. the corners of a geostationary "
            "full disk): no footprint can be computed"
        ) from None
    if out.is_empty or not math.isfinite(sum(out.bounds)):
        raise InvalidInputError("footprint could not be reprojected to EPSG:4326 (coordinates out of the CRS's area)")
    w, s, e, n = out.bounds
    if w < -180.0 - 1e-9 or e > 180.0 + 1e-9 or s < -90.0 - 1e-9 or n > 90.0 + 1e-9:
        raise InvalidInputError(
            f"bounds {[round(v, 6) for v in native.bounds]} fall outside longitude/latitude limits in EPSG:4326: "
            "the file's CRS does not match its coordinates"
        )
    if densify == 0.0:
        return out
    # drop the interpolated vertices where the projection is locally linear (tolerance ~1 cm)
    return shapely.simplify(out, 1e-7, preserve_topology=True)


def _code_or_wkt(wkt: str) -> str:
    code = _crs_info(wkt).code
    return code if code and code.startswith("EPSG:") else wkt


def densified_box(bounds: Sequence[float], wkt: str, *, points_per_edge: int = 21) -> Any:
    """The native-CRS bounding box, densified along each edge and reprojected to EPSG:4326 (split at ±180°).

    Edges are cut finer (x4 at a time) until the lon/lat polyline deviates from the true curved
    edge by less than 1e-6 degrees (~0.1 m) at the midpoints of its segments, so a footprint
    holds every pixel centre even for wide rasters in conic or azimuthal projections.
    """
    from shapely.geometry import box

    left, bottom, right, top = (float(v) for v in bounds[:4])
    if not right >= left or not top >= bottom:
        raise InvalidInputError(f"empty or inverted bounds {list(bounds)}")
    if right == left or top == bottom:  # one point, or points on one line: a Point / LineString footprint
        return _degenerate_footprint(left, bottom, right, top, wkt)
    check_earth_crs(wkt)
    if _edge_deviation((left, bottom, right, top), wkt, 1) <= 1e-7 and not _crs_info(wkt).geographic:
        # straight to within 1 cm even as whole edges (small tiles): the four corners say it all
        return lonlat_footprint(box(left, bottom, right, top), wkt, densify=0.0)
    n = max(points_per_edge - 1, 1)
    while n < 4096 and _edge_deviation((left, bottom, right, top), wkt, n) > 1e-6:
        n *= 4
    seg = max(right - left, top - bottom) / n
    return lonlat_footprint(box(left, bottom, right, top), wkt, densify=seg)


def _degenerate_footprint(left: float, bottom: float, right: float, top: float, wkt: str) -> Any:
    """A Point or LineString footprint (one point, or points along one line), reprojected."""
    import numpy as np
    import shapely
    from shapely.geometry import LineString, Point

    from eokit.core.geometry import _lonlat_transformer

    check_earth_crs(wkt)
    native = Point(left, bottom) if (left, bottom) == (right, top) else LineString([(left, bottom), (right, top)])
    if _crs_info(wkt).geographic:
        if not (-90.0 <= bottom <= top <= 90.0):
            raise InvalidInputError(f"latitudes {bottom}..{top} fall outside -90..90")
        native = _wrap_longitudes(native) if not -180.0 <= left <= right <= 180.0 else native
    tr = _lonlat_transformer(_code_or_wkt(wkt))
    out = (
        native
        if tr is None
        else shapely.transform(native, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    )
    if out.is_empty or not math.isfinite(sum(out.bounds)):
        raise InvalidInputError("the footprint could not be reprojected to EPSG:4326 (outside the CRS's area)")
    return out


def _edge_deviation(bounds: tuple[float, float, float, float], wkt: str, n: int) -> float:
    """Largest lon/lat gap between segment midpoints of the box's edges and the true edge points."""
    import numpy as np

    from eokit.core.geometry import _lonlat_transformer

    tr = _lonlat_transformer(_code_or_wkt(wkt))
    if tr is None:
        return 0.0
    left, bottom, right, top = bounds
    t = np.linspace(0.0, 1.0, 2 * n + 1)
    xs = np.concatenate([left + (right - left) * t, left + (right - left) * t, np.full_like(t, left),
                         np.full_like(t, right)])  # fmt: skip
    ys = np.concatenate([np.full_like(t, bottom), np.full_like(t, top), bottom + (top - bottom) * t,
                         bottom + (top - bottom) * t])  # fmt: skip
    with np.errstate(invalid="ignore"):
        lon, lat = (np.asarray(v).reshape(4, -1) for v in tr.transform(xs, ys))
        lon = np.unwrap(lon, period=360.0, axis=1)
        dev = np.hypot(
            lon[:, 1::2] - (lon[:, :-1:2] + lon[:, 2::2]) / 2, lat[:, 1::2] - (lat[:, :-1:2] + lat[:, 2::2]) / 2
        )
    dev = dev[np.isfinite(dev)]
    return float(dev.max()) if dev.size else 0.0


def occupancy_outline(
    grid: Any,
    transform: Any,
    bounds: Sequence[float],
    wkt: str,
    *,
    to_native: Callable[[Any, Any], tuple[Any, Any]] | None = None,
) -> Any:
    """Lon/lat outline of the occupied cells of a boolean ``grid`` (cell -> CRS by the affine ``transform``).

    ``to_native`` maps (x, y) of that transform to the CRS when the grid is not laid out in it
    (a GCP- or RPC-georeferenced raster traced in pixel space).

    The traced cells are simplified and widened by one cell (with the traced outline added back
    wherever simplification cut deeper), so the outline contains every occupied cell; clipped to ``bounds``.
    """
    import numpy as np
    import shapely
    from rasterio.features import shapes
    from scipy import ndimage
    from shapely.geometry import box, shape

    # close gaps of up to two cells (within the stated tolerance) so scattered cells trace as few polygons
    grid = ndimage.binary_closing(np.pad(grid, 2), structure=np.ones((3, 3), bool), iterations=1)[2:-2, 2:-2] | grid
    polys = [shape(g) for g, val in shapes(grid.astype(np.uint8), mask=grid, transform=transform) if val == 1]
    outline = shapely.union_all(polys)
    cell = max(math.hypot(transform.a, transform.d), math.hypot(transform.b, transform.e))
    simple = outline.simplify(cell, preserve_topology=True).buffer(cell, join_style="mitre")
    if not simple.covers(outline):  # topology-preserving simplification can move an edge further than `cell`
        simple = simple.union(outline)
    outline = simple.intersection(box(*bounds[:4]))
    if to_native is None:
        return lonlat_footprint(outline, wkt, densify=cell * 4)
    # ``transform`` maps to an intermediate space (pixels of a GCP raster): densify there, then map
    dense = shapely.segmentize(outline, cell * 2)
    native = shapely.transform(dense, lambda xy: np.column_stack(to_native(xy[:, 0], xy[:, 1])))
    if not native.is_valid:
        native = shapely.make_valid(native)
    return lonlat_footprint(native, wkt)


def gsd_metres(res: float, wkt: str, lat: float) -> float:
    """Distance in metres spanned by ``res`` CRS units (along a meridian at latitude ``lat`` for degrees)."""
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


# product names that carry the acquisition time (tried after the file's own metadata)
_NAME_TIMES = (
    # Sentinel-2 products and their granule files: S2A_MSIL2A_20220722T105631_..., T31TCN_20220722T105631_B04
    ("sentinel-2 name", re.compile(r"(?:^|_)(?:S2[A-D]_MSI\w{3}|T\d{2}[A-Z]{3})_(\d{8}T\d{6})(?:_|$)")),
    # Sentinel-1: S1A_IW_GRDH_1SDV_20200106T015322_20200106T015347_... (start of the acquisition)
    ("sentinel-1 name", re.compile(r"(?:^|_)S1[A-D]_[A-Z0-9]{2}_\w{4}_\w{4}_(\d{8}T\d{6})_\d{8}T\d{6}_")),
    # Landsat Collection 1/2: LC08_L1TP_224078_20200518_20200518_01_RT (acquisition date, no time of day)
    ("landsat name", re.compile(r"(?:^|_)L[COTEM]0\d_L\w{3}_\d{6}_(\d{8})_\d{8}_\d{2}_(?:T1|T2|RT)")),
)
_LANDSAT_SCENE = re.compile(r"(?:^|_)L[COTEM]\d\d{6}(\d{4})(\d{3})[A-Z]{3}\d{2}")  # LC80440342016259LGN00


def name_time(path: str | os.PathLike[str]) -> tuple[dt.datetime, str] | None:
    """Acquisition time from a Sentinel-1/-2 or Landsat product name in the file's name (or None).

    Landsat names carry only the date: the time is then midnight UTC of that day.
    """
    name = os.path.basename(os.fspath(path))
    for source, pattern in _NAME_TIMES:
        m = pattern.search(name)
        if m:
            text = m.group(1)
            fmt = "%Y%m%dT%H%M%S" if "T" in text else "%Y%m%d"
            try:
                return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC), source
            except ValueError:
                continue
    m = _LANDSAT_SCENE.search(name)
    if m:
        try:
            return dt.datetime.strptime(m.group(1) + m.group(2), "%Y%j").replace(tzinfo=dt.UTC), "landsat name"
        except ValueError:
            return None
    return None


def acquisition_time(tags: dict[str, str], path: str | os.PathLike[str]) -> tuple[dt.datetime | None, str | None]:
    """(time, source) from GDAL metadata first, then the product name; (None, None) when neither has one.

    GDAL's ``IMAGERY`` domain (``ACQUISITIONDATETIME`` from DigitalGlobe/GeoEye/Pleiades/Landsat
    sidecars), then the TIFF ``DateTime`` tag, then :func:`name_time`.
    """
    for key, source in (("IMAGERY:ACQUISITIONDATETIME", "gdal-imagery"), ("TIFFTAG_DATETIME", "tiff-tag")):
        when = parse_datetime(tags.get(key))
        if when is not None:
            return when, source
    found = name_time(path)
    return found if found else (None, None)


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
