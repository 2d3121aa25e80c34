"""eokit's embedded index as a stac-fastapi backend: the core client (collections, items, search
with sort, fields, query, filter, free text, token paging) and the filter client (queryables).

GET keyword arguments and POST request models are brought to one parameter dict and parsed by
:mod:`eokit.catalog.api_params`, so both forms give the same answers and the same 400s.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import attr
import orjson
from pydantic import field_validator
from stac_fastapi.extensions.filter.client import BaseFiltersClient
from stac_fastapi.types.core import BaseCoreClient
from stac_fastapi.types.search import BaseSearchPostRequest
from starlette.requests import Request
from starlette.responses import Response

from eokit.catalog.api_filter import compile_filter, query_to_cql2
from eokit.catalog.api_params import (
    StacApiError,
    apply_fields,
    parse_bbox,
    parse_datetime_interval,
    parse_fields,
    parse_intersects,
    parse_limit,
    parse_sortby,
    parse_str_list,
    parse_token,
)
from eokit.catalog.index import CatalogIndex, SearchQuery, query_boxes
from eokit.core.geometry import bbox_geometry, bbox_parts

__all__ = ["EokitCoreClient", "EokitFiltersClient", "EokitSearch", "base_of", "dumps"]

GEOJSON = "application/geo+json"
SEARCH_KEYS = (
    "bbox", "intersects", "datetime", "ids", "collections", "limit", "token", "sortby", "fields",
    "filter", "filter-lang", "filter-crs", "query", "q",
)  # fmt: skip


class EokitSearch(BaseSearchPostRequest):
    """POST /search body: as stac-fastapi's, with a lone string accepted for ``collections``/``ids``."""

    @field_validator("collections", "ids", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def dumps(doc: Any) -> bytes:
    """Compact JSON (orjson; the standard library for what orjson refuses, such as integers over 64 bits)."""
    try:
        return orjson.dumps(doc)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def base_of(request: Request) -> str:
    """The API's base URL (without trailing slash), as the base-URL middleware set it."""
    return str(request.base_url).rstrip("/")


def _index(request: Request) -> CatalogIndex:
    index: CatalogIndex = request.app.state.index
    index.refresh(min_interval=request.app.state.refresh_interval)
    return index


def _free_text(q: Any) -> tuple[list[str], list[Any]]:
    terms = parse_str_list(q, "q") or []
    if not terms:
        return [], []
    text = "lower(coalesce(json_extract(props, '$.title'), '') || ' ' || coalesce(json_extract(props, "
    text += "'$.description'), '') || ' ' || coalesce(json_extract(props, '$.keywords'), ''))"
    ors = " OR ".join([f"instr({text}, ?) > 0"] * len(terms))
    return [f"({ors})"], [t.lower() for t in terms]


def search_page(
    request: Request, params: dict[str, Any], *, path: str, post: bool, collection: str | None = None
) -> Response:
    """One page of an item search as a GeoJSON FeatureCollection (links, numberMatched, numberReturned).

    Items are sent as the index stores them (spliced into the page, not parsed and re-encoded)
    unless the fields extension asks for a subset.
    """
    index = _index(request)
    base = base_of(request)
    bbox = parse_bbox(params.get("bbox"))
    intersects = parse_intersects(params.get("intersects"))
    if bbox is not None and intersects is not None:
        raise StacApiError(400, "use either bbox or intersects, not both")
    geometry, boxes, rectangular = None, [], False
    if bbox is not None:
        geometry, boxes, rectangular = bbox_geometry(bbox), [p.bounds for p in bbox_parts(bbox)], True
    elif intersects is not None:
        geometry, boxes = intersects, query_boxes(intersects)
    start, end = parse_datetime_interval(params.get("datetime"))
    colls = parse_str_list(params.get("collections"), "collections")
    if collection is not None:
        colls = [collection]
    elif colls:
        known = {c["id"] for c in index.collections(base)}
        unknown = [c for c in colls if c not in known]
        if unknown:
            raise StacApiError(400, f"unknown collection(s): {', '.join(unknown)}")
    where, args = _free_text(params.get("q"))
    residual = None
    for expr, lang in ((params.get("filter"), params.get("filter-lang")), (query_to_cql2(params.get("query")), None)):
        if expr is None or expr == "":
            continue
        compiled = compile_filter(expr, lang, params.get("filter-crs"))
        where += compiled.where
        args += compiled.args
        if compiled.residual is not None:
            residual = compiled.residual if residual is None else _both(residual, compiled.residual)
        if compiled.geometry is not None:
            if geometry is not None:  # both must intersect the item (not their intersection): test one per item
                extra = _intersects(compiled.geometry)
                residual = extra if residual is None else _both(residual, extra)
            else:
                geometry, boxes = compiled.geometry, query_boxes(compiled.geometry)
    query = SearchQuery(
        geometry=geometry,
        boxes=boxes,
        rectangular=rectangular,
        dt_start=start,
        dt_end=end,
        ids=parse_str_list(params.get("ids"), "ids"),
        collections=colls,
        limit=parse_limit(params.get("limit")),
        offset=parse_token(params.get("token")),
        sortby=parse_sortby(params.get("sortby")),
        where=where,
        args=args,
        residual=residual,
    )
    fields = parse_fields(params.get("fields"))
    texts, matched = index.search(query, base)
    if fields is None:
        features = ("[" + ",".join(texts) + "]").encode()
    else:
        features = dumps([apply_fields(json.loads(t), fields) for t in texts])
    links: list[dict[str, Any]] = [{"rel": "root", "href": f"{base}/", "type": "application/json"}]
    nxt = query.offset + query.limit
    if post:
        links.append({"rel": "self", "href": f"{base}{path}", "type": GEOJSON, "method": "POST"})
        if nxt < matched:
            body = {k: v for k, v in params.items() if v is not None and k in SEARCH_KEYS}
            body["token"] = str(nxt)
            links.append({"rel": "next", "href": f"{base}{path}", "type": GEOJSON, "method": "POST", "body": body})
    else:
        kept = [(k, v) for k, v in request.query_params.multi_items() if k in SEARCH_KEYS]
        self_q = urlencode(kept)
        links.append({"rel": "self", "href": f"{base}{path}" + (f"?{self_q}" if self_q else ""), "type": GEOJSON})
        if nxt < matched:
            q = [(k, v) for k, v in kept if k != "token"] + [("token", str(nxt))]
            links.append({"rel": "next", "href": f"{base}{path}?{urlencode(q)}", "type": GEOJSON, "method": "GET"})
    if collection is not None:
        links.append({"rel": "collection", "href": f"{base}/collections/{collection}", "type": "application/json"})
    rest = dumps({"links": links, "numberMatched": matched, "numberReturned": len(texts)})
    page = b'{"type":"FeatureCollection","features":' + features + b"," + rest[1:]
    return Response(page, media_type=GEOJSON)


def _both(a: Any, b: Any) -> Any:
    return lambda item: a(item) and b(item)


def _intersects(geometry: Any) -> Any:
    import shapely
    from shapely.geometry import shape

    shapely.prepare(geometry)
    return lambda item: item.get("geometry") is not None and geometry.intersects(shape(item["geometry"]))


def get_params(request: Request, names: tuple[str, ...] = SEARCH_KEYS) -> dict[str, Any]:
    """GET parameters as sent (single values joined), so GET and POST share one parser."""
    out: dict[str, Any] = {}
    for key in names:
        values = request.query_params.getlist(key)
        if values:
            out[key] = ",".join(values) if len(values) > 1 else values[0]
    return out


def post_params(body: Any) -> dict[str, Any]:
    """A POST search model's fields as given (explicit nulls refused, aliases restored)."""
    given = body.model_fields_set
    nulls = [k for k in given if getattr(body, k, None) is None]
    if nulls:
        raise StacApiError(400, f"null is not a valid value for: {', '.join(sorted(nulls))}")
    raw = body.model_dump(mode="json", by_alias=True, include=given)
    if "fields" in given:
        f = body.fields
        raw["fields"] = {k: sorted(getattr(f, k)) if getattr(f, k) is not None else None for k in f.model_fields_set}
    if "sortby" in given:
        raw["sortby"] = [
            {"field": s.field, "direction": str(getattr(s.direction, "value", s.direction))} for s in body.sortby
        ]
    if body.model_extra:
        raw.update({k: v for k, v in body.model_extra.items() if k in SEARCH_KEYS})
    return raw


@attr.s
class EokitCoreClient(BaseCoreClient):
    """stac-fastapi core client over :class:`~eokit.catalog.index.CatalogIndex` (set as ``app.state.index``)."""

    def landing_page(self, **kwargs: Any) -> Any:
        request: Request = kwargs["request"]
        page = super().landing_page(**kwargs)
        base = base_of(request)
        for coll in _index(request).collections(base):
            page["links"].append(
                {"rel": "child", "href": f"{base}/collections/{quote(coll['id'], safe='')}", "type": "application/json",
                 "title": coll.get("title") or coll["id"]}
            )  # fmt: skip
        page["links"].append({"rel": "alternate", "href": f"{base}/map.html", "type": "text/html", "title": "Map"})
        return page

    def all_collections(self, **kwargs: Any) -> Any:
        request: Request = kwargs["request"]
        base = base_of(request)
        params = get_params(request, ("bbox", "datetime", "q", "limit", "offset"))
        colls = _index(request).collections(base)
        bbox = parse_bbox(params.get("bbox"))
        if bbox is not None:
            area = bbox_geometry(bbox)
            colls = [c for c in colls if _collection_area(c).intersects(area)]
        start, end = parse_datetime_interval(params.get("datetime"))
        if start is not None or end is not None:
            colls = [c for c in colls if _collection_overlaps(c, start, end)]
        terms = [t.lower() for t in parse_str_list(params.get("q"), "q") or []]
        if terms:
            colls = [c for c in colls if any(t in _collection_text(c) for t in terms)]
        links = [
            {"rel": "self", "href": f"{base}/collections", "type": "application/json"},
            {"rel": "root", "href": f"{base}/", "type": "application/json"},
            {"rel": "parent", "href": f"{base}/", "type": "application/json"},
        ]
        limit = parse_limit(params.get("limit")) if "limit" in params else len(colls) or 1
        offset = parse_token(params.get("offset"))
        page = colls[offset : offset + limit]
        if offset + limit < len(colls):
            q = [(k, v) for k, v in params.items() if k != "offset"] + [("offset", str(offset + limit))]
            links.append({"rel": "next", "href": f"{base}/collections?{urlencode(q)}", "type": "application/json"})
        return {"collections": page, "links": links, "numberMatched": len(colls), "numberReturned": len(page)}

    def get_collection(self, collection_id: str, **kwargs: Any) -> Any:
        request: Request = kwargs["request"]
        doc = _index(request).collection(collection_id, base_of(request))
        if doc is None:
            raise StacApiError(404, f"collection {collection_id!r} not found")
        return doc

    def item_collection(self, collection_id: str, **kwargs: Any) -> Any:  # type: ignore[override]
        request: Request = kwargs["request"]
        self.get_collection(collection_id, request=request)
        params = get_params(request)
        params.pop("collections", None)
        params.pop("ids", None)
        path = f"/collections/{collection_id}/items"
        return search_page(request, params, path=path, post=False, collection=collection_id)

    def get_item(self, item_id: str, collection_id: str, **kwargs: Any) -> Any:
        request: Request = kwargs["request"]
        self.get_collection(collection_id, request=request)
        doc = _index(request).item(collection_id, item_id, base_of(request))
        if doc is None:
            raise StacApiError(404, f"item {item_id!r} not found in collection {collection_id!r}")
        return doc

    def get_search(self, **kwargs: Any) -> Any:  # type: ignore[override]
        request: Request = kwargs["request"]
        return search_page(request, get_params(request), path="/search", post=False)

    def post_search(self, search_request: Any, **kwargs: Any) -> Any:
        request: Request = kwargs["request"]
        return search_page(request, post_params(search_request), path="/search", post=True)


def _collection_area(coll: dict[str, Any]) -> Any:
    from shapely.geometry import box
    from shapely.ops import unary_union

    try:
        boxes = coll["extent"]["spatial"]["bbox"]
        return unary_union([bbox_geometry(b) for b in boxes]) if boxes else box(-180, -90, 180, 90)
    except (KeyError, TypeError, ValueError, IndexError):
        return box(-180, -90, 180, 90)


def _collection_overlaps(coll: dict[str, Any], start: float | None, end: float | None) -> bool:
    from eokit.catalog.index import _epoch

    try:
        intervals = coll["extent"]["temporal"]["interval"]
    except (KeyError, TypeError):
        return True
    for lo, hi in intervals:
        lo_t, hi_t = _epoch(lo), _epoch(hi, end=True)
        if (end is None or lo_t is None or lo_t <= end) and (start is None or hi_t is None or hi_t >= start):
            return True
    return False


def _collection_text(coll: dict[str, Any]) -> str:
    words = [str(coll.get("title") or ""), str(coll.get("description") or ""), str(coll.get("id"))]
    words += [str(k) for k in coll.get("keywords") or []]
    return " ".join(words).lower()


@attr.s
class EokitFiltersClient(BaseFiltersClient):
    """Queryables: the properties the index's items carry, with their JSON types."""

    def get_queryables(self, collection_id: str | None = None, **kwargs: Any) -> dict[str, Any]:
        request: Request = kwargs["request"]
        index = _index(request)
        base = base_of(request)
        if collection_id is not None and index.collection(collection_id, base) is None:
            raise StacApiError(404, f"collection {collection_id!r} not found")
        props = {
            "id": {"title": "Item ID", "type": "string"},
            "collection": {"title": "Collection ID", "type": "string"},
            "geometry": {"title": "Footprint", "$ref": "https://geojson.org/schema/Geometry.json"},
            "datetime": {"title": "Acquired", "type": "string", "format": "date-time"},
        }
        for name, kind in index.queryables(collection_id).items():
            props.setdefault(name, {"type": kind})
        where = f"/collections/{collection_id}" if collection_id else ""
        return {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": f"{base}{where}/queryables",
            "type": "object",
            "title": "Queryables",
            "properties": props,
            "additionalProperties": True,
        }
