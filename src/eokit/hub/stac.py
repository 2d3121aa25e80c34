"""The STAC API provider: search through pystac-client, downloads of item assets.

Search areas that cross the antimeridian are split into their parts (as RFC 7946
asks) before they are sent; items keep the server's JSON unchanged
(:meth:`~eokit.hub.Product.to_stac` gives it back).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from eokit.config import get_settings
from eokit.hub.download_types import DownloadRequest
from eokit.hub.exceptions import HubConnectionError, HubInputError, InvalidKeyError, ServerError
from eokit.hub.files import sanitize_filename
from eokit.hub.http import redact_url, stac_client
from eokit.hub.products import Product, ProductCollection, stac_to_product
from eokit.hub.providers import SearchQuery, check_result_count

__all__ = ["StacProvider", "asset_file_names", "stac_search_parameters"]


def asset_file_names(product: Product, keys: Iterable[str]) -> dict[str, str]:
    """File names of a product's assets: the href's last path segment; ``<asset key>-<that>`` for
    every asset whose segment another chosen asset of the product shares (``a/data.tif`` and
    ``b/data.tif`` -> ``a-data.tif`` and ``b-data.tif``). All names pass :func:`sanitize_filename`.
    """
    base = {
        k: sanitize_filename(unquote(urlsplit(product.assets[k].href).path.rstrip("/").rsplit("/", 1)[-1]), fallback=k)
        for k in keys
    }
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name.lower()] = counts.get(name.lower(), 0) + 1
    return {
        k: sanitize_filename(f"{k}-{name}", fallback=k) if counts[name.lower()] > 1 else name
        for k, name in base.items()
    }


def stac_search_parameters(query: SearchQuery) -> dict[str, Any]:
    """pystac-client ``search()`` arguments for a query (``intersects`` split at the antimeridian)."""
    from eokit.hub.cdse_filter import resolve_date

    kwargs: dict[str, Any] = {}
    if query.collection:
        kwargs["collections"] = [query.collection]
    if query.area:
        kwargs["intersects"] = area_geojson(query.area)
    date_ = query.date
    if date_ is not None:
        if isinstance(date_, str) and "/" in date_:
            kwargs["datetime"] = date_
        else:
            start, end = (resolve_date(d) for d in date_)
            fmt = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ") if d else ".."  # noqa: E731
            kwargs["datetime"] = f"{fmt(start)}/{fmt(end)}"
    if query.limit is not None:
        kwargs["max_items"] = query.limit
    if query.keywords:
        kwargs["query"] = {k: v if isinstance(v, dict) else {"eq": v} for k, v in query.keywords.items()}
    if query.order_by:
        kwargs["sortby"] = [
            {"field": f.strip().lstrip("-+"), "direction": "desc" if f.strip().startswith("-") else "asc"}
            for f in query.order_by.split(",")
            if f.strip()
        ]
    return kwargs


def area_geojson(wkt: str) -> dict[str, Any]:
    """A WKT search area as GeoJSON, split at the antimeridian when it crosses it (a MultiPolygon)."""
    import shapely
    from shapely import wkt as shapely_wkt

    from eokit.core.geometry import split_antimeridian
    from eokit.hub.cdse_filter import normalise_area_wkt

    geom = shapely_wkt.loads(normalise_area_wkt(wkt))
    minx, _, maxx, _ = geom.bounds
    if maxx > 180 or minx < -180 or maxx - minx > 180:
        geom = split_antimeridian(geom)
    return _lists(shapely.geometry.mapping(geom))


def _lists(obj: Any) -> Any:
    if isinstance(obj, tuple | list):
        return [_lists(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    return obj


class StacProvider:
    """A STAC API (``/search``); downloads go through ``session`` with ``auth`` (basic, if credentials given)."""

    name = "stac"

    def __init__(self, url: str, session: requests.Session, timeout: float | None, *, auth: Any = None) -> None:
        self.url = url
        self.session = session
        self.timeout = timeout
        self.auth = auth
        self._client: Any = None

    def __repr__(self) -> str:
        return f"StacProvider({redact_url(self.url)!r})"

    @property
    def client(self) -> Any:
        """The :class:`pystac_client.Client` (opened on first use)."""
        if self._client is None:
            self._client = stac_client(self.url, timeout=self.timeout, retries=getattr(self.session, "retries", None))
        return self._client

    def _search(self, kwargs: dict[str, Any]) -> Any:
        try:
            return self.client.search(**kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise HubConnectionError(f"cannot reach the STAC API {redact_url(self.url)}") from exc

    def _run(self, fn: Any) -> Any:
        try:
            return fn()
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise HubConnectionError(f"cannot reach the STAC API {redact_url(self.url)}") from exc
        except (HubInputError, ServerError):
            raise
        except Exception as exc:  # pystac_client.APIError and friends
            raise ServerError(f"STAC search at {redact_url(self.url)} failed: {type(exc).__name__}: {exc}") from None

    def search(self, query: SearchQuery) -> ProductCollection:
        kwargs = stac_search_parameters(query)
        cap = get_settings().hub_max_results
        if query.limit is None and cap:
            kwargs["max_items"] = cap + 1  # one more than allowed: enough to know it is too many
        search = self._search(kwargs)
        items = self._run(lambda: self._items(search, kwargs.get("max_items")))
        if query.limit is None:
            check_result_count(len(items), redact_url(self.url))
        total = self._run(search.matched) if query.limit is None else None
        return ProductCollection((stac_to_product(i) for i in items), total=total)

    def count(self, query: SearchQuery) -> int:
        kwargs = stac_search_parameters(query)
        kwargs.pop("max_items", None)
        search = self._search(kwargs)
        matched = self._run(search.matched)
        if matched is None:  # the API does not report it: count the pages
            cap = get_settings().hub_max_results
            if cap:
                kwargs["max_items"] = cap + 1
                search = self._search(kwargs)
            found = len(self._run(lambda: self._items(search, kwargs.get("max_items"))))
            check_result_count(found, redact_url(self.url))
            return found
        return int(matched)

    def _items(self, search: Any, limit: int | None) -> list[dict[str, Any]]:
        """The items of every page (at most ``limit``); a page holding only items already seen ends the
        paging with an error (its ``next`` link goes round in a circle: pystac-client would follow it for ever)."""
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for page in search.pages_as_dicts():
            features = page.get("features") or []
            fresh = [f for f in features if not isinstance(f.get("id"), str) or f["id"] not in seen]
            if features and not fresh:
                raise ServerError(
                    f"the STAC API {redact_url(self.url)} answered the same page again (item "
                    f"{features[0].get('id')!r}): its 'next' links go round in a circle; paging stopped"
                )
            seen.update(f["id"] for f in fresh if isinstance(f.get("id"), str))
            items += fresh
            if limit is not None and len(items) >= limit:
                return items[:limit]
        return items

    def get(self, product_id: str) -> Product:
        found = self._run(lambda: list(self._search({"ids": [product_id], "max_items": 1}).items_as_dicts()))
        if not found:
            raise InvalidKeyError(f"no STAC item {product_id!r} at {redact_url(self.url)}")
        return stac_to_product(found[0])

    def assets(self, product: Product, keys: Sequence[str] | None = None) -> list[DownloadRequest]:
        """The chosen assets (default: those with role ``data``, else all) named by :func:`asset_file_names`."""
        chosen = (
            list(keys)
            if keys is not None
            else [k for k, a in product.assets.items() if "data" in a.roles] or list(product.assets)
        )
        missing = [k for k in chosen if k not in product.assets]
        if missing:
            raise HubInputError(
                f"product {product.id} has no asset {missing[0]!r}; it has {', '.join(product.assets)}", param="assets"
            )
        subdir = sanitize_filename(product.id, fallback="product")
        return [
            DownloadRequest(
                url=product.assets[k].href,
                key=f"{product.id}/{k}",
                filename=name,
                size=product.assets[k].size,
                checksums=product.assets[k].checksums,
                title=f"{product.id} {k}",
                subdir=subdir,
            )
            for k, name in asset_file_names(product, chosen).items()
        ]

    def checksums(self, product: Product) -> dict[str, dict[str, str]]:
        return {k: dict(a.checksums) for k, a in product.assets.items() if a.checksums}
