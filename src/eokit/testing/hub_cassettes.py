"""Replay recorded DHuS exchanges (VCR-style YAML cassettes) from a local server.

A request is answered only if a recording has the same method, path, sorted
query parameters and ``Range`` header; anything else is answered 599 and
listed in :attr:`CassetteServer.misses`, so a test can assert that a client
sends exactly the requests the classic client sent. Absolute hub URLs inside
recorded bodies are rewritten to point at the local server; binary bodies
(``body: {}``) come from the cassettes' ``data/`` folder by their
``Content-Disposition`` file name.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes, urlsplit

__all__ = ["CassetteServer", "request_key"]


def request_key(method: str, url: str, range_header: str | None) -> tuple[Any, ...]:
    """The matching key: method, unquoted path bytes, sorted query pairs (Latin-1), Range."""
    parts = urlsplit(url)
    query = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True, encoding="latin-1")))
    return (method.upper(), unquote_to_bytes(parts.path), query, (range_header or "").strip() or None)


class CassetteServer:
    """Serve one or more cassettes on 127.0.0.1 (a context manager).

    Attributes
    ----------
    url : str
        The hub root to give a client, e.g. ``http://127.0.0.1:PORT/apihub/``.
    misses : list
        Requests that matched no recording.
    hits : list
        Keys of the requests that were answered.
    """

    def __init__(self, cassettes: Iterable[str | Path], *, data_dir: str | Path | None = None) -> None:
        import yaml

        self.recordings: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        self.origin: str | None = None
        self.prefix = "/"
        paths = [Path(c) for c in cassettes]
        self.data_dir = Path(data_dir) if data_dir else (paths[0].parent / "data" if paths else None)
        for path in paths:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            for inter in doc.get("interactions", []):
                req, resp = inter["request"], inter["response"]
                parts = urlsplit(req["uri"])
                if self.origin is None:
                    self.origin = f"{parts.scheme}://{parts.netloc}"
                    self.prefix = "/" + parts.path.lstrip("/").split("/", 1)[0] + "/"
                rng = (req.get("headers") or {}).get("Range")
                rng = rng[0] if isinstance(rng, list) else rng
                self.recordings[request_key(req["method"], req["uri"], rng)].append(resp)
        self.origin = self.origin or "https://apihub.copernicus.eu"
        self._served: dict[tuple[Any, ...], int] = defaultdict(int)
        self.misses: list[tuple[Any, ...]] = []
        self.hits: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base = ""

    @property
    def url(self) -> str:
        return self.base + self.prefix

    def __enter__(self) -> CassetteServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer._answer(self)

            do_HEAD = do_GET
            do_POST = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _body(self, resp: dict[str, Any], headers: dict[str, str]) -> bytes:
        body = resp.get("body")
        if isinstance(body, dict) and "string" in body:
            raw = body["string"]
            data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
            if headers.get("content-encoding") == "gzip" and data[:2] == b"\x1f\x8b":
                import gzip

                data = gzip.decompress(data)
            return data.replace((self.origin or "").encode(), self.base.encode()) if self.origin else data
        name = None
        cd = headers.get("content-disposition", "")
        m = re.search(r'filename="?([^";]+)"?', cd)
        if m:
            name = m.group(1)
        if not name or self.data_dir is None or not (self.data_dir / name).exists():
            return b""
        data = (self.data_dir / name).read_bytes()
        cr = re.match(r"bytes (\d+)-(\d+)/(\d+)", headers.get("content-range", ""))
        if cr and len(data) == int(cr.group(3)) and (int(cr.group(2)) - int(cr.group(1)) + 1) != len(data):
            data = data[int(cr.group(1)) : int(cr.group(2)) + 1]
        return data

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        key = request_key(handler.command, handler.path, handler.headers.get("Range"))
        with self._lock:
            options = self.recordings.get(key)
            if not options:
                self.misses.append(key)
                resp = None
            else:
                self.hits.append(key)
                resp = options[min(self._served[key], len(options) - 1)]
                self._served[key] += 1
        if resp is None:
            msg = b"no recording matches this request"
            handler.send_response(599)
            handler.send_header("Content-Length", str(len(msg)))
            handler.end_headers()
            handler.wfile.write(msg)
            return
        headers = {k.lower(): (v[0] if isinstance(v, list) else v) for k, v in (resp.get("headers") or {}).items()}
        body = self._body(resp, headers)
        handler.send_response(int(resp["status"]["code"]), resp["status"].get("message") or None)
        for k, v in headers.items():
            if k in ("content-length", "transfer-encoding", "content-encoding", "connection"):
                continue
            handler.send_header(k, str(v))
        if handler.command == "HEAD":
            handler.send_header("Content-Length", headers.get("content-length", "0"))
            handler.end_headers()
            return
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
