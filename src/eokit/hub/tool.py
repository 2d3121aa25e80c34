"""The ``eokit hub search`` workflow as a library function (the CLI only parses options).

:func:`run_search` builds the query from classic CLI options, searches the
chosen provider, writes footprints, downloads quicklooks and products, and
returns a :class:`SearchRun` describing what happened.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

from eokit.hub.exceptions import HubInputError

__all__ = [
    "DEFAULT_FMT",
    "GNSS_PRODUCT_TYPES",
    "SearchOptions",
    "SearchRun",
    "format_products",
    "run_search",
    "server_info",
]

DEFAULT_FMT = "Product {uuid} - {summary}"
GNSS_PRODUCT_TYPES = ("AUX_POEORB", "AUX_PREORB", "AUX_RESORB", "AUX_GNSSRD", "AUX_PROQUA")
"""What the classic GNSS hub served (precise/restituted/predicted orbits, GNSS RINEX data, quaternions)."""

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SearchOptions:
    """Everything ``eokit hub search`` accepts (classic sentinelsat options plus eokit's)."""

    provider: str | None = None
    url: str | None = None
    user: str | None = None
    password: str | None = None
    start: str | None = None
    end: str | None = None
    geometry: str | None = None
    geometry_crs: str | None = None
    location: str | None = None
    uuid: tuple[str, ...] = ()
    name: tuple[str, ...] = ()
    sentinel: str | None = None
    instrument: str | None = None
    producttype: str | None = None
    cloud: int | None = None
    order_by: str | None = None
    limit: int | None = None
    query: tuple[str, ...] = ()
    collection: str | None = None
    footprints: str | None = None
    download: bool = False
    out: str = "."
    fail_fast: bool = False
    include_pattern: str | None = None
    exclude_pattern: str | None = None
    quicklook: bool = False
    timeout: float = 60.0
    workers: int | None = None
    show_progress: bool = False
    gnss: bool = False
    retries: int | None = None
    deadline: float | None = None
    low_speed_limit: int | None = None
    trusted_hosts: tuple[str, ...] = ()

    def settings(self) -> dict[str, Any]:
        """The :func:`eokit.config.override` values these options set."""
        values = {
            "http_retries": self.retries,
            "hub_file_deadline": self.deadline,
            "hub_low_speed_limit": self.low_speed_limit,
        }
        return {k: v for k, v in values.items() if v is not None}


@dataclasses.dataclass
class SearchRun:
    """The outcome: products found, their GeoJSON, and download results."""

    products: OrderedDict[str, dict[str, Any]]
    geojson: dict[str, Any]
    total_size_gb: float | None = None
    downloaded: list[str] = dataclasses.field(default_factory=list)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)
    triggered: list[str] = dataclasses.field(default_factory=list)
    quicklooks_failed: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _area(opts: SearchOptions) -> str | None:
    if opts.location is not None:
        from eokit.hub.geo import placename_to_wkt

        return placename_to_wkt(opts.location)[0]
    if opts.geometry is None:
        return None
    wkt = _geometry_wkt(opts)
    import shapely
    from shapely import wkt as shapely_wkt

    try:  # an unclosed ring, too few points...: the user's --geometry, not the server's problem
        shapely_wkt.loads(wkt)
    except (ValueError, shapely.errors.GEOSException) as exc:
        raise HubInputError(f"not a valid area ({exc})", param="geometry") from None
    return wkt


def _geometry_wkt(opts: SearchOptions) -> str:
    from eokit.hub.geo import geojson_to_wkt, is_wkt, read_geojson

    g = str(opts.geometry)
    if os.path.exists(g):
        if Path(g).suffix.lower() in (".shp", ".gpkg", ".fgb", ".gml", ".kml"):
            return _vector_file_wkt(g)
        return geojson_to_wkt(read_geojson(g))
    if g.lstrip().startswith("{"):
        try:
            return geojson_to_wkt(json.loads(g))
        except json.JSONDecodeError:
            # sentinelsat's wording (scripts match it); eokit's CLI shows "--geometry: " before it
            raise HubInputError(
                "geometry string starts with '{' but is not a valid GeoJSON.", param="geometry"
            ) from None
    if is_wkt(g):
        return _wkt_to_lonlat(g, opts.geometry_crs) if opts.geometry_crs else g
    raise HubInputError(
        "neither a GeoJSON file with a valid path, a GeoJSON String nor a WKT string.", param="geometry"
    )


