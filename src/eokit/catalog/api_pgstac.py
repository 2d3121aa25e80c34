"""PostgreSQL as the store when one machine is not enough: publish a catalog folder into pgstac
(through ``pypgstac``) and serve it with ``stac-fastapi-pgstac``, behind the same hardening as the
embedded backend (body limits, trusted base URL, errors that keep connections alive).

The DSN is a libpq connection string (``postgresql://user:password@host:5432/db`` or
``host=... dbname=...``); passwords are never logged.

>>> publish_pgstac("out/", "postgresql://eokit@localhost/stac")  # doctest: +SKIP
>>> app = create_pgstac_app("postgresql://eokit@localhost/stac")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eokit.catalog.index import json_type
from eokit.catalog.index_walk import CatalogWalker
from eokit.errors import InputNotFoundError, InvalidInputError, MissingDependencyError, ProviderError

log = logging.getLogger(__name__)

__all__ = ["PublishResult", "create_pgstac_app", "publish_pgstac"]


@dataclass(frozen=True)
class PublishResult:
    """What :func:`publish_pgstac` loaded."""

    collections: int
    items: int


def _conninfo(dsn: str) -> dict[str, str]:
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise MissingDependencyError("psycopg", extra="pgstac", purpose="pgstac") from None
    try:
        return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except Exception:  # psycopg.ProgrammingError and friends; the DSN may hold a password: never echo it
        raise InvalidInputError("not a PostgreSQL connection string", param="dsn") from None


def _remote_links(doc: dict[str, Any]) -> list[dict[str, Any]]:
    links = doc.get("links")
    return [ln for ln in (links if isinstance(links, list) else []) if isinstance(ln, dict)
            and "://" in str(ln.get("href", ""))]  # fmt: skip


def _provisional(cid: str) -> dict[str, Any]:
    """A plain catalog's stand-in collection before its items are read (its extent comes from them)."""
    return {"type": "Collection", "stac_version": "1.0.0", "id": cid, "description": f"Items of the catalog {cid}",
            "license": "other", "links": [], "extent": {"spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
                                                        "temporal": {"interval": [[None, None]]}}}  # fmt: skip


