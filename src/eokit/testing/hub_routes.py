"""Request handling of :class:`eokit.testing.hub_server.LocalHub` (CDSE, DHuS, STAC, files)."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from eokit.testing.hub_bodies import ProductBodies
from eokit.testing.hub_odata import ODataSyntaxError, compile_filter, compile_solr
from eokit.testing.hub_stac import StacRoutes

__all__ = ["HubHandler"]

_SENDFILE_STEP = 1 << 20


class HubHandler(ProductBodies, StacRoutes, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    hub: Any = None
    role = "main"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _record(self, status: int) -> None:
        with self.hub.lock:
            self.hub.stats["requests"].append(
                {
                    "method": self.command,
                    "path": self.path,
                    "range": self.headers.get("Range"),
                    "status": status,
                    "role": self.role,
                    "auth": "bearer" if str(self.headers.get("Authorization", "")).startswith("Bearer") else None,
                }
            )

    def _send(
        self,
        status: int,
        body: bytes | str | Any = b"",
        ctype: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        if not isinstance(body, bytes | str):
            body = json.dumps(body, default=str)
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._record(status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _params(self) -> dict[str, str]:
        query = urlsplit(self.path).query
        return {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True, encoding="latin-1").items()}

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _basic_ok(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            return False
        return self.hub.users.get(user) == password

    # -- dispatch -------------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._route()

    def do_HEAD(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        self._settle(next_request=True)
        path = unquote(urlsplit(self.path).path, encoding="utf-8")
        try:
            if self.role == "zipper":
                return self._cdse_download(path, zipper=True)
            if path == "/_hub/stats":
                return self._stats()
            if path.startswith("/auth/"):
                return self._token()
            if path.startswith("/odata/v1/"):
                return self._cdse_catalogue(path[len("/odata/v1/") :])
            if path.startswith("/download/odata/v1/"):
                return self._cdse_download(path[len("/download/odata/v1/") :], zipper=False)
            if path.startswith("/dhus/"):
                return self._dhus(path[len("/dhus/") :])
            if path.startswith("/stac"):
                return self._stac(path[len("/stac") :].strip("/"))
            if path.startswith("/files/"):
                _, pid, _name = path.split("/", 3)[1:] if path.count("/") >= 3 else ("", "", "")
                p = self.hub.products.get(pid)
                if p is None:
                    return self._send(404, {"detail": "not found"})
                return self._serve_product(p, None)
            return self._send(404, {"detail": f"no route {path}"})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a test server must answer, not hang up
            self._send(500, {"code": "InternalError", "description": f"{type(exc).__name__}: {exc}"})

    def _stats(self) -> None:
        """Live counters for a hub running in another process (see :mod:`eokit.testing.hub_process`)."""
        hub = self.hub
        with hub.lock:
            body = {
                "bytes_sent": hub.stats["bytes_sent"],
                "bytes_delivered": hub.stats["bytes_delivered"],
                "bytes_by_product": dict(hub.stats["bytes_by_product"]),
                "active_downloads": hub._active_downloads,
                "unsettled_downloads": hub._unsettled,
                "max_concurrent_downloads": hub.stats["max_concurrent_downloads"],
                "requests": len(hub.stats["requests"]),
                "faults": len(hub.stats["faults"]),
            }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # -- CDSE -----------------------------------------------------------------------------------------------------

    def _token(self) -> None:
        if self.command != "POST":
            return self._send(405, {"error": "method not allowed"})
        form = {k: v[-1] for k, v in parse_qs(self._body().decode()).items()}
        hub = self.hub
        if form.get("client_id") != "cdse-public":
            return self._send(401, {"error": "invalid_client"})
        with hub.lock:
            if form.get("grant_type") == "password":
                hub.stats["password_grants"] += 1
                if hub.users.get(form.get("username")) != form.get("password"):
                    return self._send(401, {"error": "invalid_grant", "error_description": "Invalid user credentials"})
                return self._send(200, hub._issue())
            if form.get("grant_type") == "refresh_token":
                hub.stats["refresh_grants"] += 1
                expiry = hub.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if expiry is None or time.monotonic() >= expiry:
                    return self._send(400, {"error": "invalid_grant", "error_description": "Token is not active"})
                return self._send(200, hub._issue())
        return self._send(400, {"error": "unsupported_grant_type"})

    def _cdse_catalogue(self, rest: str) -> None:
        hub = self.hub
        params = self._params()
        expand = params.get("$expand", "")
        m = re.fullmatch(r"Products\(([^)]*)\)", rest)
        if m:
            p = hub.products.get(m.group(1).strip("'"))
            if p is None:
                return self._send(404, {"detail": {"message": f"Product {m.group(1)} not found"}})
            return self._send(200, hub.cdse_json(p, expand))
        if rest != "Products":
            return self._send(404, {"detail": "unknown entity"})
        try:
            keep = compile_filter(params.get("$filter"))
            top = int(params.get("$top", 20))
            skip = int(params.get("$skip", 0))
        except (ODataSyntaxError, ValueError) as exc:
            return self._send(400, {"detail": f"Invalid filter/paging: {exc}"})
        if top > hub.max_top or top < 0:
            return self._send(400, {"detail": f"$top must be between 0 and {hub.max_top}"})
        if skip > hub.max_skip or skip < 0:
            return self._send(400, {"detail": f"$skip must be between 0 and {hub.max_skip}"})
        with hub.lock:
            products = list(hub.products.values())
        matched = [p for p in products if keep(hub.filter_record(p))]
        order = params.get("$orderby", "")
        if order:
            field, _, direction = order.partition(" ")
            getter = {
                "ContentDate/Start": lambda p: p.start,
                "ContentDate/End": lambda p: p.end,
                "PublicationDate": lambda p: p.published,
                "Name": lambda p: p.name,
            }.get(field)
            if getter is None:
                return self._send(400, {"detail": f"cannot order by {field}"})
            matched.sort(key=lambda p: (_sortable(getter(p)), p.id), reverse=direction.strip() == "desc")
        page = matched[skip : skip + top]
        body: dict[str, Any] = {
            "@odata.context": "$metadata#Products",
            "value": [hub.cdse_json(p, expand) for p in page],
        }
        if params.get("$count") == "true":
            body["@odata.count"] = len(matched)
        if skip + top < len(matched):
            nxt = dict(params, **{"$skip": str(skip + top)})
            body["@odata.nextLink"] = f"{hub.cdse_urls['catalogue_url']}/Products?{urlencode(nxt)}"
        return self._send(200, body)

    def _cdse_download(self, rest: str, *, zipper: bool) -> None:
        hub = self.hub
        if zipper:
            rest = rest[len("/odata/v1/") :] if rest.startswith("/odata/v1/") else rest.lstrip("/")
        nm = re.fullmatch(r"Products\(([^)]*)\)/Nodes\(([^)]*)\)((?:/Nodes\([^)]*\))+)/\$value", rest)
        if nm:
            if not hub.token_valid(self.headers.get("Authorization")):
                return self._send(401, {"detail": "Expired signature or missing token"})
            node_product = hub.products.get(nm.group(1))
            rel = "/".join(re.findall(r"Nodes\(([^)]*)\)", nm.group(3)))
            data = (node_product.nodes or {}).get(rel) if node_product is not None else None
            if data is None:
                return self._send(404, {"detail": "node not found"})
            return self._send(200, data, "application/octet-stream")
        m = re.fullmatch(r"(Products|Assets)\(([^)]*)\)/\$value", rest)
        if not m:
            return self._send(404, {"detail": "unknown download path"})
        if not hub.token_valid(self.headers.get("Authorization")):
            return self._send(401, {"detail": "Expired signature or missing token"})
        p = hub.products.get(m.group(2))
        if p is None or p.raw_json is not None:
            return self._send(404, {"detail": "product not found"})
        if m.group(1) == "Assets":
            if not p.quicklook:
                return self._send(404, {"detail": "no quicklook"})
            return self._send(200, p.quicklook, "image/jpeg")
        if not zipper and hub.redirect_downloads:
            self._record(307)
            self.send_response(307)
            self.send_header("Location", f"{hub.zipper_url}/odata/v1/{rest}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if not p.online:
            return self._send(422, {"detail": "Product is offline; it will be restored by the service"})
        return self._serve_product(p, "bearer")

    # -- DHuS -----------------------------------------------------------------------------------------------------

    def _dhus(self, rest: str) -> None:
        hub = self.hub
        if rest == "api/stub/version":
            return self._send(200, {"value": "3.0.0-eokit"})
        if not self._basic_ok():
            return self._send(
                401,
                "<html><body>Unauthorized</body></html>",
                "text/html",
                {"WWW-Authenticate": 'Basic realm="OData service"'},
            )
        params = self._params()
        if rest == "search":
            return self._dhus_search(params)
        m = re.fullmatch(r"odata/v1/Products\('([^']*)'\)(.*)", rest)
        if not m:
            return self._send(404, {"error": {"code": None, "message": {"lang": "en", "value": "Not found"}}})
        p = hub.products.get(m.group(1))
        tail = m.group(2)
        if p is not None:
            hub.restore_if_due(p)
        if p is None or p.raw_json is not None:
            return self._send(
                404,
                {
                    "error": {
                        "code": None,
                        "message": {"lang": "en", "value": f"Invalid key ({m.group(1)}) to access Products"},
                    }
                },
            )
        if tail in ("", "/"):
            return self._send(200, hub.dhus_odata(p, "Attributes" in params.get("$expand", "")))
        if tail == "/Online/$value":
            return self._send(200, "true" if p.online else "false", "text/plain")
        if tail == "/Attributes('Filename')/Value/$value":
            return self._send(200, p.name + p.extension, "text/plain")
        if tail == "/Products('Quicklook')/$value":
            if not p.quicklook:
                return self._send(404, {"error": {"message": {"value": "No quicklook"}}})
            return self._send(200, p.quicklook, "image/jpeg")
        if tail == "/$value":
            if not p.online:
                with hub.lock:
                    hub._lta_ready.setdefault(p.id, time.monotonic() + hub.lta_delay)
                return self._send(202, b"", "text/plain", {"cause-message": "Product retrieval accepted"})
            return self._serve_product(p, "basic")
        nm = re.fullmatch(
            r"/Nodes\('([^']*)'\)((?:/Nodes\('[^']*'\))+)(\?\$format=json|/\$value)?",
            tail + ("?$format=json" if params.get("$format") == "json" and "?" not in tail else ""),
        )
        if nm and p.nodes:
            rel = "/".join(re.findall(r"Nodes\('([^']*)'\)", nm.group(2)))
            data = p.nodes.get(rel)
            if data is None:
                return self._send(404, {"error": {"message": {"value": "No node"}}})
            if nm.group(3) == "/$value":
                return self._send(
                    200,
                    data,
                    "application/octet-stream",
                    {"Content-Disposition": f'inline;filename="{rel.rsplit("/", 1)[-1]}"'},
                )
            return self._send(200, {"d": {"Id": rel, "Name": rel.rsplit("/", 1)[-1], "ContentLength": str(len(data))}})
        return self._send(404, {"error": {"message": {"value": f"unknown resource {tail}"}}})

    def _dhus_search(self, params: dict[str, str]) -> None:
        hub = self.hub
        try:
            keep = compile_solr(params.get("q", ""))
            rows = int(params.get("rows", 10))
            start = int(params.get("start", 0))
        except (ODataSyntaxError, ValueError) as exc:
            return self._send(200, {"feed": {"error": {"message": f"org.apache.solr.search.SyntaxError: {exc}"}}})
        with hub.lock:
            products = [p for p in hub.products.values() if p.raw_json is None]
        matched = [p for p in products if keep(hub.dhus_props(p))]
        for part in reversed([s for s in params.get("orderby", "").split(",") if s.strip()]):
            field, _, direction = part.strip().partition(" ")
            name = field.lower()
            matched.sort(
                key=lambda p: _sortable(hub.dhus_props(p).get(name)),
                reverse=direction == "desc",
            )
        page = matched[start : start + rows]
        feed: dict[str, Any] = {
            "opensearch:totalResults": str(len(matched)),
            "opensearch:startIndex": str(start),
            "opensearch:itemsPerPage": str(rows),
        }
        if page:
            entries = [hub.dhus_entry(p) for p in page]
            feed["entry"] = entries if len(entries) > 1 else entries[0]
        return self._send(200, {"feed": feed})


def _sortable(value: Any) -> Any:
    if value is None:
        return (1, "")
    if isinstance(value, datetime):
        return (0, (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat())
    if isinstance(value, int | float):
        return (0, f"{value:020.6f}")
    return (0, str(value))
