"""A STAC API (FastAPI + uvicorn) over a catalog folder, backed by an embedded SQLite index.

Core, collections, OGC API Features, item search (GET and POST) with sort and fields.
Assets are served with HTTP Range and checksum headers (``Repr-Digest``, ``Digest``,
``X-Checksum-Sha256``). Bad parameters get a 400 and a STAC error body, never a 500.
Only files referenced by the catalog's items and lying inside the catalog folder (or an
explicit ``asset_roots`` folder given by the caller, never by the catalog) are ever served.
Links are built from ``base_url`` (or the address the connection came in on), never from the
``Host`` header.

>>> with running_server("out/") as url:  # doctest: +SKIP
...     requests.get(f"{url}/search", params={"limit": 5}).json()
"""

import base64
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from eokit.catalog._common import STAC_VERSION
from eokit.catalog.api_http import HardeningMiddleware, base_url_of, check_base_url
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
from eokit.errors import MissingDependencyError

log = logging.getLogger(__name__)

__all__ = ["CONFORMANCE", "create_app", "running_server", "serve"]

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
GEOJSON = "application/geo+json"
_SEARCH_KEYS = {"bbox", "intersects", "datetime", "ids", "collections", "limit", "token", "sortby", "fields"}
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

_MAP_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="https://unpkg.com/leaflet@1.9.4/dist/leaflet.css">
<script src="https://unpkg.com/leaflet@1.9.4/dist/leaflet.js"></script>
<style>body{{margin:0;font-family:sans-serif}}#map{{height:90vh}}header{{padding:.5em}}</style></head>
<body><header><b>{title}</b> &mdash; STAC API: <a href="./">landing</a> &middot; <a href="./collections">collections</a>
&middot; <a href="./api.html">API docs</a></header><div id="map"></div><script>
const map = L.map('map').setView([0, 0], 2);
L.tileLayer('https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', {{attribution: '&copy; OpenStreetMap'}}).addTo(map);
fetch('./search?limit=1000').then(r => r.json()).then(fc => {{
  const layer = L.geoJSON(fc, {{onEachFeature: (f, l) => {{
    // item fields are data, never markup: text nodes and an encoded URL only
    const box = document.createElement('div'), a = document.createElement('a');
    a.href = './collections/' + encodeURIComponent(f.collection) + '/items/' + encodeURIComponent(f.id);
    a.textContent = String(f.id);
    box.append(a, document.createElement('br'), String((f.properties || {{}}).datetime ?? ''));
    l.bindPopup(box);
  }}}}).addTo(map);
  if (fc.features.length) map.fitBounds(layer.getBounds());
}});
</script></body></html>"""


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def create_app(
    catalog_dir: str | os.PathLike[str],
    *,
    db_path: str | os.PathLike[str] | None = None,
    asset_roots: Sequence[str | os.PathLike[str]] = (),
    title: str | None = None,
    refresh_interval: float = 2.0,
    base_url: str | None = None,
    proxy_headers: bool = False,
    max_body: int = 1 << 20,
) -> Any:
    """The FastAPI application serving ``catalog_dir`` as a STAC API.

    The SQLite index is (re)built at start and whenever the catalog's top-level documents
    change (checked at most every ``refresh_interval`` seconds). Links start with
    ``base_url`` (e.g. ``https://example.org/stac``); without it, with the address the
    connection was accepted on, or with ``X-Forwarded-*`` headers when ``proxy_headers``.
    Request bodies over ``max_body`` bytes get 413.
    """
    try:
        from fastapi import Body, FastAPI, Query, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.openapi.docs import get_swagger_ui_html
        from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
        from pydantic import BaseModel, ConfigDict
        from starlette.exceptions import HTTPException
    except ImportError:
        raise MissingDependencyError("fastapi", extra="server", purpose="eokit serve") from None

    index = CatalogIndex(catalog_dir, db_path=db_path, asset_roots=asset_roots)
    configured_base = check_base_url(base_url) if base_url else None
    landing_title = title or f"eokit STAC API: {index.catalog_dir.name}"

    class SearchBody(BaseModel):
        """Item search (POST)."""

        model_config = ConfigDict(extra="allow")
        bbox: list[float] | None = None
        intersects: dict[str, Any] | None = None
        datetime: str | None = None
        ids: list[str] | str | None = None
        collections: list[str] | str | None = None
        limit: int | None = None
        token: str | None = None
        sortby: list[dict[str, Any]] | None = None
        fields: dict[str, Any] | None = None

    app = FastAPI(title=landing_title, version="1.0.0", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.index = index
    app.add_middleware(HardeningMiddleware, max_body=max_body)

    def error(status: int, description: str, code: str) -> JSONResponse:
        return JSONResponse({"code": code, "description": description}, status_code=status)

    @app.exception_handler(StacApiError)
    async def _stac_error(request: Request, exc: StacApiError) -> JSONResponse:
        return error(exc.status, exc.description, exc.code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors()[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()))
            parts.append(f"{where}: {e.get('msg', 'invalid')}")
        return error(400, "; ".join(parts) or "invalid request", "BadRequest")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        codes = {404: "NotFound", 405: "MethodNotAllowed", 416: "RangeNotSatisfiable"}
        return error(exc.status_code, str(exc.detail), codes.get(exc.status_code, "Error"))

    def base_of(request: Request) -> str:
        index.refresh(min_interval=refresh_interval)
        return base_url_of(request.scope, base_url=configured_base, proxy_headers=proxy_headers)

    def json_response(doc: Any, media_type: str = "application/json") -> JSONResponse:
        return JSONResponse(doc, media_type=media_type)

    @app.get("/", summary="Landing page")
    def landing(request: Request) -> JSONResponse:
        base = base_of(request)
        links = [
            {"rel": "self", "href": f"{base}/", "type": "application/json", "title": "Landing page"},
            {"rel": "root", "href": f"{base}/", "type": "application/json", "title": "Landing page"},
            {"rel": "conformance", "href": f"{base}/conformance", "type": "application/json", "title": "Conformance"},
            {"rel": "data", "href": f"{base}/collections", "type": "application/json", "title": "Collections"},
            {"rel": "search", "href": f"{base}/search", "type": GEOJSON, "method": "GET", "title": "Item search"},
            {"rel": "search", "href": f"{base}/search", "type": GEOJSON, "method": "POST", "title": "Item search"},
            {"rel": "service-desc", "href": f"{base}/api", "type": OPENAPI, "title": "OpenAPI document"},
            {"rel": "service-doc", "href": f"{base}/api.html", "type": "text/html", "title": "API documentation"},
            {"rel": "alternate", "href": f"{base}/map.html", "type": "text/html", "title": "Map of items"},
        ]
        for coll in index.collections(base):
            links.append(
                {
                    "rel": "child",
                    "href": f"{base}/collections/{coll['id']}",
                    "type": "application/json",
                    "title": coll.get("title") or coll["id"],
                }
            )
        return json_response(
            {
                "type": "Catalog",
                "stac_version": STAC_VERSION,
                "id": "eokit",
                "title": landing_title,
                "description": f"STAC API over the catalog in {index.catalog_dir.name}, served by eokit.",
                "conformsTo": CONFORMANCE,
                "links": links,
            }
        )

    @app.get("/conformance", summary="Conformance classes")
    def conformance() -> JSONResponse:
        return json_response({"conformsTo": CONFORMANCE})

    @app.get("/api", summary="OpenAPI document", include_in_schema=False)
    def openapi_doc() -> JSONResponse:
        return JSONResponse(app.openapi(), media_type=OPENAPI)

    @app.get("/api.html", include_in_schema=False)
    def openapi_html() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="./api", title=landing_title)

    @app.get("/map.html", include_in_schema=False)
    def map_html() -> HTMLResponse:
        import html

        return HTMLResponse(_MAP_HTML.format(title=html.escape(landing_title)))

    @app.get("/collections", summary="Collections")
    def collections(request: Request) -> JSONResponse:
        base = base_of(request)
        return json_response(
            {
                "collections": index.collections(base),
                "links": [
                    {"rel": "self", "href": f"{base}/collections", "type": "application/json"},
                    {"rel": "root", "href": f"{base}/", "type": "application/json"},
                    {"rel": "parent", "href": f"{base}/", "type": "application/json"},
                ],
            }
        )

    @app.get("/collections/{collection_id}", summary="One collection")
    def collection(request: Request, collection_id: str) -> JSONResponse:
        doc = index.collection(collection_id, base_of(request))
        if doc is None:
            raise StacApiError(404, f"collection {collection_id!r} not found")
        return json_response(doc)

    def run_search(
        request: Request, base: str, params: dict[str, Any], *, path: str, post: bool, collection_id: str | None = None
    ) -> JSONResponse:
        bbox = parse_bbox(params.get("bbox"))
        intersects = parse_intersects(params.get("intersects"))
        if bbox is not None and intersects is not None:
            raise StacApiError(400, "use either bbox or intersects, not both")
        geometry, boxes = None, []
        if bbox is not None:
            geometry, boxes = bbox_geometry(bbox), [p.bounds for p in bbox_parts(bbox)]
        elif intersects is not None:
            geometry, boxes = intersects, query_boxes(intersects)
        start, end = parse_datetime_interval(params.get("datetime"))
        colls = parse_str_list(params.get("collections"), "collections")
        if collection_id is not None:
            colls = [collection_id]
        elif colls:
            known = {c["id"] for c in index.collections(base)}
            unknown = [c for c in colls if c not in known]
            if unknown:
                raise StacApiError(400, f"unknown collection(s): {', '.join(unknown)}")
        query = SearchQuery(
            geometry=geometry,
            boxes=boxes,
            dt_start=start,
            dt_end=end,
            ids=parse_str_list(params.get("ids"), "ids"),
            collections=colls,
            limit=parse_limit(params.get("limit")),
            offset=parse_token(params.get("token")),
            sortby=parse_sortby(params.get("sortby")),
        )
        fields = parse_fields(params.get("fields"))
        items, matched = index.search(query, base)
        features = [apply_fields(it, fields) for it in items]
        links: list[dict[str, Any]] = [{"rel": "root", "href": f"{base}/", "type": "application/json"}]
        nxt = query.offset + query.limit
        if post:
            links.append({"rel": "self", "href": f"{base}{path}", "type": GEOJSON, "method": "POST"})
            if nxt < matched:
                body = {k: v for k, v in params.items() if v is not None and k in _SEARCH_KEYS}
                body["token"] = str(nxt)
                links.append({"rel": "next", "href": f"{base}{path}", "type": GEOJSON, "method": "POST", "body": body})
        else:
            kept = [(k, v) for k, v in request.query_params.multi_items() if k in _SEARCH_KEYS]
            self_q = urlencode(kept)
            links.append({"rel": "self", "href": f"{base}{path}" + (f"?{self_q}" if self_q else ""), "type": GEOJSON})
            if nxt < matched:
                q = [(k, v) for k, v in kept if k != "token"] + [("token", str(nxt))]
                links.append({"rel": "next", "href": f"{base}{path}?{urlencode(q)}", "type": GEOJSON, "method": "GET"})
        if collection_id is not None:
            links.append(
                {"rel": "collection", "href": f"{base}/collections/{collection_id}", "type": "application/json"}
            )
        return json_response(
            {
                "type": "FeatureCollection",
                "features": features,
                "links": links,
                "numberMatched": matched,
                "numberReturned": len(features),
            },
            GEOJSON,
        )

    @app.get("/collections/{collection_id}/items", summary="Items of a collection")
    def collection_items(
        request: Request,
        collection_id: str,
        bbox: str | None = Query(None, description="minx,miny,maxx,maxy in EPSG:4326"),
        datetime: str | None = Query(None, description="RFC 3339 instant or START/END ('..' open)"),
        limit: int | None = Query(None, description="Page size, 1-10000"),
        token: str | None = Query(None, description="Page token from a next link"),
        sortby: str | None = Query(None, description="e.g. -properties.datetime,+id"),
        fields: str | None = Query(None, description="e.g. id,properties.gsd,-assets"),
    ) -> JSONResponse:
        base = base_of(request)
        if index.collection(collection_id, base) is None:
            raise StacApiError(404, f"collection {collection_id!r} not found")
        params = dict(bbox=bbox, datetime=datetime, limit=limit, token=token, sortby=sortby, fields=fields)
        return run_search(
            request, base, params, path=f"/collections/{collection_id}/items", post=False, collection_id=collection_id
        )

    @app.get("/collections/{collection_id}/items/{item_id}", summary="One item")
    def item(request: Request, collection_id: str, item_id: str) -> JSONResponse:
        base = base_of(request)
        if index.collection(collection_id, base) is None:
            raise StacApiError(404, f"collection {collection_id!r} not found")
        doc = index.item(collection_id, item_id, base)
        if doc is None:
            raise StacApiError(404, f"item {item_id!r} not found in collection {collection_id!r}")
        return json_response(doc, GEOJSON)

    @app.get("/search", summary="Item search (GET)")
    def search_get(
        request: Request,
        bbox: str | None = Query(None, description="minx,miny,maxx,maxy in EPSG:4326"),
        intersects: str | None = Query(None, description="GeoJSON geometry"),
        datetime: str | None = Query(None, description="RFC 3339 instant or START/END ('..' open)"),
        ids: str | None = Query(None, description="comma-separated item ids"),
        collections: str | None = Query(None, description="comma-separated collection ids"),
        limit: int | None = Query(None, description="Page size, 1-10000"),
        token: str | None = Query(None, description="Page token from a next link"),
        sortby: str | None = Query(None, description="e.g. -properties.datetime,+id"),
        fields: str | None = Query(None, description="e.g. id,properties.gsd,-assets"),
    ) -> JSONResponse:
        params = dict(
            bbox=bbox,
            intersects=intersects,
            datetime=datetime,
            ids=ids,
            collections=collections,
            limit=limit,
            token=token,
            sortby=sortby,
            fields=fields,
        )
        return run_search(request, base_of(request), params, path="/search", post=False)

    @app.post("/search", summary="Item search (POST)")
    def search_post(request: Request, body: SearchBody | None = Body(None)) -> JSONResponse:
        body = body or SearchBody()
        explicit_nulls = [k for k in body.model_fields_set if getattr(body, k, None) is None]
        if explicit_nulls:
            raise StacApiError(400, f"null is not a valid value for: {', '.join(sorted(explicit_nulls))}")
        params = body.model_dump(exclude_none=True)
        if body.fields is not None:
            params["fields"] = body.fields  # keep explicit nulls inside: {"include": null} means the default set
        return run_search(request, base_of(request), params, path="/search", post=True)

    @app.head(
        "/assets/{collection_id}/{item_id}/{key}/{filename}", include_in_schema=False, operation_id="head_asset_named"
    )
    @app.get(
        "/assets/{collection_id}/{item_id}/{key}/{filename}",
        summary="Asset bytes (HTTP Range)",
        operation_id="get_asset_named",
    )
    def named_asset(request: Request, collection_id: str, item_id: str, key: str, filename: str) -> FileResponse:
        return asset(request, collection_id, item_id, key, filename)

    @app.head("/assets/{collection_id}/{item_id}/{key}", include_in_schema=False, operation_id="head_asset")
    @app.get("/assets/{collection_id}/{item_id}/{key}", summary="Asset bytes (HTTP Range)", operation_id="get_asset")
    def asset(
        request: Request, collection_id: str, item_id: str, key: str, filename: str | None = None
    ) -> FileResponse:
        base_of(request)
        found = index.asset(collection_id, item_id, key)
        if found is None:
            raise StacApiError(404, "no such asset")
        path, media_type = found
        real = Path(os.path.realpath(path))
        if filename is not None and filename != real.name:
            raise StacApiError(404, "no such asset file name")
        if not any(r == real or r in real.parents for r in index.allowed_roots()) or not real.is_file():
            raise StacApiError(404, "asset file is not available")
        try:
            sha = index.asset_digest(str(real))
        except OSError:
            raise StacApiError(404, "asset file is not readable") from None
        headers = {
            "Repr-Digest": f"sha-256=:{_b64(sha)}:",
            "Digest": f"SHA-256={_b64(sha)}",
            "X-Checksum-Sha256": sha,
            "ETag": f'"{sha}"',
            "Content-Disposition": f'attachment; filename="{real.name}"',
        }
        return FileResponse(real, media_type=media_type or "application/octet-stream", headers=headers)

    return app


def serve(
    catalog_dir: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    asset_roots: Sequence[str | os.PathLike[str]] = (),
    db_path: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    proxy_headers: bool = False,
) -> None:
    """Serve ``catalog_dir`` until interrupted (blocking); see :func:`create_app` for the options."""
    uvicorn = _uvicorn()
    app = create_app(
        catalog_dir, asset_roots=asset_roots, db_path=db_path, base_url=base_url, proxy_headers=proxy_headers
    )
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False, server_header=False)


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("uvicorn", extra="server", purpose="eokit serve") from None
    return uvicorn


@contextlib.contextmanager
def running_app(app: Any, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 20.0) -> Iterator[str]:
    """Run an ASGI ``app`` in a background thread; yield its base URL (``http://127.0.0.1:PORT``).

    ``port=0`` picks a free port. The server stops when the block exits.
    """
    uvicorn = _uvicorn()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    actual = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", proxy_headers=False, server_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="eokit-stac-api")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            from eokit.errors import EokitError

            raise EokitError(f"the STAC API server did not start on {host}:{actual}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{actual}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def running_server(
    catalog_dir: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    timeout: float = 20.0,
    **options: Any,
) -> Iterator[str]:
    """Serve ``catalog_dir`` in a background thread; yield its base URL (``http://127.0.0.1:PORT``).

    ``options`` are those of :func:`create_app` (``asset_roots``, ``db_path``, ``base_url``...).
    """
    with running_app(create_app(catalog_dir, **options), host=host, port=port, timeout=timeout) as url:
        yield url
