"""STAC API routes of :class:`eokit.testing.hub_server.LocalHub` (landing page, collections, items, search)."""

from __future__ import annotations

import json
import re
from datetime import UTC
from typing import Any
from urllib.parse import urlencode

from eokit.testing.hub_odata import parse_time

__all__ = ["StacRoutes"]


class StacRoutes:
    """Mixin of :class:`~eokit.testing.hub_routes.HubHandler`: the STAC API."""

    hub: Any
    command: str
    _send: Any
    _params: Any
    _body: Any

    def _stac(self, rest: str) -> None:
        hub = self.hub
        root = hub.stac_url
        conforms = [
            "https://api.stacspec.org/v1.0.0/core",
            "https://api.stacspec.org/v1.0.0/item-search",
            "https://api.stacspec.org/v1.0.0/ogcapi-features",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        ]
        items = hub.all_stac_items()
        collections = sorted({i.get("collection") for i in items if i.get("collection")})
        if rest == "":
            links = [
                {"rel": "self", "href": root, "type": "application/json"},
                {"rel": "root", "href": root, "type": "application/json"},
                {"rel": "conformance", "href": f"{root}/conformance"},
                {"rel": "data", "href": f"{root}/collections"},
                {"rel": "search", "href": f"{root}/search", "method": "GET", "type": "application/geo+json"},
                {"rel": "search", "href": f"{root}/search", "method": "POST", "type": "application/geo+json"},
                {"rel": "service-desc", "href": f"{root}/api", "type": "application/vnd.oai.openapi+json;version=3.0"},
                {"rel": "service-doc", "href": f"{root}/api.html", "type": "text/html"},
            ]
            links += [{"rel": "child", "href": f"{root}/collections/{c}"} for c in collections]
            return self._send(
                200,
                {
                    "type": "Catalog",
                    "stac_version": "1.0.0",
                    "id": "eokit-local-hub",
                    "description": "eokit local test hub",
                    "conformsTo": conforms,
                    "links": links,
                },
            )
        if rest == "conformance":
            return self._send(200, {"conformsTo": conforms})
        if rest == "api":
            doc = {"openapi": "3.0.3", "info": {"title": "eokit local hub STAC API", "version": "1.0.0"}, "paths": {}}
            return self._send(200, doc, "application/vnd.oai.openapi+json;version=3.0")
        if rest == "api.html":
            return self._send(200, "<html><body>eokit local hub STAC API</body></html>", "text/html")
        if rest == "collections":
            links = [{"rel": "self", "href": f"{root}/collections"}, {"rel": "root", "href": root}]
            return self._send(200, {"collections": [self._collection(c) for c in collections], "links": links})
        m = re.fullmatch(r"collections/([^/]+)(/items(?:/([^/]+))?)?", rest)
        if m:
            cid = m.group(1)
            if cid not in collections:
                return self._send(404, {"code": "NotFound", "description": f"no collection {cid}"})
            if not m.group(2):
                return self._send(200, self._collection(cid))
            if m.group(3):
                for i in items:
                    if i["id"] == m.group(3) and i.get("collection") == cid:
                        return self._send(200, i, "application/geo+json")
                return self._send(404, {"code": "NotFound", "description": "no item"})
            params = dict(self._params(), collections=cid)
            return self._stac_search(items, params, f"{root}/collections/{cid}/items")
        if rest == "search":
            if self.command == "POST":
                try:
                    params = json.loads(self._body() or b"{}")
                except ValueError:
                    return self._send(400, {"code": "BadRequest", "description": "invalid JSON"})
            else:
                params = self._params()
            return self._stac_search(items, params, f"{root}/search")
        return self._send(404, {"code": "NotFound", "description": rest})

    def _collection(self, cid: str) -> dict[str, Any]:
        root = self.hub.stac_url
        return {
            "type": "Collection",
            "stac_version": "1.0.0",
            "id": cid,
            "description": f"{cid} products of the local hub",
            "license": "proprietary",
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
            "links": [
                {"rel": "self", "href": f"{root}/collections/{cid}"},
                {"rel": "root", "href": root},
                {"rel": "parent", "href": root},
                {"rel": "items", "href": f"{root}/collections/{cid}/items"},
            ],
        }

    def _stac_search(self, items: list[dict[str, Any]], params: dict[str, Any], base: str) -> None:
        try:
            colls, ids, area, lo, hi, limit, token = _stac_params(params, post=self.command == "POST")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return self._send(400, {"code": "BadRequest", "description": f"invalid search parameters: {exc}"})
        import shapely.geometry

        out = []
        for item in items:
            if colls and item.get("collection") not in colls:
                continue
            if ids and item["id"] not in ids:
                continue
            if area is not None and not shapely.geometry.shape(item["geometry"]).intersects(area):
                continue
            if lo or hi:
                props = item["properties"]
                t0 = parse_time(props.get("start_datetime") or props.get("datetime"))
                t1 = parse_time(props.get("end_datetime") or props.get("datetime"))
                if (hi and t0 > hi) or (lo and t1 < lo):
                    continue
            out.append(item)
        page = out[token : token + limit]
        links: list[dict[str, Any]] = [{"rel": "root", "href": self.hub.stac_url}, {"rel": "self", "href": base}]
        if token + limit < len(out):
            if self.command == "POST":
                body = dict(params, token=token + limit)
                links.append({"rel": "next", "href": base, "method": "POST", "body": body, "merge": False})
            else:
                q = dict(self._params(), token=str(token + limit))
                links.append({"rel": "next", "href": f"{base}?{urlencode(q)}", "method": "GET"})
        body = {
            "type": "FeatureCollection",
            "features": page,
            "links": links,
            "numberMatched": len(out),
            "numberReturned": len(page),
        }
        return self._send(200, body, "application/geo+json")


