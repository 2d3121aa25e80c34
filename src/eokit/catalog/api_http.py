"""HTTP hardening for the STAC API: body size limit (413), JSON depth limit (400), errors that keep
the connection alive (500 answered, never re-raised), and the base URL links are built from.

The base URL comes from the configuration (``--base-url``); with ``proxy_headers`` it honours
``X-Forwarded-Proto``/``-Host``/``-Prefix``; otherwise it is the address the connection was
accepted on. The request's ``Host`` header is never reflected into links.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from eokit.catalog.api_params import load_json
from eokit.errors import InvalidInputError

log = logging.getLogger(__name__)

__all__ = ["BaseUrlMiddleware", "HardeningMiddleware", "base_url_of", "check_base_url"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(:[0-9]{1,5})?$")
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~\-]+)*/?$")


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash, after checking it is a plain http(s) URL."""
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not _HOST.match(parts.netloc)
        or not _PREFIX.match(parts.path or "/")
        or parts.query
        or parts.fragment
    ):
        raise InvalidInputError(f"not an http(s) URL without query: {url!r}", param="base_url")
    return url.rstrip("/")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1").split(",")[0].strip())
    return None


def base_url_of(scope: Scope, *, base_url: str | None, proxy_headers: bool) -> str:
    """The base URL links are built from (see the module docstring)."""
    if base_url:
        return base_url
    scheme = scope.get("scheme", "http")
    host, port = (scope.get("server") or ("127.0.0.1", 80))[:2]
    netloc = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    prefix = ""
    if proxy_headers:
        proto = _header(scope, b"x-forwarded-proto")
        fwd_host = _header(scope, b"x-forwarded-host")
        fwd_prefix = _header(scope, b"x-forwarded-prefix")
        if proto in ("http", "https"):
            scheme = proto
        if fwd_host and _HOST.match(fwd_host):
            netloc = fwd_host
        if fwd_prefix and _PREFIX.match(fwd_prefix):
            prefix = fwd_prefix.rstrip("/")
    return f"{scheme}://{netloc}{prefix}"


async def _send_error(send: Send, status: int, code: str, description: str, *, close: bool = False) -> None:
    body = json.dumps({"code": code, "description": description}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HardeningMiddleware:
    """Outermost ASGI layer: caps request bodies, refuses over-deep JSON, answers unexpected errors.

    Parameters
    ----------
    app : ASGI application
    max_body : int
        Largest request body in bytes; larger ones get 413 (checked on ``Content-Length`` and
        on the bytes actually received).
    rewrite : callable, optional
        Applied to JSON object bodies before the application sees them (a ValueError is a 400).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int = 1 << 20,
        rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.rewrite = rewrite

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _send_error(send, 413, "PayloadTooLarge", f"request body over {self.max_body} bytes", close=True)
            return
        chunks, size = [], 0
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    await _send_error(
                        send, 413, "PayloadTooLarge", f"request body over {self.max_body} bytes", close=True
                    )
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            if body.strip() and b"json" in (_header(scope, b"content-type") or "").encode():
                try:
                    doc = load_json(body)
                except ValueError as exc:
                    await _send_error(send, 400, "BadRequest", f"request body is not valid JSON: {exc}")
                    return
                if not isinstance(doc, dict):
                    await _send_error(send, 400, "BadRequest", "request body must be a JSON object")
                    return
                if self.rewrite is not None:
                    try:
                        body = json.dumps(self.rewrite(doc)).encode()
                    except ValueError as exc:
                        await _send_error(send, 400, "BadRequest", str(exc))
                        return
                    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
                    scope = dict(scope, headers=[*headers, (b"content-length", str(len(body)).encode())])
            replayed = False

            async def receive_body() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            receive = receive_body
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unexpected error serving %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await _send_error(send, 500, "ServerError", "internal error")


_FORWARDING = {b"host", b"forwarded", b"x-forwarded-host", b"x-forwarded-proto", b"x-forwarded-prefix",
               b"x-forwarded-port", b"x-forwarded-for"}  # fmt: skip


class BaseUrlMiddleware:
    """Makes every request's base URL the configured one (see :func:`base_url_of`).

    The scope's scheme, ``Host`` header and ``root_path`` are replaced, so anything that builds
    URLs from the request (stac-fastapi's links, ``url_for``) uses the trusted base URL and never
    a client-supplied ``Host`` or ``X-Forwarded-*`` header.
    """

    def __init__(self, app: ASGIApp, *, base_url: str | None = None, proxy_headers: bool = False) -> None:
        self.app = app
        self.base_url = check_base_url(base_url) if base_url else None
        self.proxy_headers = proxy_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        base = urlsplit(base_url_of(scope, base_url=self.base_url, proxy_headers=self.proxy_headers))
        headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() not in _FORWARDING]
        headers.append((b"host", base.netloc.encode("latin-1")))
        prefix = base.path.rstrip("/")
        path = scope.get("path", "")
        if prefix and not path.startswith(prefix + "/") and path != prefix:
            path = prefix + path  # a proxy that stripped the prefix: routes still match via root_path
        scope = dict(scope, scheme=base.scheme, headers=headers, root_path=prefix, path=path)
        scope.pop("app_root_path", None)
        await self.app(scope, receive, send)


class GeoJsonSearchMiddleware:
    """Item-search answers are ``application/geo+json`` (stac-fastapi-pgstac sends plain JSON when the
    fields extension is used)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not (path.endswith("/search") or path.endswith("/items")):
            await self.app(scope, receive, send)
            return

        async def send_geojson(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 200:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-type"]
                message = dict(message, headers=[*headers, (b"content-type", b"application/geo+json")])
            await send(message)

        await self.app(scope, receive, send_geojson)
