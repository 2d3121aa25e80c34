"""A local Copernicus-style hub on 127.0.0.1 for tests, benchmarks and demos.

One :class:`LocalHub` serves, from the same set of products:

* **CDSE**: OData catalogue (``$filter``/``$orderby``/``$top``/``$skip``/``$count``/
  ``$expand=Attributes,Assets``), an OIDC token endpoint (password and
  refresh-token grants, ``client_id=cdse-public``) and a download host that
  needs the bearer token (downloads redirect there from a second address, as
  CDSE does);
* **DHuS**: Solr OpenSearch (``/dhus/search``) and OData v1 (products, ``$value``
  with ``Range``, ``Online``, quicklooks, nodes, long-term-archive 202s), basic auth;
* **STAC API**: landing page, conformance, collections, items, ``/search``
  (GET and POST), with ``file:checksum``/``file:size`` on assets.

Products are real bytes (in memory or a file) with correct MD5/SHA3/BLAKE3/SHA-256.
:class:`Faults` injects trouble into downloads: dropped connections, corrupted
bytes, 429 with ``Retry-After``, 500/503 bursts, token expiry mid-transfer,
slow responses; offline products are products with ``online=False``.

>>> from eokit.testing.hub_server import LocalHub, HubProduct
>>> with LocalHub([HubProduct("S2A_MSIL2A_20240101T000000_N0510_R001_T31UFT_20240101T000000", data=b"x" * 100)]) as hub:
...     urls = hub.cdse_urls        # catalogue_url / identity_url / download_url
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import re
import secrets
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from eokit.testing.hub_payloads import HubPayloads

__all__ = ["Faults", "HubProduct", "LocalHub"]

_CHUNK = 1 << 20
FAULT_KINDS = ("drop", "corrupt", "429", "503", "500", "expire", "slow")


@dataclasses.dataclass
class HubProduct:
    """A product served by :class:`LocalHub`.

    Parameters
    ----------
    name : str
        Product title without extension (e.g. ``S2A_MSIL2A_...``).
    data : bytes, optional
        The product's bytes; or give ``path``.
    path : str or Path, optional
        A file with the product's bytes (streamed, not loaded).
    footprint : str
        WKT polygon in lon/lat.
    start, end, published : datetime
        Sensing start/end and publication time (naive = UTC).
    online : bool
        False: in the long-term archive.
    collection : str, optional
        ``SENTINEL-2``...; default from the name (``S2A_...`` -> ``SENTINEL-2``).
    attributes : dict
        CDSE-style attributes (``productType``, ``cloudCover``, ``orbitDirection``...).
    quicklook : bytes, optional
        JPEG bytes of the quicklook.
    nodes : dict, optional
        ``{relative path: bytes}`` inside the product folder (a manifest is generated).
    """

    name: str
    data: bytes | None = None
    path: str | os.PathLike[str] | None = None
    id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    footprint: str = "POLYGON((0 0,1 0,1 1,0 1,0 0))"
    start: datetime = datetime(2024, 1, 1, 10, 0, 0)
    end: datetime | None = None
    published: datetime | None = None
    online: bool = True
    collection: str | None = None
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    quicklook: bytes | None = None
    nodes: dict[str, bytes] | None = None
    extension: str = ".SAFE"
    filename: str | None = None
    raw_json: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.data is None and self.path is None and self.raw_json is None:
            raise ValueError(f"product {self.name}: give data= or path=")
        self.end = self.end or self.start + timedelta(seconds=25)
        self.published = self.published or self.start + timedelta(hours=2)
        m = re.match(r"S(\d)", self.name)
        self.collection = self.collection or (f"SENTINEL-{m.group(1)}" if m else "OTHER")
        self.filename = self.filename or self.name + ".zip"
        if self.nodes:
            self.nodes = {"manifest.safe": _manifest(self.nodes), **self.nodes}
        self.size = 0
        self.checksums: dict[str, str] = {}
        if self.raw_json is None:
            self._compute()

    def _compute(self) -> None:
        from blake3 import blake3

        hashers: dict[str, Any] = {
            "md5": hashlib.md5(),
            "sha3-256": hashlib.sha3_256(),
            "sha256": hashlib.sha256(),
            "blake3": blake3(),
        }
        size = 0
        for chunk in self.iter_bytes(0, None):
            size += len(chunk)
            for h in hashers.values():
                h.update(chunk)
        self.size = size
        self.checksums = {k: h.hexdigest() for k, h in hashers.items()}

    def iter_bytes(self, start: int, end: int | None, chunk: int = _CHUNK) -> Iterable[bytes]:
        """Bytes ``start`` to ``end`` (inclusive; None = to the end)."""
        if self.data is not None:
            stop = len(self.data) if end is None else end + 1
            view = memoryview(self.data)
            for i in range(start, stop, chunk):
                yield bytes(view[i : min(i + chunk, stop)])
            return
        assert self.path is not None
        with open(self.path, "rb") as f:
            f.seek(start)
            remaining = None if end is None else end + 1 - start
            while remaining is None or remaining > 0:
                block = f.read(chunk if remaining is None else min(chunk, remaining))
                if not block:
                    break
                if remaining is not None:
                    remaining -= len(block)
                yield block

    @property
    def geojson(self) -> dict[str, Any]:
        import shapely.geometry
        from shapely import wkt as shapely_wkt

        return json.loads(json.dumps(shapely.geometry.mapping(shapely_wkt.loads(self.footprint))))


def _manifest(nodes: dict[str, bytes]) -> bytes:
    objs = []
    for i, (rel, data) in enumerate(nodes.items()):
        objs.append(
            f'<dataObject ID="obj{i}"><byteStream mimeType="application/octet-stream" size="{len(data)}">'
            f'<fileLocation locatorType="URL" href="./{rel}"/><checksum checksumName="MD5">{hashlib.md5(data).hexdigest()}</checksum>'
            "</byteStream></dataObject>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1"><dataObjectSection>'
        + "".join(objs)
        + "</dataObjectSection></xfdu:XFDU>"
    ).encode()


@dataclasses.dataclass
class Faults:
    """Trouble to inject into download requests.

    Parameters
    ----------
    every : int
        Fault every N-th download request (0: only the ``plan``); ``3`` faults a third.
    kinds : tuple of str
        Cycled through: ``drop`` (connection dropped mid-body), ``corrupt`` (a flipped
        byte), ``429``/``503`` (with ``Retry-After``), ``500``, ``expire`` (tokens
        expire and the connection drops mid-body), ``slow`` (delays between chunks).
    retry_after : str
        The ``Retry-After`` value sent with 429/503.
    burst : int
        A 500/503 repeats for this many consecutive requests of the same product.
    slow_delay : float
        Seconds between chunks for ``slow``.
    plan : list of (product id or None, kind)
        Faults applied first, in order, to the matching requests.
    """

    every: int = 0
    kinds: tuple[str, ...] = FAULT_KINDS
    retry_after: str = "1"
    burst: int = 2
    slow_delay: float = 0.02
    plan: list[tuple[str | None, str]] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) | {k for _, k in self.plan}
        unknown -= set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")


class LocalHub(HubPayloads):
    """The local hub (a context manager). See the module docstring.

    Parameters
    ----------
    products : iterable of HubProduct
    faults : Faults, optional
    users : dict
        ``{user: password}`` accepted by DHuS basic auth and the token endpoint.
    access_ttl, refresh_ttl : float
        Token lifetimes in seconds.
    redirect_downloads : bool
        CDSE downloads answer 307 to a second address (the bearer token must survive).
    max_skip, max_top : int
        CDSE paging limits (``$skip`` / ``$top``).
    lta_delay : float
        Seconds a triggered DHuS product takes to come online.
    shared_payloads : Path, optional
        ``../shared/data/cdse`` to also serve the real CDSE OData products and STAC items.
    """

    def __init__(
        self,
        products: Iterable[HubProduct] = (),
        *,
        faults: Faults | None = None,
        users: dict[str, str] | None = None,
        access_ttl: float = 600.0,
        refresh_ttl: float = 3600.0,
        redirect_downloads: bool = True,
        max_skip: int = 10000,
        max_top: int = 1000,
        lta_delay: float = 0.5,
        shared_payloads: str | os.PathLike[str] | None = None,
    ) -> None:
        self.products: dict[str, HubProduct] = {}
        self.faults = faults or Faults()
        self.users = dict(users) if users is not None else {"user": "password"}
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.redirect_downloads = redirect_downloads
        self.max_skip = max_skip
        self.max_top = max_top
        self.lta_delay = lta_delay
        self.lock = threading.RLock()
        self.access_tokens: dict[str, float] = {}
        self.refresh_tokens: dict[str, float] = {}
        self.stats: dict[str, Any] = {
            "password_grants": 0,
            "refresh_grants": 0,
            "requests": [],
            "bytes_sent": 0,
            "bytes_delivered": 0,
            "bytes_by_product": defaultdict(int),
            "faults": [],
            "max_concurrent_downloads": 0,
        }
        self._active_downloads = 0
        self._unsettled = 0  # bodies sent whose delivery is not counted yet
        self._download_counter = 0
        self._burst: dict[str, tuple[str, int]] = {}
        self._plan = list(self.faults.plan)
        self._lta_ready: dict[str, float] = {}
        self.stac_items: list[dict[str, Any]] = []
        for p in products:
            self.add_product(p)
        if shared_payloads is not None:
            self._load_shared(Path(shared_payloads))
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self.url = ""
        self.zipper_url = ""

    # -- products -------------------------------------------------------------------------------------------------

    def add_product(self, product: HubProduct | None = None, /, **kwargs: Any) -> HubProduct:
        """Register a product (a :class:`HubProduct` or its keyword arguments)."""
        product = product or HubProduct(**kwargs)
        with self.lock:
            self.products[product.id] = product
        return product

    def set_online(self, product_id: str, online: bool = True) -> None:
        with self.lock:
            self.products[product_id].online = online

    def restore_if_due(self, product: HubProduct) -> None:
        """Bring a product triggered from the long-term archive online once ``lta_delay`` has passed."""
        with self.lock:
            ready = self._lta_ready.get(product.id)
            if ready is not None and time.monotonic() >= ready:
                product.online = True
                del self._lta_ready[product.id]

    def expire_tokens(self) -> None:
        """Expire every access token now (refresh tokens stay valid)."""
        with self.lock:
            self.access_tokens.clear()

    def _load_shared(self, root: Path) -> None:
        for page in sorted((root / "odata-opensearch/tests/query/mock/sentinel_1").glob("odata_page_*.json")):
            for rec in json.loads(page.read_text())["value"]:
                attrs = {a["Name"]: a["Value"] for a in rec.get("Attributes", [])}
                p = HubProduct(
                    name=re.sub(r"\.SAFE$", "", rec["Name"]),
                    id=rec["Id"],
                    raw_json=rec,
                    collection=str(attrs.get("platformShortName", "SENTINEL-1")).upper(),
                    online=bool(rec.get("Online", True)),
                )
                self.products[p.id] = p
        for f in sorted((root / "stac").glob("*.json")):
            self.stac_items.append(json.loads(f.read_text()))

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> LocalHub:
        for role in ("main", "zipper"):
            server = _QuietServer(("127.0.0.1", 0), _make_handler(self, role))
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        self.url = f"http://127.0.0.1:{self._servers[0].server_address[1]}"
        self.zipper_url = f"http://127.0.0.1:{self._servers[1].server_address[1]}"
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def cdse_urls(self) -> dict[str, str]:
        """``catalogue_url``, ``identity_url``, ``download_url`` of the CDSE side, and ``trusted_hosts``
        (the download host it redirects to, which needs the same token)."""
        return {
            "catalogue_url": f"{self.url}/odata/v1",
            "identity_url": f"{self.url}/auth/realms/CDSE/protocol/openid-connect/token",
            "download_url": f"{self.url}/download/odata/v1",
            "trusted_hosts": self.zipper_url,
        }

    @property
    def dhus_url(self) -> str:
        return f"{self.url}/dhus/"

    @property
    def stac_url(self) -> str:
        return f"{self.url}/stac"

    def env(self) -> dict[str, str]:
        """``EOKIT_CDSE_*`` environment variables pointing at this hub."""
        u = self.cdse_urls
        return {
            "EOKIT_CDSE_CATALOGUE_URL": u["catalogue_url"],
            "EOKIT_CDSE_IDENTITY_URL": u["identity_url"],
            "EOKIT_CDSE_DOWNLOAD_URL": u["download_url"],
            "EOKIT_HUB_TRUSTED_HOSTS": u["trusted_hosts"],
        }

    # -- tokens ---------------------------------------------------------------------------------------------------

    def _issue(self) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        now = time.monotonic()
        self.access_tokens[access] = now + self.access_ttl
        self.refresh_tokens[refresh] = now + self.refresh_ttl
        return {
            "access_token": access,
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "refresh_expires_in": self.refresh_ttl,
            "token_type": "Bearer",
        }

    def token_valid(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        with self.lock:
            expiry = self.access_tokens.get(header[7:])
        return expiry is not None and time.monotonic() < expiry

    # -- faults ---------------------------------------------------------------------------------------------------

    def _next_fault(self, product_id: str) -> str | None:
        with self.lock:
            self._download_counter += 1
            if product_id in self._burst:
                kind, left = self._burst[product_id]
                if left > 1:
                    self._burst[product_id] = (kind, left - 1)
                else:
                    del self._burst[product_id]
                return kind
            for i, (pid, kind) in enumerate(self._plan):
                if pid is None or pid == product_id:
                    del self._plan[i]
                    return self._begin(product_id, kind)
            every = self.faults.every
            if every and self._download_counter % every == 0:
                kinds = self.faults.kinds
                kind = kinds[(self._download_counter // every - 1) % len(kinds)]
                return self._begin(product_id, kind)
        return None

    def _begin(self, product_id: str, kind: str) -> str:
        if kind in ("500", "503") and self.faults.burst > 1:
            self._burst[product_id] = (kind, self.faults.burst - 1)
        self.stats["faults"].append((product_id, kind))
        return kind


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-response (killed, faults) are normal here: no tracebacks."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


def _make_handler(hub: LocalHub, role: str) -> type[BaseHTTPRequestHandler]:
    from eokit.testing import hub_routes

    class Handler(hub_routes.HubHandler):
        pass

    Handler.hub = hub
    Handler.role = role
    return Handler


def _drop(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    try:
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _rng() -> random.Random:
    return random.Random(0)