def _wkt_to_lonlat(wkt: str, crs: str) -> str:
    """A WKT area in ``crs`` as lon/lat WKT (densified, split at the antimeridian)."""
    import shapely
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    from eokit.core.geometry import to_lonlat

    try:
        src = CRS.from_user_input(crs)
    except CRSError:
        raise HubInputError(f"--geometry-crs: {crs!r} is not a CRS pyproj knows") from None
    if src.equals(CRS.from_epsg(4326)):
        return wkt
    lonlat = to_lonlat(shapely.from_wkt(wkt), src)
    return shapely.to_wkt(lonlat, rounding_precision=6, trim=True)


def _vector_file_wkt(path: str) -> str:
    """A vector file's geometries (any CRS) united, in WGS84, as WKT."""
    import shapely

    from eokit.io import read_vector

    gdf = read_vector(path)
    if gdf.crs is None:
        raise HubInputError("the area file has no CRS", path=path)
    geom = shapely.union_all(gdf.to_crs("EPSG:4326").geometry.values)
    if geom.is_empty:
        raise HubInputError("the area file has no geometry", path=path)
    return shapely.to_wkt(geom, rounding_precision=6, trim=True)


def _keywords(opts: SearchOptions) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if opts.sentinel:
        kw["platformname"] = f"Sentinel-{opts.sentinel}"
    if opts.instrument:
        kw["instrumentshortname"] = opts.instrument
    if opts.producttype:
        kw["producttype"] = opts.producttype
    if opts.cloud is not None:
        if opts.sentinel not in ("2", "3"):
            raise HubInputError("--max-cloud needs --sentinel 2 or 3 (cloud cover exists only for optical products)")
        kw["cloudcoverpercentage"] = (0, opts.cloud)
    if opts.name:
        if any(not n.strip() for n in opts.name):
            raise HubInputError("--name must not be empty", param="name")
        kw["identifier"] = set(opts.name)
    if opts.uuid:
        kw["uuid"] = {u for part in opts.uuid for u in part.split(",") if u}
    for item in opts.query:
        if "=" not in item:
            raise HubInputError(f"--query {item!r} must have the form keyword=value")
        key, value = item.split("=", 1)
        if key in kw:
            kw[key] = (kw[key] | {value}) if isinstance(kw[key], set) else {kw[key], value}
        else:
            kw[key] = value
    return kw


def _write_text(path: str, text: str) -> None:
    from eokit.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _gnss_url(api_url: str) -> str:
    """The DHuS GNSS end-point beside a DHuS end-point (``.../dhus/`` -> ``.../gnss/``; the retired
    apihub -> ``https://scihub.copernicus.eu/gnss/``, as the classic client)."""
    from eokit.hub.dhus import dhus_url_of

    base = dhus_url_of(api_url if api_url.endswith("/") else api_url + "/").rstrip("/")
    head, _, last = base.rpartition("/")
    if last in ("dhus", "apihub", "gnss") and "://" in head + "/":
        return f"{head}/gnss/"
    return f"{base}/gnss/"


def _api(opts: SearchOptions) -> Any:
    """The :class:`SentinelAPI` the options ask for (``--gnss``: the GNSS end-point of a DHuS)."""
    from eokit.hub.api import SentinelAPI

    def make(user: str | None, password: str | None, url: str | None) -> SentinelAPI:
        return SentinelAPI(
            user,
            password,
            url,
            show_progressbars=opts.show_progress,
            timeout=opts.timeout,
            provider=opts.provider,
            trusted_hosts=opts.trusted_hosts,
        )

    api = make(opts.user, opts.password, opts.url)
    if opts.gnss and api.provider == "dhus":
        # the classic client's --gnss: that hub's GNSS end-point with its public guest account
        api = make(opts.user or "gnssguest", opts.password or "gnssguest", _gnss_url(api.api_url))
    return api


def _netrc_has(url: str) -> bool:
    import requests

    try:
        return bool(requests.utils.get_netrc_auth(url))
    except Exception:  # an unreadable ~/.netrc holds no usable entry
        return False


