"""The CDSE backend of :class:`~eokit.hub.SentinelAPI`: OData catalogue, OIDC, download host.

Classic keywords are translated by :mod:`eokit.hub.cdse_filter`; results are
converted to the classic ``{uuid: {property: value}}`` shape so scripts written
for the old hub keep working. Pages hold up to 1000 products; when ``$skip``
would pass the server's limit, paging continues by acquisition time (keyset).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import requests

from eokit.hub.cdse_filter import area_predicate, build_filter
from eokit.hub.dhus_query import parse_order_by
from eokit.hub.exceptions import (
    HubInputError,
    HubRateLimitError,
    InvalidKeyError,
    LTAError,
    ServerError,
    UnauthorizedError,
)
from eokit.hub.providers import ClassicProvider, SearchQuery, check_result_count

__all__ = ["CdseBackend", "cdse_product_to_classic", "format_size"]

log = logging.getLogger(__name__)

# classic order-by field -> CDSE $orderby field
_SERVER_ORDER = {
    "beginposition": "ContentDate/Start",
    "date": "ContentDate/Start",
    "endposition": "ContentDate/End",
    "ingestiondate": "PublicationDate",
    "identifier": "Name",
    "title": "Name",
    "filename": "Name",
}
# CDSE attribute name -> classic property name
_CLASSIC_NAMES = {
    "productType": "producttype",
    "cloudCover": "cloudcoverpercentage",
    "orbitDirection": "orbitdirection",
    "relativeOrbitNumber": "relativeorbitnumber",
    "orbitNumber": "orbitnumber",
    "polarisationChannels": "polarisationmode",
    "operationalMode": "sensoroperationalmode",
    "swathIdentifier": "swathidentifier",
    "instrumentShortName": "instrumentshortname",
    "platformSerialIdentifier": "platformserialidentifier",
    "productClass": "productclass",
    "processingLevel": "processinglevel",
    "processingBaseline": "processingbaseline",
    "timeliness": "timeliness",
    "tileId": "tileid",
    "sliceNumber": "slicenumber",
    "datatakeID": "missiondatatakeid",
}


def format_size(nbytes: int) -> str:
    """Bytes -> the classic size string (``'7.1 GB'``, ``'599.5 KB'``)."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if nbytes >= factor:
            return f"{nbytes / factor:.2f} {unit}"
    return f"{nbytes} B"


def parse_cdse_time(value: str | None) -> datetime | None:
    """``2024-01-01T05:51:04.507Z`` (any fraction length) -> naive UTC datetime."""
    if not value:
        return None
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?", value)
    if not m:
        return None
    dt = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    return dt.replace(microsecond=int(frac))


def footprint_wkt(product: dict[str, Any]) -> str | None:
    fp = product.get("Footprint")
    if isinstance(fp, str) and ";" in fp:
        return fp.split(";", 1)[1].rstrip("'")
    geo = product.get("GeoFootprint")
    if geo:
        import shapely.geometry

        return shapely.geometry.shape(geo).wkt
    return None


def _strip_ext(name: str) -> str:
    return re.sub(r"\.(SAFE|SEN3|nc|EOF|zip|tar|TGZ)$", "", name, flags=re.I)


