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
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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

        hashers = {"md5": hashlib.md5(), "sha3-256": hashlib.sha3_256(), "sha256": hashlib.sha256(), "blake3": blake3()}
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


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _odata_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, datetime):
        return "DateTimeOffset"
    return "String"


class LocalHub:
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
            "bytes_by_product": defaultdict(int),
            "faults": [],
            "max_concurrent_downloads": 0,
        }
        self._active_downloads = 0
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
        """``catalogue_url``, ``identity_url`` and ``download_url`` of the CDSE side."""
        return {
            "catalogue_url": f"{self.url}/odata/v1",
            "identity_url": f"{self.url}/auth/realms/CDSE/protocol/openid-connect/token",
            "download_url": f"{self.url}/download/odata/v1",
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

    # -- payloads -------------------------------------------------------------------------------------------------

    def cdse_json(self, p: HubProduct, expand: str = "") -> dict[str, Any]:
        if p.raw_json is not None:
            rec = {k: v for k, v in p.raw_json.items() if k != "Attributes" or "Attributes" in expand}
            rec["Online"] = p.online
            return rec
        rec: dict[str, Any] = {
            "@odata.mediaContentType": "application/octet-stream",
            "Id": p.id,
            "Name": p.name + p.extension,
            "ContentType": "application/octet-stream",
            "ContentLength": p.size,
            "OriginDate": _iso(p.published),
            "PublicationDate": _iso(p.published),
            "ModificationDate": _iso(p.published),
            "Online": p.online,
            "EvictionDate": "",
            "S3Path": f"/eodata/{p.name}{p.extension}",
            "Checksum": [
                {"Value": p.checksums["md5"], "Algorithm": "MD5", "ChecksumDate": _iso(p.published)},
                {"Value": p.checksums["blake3"], "Algorithm": "BLAKE3", "ChecksumDate": _iso(p.published)},
            ],
            "ContentDate": {"Start": _iso(p.start), "End": _iso(p.end)},
            "Footprint": f"geography'SRID=4326;{p.footprint}'",
            "GeoFootprint": p.geojson,
        }
        if "Attributes" in expand:
            rec["Attributes"] = [
                {
                    "@odata.type": f"#OData.CSC.{_odata_type(v)}Attribute",
                    "Name": k,
                    "Value": _iso(v) if isinstance(v, datetime) else v,
                    "ValueType": _odata_type(v),
                }
                for k, v in self._attributes(p).items()
            ]
        if "Assets" in expand:
            rec["Assets"] = (
                [
                    {
                        "Type": "QUICKLOOK",
                        "Id": p.id,
                        "DownloadLink": f"{self.cdse_urls['download_url']}/Assets({p.id})/$value",
                    }
                ]
                if p.quicklook
                else []
            )
        return rec

    def _attributes(self, p: HubProduct) -> dict[str, Any]:
        attrs = {"platformShortName": p.collection, "beginningDateTime": p.start, "endingDateTime": p.end}
        attrs.update(p.attributes)
        return attrs

    def filter_record(self, p: HubProduct) -> dict[str, Any]:
        rec = self.cdse_json(p, "Attributes")
        rec["Collection"] = {"Name": p.collection}
        return rec

    def dhus_props(self, p: HubProduct) -> dict[str, Any]:
        """Flat OpenSearch properties (typed) of a product."""
        props: dict[str, Any] = {
            "identifier": p.name,
            "title": p.name,
            "uuid": p.id,
            "filename": p.name + p.extension,
            "beginposition": p.start,
            "endposition": p.end,
            "ingestiondate": p.published,
            "platformname": p.collection.title() if p.collection else "",
            "footprint": p.footprint,
            "size": f"{p.size / 1024**2:.2f} MB",
            "status": "ONLINE" if p.online else "ARCHIVED",
            "format": "SAFE",
        }
        names = {"productType": "producttype", "cloudCover": "cloudcoverpercentage", "orbitDirection": "orbitdirection"}
        for k, v in p.attributes.items():
            props[names.get(k, k.lower())] = v
        return props

    def dhus_entry(self, p: HubProduct) -> dict[str, Any]:
        base = f"{self.dhus_url}odata/v1/Products('{p.id}')"
        entry: dict[str, Any] = {
            "title": p.name,
            "link": [
                {"href": f"{base}/$value"},
                {"rel": "alternative", "href": f"{base}/"},
                {"rel": "icon", "href": f"{base}/Products('Quicklook')/$value"},
            ],
            "id": p.id,
            "summary": f"Date: {_iso(p.start)}, Size: {p.size}",
        }
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for k, v in self.dhus_props(p).items():
            if k in ("title",):
                continue
            if isinstance(v, datetime):
                groups["date"].append({"name": k, "content": _iso(v)})
            elif isinstance(v, bool):
                groups["str"].append({"name": k, "content": str(v).lower()})
            elif isinstance(v, int):
                groups["int"].append({"name": k, "content": str(v)})
            elif isinstance(v, float):
                groups["double"].append({"name": k, "content": str(v)})
            else:
                groups["str"].append({"name": k, "content": str(v)})
        for k, v in groups.items():
            entry[k] = v if len(v) > 1 else v[0]
        return entry

    def dhus_odata(self, p: HubProduct, expand: bool) -> dict[str, Any]:
        base = f"{self.dhus_url}odata/v1/Products('{p.id}')"
        ms = lambda dt: f"/Date({int((dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt).timestamp() * 1000)})/"  # noqa: E731
        coords = " ".join(f"{y},{x}" for x, y in p.geojson["coordinates"][0]) if p.geojson["type"] == "Polygon" else ""
        gml = (
            '<gml:Polygon srsName="http://www.opengis.net/gml/srs/epsg.xml#4326" xmlns:gml="http://www.opengis.net/gml">'
            f"<gml:outerBoundaryIs><gml:LinearRing><gml:coordinates>{coords}</gml:coordinates></gml:LinearRing></gml:outerBoundaryIs></gml:Polygon>"
        )
        d: dict[str, Any] = {
            "__metadata": {"id": base, "uri": base, "type": "DHuS.Product", "media_src": f"{base}/$value"},
            "Id": p.id,
            "Name": p.name,
            "ContentType": "application/octet-stream",
            "ContentLength": str(p.size),
            "CreationDate": ms(p.published),
            "IngestionDate": ms(p.published),
            "Online": p.online,
            "ContentDate": {"Start": ms(p.start), "End": ms(p.end)},
            "Checksum": {"Algorithm": "MD5", "Value": p.checksums["md5"].upper()},
            "ContentGeometry": gml,
            "Attributes": {"__deferred": {}},
        }
        if expand:
            d["Attributes"] = {"results": [{"Name": k, "Value": str(v)} for k, v in self._attributes(p).items()]}
        return {"d": d}

    def stac_item(self, p: HubProduct) -> dict[str, Any]:
        import shapely.geometry

        from eokit.hub.checksums import to_multihash

        geom = p.geojson
        props = {
            "datetime": _iso(p.start),
            "start_datetime": _iso(p.start),
            "end_datetime": _iso(p.end),
            "platform": p.collection.lower(),
        }
        props.update({k: (_iso(v) if isinstance(v, datetime) else v) for k, v in p.attributes.items()})
        if "cloudCover" in p.attributes:
            props["eo:cloud_cover"] = p.attributes["cloudCover"]
        return {
            "type": "Feature",
            "stac_version": "1.0.0",
            "stac_extensions": ["https://stac-extensions.github.io/file/v2.1.0/schema.json"],
            "id": p.name,
            "collection": p.collection.lower(),
            "geometry": geom,
            "bbox": list(shapely.geometry.shape(geom).bounds),
            "properties": props,
            "links": [
                {"rel": "self", "href": f"{self.stac_url}/collections/{p.collection.lower()}/items/{p.name}"},
                {"rel": "collection", "href": f"{self.stac_url}/collections/{p.collection.lower()}"},
                {"rel": "parent", "href": f"{self.stac_url}/collections/{p.collection.lower()}"},
                {"rel": "root", "href": self.stac_url},
            ],
            "assets": {
                "product": {
                    "href": f"{self.url}/files/{p.id}/{p.filename}",
                    "type": "application/zip",
                    "roles": ["data"],
                    "file:size": p.size,
                    "file:checksum": to_multihash("sha256", p.checksums["sha256"]),
                }
            },
        }

    def all_stac_items(self) -> list[dict[str, Any]]:
        with self.lock:
            items = [self.stac_item(p) for p in self.products.values() if p.raw_json is None]
        return items + list(self.stac_items)


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