def server_info(opts: SearchOptions) -> list[str]:
    """What ``--info`` prints: the server's version (DHuS), end-points (CDSE) or landing page (STAC)."""
    from eokit.config import override

    with override(**opts.settings()):
        return _server_info(opts)


def _server_info(opts: SearchOptions) -> list[str]:
    if opts.provider == "stac":
        if not opts.url:
            raise HubInputError("--provider stac needs --url (the STAC API root)")
        from eokit.hub.http import stac_client

        client = stac_client(opts.url, timeout=opts.timeout)
        conforms = client.to_dict().get("conformsTo") or []
        return [
            f"STAC API: {opts.url}",
            f"id: {client.id}",
            f"title: {client.title or ''}",
            f"STAC version: {client.to_dict().get('stac_version', '')}",
            f"conformance classes: {len(conforms)}",
        ]
    api = _api(opts)
    if api.provider == "dhus":
        return [f"DHuS version: {api.dhus_version}"]
    import time

    t0 = time.perf_counter()
    r = api.session.get(f"{api.catalogue_url}/Products", params={"$top": "0"}, timeout=opts.timeout)
    ms = (time.perf_counter() - t0) * 1000
    return [
        f"CDSE catalogue (OData): {api.catalogue_url} (HTTP {r.status_code}, {ms:.0f} ms)",
        f"CDSE identity (OIDC token): {api.identity_url}",
        f"CDSE download: {api.download_url}",
    ]


def format_products(products: dict[str, dict[str, Any]], fmt: str = DEFAULT_FMT) -> list[str]:
    """One line per product from a ``str.format`` template over its properties (``--fmt``).

    ``uuid`` is always available; ``summary`` falls back to the title where a provider has none.
    """
    import string

    fields = {f for _, f, _, _ in string.Formatter().parse(fmt) if f}
    lines = []
    for pid, props in products.items():
        values = {"uuid": pid, "summary": props.get("title", ""), **props}
        try:
            lines.append(fmt.format_map(values))
        except KeyError as exc:
            known = ", ".join(sorted(values))
            raise HubInputError(
                f"--fmt uses {{{exc.args[0]}}}, which the results do not have (they have: {known})"
            ) from None
        except (ValueError, IndexError, AttributeError, TypeError) as exc:
            raise HubInputError(
                f"--fmt {fmt!r} cannot format the results ({exc}); fields used: {sorted(fields)}"
            ) from None
    return lines


def run_search(opts: SearchOptions) -> SearchRun:
    """Search (and optionally download) as ``eokit hub search`` does."""
    from eokit.config import override

    with override(**opts.settings()):
        return _run_search(opts)