def _attributes(product: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for attr in product.get("Attributes") or []:
        value = attr.get("Value")
        if attr.get("ValueType") == "DateTimeOffset" and isinstance(value, str):
            value = parse_cdse_time(value)
        out[attr["Name"]] = value
    return out


def cdse_product_to_classic(
    product: dict[str, Any], *, download_url: str, catalogue_url: str
) -> tuple[str, dict[str, Any]]:
    """One CDSE OData product -> ``(uuid, classic properties)``."""
    pid = product["Id"]
    name = product["Name"]
    attrs = _attributes(product)
    size = int(product.get("ContentLength") or 0)
    begin = parse_cdse_time((product.get("ContentDate") or {}).get("Start"))
    platform = attrs.get("platformShortName") or name[:2]
    m = re.match(r"SENTINEL-?(\d)", str(platform), re.I) or re.match(r"S(\d)", name)
    props: dict[str, Any] = {
        "title": _strip_ext(name),
        "link": f"{download_url}/Products({pid})/$value",
        "link_alternative": f"{catalogue_url}/Products({pid})",
        "link_icon": None,  # quicklooks are assets on CDSE: SentinelAPI.download_quicklook finds them
        "summary": "",
        "beginposition": begin,
        "endposition": parse_cdse_time((product.get("ContentDate") or {}).get("End")),
        "ingestiondate": parse_cdse_time(product.get("PublicationDate")),
        "footprint": footprint_wkt(product),
        "gmlfootprint": None,
        "identifier": _strip_ext(name),
        "filename": name,
        "size": format_size(size),
        "contentlength": size,
        "online": bool(product.get("Online", True)),
        "status": "ONLINE" if product.get("Online", True) else "OFFLINE",
        "platformname": f"Sentinel-{m.group(1)}" if m else str(platform),
        "uuid": pid,
    }
    for cname, value in attrs.items():
        props[_CLASSIC_NAMES.get(cname, cname.lower())] = value
    for cs in product.get("Checksum") or []:
        if cs.get("Algorithm") and cs.get("Value"):
            props[cs["Algorithm"].lower()] = cs["Value"]
    props["summary"] = (
        f"Date: {begin.isoformat() if begin else '?'}, Instrument: {props.get('instrumentshortname', '?')}, "
        f"Satellite: {props['platformname']}, Size: {props['size']}"
    )
    return pid, props


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (1, "")
    if isinstance(value, int | float):
        return (0, value)
    return (0, str(value) if not isinstance(value, datetime) else value.isoformat())


class CdseBackend(ClassicProvider):
    """The CDSE provider: OData catalogue, OIDC identity server, download host (see :mod:`eokit.hub.providers`)."""

    name = kind = "cdse"
    page_size = 1000
    max_skip = 10000

    def __init__(
        self,
        catalogue_url: str,
        download_url: str,
        session: requests.Session,
        auth: Any,
        timeout: float | None,
        *,
        identity_url: str | None = None,
    ) -> None:
        self.catalogue_url = catalogue_url.rstrip("/")
        self.download_url_root = download_url.rstrip("/")
        self.session = session
        self.auth = auth
        self.identity_url = identity_url
        self.token_manager = getattr(auth, "manager", None)
        self.timeout = timeout
        self.last_query: str | None = None

    def _get(self, url: str, params: dict[str, Any] | None = None, *, auth: bool = False) -> requests.Response:
        r = self.session.get(url, params=params, timeout=self.timeout, auth=self.auth if auth else None)
        if r.status_code == 401:
            raise UnauthorizedError("the CDSE server refused the credentials", r, param="user")
        if r.status_code == 429:
            raise HubRateLimitError("the CDSE catalogue kept answering 'too many requests' after every retry", r)
        if r.status_code == 404:
            raise InvalidKeyError(f"not found: {url.split('?')[0]}", r)
        if r.status_code == 400:
            detail = ""
            try:
                detail = str(r.json().get("detail") or r.json().get("error") or "")
            except ValueError:
                detail = r.text[:200]
            raise HubInputError(f"the CDSE catalogue rejected the query: {detail}")
        if not r.ok:
            raise ServerError("the CDSE catalogue answered with an error", r)
        return r

    max_url_length = 8000  # CDSE's front-end refuses longer request lines

    def _page(self, params: dict[str, Any]) -> dict[str, Any]:
        url = requests.Request("GET", f"{self.catalogue_url}/Products", params=params).prepare().url or ""
        if len(url) > self.max_url_length:
            from eokit.hub.exceptions import QueryLengthError

            raise QueryLengthError(
                f"the CDSE query URL would be {len(url)} characters (limit {self.max_url_length}); "
                "simplify the area (fewer vertices, e.g. shapely's simplify) or split the query"
            )
        r = self._get(f"{self.catalogue_url}/Products", params)
        try:
            return r.json()
        except ValueError:
            raise ServerError("the CDSE catalogue answered with invalid JSON", r) from None

    def build(self, area: Any, date: Any, raw: Any, area_relation: str, keywords: dict[str, Any]) -> str:
        return build_filter(area, date, raw, area_relation, **keywords)

    def classic_search(self, query: SearchQuery, progress: Any = None) -> tuple[OrderedDict[str, dict[str, Any]], int]:
        """``(OrderedDict(uuid -> classic properties), total)`` for a query."""
        area, date, raw, area_relation = query.area, query.date, query.raw, query.area_relation
        keywords, order_by, limit, offset = dict(query.keywords), query.order_by, query.limit, query.offset
        if area is None and date is None and not raw and not keywords:
            raise HubInputError("Empty query.", param="query")
        flt = self.build(area, date, raw, area_relation, keywords)
        self.last_query = flt
        order = parse_order_by(order_by)
        keep = area_predicate(area, area_relation)
        server_order = None
        if len(order) == 1 and order[0][0].lower() in _SERVER_ORDER:
            server_order = f"{_SERVER_ORDER[order[0][0].lower()]} {'desc' if order[0][1] else 'asc'}"
        client_sort = bool(order) and server_order is None
        if keep is not None or client_sort:
            want = None  # must see everything to filter/sort, then cut
        else:
            want = limit
        orderby = server_order or "ContentDate/Start asc"
        raw_products, total = self._collect(
            flt, orderby, want, 0 if want is None and (keep or client_sort) else offset, progress
        )
        out: OrderedDict[str, dict[str, Any]] = OrderedDict()
        for prod in raw_products:
            pid, props = cdse_product_to_classic(
                prod, download_url=self.download_url_root, catalogue_url=self.catalogue_url
            )
            if keep is not None and not keep(props["footprint"]):
                continue
            out[pid] = props
        if keep is not None:
            total = len(out)
        if client_sort:
            items = list(out.items())
            for field, desc in reversed(order):
                name = field.lower()
                items.sort(key=lambda kv: _sort_key(kv[1].get(name)), reverse=desc)
            out = OrderedDict(items)
        if want is None and (keep is not None or client_sort):
            items = list(out.items())[offset:]
            if limit is not None:
                items = items[:limit]
            out = OrderedDict(items)
        return out, total

    def _collect(
        self, flt: str, orderby: str, limit: int | None, offset: int, progress: Any
    ) -> tuple[list[dict[str, Any]], int]:
        products: list[dict[str, Any]] = []
        seen: set[str] = set()
        skip = offset
        extra_filter = ""
        total: int | None = None
        keyset_field = orderby.split(" ")[0]
        descending = orderby.endswith("desc")
        while True:
            remaining = None if limit is None else limit - len(products)
            if remaining is not None and remaining <= 0:
                break
            top = self.page_size if remaining is None else min(self.page_size, remaining)
            if skip + top > self.max_skip and keyset_field == "ContentDate/Start" and products:
                last = products[-1]["ContentDate"]["Start"]
                op = "le" if descending else "ge"
                extra_filter = f" and ContentDate/Start {op} {last}"
                skip = 0
            elif skip + top > self.max_skip:
                top = max(0, self.max_skip - skip)
                if top == 0:
                    log.warning("CDSE paging stops at $skip=%d; refine the query or order by date", self.max_skip)
                    break
            params = {
                "$filter": flt + extra_filter if flt else extra_filter[5:] or None,
                "$orderby": orderby,
                "$top": top,
                "$expand": "Attributes",
            }
            if skip:
                params["$skip"] = skip
            if total is None:
                params["$count"] = "true"
            params = {k: v for k, v in params.items() if v is not None}
            data = self._page(params)
            if total is None:
                total = int(data.get("@odata.count", 0))
                if limit is None:
                    check_result_count(total - skip, self.catalogue_url)
            page = data.get("value", [])
            fresh = [p for p in page if p["Id"] not in seen]
            for p in fresh:
                seen.add(p["Id"])
            products += fresh
            if limit is None:  # a server that keeps paging beyond the count it gave
                check_result_count(len(products), self.catalogue_url)
            if progress is not None:
                progress(len(products))
            if len(page) < top or not fresh:
                break
            skip += len(page)
        return products, total or 0

    def classic_count(self, query: SearchQuery) -> int:
        area, date, raw, area_relation, keywords = (
            query.area,
            query.date,
            query.raw,
            query.area_relation,
            query.keywords,
        )
        flt = self.build(area, date, raw, area_relation, dict(keywords))
        self.last_query = flt
        if area_relation.lower() != "intersects" and area is not None:
            whole = dataclasses.replace(query, order_by=None, limit=None, offset=0)
            return len(self.classic_search(whole)[0])
        params = {"$filter": flt or None, "$top": 0, "$count": "true"}
        data = self._page({k: v for k, v in params.items() if v is not None})
        return int(data.get("@odata.count", 0))

    def product_json(self, uuid: str, expand: str | None = None) -> dict[str, Any]:
        if not re.fullmatch(r"[0-9A-Za-z-]{1,64}", str(uuid)):
            raise InvalidKeyError(f"Invalid key ({uuid!r}) to access Products: not a product id")
        params = {"$expand": expand} if expand else None
        return self._get(f"{self.catalogue_url}/Products({uuid})", params).json()

    def get_product_odata(self, uuid: str, full: bool = False) -> dict[str, Any]:
        p = self.product_json(uuid, "Attributes" if full else None)
        name = p["Name"]
        title = _strip_ext(name)
        out: dict[str, Any] = {"id": p["Id"], "title": title, "size": int(p.get("ContentLength") or 0)}
        for cs in p.get("Checksum") or []:
            if cs.get("Algorithm") and cs.get("Value"):
                out[cs["Algorithm"].lower()] = cs["Value"]
        out.update(
            {
                "date": parse_cdse_time((p.get("ContentDate") or {}).get("Start")),
                "footprint": footprint_wkt(p),
                "url": f"{self.download_url_root}/Products({p['Id']})/$value",
                "Online": bool(p.get("Online", True)),
                "Creation Date": parse_cdse_time(p.get("OriginDate")),
                "Ingestion Date": parse_cdse_time(p.get("PublicationDate")),
                "filename": name,
            }
        )
        if full:
            for key, value in _attributes(p).items():
                out[key] = value
        root = name if re.search(r"\.(SAFE|SEN3)$", name) else title + (".SEN3" if title.startswith("S3") else ".SAFE")
        out["manifest_name"] = "xfdumanifest.xml" if title.startswith("S3") else "manifest.safe"
        out["product_root_dir"] = root
        out["quicklook_url"] = None
        return out

    def is_online(self, uuid: str) -> bool:
        return bool(self.product_json(uuid).get("Online", True))

    def filename(self, info: dict[str, Any]) -> str:
        name = info.get("filename") or info["title"]
        return _strip_ext(name) + ".zip" if re.search(r"\.(SAFE|SEN3)$", name) or "." not in name else name

    def trigger_offline_retrieval(self, uuid: str) -> bool:
        if self.is_online(uuid):
            return False
        raise LTAError(
            f"product {uuid} is offline on CDSE; CDSE has no client-side retrieval trigger (it restores products on its own)"
        )

    def download_url(self, uuid: str) -> str:
        return f"{self.download_url_root}/Products({uuid})/$value"

    def quicklook_url(self, uuid: str) -> str | None:
        p = self.product_json(uuid, "Assets")
        for asset in p.get("Assets") or []:
            if str(asset.get("Type", "")).upper() == "QUICKLOOK" and asset.get("DownloadLink"):
                return asset["DownloadLink"]
        return None

    def node_url(self, info: dict[str, Any], path: str, urltype: str = "") -> str:
        nodes = "/".join(f"Nodes({p})" for p in path.split("/"))
        suffix = {"value": "/$value", "json": "", "": ""}[urltype]
        return f"{self.download_url_root}/Products({info['id']})/Nodes({info['product_root_dir']})/{nodes}{suffix}"

    def manifest_size(self, info: dict[str, Any]) -> int | None:
        return None


def now_utc() -> datetime:
    return datetime.now(UTC)


def resto_feature_to_classic(feature: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """One feature of CDSE's OpenSearch (Resto) JSON -> ``(uuid, classic properties)``."""
    props = feature.get("properties") or {}
    pid = feature["id"]
    download = (props.get("services") or {}).get("download") or {}
    size = int(download.get("size") or 0)
    geometry = feature.get("geometry")
    footprint = None
    if isinstance(geometry, dict) and geometry.get("type"):
        import shapely.geometry

        footprint = shapely.geometry.shape(geometry).wkt
    m = re.match(r"SENTINEL-?(\d)", str(props.get("platform") or props.get("collection") or ""), re.I)
    out: dict[str, Any] = {
        "title": props.get("title"),
        "identifier": props.get("title"),
        "uuid": pid,
        "link": download.get("url"),
        "beginposition": parse_cdse_time(props.get("startDate")),
        "endposition": parse_cdse_time(props.get("completionDate")),
        "ingestiondate": parse_cdse_time(props.get("published")),
        "footprint": footprint,
        "size": format_size(size),
        "contentlength": size,
        "status": props.get("status"),
        "online": props.get("status") == "ONLINE",
        "platformname": f"Sentinel-{m.group(1)}" if m else props.get("platform"),
        "producttype": props.get("productType"),
        "instrumentshortname": props.get("instrument"),
        "orbitdirection": props.get("orbitDirection"),
        "orbitnumber": props.get("orbitNumber"),
        "relativeorbitnumber": props.get("relativeOrbitNumber"),
        "cloudcoverpercentage": props.get("cloudCover"),
        "polarisationmode": props.get("polarisation"),
        "sensoroperationalmode": props.get("sensorMode"),
        "timeliness": props.get("timeliness"),
    }
    return pid, out


def parse_resto_page(page: dict[str, Any]) -> tuple[OrderedDict[str, dict[str, Any]], int | None]:
    """A CDSE OpenSearch (Resto) result page -> ``(products, totalResults or None if not counted)``."""
    products: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for feature in page.get("features") or []:
        pid, props = resto_feature_to_classic(feature)
        products[pid] = props
    total = (page.get("properties") or {}).get("totalResults")
    return products, (int(total) if total is not None else None)
