"""DHuS (Solr OpenSearch + OData v1) query strings and response parsers.

The strings built here are byte-identical to what the classic client sent, so
scripts get exactly the same server-side behaviour (checked against recorded
exchanges in the tests).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

from eokit.hub.exceptions import HubInputError

__all__ = [
    "AREA_RELATIONS",
    "DATE_ATTRIBUTES",
    "MAX_QUERY_LENGTH",
    "check_query_length",
    "format_order_by",
    "format_query",
    "format_query_date",
    "parse_gml_footprint",
    "parse_odata_product",
    "parse_odata_timestamp",
    "parse_opensearch_entries",
]

AREA_RELATIONS = ("intersects", "contains", "iswithin")
DATE_ATTRIBUTES = ("beginposition", "endposition", "date", "creationdate", "ingestiondate")
MAX_QUERY_LENGTH = 3898
_UNITS = r"(?:YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)"
_DATE_RE = re.compile(
    r"^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z|NOW)" + rf"(?:[-+]\d+{_UNITS}S?)*" + rf"(?:/{_UNITS}S?)*$"
)


def format_query_date(in_date: str | date | datetime | None) -> str:
    r"""Format a date for a Solr query, or validate a Solr date expression.

    ``None`` and ``'*'`` mean an open bound (``*``); ``date``/``datetime`` and
    ``YYYYMMDD`` become ``YYYY-MM-DDThh:mm:ssZ``; ISO timestamps, ``NOW``, date
    arithmetic (``NOW-1DAY``, ``2015-01-01T00:00:00Z+1DAY``) and rounding
    (``NOW/DAY``) pass through.

    >>> format_query_date("20151219")
    '2015-12-19T00:00:00Z'
    >>> format_query_date("NOW-1DAYS/DAY")
    'NOW-1DAYS/DAY'
    """
    if in_date is None:
        return "*"
    if isinstance(in_date, datetime | date):
        return in_date.strftime("%Y-%m-%dT%H:%M:%SZ")
    if not isinstance(in_date, str):
        raise HubInputError(f"Expected a string or a datetime object. Received {in_date!r}.")
    in_date = in_date.strip()
    if in_date == "*" or _DATE_RE.match(in_date):
        return in_date
    try:
        return datetime.strptime(in_date, "%Y%m%d").strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise HubInputError(
            f"Unsupported date value {in_date!r}: use YYYYMMDD, an ISO-8601 time ending in Z, "
            "NOW, date arithmetic such as NOW-1DAY, or rounding such as NOW/DAY"
        ) from None


def _format_value(attr: str, value: Any) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            raise HubInputError(f"Trying to filter {attr!r} with an empty string")
        wrapped = any(value.startswith(a) and value.endswith(b) for a, b in ("[]", "{}", "//", "()", '""'))
        if not wrapped and "*" not in value and "?" not in value:
            value = '"' + re.sub(r"\s", " ", value) + '"'
    is_date = attr.lower() in DATE_ATTRIBUTES
    if is_date:
        if isinstance(value, str) and " TO " in value:
            pass
        elif isinstance(value, list | tuple) and len(value) == 2:
            value = (format_query_date(value[0]), format_query_date(value[1]))
        else:
            raise HubInputError(
                f"Date-type query parameter {attr!r} expects either a two-element tuple of str or datetime "
                f"objects or a '[<from> TO <to>]'-format string. Received {value!r}."
            )
    if isinstance(value, set):
        raise HubInputError(f"Unexpected set-type value encountered with keyword {attr!r}")
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise HubInputError(f"Invalid number of elements in list for {attr!r}. Expected 2, received {len(value)}")
        if any(x == "" for x in value):
            raise HubInputError(f"Trying to filter {attr!r} with an empty string")
        bounds = ["*" if x in (None, "*") else f'"{x}"' for x in value]
        if bounds == ["*", "*"] or (is_date and bounds == ["*", "NOW"]):
            return None
        return f"[{bounds[0]} TO {bounds[1]}]"
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else str(value)


def check_keywords(date_: Any, area: Any, keywords: dict[str, Any]) -> None:
    """Reject duplicate keywords (case-insensitive), as the server would."""
    lower = {k.lower() for k in keywords}
    if (
        len(lower) != len(keywords)
        or (date_ is not None and "beginposition" in lower)
        or (area is not None and "footprint" in lower)
    ):
        dupes = sorted(
            k
            for k in keywords
            if k.lower() in {"beginposition", "footprint"} or list(map(str.lower, keywords)).count(k.lower()) > 1
        )
        raise HubInputError(
            f"Query contains duplicate keywords {dupes}. Note that query keywords are case-insensitive.",
            param="query",
        )


def format_query(
    area: str | None = None,
    date: Any = None,
    raw: str | None = None,
    area_relation: str = "Intersects",
    **keywords: Any,
) -> str:
    """Build a DHuS OpenSearch (Solr) query string.

    Keywords are sorted; a ``set`` value is an OR of its members; a 2-tuple is
    a range (``None``/``'*'`` = open bound); ``date`` is ``beginPosition``.

    >>> format_query(date=("20151219", "20151229"), platformname="Sentinel-2")
    'beginPosition:["2015-12-19T00:00:00Z" TO "2015-12-29T00:00:00Z"] platformname:"Sentinel-2"'
    """
    if not isinstance(area_relation, str) or area_relation.lower() not in AREA_RELATIONS:
        raise HubInputError(
            f"Incorrect AOI relation provided ({area_relation!r}); use Intersects, Contains or IsWithin"
        )
    check_keywords(date, area, keywords)
    keywords = dict(keywords)
    if date is not None:
        keywords["beginPosition"] = date
    parts: list[str] = []
    for attr, value in sorted(keywords.items()):
        if isinstance(value, set | frozenset):
            if not value:
                continue
            subs = sorted(f"{attr}:{v}" for v in (_format_value(attr, s) for s in value) if v is not None)
            parts.append("({})".format(" OR ".join(subs)))
        else:
            formatted = _format_value(attr, value)
            if formatted is not None:
                parts.append(f"{attr}:{formatted}")
    if raw:
        parts.append(raw)
    if area is not None:
        pieces = _antimeridian_pieces(area)
        if pieces is None:
            parts.append(f'footprint:"{area_relation}({area})"')
        else:  # Solr cannot take a polygon across ±180: one clause per part
            parts.append("({})".format(" OR ".join(f'footprint:"{area_relation}({p})"' for p in pieces)))
    return " ".join(parts)


def _antimeridian_pieces(area: str) -> list[str] | None:
    """WKT parts of an area that crosses the antimeridian (None otherwise, or when it is not plain WKT)."""
    if "(" not in area or area.strip().upper().startswith("ENVELOPE"):
        return None
    import shapely
    from shapely import wkt as shapely_wkt

    from eokit.hub.geo import antimeridian_parts

    try:
        geom = shapely_wkt.loads(area)
    except (ValueError, shapely.errors.GEOSException):
        return None
    if geom.geom_type == "GeometryCollection":
        geom = shapely.union_all(list(geom.geoms))
    parts = antimeridian_parts(geom)
    return None if parts is None else [shapely.to_wkt(p, rounding_precision=-1, trim=True) for p in parts]


def format_order_by(order_by: str | None) -> str | None:
    """``"cloudcoverpercentage,-beginposition"`` -> ``"cloudcoverpercentage asc,beginposition desc"``."""
    if not order_by or not order_by.strip():
        return None
    out = []
    for part in order_by.split(","):
        part = part.strip()
        direction = " asc"
        if part[:1] == "+":
            part = part[1:]
        elif part[:1] == "-":
            direction, part = " desc", part[1:]
        if not part or not part.isalnum():
            raise HubInputError(f"Invalid order by value ({order_by!r}): use comma-separated field names, optional +/-")
        out.append(part + direction)
    return ",".join(out)


def parse_order_by(order_by: str | None) -> list[tuple[str, bool]]:
    """``"a,-b"`` -> ``[("a", False), ("b", True)]`` (field, descending)."""
    formatted = format_order_by(order_by)
    if not formatted:
        return []
    return [(p.rsplit(" ", 1)[0], p.endswith(" desc")) for p in formatted.split(",")]


def check_query_length(query: str) -> float:
    """Ratio of the query's effective (URL-encoded, Java style) length to the server maximum."""
    effective = len(quote_plus(query, safe="-_.*").replace("~", "%7E"))
    return effective / MAX_QUERY_LENGTH


