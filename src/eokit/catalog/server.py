"""``eokit serve``: a STAC API on stac-fastapi over a catalog folder, backed by eokit's embedded index.

stac-fastapi provides the routes, request models and extensions (filter in CQL2 text and JSON,
fields, sort, query, free text, token paging, collection search); :mod:`eokit.catalog.api_client`
answers them from the SQLite index. Around it: assets served with HTTP Range and checksum headers
(``Repr-Digest``, ``Digest``, ``X-Checksum-Sha256``) under their own file names, a map page and the
API docs, request size limits, and links from a configured base URL. Only files referenced by the
catalog's items and lying inside the catalog folder (or an ``asset_roots`` folder given by the
caller, never by the catalog) are ever served.

>>> with running_server("out/") as url:  # doctest: +SKIP
...     requests.get(f"{url}/search", params={"limit": 5}).json()
"""

import base64
import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from eokit.catalog.api_filter import normalise_search_body
from eokit.catalog.api_http import BaseUrlMiddleware, HardeningMiddleware, check_base_url
from eokit.catalog.api_params import StacApiError
from eokit.catalog.index import CatalogIndex
from eokit.errors import InvalidInputError, MissingDependencyError

log = logging.getLogger(__name__)
# stac-fastapi builds a default ApiSettings at import and warns that its title is unset; ours is set below
logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)

__all__ = ["create_app", "running_app", "running_server", "serve"]

