"""Provider-neutral search and download over ``cdse``, ``dhus`` and ``stac``.

>>> from eokit import hub                                   # doctest: +SKIP
>>> found = hub.search("stac", url="https://earth-search.aws.element84.com/v1",
...                    collection="sentinel-2-l2a", area=(5.9, 45.8, 10.5, 47.8),
...                    date=("2024-06-01", "2024-06-30"), limit=10)
>>> found.to_geodataframe(); found.to_stac()
>>> hub.download(found, "data/", assets=["red", "nir"])

Every result is a :class:`Product`; a :class:`ProductCollection` converts to
GeoJSON, pandas, GeoPandas and a STAC ItemCollection.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from eokit.hub.engine import DownloadEngine, DownloadRequest, DownloadResult, ProgressReporter, sanitize_filename
from eokit.hub.exceptions import HubInputError
from eokit.hub.products import Asset, Product, ProductCollection, _classic_to_product, _lists, _stac_to_product

__all__ = ["Asset", "Hub", "Product", "ProductCollection", "download", "search"]

PROVIDERS = ("cdse", "dhus", "stac")
_CONNECTION = (
    "url",
    "user",
    "password",
    "catalogue_url",
    "identity_url",
    "download_url",
    "timeout",
    "trusted_hosts",
    "retries",
)


def _area_to_wkt(area: Any) -> str | None:
    if area is None:
        return None
    if isinstance(area, str):
        return area
    if isinstance(area, dict):
        from eokit.hub.geo import geojson_to_wkt

        return geojson_to_wkt(area, decimals=6)
    if isinstance(area, Sequence) and len(area) == 4:
        from eokit.hub.geo import validate_lonlat

        w, s, e, n = (float(v) for v in area)
        validate_lonlat(w, s)
        validate_lonlat(e, n)
        if w >= e or s >= n:
            raise HubInputError(
                f"bbox {tuple(area)} must be (west, south, east, north) with west < east, south < north"
            )
        return f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"
    if hasattr(area, "__geo_interface__"):
        return _area_to_wkt(area.__geo_interface__)
    raise HubInputError(
        f"area must be WKT, GeoJSON, a (west, south, east, north) bbox or a geometry; got {type(area).__name__}"
    )


class Hub:
    """One provider connection: ``Hub("cdse", user=..., password=...)``, ``Hub("stac", url=...)``.

    Parameters
    ----------
    provider : {'cdse', 'dhus', 'stac'}
    url : str, optional
        DHuS root URL, STAC API root, or a CDSE catalogue URL (default: settings).
    user, password : str, optional
        Credentials (``None``: environment / ``~/.netrc``).
    catalogue_url, identity_url, download_url : str, optional
        CDSE endpoints.
    timeout : float
    """

    def __init__(
        self,
        provider: str = "cdse",
        *,
        url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        catalogue_url: str | None = None,
        identity_url: str | None = None,
        download_url: str | None = None,
        timeout: float = 60.0,
        trusted_hosts: str | Iterable[str] = (),
        retries: int | None = None,
    ) -> None:
        if provider not in PROVIDERS:
            raise HubInputError(f"provider must be one of {', '.join(PROVIDERS)}; got {provider!r}")
        self.provider = provider
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.api: Any = None
        if provider in ("cdse", "dhus"):
            if provider == "dhus" and not url:
                raise HubInputError("the dhus provider needs url= (the DHuS root, e.g. https://host/dhus/)")
            from eokit.hub.api import SentinelAPI

            self.api = SentinelAPI(
                user,
                password,
                url,
                show_progressbars=False,
                timeout=timeout,
                provider=provider,
                catalogue_url=catalogue_url,
                identity_url=identity_url,
                download_url=download_url,
                trusted_hosts=trusted_hosts,
                retries=retries,
            )
        elif not url:
            raise HubInputError("the stac provider needs url= (the STAC API root)")

    def __repr__(self) -> str:
        return f"Hub({self.provider!r}, url={self.url!r})"

    def search(
        self,
        *,
        area: Any = None,
        date: Any = None,
        collection: str | None = None,
        limit: int | None = None,
        order_by: str | None = None,
        area_relation: str = "Intersects",
        **keywords: Any,
    ) -> ProductCollection:
        """Search; ``collection`` is the platform (``Sentinel-2``) or the STAC collection id."""
        wkt = _area_to_wkt(area)
        if self.provider == "stac":
            return self._search_stac(wkt, date, collection, limit, keywords)
        if collection:
            keywords["platformname"] = collection
        found = self.api.query(wkt, date, area_relation=area_relation, order_by=order_by, limit=limit, **keywords)
        return ProductCollection(_classic_to_product(pid, props, self.provider) for pid, props in found.items())

    def _search_stac(
        self, wkt: str | None, date_: Any, collection: str | None, limit: int | None, keywords: dict[str, Any]
    ) -> ProductCollection:
        from eokit.hub.cdse_filter import resolve_date

        kwargs: dict[str, Any] = {}
        if collection:
            kwargs["collections"] = [collection]
        if wkt:
            from shapely import wkt as shapely_wkt

            from eokit.hub.cdse_filter import normalise_area_wkt

            kwargs["intersects"] = _lists(shapely_wkt.loads(normalise_area_wkt(wkt)).__geo_interface__)
        if date_ is not None:
            if isinstance(date_, str) and "/" in date_:
                kwargs["datetime"] = date_
            else:
                start, end = (resolve_date(d) for d in date_)
                fmt = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ") if d else ".."  # noqa: E731
                kwargs["datetime"] = f"{fmt(start)}/{fmt(end)}"
        if limit is not None:
            kwargs["max_items"] = limit
        if keywords:
            kwargs["query"] = {k: {"eq": v} if not isinstance(v, dict) else v for k, v in keywords.items()}
        from eokit.hub.http import HubConnectionError, redact_url, stac_client

        client = stac_client(str(self.url), timeout=self.timeout, retries=self.retries)
        try:
            items = list(client.search(**kwargs).items_as_dicts())
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise HubConnectionError(f"cannot reach the STAC API {redact_url(self.url)}") from exc
        except Exception as exc:
            from eokit.hub.exceptions import ServerError

            raise ServerError(f"STAC search at {redact_url(self.url)} failed: {type(exc).__name__}: {exc}") from None
        return ProductCollection(_stac_to_product(i) for i in items)

    def download(
        self,
        products: Iterable[Product] | Product,
        directory: str | os.PathLike[str] = ".",
        *,
        assets: Sequence[str] | None = None,
        workers: int = 4,
        per_host: int = 4,
        checksum: bool = True,
        max_attempts: int = 10,
        progress: ProgressReporter | None = None,
    ) -> list[DownloadResult]:
        """Download products (or, for STAC, the chosen ``assets``) into ``directory``.

        Returns one :class:`DownloadResult` per file; failures are in the results.
        """
        items = [products] if isinstance(products, Product) else list(products)
        requests_ = []
        for p in items:
            if p.provider in ("cdse", "dhus") and self.provider in ("cdse", "dhus"):
                info = self.api.get_product_odata(p.id)
                requests_.append(
                    DownloadRequest(
                        url=info["url"],
                        key=p.id,
                        filename=self.api._get_filename(info),
                        size=info.get("size"),
                        checksums=self.api._backend.checksums(info),
                        title=p.title,
                    )
                )
                continue
            keys = (
                list(assets)
                if assets is not None
                else [k for k, a in p.assets.items() if "data" in a.roles] or list(p.assets)
            )
            missing = [k for k in keys if k not in p.assets]
            if missing:
                raise HubInputError(
                    f"product {p.id} has no asset {missing[0]!r}; it has {', '.join(p.assets)}", param="assets"
                )
            for key, name in asset_file_names(p, keys).items():
                a = p.assets[key]
                requests_.append(
                    DownloadRequest(
                        url=a.href,
                        key=f"{p.id}/{key}",
                        filename=name,
                        size=a.size,
                        checksums=a.checksums,
                        title=f"{p.id} {key}",
                        subdir=sanitize_filename(p.id, fallback="product"),
                    )
                )
        engine = DownloadEngine(
            session=self.api.session if self.api is not None else None,
            auth=self.api._auth if self.api is not None else None,
            workers=workers,
            per_host=per_host,
            verify=checksum,
            max_attempts=max_attempts,
            timeout=self.timeout,
            progress=progress,
        )
        return engine.download_all(requests_, directory)


def asset_file_names(product: Product, keys: Iterable[str]) -> dict[str, str]:
    """File names of a product's assets: the href's last path segment; ``<asset key>-<that>`` for
    every asset whose segment another chosen asset of the product shares (``a/data.tif`` and
    ``b/data.tif`` -> ``a-data.tif`` and ``b-data.tif``). All names pass :func:`sanitize_filename`.
    """
    from urllib.parse import unquote

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


def search(provider: str = "cdse", **kwargs: Any) -> ProductCollection:
    """Search a provider: ``search("cdse", area=..., date=(..., ...), collection="Sentinel-2", limit=10)``.

    Connection arguments (``url``, ``user``, ``password``, ``catalogue_url``,
    ``identity_url``, ``download_url``, ``timeout``) go to :class:`Hub`; the rest
    to :meth:`Hub.search`.
    """
    conn = {k: kwargs.pop(k) for k in _CONNECTION if k in kwargs}
    return Hub(provider, **conn).search(**kwargs)


def download(
    products: Iterable[Product] | Product,
    directory: str | os.PathLike[str] = ".",
    *,
    provider: str | None = None,
    **kwargs: Any,
) -> list[DownloadResult]:
    """Download products found by :func:`search` (connection arguments as :func:`search`)."""
    items = [products] if isinstance(products, Product) else list(products)
    provider = provider or (items[0].provider if items else "stac")
    conn = {k: kwargs.pop(k) for k in _CONNECTION if k in kwargs}
    if provider == "stac" and "url" not in conn:
        conn["url"] = "about:stac"
    return Hub(provider, **conn).download(items, directory, **kwargs)
