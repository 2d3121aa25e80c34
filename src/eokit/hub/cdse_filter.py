"""Translate classic (DHuS/Solr) search keywords into a CDSE OData ``$filter``.

The mapping follows the CDSE OData catalogue:

========================  =====================================================
classic keyword           CDSE OData
========================  =====================================================
platformname              ``Collection/Name eq 'SENTINEL-2'``
date / beginposition      ``ContentDate/Start ge/le <time>``
endposition               ``ContentDate/End ge/le <time>``
ingestiondate             ``PublicationDate ge/le <time>``
uuid                      ``Id eq <uuid>``
identifier / filename     ``Name`` (``startswith``/``contains``/``endswith`` for ``*``)
producttype, ...          ``Attributes/OData.CSC.<Type>Attribute/any(att:att/Name eq '<name>' and att/OData.CSC.<Type>Attribute/Value <op> <v>)``
area                      ``OData.CSC.Intersects(area=geography'SRID=4326;<WKT>')``
========================  =====================================================

``NOW-1DAY``-style dates are resolved client-side. ``Contains``/``IsWithin``
relations are queried as ``Intersects`` and refined client-side
(:func:`area_predicate`). Sets are OR-ed, 2-tuples are ranges with open bounds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from eokit.hub.dhus_query import AREA_RELATIONS, check_keywords, format_query_date
from eokit.hub.exceptions import HubInputError

__all__ = ["ATTRIBUTES", "area_predicate", "build_filter", "normalise_area_wkt", "resolve_date"]

# classic keyword -> (CDSE attribute name, OData value type)
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "producttype": ("productType", "String"),
    "cloudcoverpercentage": ("cloudCover", "Double"),
    "orbitdirection": ("orbitDirection", "String"),
    "relativeorbitnumber": ("relativeOrbitNumber", "Integer"),
    "lastrelativeorbitnumber": ("relativeOrbitNumber", "Integer"),
    "orbitnumber": ("orbitNumber", "Integer"),
    "lastorbitnumber": ("orbitNumber", "Integer"),
    "polarisationmode": ("polarisationChannels", "String"),
    "sensoroperationalmode": ("operationalMode", "String"),
    "swathidentifier": ("swathIdentifier", "String"),
    "instrumentshortname": ("instrumentShortName", "String"),
    "platformserialidentifier": ("platformSerialIdentifier", "String"),
    "productclass": ("productClass", "String"),
    "processinglevel": ("processingLevel", "String"),
    "processingbaseline": ("processingBaseline", "String"),
    "timeliness": ("timeliness", "String"),
    "tileid": ("tileId", "String"),
    "slicenumber": ("sliceNumber", "Integer"),
    "missiondatatakeid": ("datatakeID", "Integer"),
    "datatakeid": ("datatakeID", "Integer"),
    "cyclenumber": ("cycleNumber", "Integer"),
    "origin": ("origin", "String"),
    "platformshortname": ("platformShortName", "String"),
}
# CDSE attribute names may be used directly too (camelCase)
_DIRECT = {name.lower(): (name, vt) for name, vt in ATTRIBUTES.values()}

_TIME_FIELDS = {
    "beginposition": "ContentDate/Start",
    "date": "ContentDate/Start",
    "endposition": "ContentDate/End",
    "ingestiondate": "PublicationDate",
    "creationdate": "PublicationDate",
    "publicationdate": "PublicationDate",
    "modificationdate": "ModificationDate",
}
_NAME_FIELDS = {"identifier", "filename", "title", "name"}
_INSTRUMENTS = {"SAR-C SAR": "SAR", "SAR-C": "SAR"}
_PLATFORMS = re.compile(r"^sentinel-?(\d[a-z]?)$", re.I)

_UNIT_RE = re.compile(r"([-+/])(\d*)(YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)S?")


def resolve_date(value: str | date | datetime | None, *, now: datetime | None = None) -> datetime | None:
    """A classic date value (``NOW-1DAY/DAY``, ``20151219``, ISO, datetime) -> aware UTC datetime.

    ``None``/``'*'`` -> None (open bound).

    >>> resolve_date("2016-12-01T00:00:00Z+1DAY-1HOUR").isoformat()
    '2016-12-01T23:00:00+00:00'
    """
    from dateutil.relativedelta import relativedelta

    text = format_query_date(value)
    if text == "*":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    m = re.match(r"^(NOW|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)", text)
    assert m is not None  # format_query_date validated it
    base = m.group(1)
    if base == "NOW":
        result = now or datetime.now(UTC)
    else:
        fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in base else "%Y-%m-%dT%H:%M:%SZ"
        result = datetime.strptime(base, fmt).replace(tzinfo=UTC)
    for op, num, unit in _UNIT_RE.findall(text[m.end() :]):
        if op == "/":
            fields = ["month", "day", "hour", "minute", "second", "microsecond"]
            keep = {"YEAR": 0, "MONTH": 1, "DAY": 2, "HOUR": 3, "MINUTE": 4, "SECOND": 5}[unit]
            reset: dict[str, Any] = {f: (1 if f in ("month", "day") else 0) for f in fields[keep:]}
            result = result.replace(**reset)
        else:
            delta = relativedelta(**{unit.lower() + "s": int(num) * (1 if op == "+" else -1)})
            result = result + delta
    return result


def _odata_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _parse_range_string(value: str) -> tuple[str, str] | None:
    m = re.match(r"^\s*[\[{]\s*(.+?)\s+TO\s+(.+?)\s*[\]}]\s*$", value)
    if not m:
        return None
    return m.group(1).strip('"'), m.group(2).strip('"')


def _time_clause(field: str, value: Any, now: datetime) -> str | None:
    if isinstance(value, str):
        rng = _parse_range_string(value)
        if rng is None:
            raise HubInputError(f"date value {value!r} must be a (start, end) tuple or a '[<from> TO <to>]' string")
        value = rng
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise HubInputError(f"date value for {field} must be a (start, end) pair, got {value!r}")
    start = resolve_date(value[0], now=now)
    end = resolve_date(value[1], now=now)
    parts = []
    if start is not None:
        parts.append(f"{field} ge {_odata_time(start)}")
    if end is not None:
        parts.append(f"{field} le {_odata_time(end)}")
    return " and ".join(parts) or None


def _literal(value: Any, vtype: str) -> str:
    if vtype in ("Integer", "Double"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise HubInputError(f"expected a number, got {value!r}") from None
        if vtype == "Integer":
            if number != int(number):
                raise HubInputError(f"expected an integer, got {value!r}")
            return str(int(number))
        return repr(number)
    if vtype == "Boolean":
        return "true" if str(value).lower() in ("true", "1") else "false"
    return _quote(str(value))


def _attribute_clause(name: str, vtype: str, value: Any) -> str:
    kind = f"OData.CSC.{vtype}Attribute"
    prefix = f"Attributes/{kind}/any(att:att/Name eq '{name}' and att/{kind}/Value"
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise HubInputError(f"range for {name} must have 2 elements, got {len(value)}")
        lo, hi = ("*" if v in (None, "*") else v for v in value)
        parts = []
        if lo != "*":
            parts.append(f"{prefix} ge {_literal(lo, vtype)})")
        if hi != "*":
            parts.append(f"{prefix} le {_literal(hi, vtype)})")
        return " and ".join(parts)
    if isinstance(value, str):
        rng = _parse_range_string(value)
        if rng is not None:
            return _attribute_clause(name, vtype, rng)
        value = value.strip().strip('"')
        if vtype == "String":
            if name == "instrumentShortName":
                value = _INSTRUMENTS.get(value.upper(), value.upper())
            elif name in ("orbitDirection", "productClass"):
                value = value.upper()
            elif name == "polarisationChannels":
                value = "&".join(value.split())
            elif name == "platformSerialIdentifier":
                value = value[-1:].upper() if value else value
    return f"{prefix} eq {_literal(value, vtype)})"


def _name_clause(value: Any) -> str:
    text = str(value).strip().strip('"')
    if "*" not in text and "?" not in text:
        return f"startswith(Name,{_quote(text)})"
    pieces = [p for p in re.split(r"[*?]+", text)]
    clauses = []
    if pieces[0]:
        clauses.append(f"startswith(Name,{_quote(pieces[0])})")
    if pieces[-1] and len(pieces) > 1:
        clauses.append(f"endswith(Name,{_quote(pieces[-1])})")
    clauses += [f"contains(Name,{_quote(p)})" for p in pieces[1:-1] if p]
    return " and ".join(clauses) or "true"


def _platform_clause(value: Any) -> str:
    text = str(value).strip().strip('"')
    m = _PLATFORMS.match(text)
    return f"Collection/Name eq {_quote(f'SENTINEL-{m.group(1).upper()}' if m else text.upper())}"


def _clause(key: str, value: Any, now: datetime) -> str | None:
    k = key.lower()
    if isinstance(value, set | frozenset):
        subs = [c for c in (_clause(key, v, now) for v in sorted(value, key=str)) if c]
        return "(" + " or ".join(f"({s})" for s in subs) + ")" if subs else None
    if k in _TIME_FIELDS:
        return _time_clause(_TIME_FIELDS[k], value, now)
    if k == "platformname" or k == "collection":
        return _platform_clause(value)
    if k in ("uuid", "id"):
        return f"Id eq {str(value).strip().strip(chr(34))}"
    if k in _NAME_FIELDS:
        return _name_clause(value)
    if k == "online":
        return f"Online eq {'true' if str(value).lower() in ('true', '1') else 'false'}"
    if k in ATTRIBUTES or k in _DIRECT:
        name, vtype = ATTRIBUTES.get(k) or _DIRECT[k]
        return _attribute_clause(name, vtype, value) or None
    known = sorted(set(ATTRIBUTES) | set(_TIME_FIELDS) | _NAME_FIELDS | {"platformname", "uuid"})
    raise HubInputError(f"unknown search keyword {key!r} for CDSE; known keywords: {', '.join(known)}", param="query")


def normalise_area_wkt(area: str) -> str:
    """Classic area WKT (incl. Solr ``ENVELOPE`` and GEOMETRYCOLLECTION) -> WKT CDSE accepts."""
    import shapely
    from shapely import wkt as shapely_wkt
    from shapely.geometry import box

    text = area.strip()
    m = re.match(r"^ENVELOPE\s*\(([^)]*)\)$", text, re.I)
    try:
        if m:
            min_x, max_x, max_y, min_y = (float(v) for v in m.group(1).split(","))
            geom = box(min_x, min_y, max_x, max_y)
        else:
            geom = shapely_wkt.loads(text)
    except (ValueError, shapely.errors.GEOSException) as exc:
        raise HubInputError(f"area is not valid WKT ({exc})") from None
    if geom.geom_type == "GeometryCollection":
        geom = shapely.union_all(list(geom.geoms))
    from eokit.hub.geo import antimeridian_parts

    parts = antimeridian_parts(geom)
    if parts is not None:  # split at ±180: each part within lon/lat bounds
        geom = shapely.MultiPolygon(parts)
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise HubInputError("area coordinates are out of WGS84 lon/lat bounds", param="area")
    return shapely.to_wkt(geom, rounding_precision=-1, trim=True)


def build_filter(
    area: str | None = None,
    date: Any = None,
    raw: str | None = None,
    area_relation: str = "Intersects",
    *,
    now: datetime | None = None,
    **keywords: Any,
) -> str:
    """The OData ``$filter`` for a classic query (see the module docstring).

    ``raw`` is appended verbatim as an OData expression (``and``-ed).
    """
    if not isinstance(area_relation, str) or area_relation.lower() not in AREA_RELATIONS:
        raise HubInputError(
            f"Incorrect AOI relation provided ({area_relation!r}); use Intersects, Contains or IsWithin"
        )
    check_keywords(date, area, keywords)
    now = now or datetime.now(UTC)
    clauses = []
    if date is not None:
        keywords = {"beginposition": date, **keywords}
    for key, value in sorted(keywords.items(), key=lambda kv: kv[0].lower()):
        c = _clause(key, value, now)
        if c:
            clauses.append(c)
    if raw:
        clauses.append(f"({raw})")
    if area is not None:
        clauses.append(area_clause(area))
    return " and ".join(clauses)


def area_clause(area: str) -> str:
    """``OData.CSC.Intersects`` of the area; an area across the antimeridian is an ``or`` of its parts
    (a geography polygon cannot span ±180)."""
    import shapely
    from shapely import wkt as shapely_wkt

    from eokit.hub.geo import antimeridian_parts

    wkt = normalise_area_wkt(area)
    parts = antimeridian_parts(shapely_wkt.loads(wkt))
    if parts is None:
        return f"OData.CSC.Intersects(area=geography'SRID=4326;{wkt}')"
    ors = " or ".join(
        f"OData.CSC.Intersects(area=geography'SRID=4326;{shapely.to_wkt(p, rounding_precision=-1, trim=True)}')"
        for p in parts
    )
    return f"({ors})"


def area_predicate(area: str | None, area_relation: str) -> Callable[[str | None], bool] | None:
    """Client-side refinement for ``Contains``/``IsWithin`` (None when not needed)."""
    if area is None or area_relation.lower() == "intersects":
        return None
    from shapely import wkt as shapely_wkt

    aoi = shapely_wkt.loads(normalise_area_wkt(area))
    relation = area_relation.lower()

    def keep(footprint_wkt: str | None) -> bool:
        if not footprint_wkt:
            return False
        fp = shapely_wkt.loads(footprint_wkt)
        return fp.contains(aoi) if relation == "contains" else aoi.contains(fp)

    return keep