def _run_search(opts: SearchOptions) -> SearchRun:
    if opts.url is not None and not re.match(r"^https?://[^/?#\s]+", opts.url):
        raise HubInputError(f"{opts.url!r} is not an http(s) URL of a hub or STAC API", param="url")
    if opts.include_pattern and opts.exclude_pattern:
        raise HubInputError("--include-pattern and --exclude-pattern cannot be used together")
    if opts.provider == "stac":
        if opts.gnss:
            raise HubInputError("--gnss searches a DHuS GNSS end-point or CDSE's orbit products, not a STAC API")
        return _run_stac(opts)
    from eokit.hub.nodefilters import make_path_filter

    api = _api(opts)
    no_user = opts.user is None and opts.password is None  # an empty -u "" is a choice, as in the classic CLI
    if api.provider == "dhus" and not opts.gnss and no_user and not _netrc_has(api.api_url):
        raise HubInputError(
            "a DHuS needs credentials: -u/--user and -p/--password (or EOKIT_HUB_USER/EOKIT_HUB_PASSWORD, "
            "DHUS_USER/DHUS_PASSWORD, ~/.netrc)",
            param="user",
        )
    kw = _keywords(opts)
    if opts.gnss and api.provider == "cdse" and "producttype" not in kw:
        kw["producttype"] = set(GNSS_PRODUCT_TYPES)  # CDSE keeps the orbit products in the main catalogue
    area = _area(opts)
    date = (opts.start, opts.end) if (opts.start or opts.end) else None
    products = api.query(area, date, order_by=opts.order_by, limit=opts.limit, **kw)
    run = SearchRun(products=products, geojson=api.to_geojson(products))
    try:
        run.total_size_gb = api.get_products_size(products)
    except (KeyError, ValueError, IndexError):
        run.total_size_gb = None
    if opts.footprints:
        text = json.dumps(run.geojson)
        if opts.footprints != "-":
            _write_text(opts.footprints, text)
    if opts.quicklook:
        _dl, failed_q = api.download_all_quicklooks(products, opts.out, n_concurrent_dl=opts.workers or 4)
        run.quicklooks_failed = len(failed_q)
    if opts.download and products:
        nodefilter = None
        if opts.include_pattern:
            nodefilter = make_path_filter(opts.include_pattern)
        elif opts.exclude_pattern:
            nodefilter = make_path_filter(opts.exclude_pattern, exclude=True)
        titles = {pid: str(props.get("title", "")) for pid, props in products.items()}
        with FailedList(Path(opts.out) / "corrupt_scenes.txt", titles) as failed_list:
            try:
                dl, triggered, failed = api.download_all(
                    products, opts.out, nodefilter=nodefilter, fail_fast=opts.fail_fast, n_concurrent_dl=opts.workers
                )
            except Exception as exc:
                if opts.fail_fast:
                    raise
                dl, triggered, failed = {}, {}, {pid: {"exception": exc} for pid in products}
            run.downloaded = list(dl)
            run.triggered = list(triggered)
            run.failed = {pid: str(info.get("exception", "failed")) for pid, info in failed.items()}
            failed_list.done(list(run.failed))
    return run


class FailedList:
    """``corrupt_scenes.txt``: written *before* the downloads (every product), cut down to the failed ones after.

    The final version is written over the first in place, so it needs no new disk
    blocks: a disk that filled up during the downloads still gets the list. An
    interrupted run leaves the full list (a superset of what is missing).
    """

    def __init__(self, path: Path, titles: dict[str, str]) -> None:
        self.path, self.titles = path, titles
        self._final: list[str] | None = None

    @staticmethod
    def _text(ids: list[str], titles: dict[str, str]) -> bytes:
        return "".join(f"{pid} : {titles.get(pid, '')}\n" for pid in ids).encode("utf-8")

    def __enter__(self) -> FailedList:
        _write_text(str(self.path), self._text(list(self.titles), self.titles).decode("utf-8"))
        return self

    def done(self, failed: list[str]) -> None:
        self._final = failed

    def __exit__(self, *exc: object) -> None:
        if self._final is None:
            return  # interrupted: the full list stays
        if not self._final:
            self.path.unlink(missing_ok=True)
            return
        data = self._text(self._final, self.titles)
        with open(self.path, "r+b") as f:
            f.write(data)
            f.truncate(len(data))


def _run_stac(opts: SearchOptions) -> SearchRun:
    from eokit.hub.native import Hub

    if not opts.url:
        raise HubInputError("--provider stac needs --url (the STAC API root)")
    hub = Hub("stac", url=opts.url, timeout=opts.timeout)
    date = (opts.start, opts.end) if (opts.start or opts.end) else None
    extra = {}
    for item in opts.query:
        if "=" not in item:
            raise HubInputError(f"--query {item!r} must have the form keyword=value")
        k, v = item.split("=", 1)
        extra[k] = v
    found = hub.search(area=_area(opts), date=date, collection=opts.collection, limit=opts.limit, **extra)
    products: OrderedDict[str, dict[str, Any]] = OrderedDict((p.id, p.to_feature()["properties"]) for p in found)
    run = SearchRun(products=products, geojson=found.to_geojson())
    if opts.footprints and opts.footprints != "-":
        _write_text(opts.footprints, json.dumps(run.geojson))
    if opts.download and len(found):
        from eokit.hub.progress import TqdmProgress

        progress = TqdmProgress(sum(len(p.assets) for p in found)) if opts.show_progress else None
        try:
            results = hub.download(found, opts.out, workers=opts.workers or 4, progress=progress)
        finally:
            if progress is not None:
                progress.close()
        run.downloaded = sorted({r.key.split("/")[0] for r in results if r.ok})
        run.failed = {r.key: str(r.error) for r in results if not r.ok}
    return run