def parse_iso_date(content: str) -> datetime:
    """``2017-04-25T15:56:12.814Z`` -> naive UTC datetime (as the classic client)."""
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in content else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.strptime(content, fmt)


def parse_odata_timestamp(value: str) -> datetime:
    r"""``/Date(1678403102654)/`` -> naive UTC datetime."""
    ms = int(value.replace("/Date(", "").replace(")/", ""))
    return datetime(1970, 1, 1) + timedelta(seconds=ms // 1000, milliseconds=ms % 1000)


def parse_gml_footprint(gml: str | None) -> str | None:
    """A DHuS GML polygon (lat,lon pairs) -> ``POLYGON((lon lat,...))``."""
    if gml is None:
        return None
    import xml.etree.ElementTree as ET  # only DHuS OData answers carry GML: not at import time

    ns = "{http://www.opengis.net/gml}"
    root = ET.fromstring(gml)
    text = root.findtext(f"{ns}outerBoundaryIs/{ns}LinearRing/{ns}coordinates")
    if text is None:
        return None
    pairs = (c.split(",")[::-1] for c in text.split(" "))
    return "POLYGON(({}))".format(",".join(" ".join(p) for p in pairs))


_CONVERTERS = {"date": parse_iso_date, "int": int, "long": int, "float": float, "double": float}


def parse_opensearch_entries(entries: list[dict[str, Any]] | dict[str, Any]) -> OrderedDict[str, dict[str, Any]]:
    """DHuS OpenSearch JSON ``feed.entry`` -> ``{uuid: {property: typed value}}``."""
    if isinstance(entries, dict):
        entries = [entries]
    out: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for entry in entries:
        props: dict[str, Any] = {}
        out[entry["id"]] = props
        for key, value in entry.items():
            if key == "id":
                continue
            if isinstance(value, str):
                props[key] = value
                continue
            items = [value] if isinstance(value, dict) else value
            if key == "link":
                for link in items:
                    props["link_" + link["rel"] if "rel" in link else "link"] = link["href"]
                continue
            convert: Any = _CONVERTERS.get(key, lambda x: x)
            for item in items:
                props[item["name"]] = convert(item["content"] if "content" in item else item["str"])
    return out


def parse_odata_product(product: dict[str, Any]) -> dict[str, Any]:
    """A DHuS OData v1 ``Products('id')`` JSON ``d`` -> the classic product-info dict."""
    checksum = product.get("Checksum") or {}
    out: dict[str, Any] = {
        "id": product["Id"],
        "title": product["Name"],
        "size": int(product["ContentLength"]),
    }
    if checksum.get("Algorithm"):
        out[checksum["Algorithm"].lower()] = checksum["Value"]
    out.update(
        {
            "date": parse_odata_timestamp(product["ContentDate"]["Start"]),
            "footprint": parse_gml_footprint(product.get("ContentGeometry")),
            "url": product["__metadata"]["media_src"],
            "Online": product.get("Online", True),
            "Creation Date": parse_odata_timestamp(product["CreationDate"]),
            "Ingestion Date": parse_odata_timestamp(product["IngestionDate"]),
        }
    )
    attrs = product.get("Attributes") or {}
    for attr in attrs.get("results", []) if isinstance(attrs, dict) else []:
        out[attr["Name"]] = _convert_attribute(attr["Value"])
    return out


def _convert_attribute(value: Any) -> Any:
    for convert in (int, float, parse_iso_date):
        try:
            return convert(value)
        except (ValueError, TypeError):
            pass
    return value


def utc_now() -> datetime:
    """Current UTC time as an aware datetime (patchable in tests)."""
    return datetime.now(UTC)