STATIC = Path(__file__).parent / "static"


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _extensions() -> tuple[list[Any], list[Any], Any]:
    """(search extensions, item-collection extensions, collection search) with the conformance that works."""
    from stac_fastapi.extensions import (
        CollectionSearchExtension,
        FieldsExtension,
        FreeTextExtension,
        ItemCollectionFilterExtension,
        OffsetPaginationExtension,
        QueryExtension,
        SearchFilterExtension,
        TokenPaginationExtension,
    )
    from stac_fastapi.extensions.fields import FieldsConformanceClasses
    from stac_fastapi.extensions.filter import FilterConformanceClasses as F
    from stac_fastapi.extensions.free_text import FreeTextConformanceClasses
    from stac_fastapi.extensions.query import QueryConformanceClasses
    from stac_fastapi.extensions.sort import ItemCollectionSortExtension, SearchSortExtension

    from eokit.catalog.api_client import EokitFiltersClient

    cql2 = [F.CQL2_TEXT, F.CQL2_JSON, F.BASIC_CQL2, F.ADVANCED_COMPARISON_OPERATORS, F.BASIC_SPATIAL_FUNCTIONS,
            F.BASIC_SPATIAL_FUNCTIONS_PLUS]  # fmt: skip
    search = [
        QueryExtension(),
        SearchSortExtension(),
        FieldsExtension(),
        SearchFilterExtension(client=EokitFiltersClient(), conformance_classes=[F.FILTER, F.SEARCH, *cql2]),
        TokenPaginationExtension(),
        FreeTextExtension(),
    ]
    items = [
        QueryExtension(conformance_classes=[QueryConformanceClasses.ITEMS]),
        ItemCollectionSortExtension(),
        FieldsExtension(conformance_classes=[FieldsConformanceClasses.ITEMS]),
        ItemCollectionFilterExtension(client=EokitFiltersClient(), conformance_classes=[F.FILTER, F.ITEMS, *cql2]),
        TokenPaginationExtension(),
    ]
    collections = CollectionSearchExtension.from_extensions(
        [FreeTextExtension(conformance_classes=[FreeTextConformanceClasses.COLLECTIONS]), OffsetPaginationExtension()]
    )
    return search, items, collections


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
    """The STAC API (a stac-fastapi application) serving ``catalog_dir``.

    The SQLite index is (re)built at start and whenever the catalog's top-level documents
    change (checked at most every ``refresh_interval`` seconds). Links start with
    ``base_url`` (e.g. ``https://example.org/stac``); without it, with the address the
    connection was accepted on, or with ``X-Forwarded-*`` headers when ``proxy_headers``.
    Request bodies over ``max_body`` bytes get 413.
    """
    try:
        from fastapi import FastAPI, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.openapi.docs import get_swagger_ui_html
        from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
        from fastapi.staticfiles import StaticFiles
        from stac_fastapi.api.app import StacApi
        from stac_fastapi.api.models import (
            ItemCollectionUri,
            create_get_request_model,
            create_post_request_model,
            create_request_model,
        )
        from stac_fastapi.types.config import ApiSettings
        from stac_fastapi.types.search import APIRequest
        from starlette.exceptions import HTTPException
        from starlette.middleware import Middleware
        from starlette.middleware.cors import CORSMiddleware
    except ImportError:
        raise MissingDependencyError("stac-fastapi.api", extra="server", purpose="eokit serve") from None
    from eokit.catalog.api_client import EokitCoreClient, EokitSearch

    base_url = check_base_url(base_url) if base_url else None
    index = CatalogIndex(catalog_dir, db_path=db_path, asset_roots=asset_roots)
    landing_title = title or f"eokit STAC API: {index.catalog_dir.name}"
    description = f"STAC API over the catalog in {index.catalog_dir.name}, served by eokit."
    settings = ApiSettings(
        stac_fastapi_title=landing_title,
        stac_fastapi_description=description,
        stac_fastapi_landing_id="eokit",
        stac_fastapi_version="1.0.0",
        openapi_url="/api",
        docs_url="/api.html",
    )
    search, items, collections = _extensions()
    app = FastAPI(openapi_url="/api", docs_url=None, redoc_url=None, title=landing_title, version="1.0.0",
                  description=description)  # fmt: skip
    api = StacApi(
        app=app,
        settings=settings,
        client=EokitCoreClient(title=landing_title, description=description, landing_page_id="eokit"),
        extensions=[*search, *items, collections],
        search_get_request_model=create_get_request_model(search),
        search_post_request_model=create_post_request_model(search, base_model=EokitSearch),
        items_get_request_model=cast(
            "type[APIRequest]",
            create_request_model(
                "ItemCollectionUri", base_model=ItemCollectionUri, extensions=items, request_type="GET"
            ),
        ),
        collections_get_request_model=collections.GET,
        middlewares=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["OPTIONS", "POST", "GET"],
                allow_headers=["Content-Type"],
                max_age=600,
            ),
            Middleware(BaseUrlMiddleware, base_url=base_url, proxy_headers=proxy_headers),
        ],
    )
    app = api.app
    app.state.index = index
    app.state.refresh_interval = refresh_interval
    app.add_middleware(HardeningMiddleware, max_body=max_body, rewrite=normalise_search_body)

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
        return error(400, "; ".join(parts)[:2000] or "invalid request", "BadRequest")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        codes = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 416: "RangeNotSatisfiable"}
        return error(exc.status_code, str(exc.detail), codes.get(exc.status_code, "Error"))

    # Leaflet is the one copy eokit bundles for every page it writes (eokit/io/web); mounted before /static
    app.mount("/static/leaflet", StaticFiles(directory=Path(__file__).parents[1] / "io" / "web" / "leaflet"))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/map.html", include_in_schema=False)
    def map_html() -> FileResponse:
        return FileResponse(STATIC / "map.html", media_type="text/html")

    @app.get("/api.html", include_in_schema=False)
    def swagger_ui_html() -> HTMLResponse:  # the name stac-fastapi's landing page links to
        return get_swagger_ui_html(
            openapi_url="./api",
            title=f"{landing_title} - API documentation",
            swagger_js_url="./static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="./static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="./static/swagger-ui/favicon-32x32.png",
        )

    @app.head("/assets/{collection_id}/{item_id}/{key}/{filename}", include_in_schema=False,
              operation_id="head_asset_named")  # fmt: skip
    @app.get("/assets/{collection_id}/{item_id}/{key}/{filename}", summary="Asset bytes (HTTP Range)",
             operation_id="get_asset_named")  # fmt: skip
    def named_asset(collection_id: str, item_id: str, key: str, filename: str) -> FileResponse:
        return asset(collection_id, item_id, key, filename)

    @app.head("/assets/{collection_id}/{item_id}/{key}", include_in_schema=False, operation_id="head_asset")
    @app.get("/assets/{collection_id}/{item_id}/{key}", summary="Asset bytes (HTTP Range)", operation_id="get_asset")
    def asset(collection_id: str, item_id: str, key: str, filename: str | None = None) -> FileResponse:
        index.refresh(min_interval=refresh_interval)
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
    catalog_dir: str | os.PathLike[str] | None = None,
    *,
    backend: str = "embedded",
    dsn: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    asset_roots: Sequence[str | os.PathLike[str]] = (),
    db_path: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    proxy_headers: bool = False,
) -> None:
    """Serve until interrupted (blocking): ``catalog_dir`` with the embedded index, or the pgstac
    database at ``dsn`` (``backend="pgstac"``); see :func:`create_app` for the options.

    ``workers`` > 1 runs that many server processes on the port (uvicorn's process manager); the
    embedded index is built once here first, so the workers find it ready.
    """
    uvicorn = _uvicorn()
    if backend == "pgstac":
        if not dsn:
            raise InvalidInputError("the pgstac backend needs a PostgreSQL connection string", param="dsn")
        options: dict[str, Any] = {"backend": backend, "dsn": dsn}
    elif backend == "embedded":
        if catalog_dir is None:
            raise InvalidInputError(
                "the embedded backend serves a catalog folder: give CATALOG_DIR", param="catalog_dir"
            )
        options = {"backend": backend, "catalog_dir": os.fspath(catalog_dir), "db_path": db_path and os.fspath(db_path),
                   "asset_roots": [os.fspath(r) for r in asset_roots]}  # fmt: skip
    else:
        raise InvalidInputError(f"unknown backend {backend!r} (embedded or pgstac)", param="backend")
    if workers < 1:
        raise InvalidInputError("workers must be at least 1", param="workers")
    options.update(base_url=base_url, proxy_headers=proxy_headers)
    run = {"host": host, "port": port, "log_level": "info", "proxy_headers": False, "server_header": False}
    if workers == 1:
        uvicorn.run(_app_from_options(options), **run)
        return
    if backend == "embedded":  # build (or validate) the index once, before the workers start
        CatalogIndex(options["catalog_dir"], db_path=options["db_path"], asset_roots=options["asset_roots"])
    os.environ[_OPTIONS_ENV] = json.dumps(options)  # the workers are new processes: options travel by env
    uvicorn.run("eokit.catalog.server:app_from_environment", factory=True, workers=workers, **run)


_OPTIONS_ENV = "EOKIT_SERVE_OPTIONS"


def _app_from_options(options: dict[str, Any]) -> Any:
    opts = dict(options)
    if opts.pop("backend") == "pgstac":
        from eokit.catalog.api_pgstac import create_pgstac_app

        return create_pgstac_app(opts.pop("dsn"), **opts)
    return create_app(opts.pop("catalog_dir"), **opts)


def app_from_environment() -> Any:
    """The application a worker process of :func:`serve` runs (options from ``EOKIT_SERVE_OPTIONS``)."""
    return _app_from_options(json.loads(os.environ[_OPTIONS_ENV]))


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("uvicorn", extra="server", purpose="eokit serve") from None
    return uvicorn


@contextlib.contextmanager
def running_app(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 20.0, lifespan: str = "auto"
) -> Iterator[str]:
    """Run an ASGI ``app`` in a background thread; yield its base URL (``http://127.0.0.1:PORT``).

    ``port=0`` picks a free port. The server stops when the block exits.
    """
    uvicorn = _uvicorn()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    actual = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, proxy_headers=False, server_header=False)
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