def publish_pgstac(
    catalog_dir: str | os.PathLike[str],
    dsn: str,
    *,
    max_document_bytes: int = 64 << 20,
) -> PublishResult:
    """Load every collection and item of ``catalog_dir`` into the pgstac database at ``dsn``.

    The pgstac schema is created or migrated first (``pypgstac migrate``); collections and items
    are upserted, so publishing again after the catalog changed updates the database. Links are
    followed as the embedded server follows them (confined to the folder, size-limited); items
    are read and loaded a chunk at a time. The items' properties are then registered as typed
    queryables: pgstac reads a property it has no queryable for as text (``10`` before ``9``).
    """
    try:
        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader, Methods
        from pypgstac.migrate import Migrate
    except ImportError:
        raise MissingDependencyError("pypgstac", extra="pgstac", purpose="eokit catalog publish --pgstac") from None
    folder = Path(catalog_dir).resolve()
    if not any((folder / n).is_file() for n in ("catalog.json", "collection.json")):
        raise InputNotFoundError("folder holds no catalog.json or collection.json", path=catalog_dir)
    _conninfo(dsn)
    import psycopg

    try:  # the loader's pool retries an unreachable server for minutes: ask once, quickly, first
        psycopg.connect(dsn, connect_timeout=10).close()
    except psycopg.OperationalError as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__  # libpq never echoes the password
        raise ProviderError(f"cannot connect to the pgstac database ({detail})") from None
    kinds: dict[str, set[str]] = {}
    n_collections = n_items = 0

    def records(cid: str, items: Iterator[tuple[dict[str, Any], Path]]) -> Iterator[dict[str, Any]]:
        nonlocal n_items
        for item, _ in items:
            if not isinstance(item.get("id"), str):
                continue
            props = item.get("properties")
            for name, value in props.items() if isinstance(props, dict) else ():
                if kind := json_type(value):
                    kinds.setdefault(str(name), set()).add(kind)
            n_items += 1
            yield dict(item, collection=cid, links=_remote_links(item))

    try:
        with PgstacDB(dsn=dsn) as db:
            Migrate(db).run_migration()
            loader = Loader(db)
            for cid, items, collection in CatalogWalker(folder, max_bytes=max_document_bytes).collections():
                first = collection()  # None for a plain catalog's stand-in until its items are read
                loader.load_collections(iter([dict(first or _provisional(cid), links=_remote_links(first or {}))]),
                                        Methods.upsert)  # fmt: skip
                loader.load_items(records(cid, items), Methods.upsert, chunksize=2000)
                final = collection()
                if final is None:  # none of its items could be read: the embedded index has no such collection
                    db.connect().execute("SELECT delete_collection(%s)", [cid])
                    continue
                if first is None:
                    loader.load_collections(iter([dict(final, links=_remote_links(final))]), Methods.upsert)
                n_collections += 1
            queryables = {name: {"type": next(iter(k))} for name, k in sorted(kinds.items()) if len(k) == 1}
            if queryables:  # typed, so pgstac filters and sorts numbers as numbers, as the embedded index does
                db.connect().execute("SELECT upsert_queryables(%s::jsonb)", [json.dumps({"properties": queryables})])
    except psycopg.Error as exc:  # the server's message, never the DSN (it may hold a password)
        raise ProviderError(f"pgstac: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from None
    log.info("published %d collections and %d items of %s to pgstac", n_collections, n_items, folder)
    return PublishResult(collections=n_collections, items=n_items)


def _fields_of(search_request: Any) -> tuple[list[str] | None, list[str]] | None:
    """The fields request as :func:`eokit.catalog.api_params.parse_fields` returns it, or None."""
    f = getattr(search_request, "fields", None)
    if f is None or "fields" not in search_request.model_fields_set:
        return None
    given = f.model_fields_set
    include = sorted(f.include) if "include" in given and f.include is not None else None
    if include is None and "include" in given:
        include = []
    exclude = sorted(f.exclude or []) if "exclude" in given else []
    if include is None and not exclude:
        include = []
    return include, exclude


def _client_class() -> Any:
    """stac-fastapi-pgstac's client, with bboxes across the antimeridian searched as two boxes.

    pgstac reads a west > east bbox as the box the long way round; the embedded backend (and the
    STAC API spec) mean the narrow one, so such a bbox is sent as the equivalent MultiPolygon.
    """
    import asyncpg
    from geojson_pydantic import MultiPolygon
    from shapely.geometry import mapping
    from stac_fastapi.pgstac.core import CoreCrudClient
    from stac_fastapi.types.errors import InvalidQueryParameter

    from eokit.catalog.api_filter import bbox_literals
    from eokit.catalog.api_params import apply_fields
    from eokit.core.geometry import bbox_crosses_antimeridian, bbox_geometry

    class EokitPgstacClient(CoreCrudClient):
        async def _search_base(self, search_request: Any, request: Any) -> Any:
            update: dict[str, Any] = {}
            bbox = getattr(search_request, "bbox", None)
            if bbox is not None and bbox_crosses_antimeridian(list(bbox)):
                update.update(bbox=None, intersects=MultiPolygon(**mapping(bbox_geometry(list(bbox)))))
            cql = getattr(search_request, "filter_expr", None)
            if isinstance(cql, dict):  # GET filters reach here already as CQL2 JSON
                try:
                    update["filter_expr"] = bbox_literals(cql)
                except ValueError as exc:
                    raise InvalidQueryParameter(str(exc)) from None
            fields = _fields_of(search_request)
            if fields is not None:  # the fields extension as the embedded backend (and the validator) read it
                update["fields"] = None
            if update:
                search_request = search_request.model_copy(update=update)
            with _client_errors_are_400():
                result = await super()._search_base(search_request, request)
            if fields is not None:
                result["features"] = [apply_fields(f, fields) for f in result.get("features", [])]
            return result

        # GET parameters holding JSON (query, intersects) are decoded by stac-fastapi-pgstac, which lets
        # a decoding error through as a 500, as it does pgstac refusing a query: both are the client's
        async def get_search(self, *args: Any, **kwargs: Any) -> Any:
            with _client_errors_are_400():
                return await super().get_search(*args, **kwargs)

        async def item_collection(self, *args: Any, **kwargs: Any) -> Any:
            with _client_errors_are_400():
                return await super().item_collection(*args, **kwargs)

        async def all_collections(self, *args: Any, **kwargs: Any) -> Any:
            with _client_errors_are_400():
                return await super().all_collections(*args, **kwargs)

    @contextmanager
    def _client_errors_are_400() -> Iterator[None]:
        """JSON that does not decode, pgstac refusing a query (RAISE), the type errors PostgreSQL finds in what
        a filter compares (``filter=true`` on collections, a string compared with a number) and free text
        that is no valid tsquery (``q=a(b``): 400s."""
        import orjson

        refused = (
            asyncpg.exceptions.RaiseError,
            asyncpg.exceptions.DataError,
            asyncpg.exceptions.DatatypeMismatchError,
            asyncpg.exceptions.UndefinedFunctionError,
            asyncpg.exceptions.PostgresSyntaxError,
        )
        try:
            yield
        except orjson.JSONDecodeError as exc:
            raise InvalidQueryParameter(f"a parameter is not valid JSON: {exc}") from None
        except refused as exc:
            raise InvalidQueryParameter(str(exc).splitlines()[0][:300]) from None

    return EokitPgstacClient


def create_pgstac_app(
    dsn: str,
    *,
    title: str | None = None,
    base_url: str | None = None,
    proxy_headers: bool = False,
    max_body: int = 1 << 20,
) -> Any:
    """The stac-fastapi-pgstac application over the database at ``dsn``, hardened like the embedded one.

    Read-only: no transaction extension. The connection pool opens with the application's lifespan.
    """
    try:
        from fastapi import FastAPI, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse
        from stac_fastapi.pgstac.app import instantiate_api
        from stac_fastapi.pgstac.config import PostgresSettings, Settings
        from stac_fastapi.pgstac.db import close_db_connection, connect_to_db
        from starlette.exceptions import HTTPException
        from starlette.middleware import Middleware
        from starlette.middleware.cors import CORSMiddleware
    except ImportError:
        raise MissingDependencyError(
            "stac-fastapi-pgstac", extra="pgstac", purpose="eokit serve --backend pgstac"
        ) from None
    from eokit.catalog.api_filter import normalise_search_body
    from eokit.catalog.api_http import BaseUrlMiddleware, GeoJsonSearchMiddleware, HardeningMiddleware, check_base_url

    base_url = check_base_url(base_url) if base_url else None
    info = _conninfo(dsn)
    user = info.get("user") or os.environ.get("PGUSER") or os.environ.get("USER") or "postgres"
    postgres = PostgresSettings(
        pguser=user,
        pgpassword=info.get("password") or os.environ.get("PGPASSWORD", ""),
        pghost=info.get("host") or os.environ.get("PGHOST", "localhost"),
        pgport=int(info.get("port") or os.environ.get("PGPORT") or "5432"),
        pgdatabase=info.get("dbname") or os.environ.get("PGDATABASE", user),
    )
    landing_title = title or "eokit STAC API (pgstac)"
    settings = Settings(
        stac_fastapi_title=landing_title,
        stac_fastapi_description="STAC API over a pgstac database, served by eokit.",
        stac_fastapi_landing_id="eokit",
        stac_fastapi_version="1.0.0",
        enabled_extensions=["query", "sort", "fields", "filter", "pagination", "free_text", "collection_search"],
        openapi_url="/api",
        docs_url="/api.html",
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await connect_to_db(app, postgres_settings=postgres)
        yield
        await close_db_connection(app)

    api = instantiate_api(client=_client_class(), settings=settings, lifespan=lifespan)
    app = api.app
    # replace stac-fastapi-pgstac's ProxyHeaderMiddleware: links only from the trusted base URL
    app.user_middleware = [
        m
        for m in app.user_middleware
        if getattr(m.cls, "__name__", "") not in ("ProxyHeaderMiddleware", "CORSMiddleware")
    ]
    app.user_middleware.insert(
        0,
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["OPTIONS", "POST", "GET"],
                   allow_headers=["Content-Type"], max_age=600),
    )  # fmt: skip
    app.user_middleware.insert(0, Middleware(BaseUrlMiddleware, base_url=base_url, proxy_headers=proxy_headers))
    app.add_middleware(GeoJsonSearchMiddleware)
    app.add_middleware(HardeningMiddleware, max_body=max_body, rewrite=normalise_search_body)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()[:5]]
        return JSONResponse({"code": "BadRequest", "description": "; ".join(parts)[:2000]}, status_code=400)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        """stac-fastapi-pgstac's own 400s (``{"detail": ...}``) with the STAC error body, as the embedded backend."""
        codes = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed"}
        body = {"code": codes.get(exc.status_code, "Error"), "description": str(exc.detail)[:2000]}
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    return app