def _stac_time(text: str) -> Any:
    """RFC 3339 (case-insensitive T/Z, offset required)."""
    text = text.strip().upper()
    if not re.search(r"(Z|[+-]\d\d:\d\d)$", text):
        raise ValueError(f"datetime {text!r} has no time zone")
    m = re.match(r"^(.*?)([+-]\d\d:\d\d)$", text)
    if m and "T" in text:
        from datetime import datetime as _dt

        return _dt.fromisoformat(text).astimezone(UTC)
    return parse_time(text)


def _stac_params(params: dict[str, Any], *, post: bool = False) -> tuple[Any, ...]:
    """Validated STAC search parameters (GET strings or POST JSON); ValueError when invalid."""
    import shapely.geometry

    def as_list(value: Any) -> list[Any] | None:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return [v for v in value.split(",") if v]
        if isinstance(value, list):
            return value
        raise ValueError(f"expected a list, got {value!r}")

    colls = as_list(params.get("collections"))
    ids = as_list(params.get("ids"))
    if post and any(isinstance(params.get(k), str) for k in ("bbox", "collections", "ids")):
        raise ValueError("bbox, collections and ids must be JSON arrays in a POST body")
    bbox = as_list(params.get("bbox"))
    area = None
    if bbox is not None:
        nums = [float(v) for v in bbox]
        if len(nums) == 4:
            w, s, e, n = nums
        elif len(nums) == 6:
            w, s, _z0, e, n, _z1 = nums
        else:
            raise ValueError("bbox needs 4 or 6 numbers")
        if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
            raise ValueError("bbox out of range or south > north")
        area = (
            shapely.geometry.box(w, s, e, n)
            if w <= e
            else shapely.geometry.box(w, s, 180, n).union(shapely.geometry.box(-180, s, e, n))
        )
    inter = params.get("intersects")
    if isinstance(inter, str) and inter:
        inter = json.loads(inter)
    if inter:
        if bbox is not None:
            raise ValueError("bbox and intersects are mutually exclusive")
        area = shapely.geometry.shape(inter)
        if not area.is_valid and area.geom_type not in ("Point", "MultiPoint"):
            raise ValueError("intersects is not a valid geometry")
    lo = hi = None
    if params.get("datetime"):
        parts = str(params["datetime"]).split("/")
        if len(parts) > 2:
            raise ValueError("datetime must be an instant or an interval")
        lo = None if parts[0] in ("", "..") else _stac_time(parts[0])
        hi = (None if parts[-1] in ("", "..") else _stac_time(parts[-1])) if len(parts) > 1 else lo
        if len(parts) == 2 and lo is None and hi is None:
            raise ValueError("datetime interval open at both ends")
        if lo and hi and lo > hi:
            raise ValueError("datetime interval start after end")
    limit = int(params.get("limit", 10))
    if limit < 1:
        raise ValueError("limit must be at least 1")
    limit = min(limit, 10000)
    token = int(params.get("token", 0) or 0)
    return colls, ids, area, lo, hi, limit, token
